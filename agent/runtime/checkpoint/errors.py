"""The checkpointer's error: a subclass of the runtime stores' root, so callers catch one thing."""

from agent.runtime.stores import RuntimeStoreError


class CheckpointError(RuntimeStoreError):
    """The checkpointer failed: Redis unreachable, a record unreadable or of a newer schema."""
