"""The stats store's interface: per-minute counts per tenant, summed over a time window.

Prometheus counters live per process and are not windowed; this store lets the admin API
answer "what happened between since and until" across every worker. Implementations:
agent/runtime/sqlite_stats.py and redis_stats.py; one contract suite,
tests/contracts/test_stats_store.py.
"""

from collections.abc import Sequence
from typing import Protocol

from agent.runtime.stats_records import Counts, StatsRow


class StatsStore(Protocol):
    async def add(self, rows: Sequence[StatsRow]) -> None:
        """Add every row's counts to its tenant's minute bucket and hour bucket (one
        transaction; on Redis one script per row). Buckets older than the retention are
        dropped."""
        ...

    async def totals(self, since: float, until: float, tenant: str | None = None) -> Counts:
        """Each field summed over the buckets whose minute starts in
        [minute of ``since``, ``until``), of ``tenant`` or of all tenants; fields never
        counted are absent. Buckets older than the retention count for nothing."""
        ...
