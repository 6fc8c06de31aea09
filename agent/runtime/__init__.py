"""Where conversations live between turns: transcripts, dedupe, the turn queue and locks.

Every store has one interface (``agent.runtime.stores``), an embedded implementation
(SQLite or in-process) and a Redis one, and one contract suite in ``tests/contracts``.
"""
