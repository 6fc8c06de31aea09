"""Where the Redis checkpointer keeps things.

Every key of one thread shares the hash tag ``{<thread id>}`` so that Redis Cluster keeps
a thread on one slot and one transaction can touch all of it::

    {prefix}cp:{T}:keys                 SET   every other key of the thread (for TTL and delete)
    {prefix}cp:{T}:namespaces           ZSET  checkpoint namespaces, scored by first use
    {prefix}cp:{T}:runs                 SET   run ids seen in the thread's metadata
    {prefix}cp:{T}:ids:<ns>             ZSET  checkpoint ids of a namespace (lexical = time order)
    {prefix}cp:{T}:checkpoints:<ns>     HASH  checkpoint id -> checkpoint record
    {prefix}cp:{T}:blobs:<ns>           HASH  ["channel", version] -> blob record
    {prefix}cp:{T}:writes:["ns","id"]   HASH  ["task id", idx] -> write record

Two keys are shared by all threads, each used with single-key commands only::

    {prefix}cp:threads                  ZSET  thread ids, scored by first use (list(None))
    {prefix}cp:run:<run id>             SET   thread ids with checkpoints of that run

``T`` is the thread id with ``%``, ``{`` and ``}`` percent-encoded (an empty id is ``%``),
so a thread id can never end the hash tag early.
"""

from agent.runtime.checkpoint.errors import CheckpointError
from agent.runtime.checkpoint.records import field


def hash_tag(thread_id: str) -> str:
    """The thread id as it appears between the braces of its keys."""
    escaped = thread_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")
    return escaped or "%"


class ThreadKeys:
    """The keys of one thread."""

    def __init__(self, prefix: str, thread_id: str) -> None:
        self.thread_id = thread_id
        self.base = f"{prefix}cp:{{{hash_tag(thread_id)}}}"

    @property
    def registry(self) -> str:
        return f"{self.base}:keys"

    @property
    def namespaces(self) -> str:
        return f"{self.base}:namespaces"

    @property
    def runs(self) -> str:
        return f"{self.base}:runs"

    def ids(self, ns: str) -> str:
        return f"{self.base}:ids:{ns}"

    def checkpoints(self, ns: str) -> str:
        return f"{self.base}:checkpoints:{ns}"

    def blobs(self, ns: str) -> str:
        return f"{self.base}:blobs:{ns}"

    def writes(self, ns: str, checkpoint_id: str) -> str:
        return f"{self.base}:writes:{field(ns, checkpoint_id)}"

    def namespace_keys(self, ns: str) -> list[str]:
        return [self.ids(ns), self.checkpoints(ns), self.blobs(ns)]


class CheckpointKeys:
    """The key layout under one prefix."""

    def __init__(self, prefix: str) -> None:
        if "{" in prefix or "}" in prefix:
            raise CheckpointError(f"the checkpointer's key prefix {prefix!r} must not hold braces")
        self.prefix = prefix

    def thread(self, thread_id: str) -> ThreadKeys:
        return ThreadKeys(self.prefix, thread_id)

    @property
    def threads(self) -> str:
        return f"{self.prefix}cp:threads"

    def run(self, run_id: str) -> str:
        return f"{self.prefix}cp:run:{run_id}"
