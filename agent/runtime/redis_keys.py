"""Where the Redis runtime keeps things.

Keys live under the configured prefix (``deskhand:`` by default). A conversation's keys
carry its key as a ``{hash tag}``, so Redis Cluster keeps them on one slot and one Lua
script may touch them all; the scheduling keys share the ``{queue}`` tag.
"""


class RedisKeys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def conversation(self, conversation_key: str, part: str) -> str:
        return f"{self.prefix}conv:{{{conversation_key}}}:{part}"

    def transcript(self, conversation_key: str) -> str:
        return self.conversation(conversation_key, "transcript")

    def state(self, conversation_key: str) -> str:
        return self.conversation(conversation_key, "state")

    def dedupe(self, key: str) -> str:
        return f"{self.prefix}dedupe:{key}"

    def customer(self, tenant: str, customer_id: str) -> str:
        """The conversations of one customer (for erasure)."""
        return f"{self.prefix}customer:{{{tenant}:{customer_id}}}:conversations"

    def queue(self, part: str) -> str:
        return f"{self.prefix}{{queue}}:{part}"

    def admin(self, part: str) -> str:
        """The admin API's tokens and audit log, on one Cluster slot."""
        return f"{self.prefix}{{admin}}:{part}"

    def directory(self, part: str) -> str:
        """The conversation directory's indexes (sorted sets), on one Cluster slot."""
        return f"{self.prefix}{{directory}}:{part}"

    def knowledge_jobs(self, part: str) -> str:
        """Knowledge-base jobs and their indexes, on one Cluster slot."""
        return f"{self.prefix}{{kbjobs}}:{part}"

    def rate(self, tenant: str, part: str) -> str:
        return f"{self.prefix}rate:{{{tenant}}}:{part}"

    def stats(self, tenant: str, part: str) -> str:
        """A tenant's stats buckets and their index, on the tenant's Cluster slot."""
        return f"{self.prefix}stats:{{{tenant}}}:{part}"

    def stats_tenants(self) -> str:
        return f"{self.prefix}stats:tenants"
