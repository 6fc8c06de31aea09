"""The interfaces every runtime backend implements. Contract tests: tests/contracts/."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from agent.errors import DeskhandError
from agent.runtime.models import (
    ApprovalRecord,
    Claim,
    ConversationState,
    InboundMessage,
    OutboxItem,
    TranscriptEntry,
    TurnCommit,
)


class RuntimeStoreError(DeskhandError):
    """A runtime store failed (Redis down, SQLite locked...)."""


class StaleClaim(RuntimeStoreError):
    """The claim's lease expired and another worker holds the conversation now (fencing)."""


class ApprovalNotPending(RuntimeStoreError):
    """The approval was decided already; ``record`` says how."""

    def __init__(self, record: ApprovalRecord) -> None:
        super().__init__(f"approval {record.id} was already {record.status.value}")
        self.record = record


@dataclass(frozen=True)
class AcceptResult:
    """What ``Intake.accept`` did with a delivery."""

    duplicate: bool  # the delivery id was claimed already: nothing was written
    fresh: tuple[bool, ...] = ()  # per message: False when its message id was queued before

    @property
    def queued(self) -> bool:
        """At least one message is new (False for a repeat under a new delivery id too)."""
        return not self.duplicate and any(self.fresh)


class Intake(Protocol):
    """The webhook path's one write: claim a delivery id and queue its messages, atomically."""

    async def accept(
        self,
        dedupe_key: str,
        dedupe_ttl_s: int,
        messages: Sequence[InboundMessage],
        delay_s: float,
    ) -> AcceptResult:
        """Claim ``dedupe_key`` for ``dedupe_ttl_s`` and append ``messages`` as
        ``Mailboxes.append`` would (transcript entries, customer index, schedule, signal),
        in one durable step: a duplicate delivery id writes nothing, and a failure
        (RuntimeStoreError) leaves no claim behind, so the sender's retry is accepted."""
        ...


class TranscriptStore(Protocol):
    async def append(self, conversation_key: str, entry: TranscriptEntry) -> int:
        """Append and return the entry's position (0-based)."""
        ...

    async def entries(self, conversation_key: str, after: int = -1) -> list[TranscriptEntry]:
        """Entries whose position is greater than ``after``, oldest first."""
        ...

    async def state(self, conversation_key: str) -> ConversationState | None: ...

    async def read(
        self, conversation_key: str, after: int = -1
    ) -> tuple[ConversationState | None, list[TranscriptEntry]]:
        """The state and the entries after ``after``, read at one moment: no commit lands
        between them (a turn commits its reply and the mode it sets at once). Two reads in
        a row are not enough: state first, a commit landing between them shows a turn's
        reply with the mode from before it; entries first, it shows the mode the turn set
        (manual) without its reply, and a client waiting for the reply concludes none is
        coming."""
        ...

    async def save_state(self, state: ConversationState) -> None: ...


class Mailboxes(Protocol):
    """Per-conversation mailboxes, leased to one worker at a time.

    A conversation is *ready* when it has waiting messages (or undelivered outbox items)
    and nobody holds it. ``append`` makes it ready ``delay_s`` later (a burst keeps
    pushing that moment back, so its messages are coalesced into one turn). A claim lasts
    ``lease_s`` unless renewed, or while its holder's heartbeat lasts, whichever ends
    first; an expired claim is taken over by the next ``claim``.
    """

    async def append(self, message: InboundMessage, delay_s: float) -> bool:
        """Durably add the message; False when this message id was already accepted."""
        ...

    async def claim(self, lease_s: float, limit: int, holder: str = "") -> Claim | None:
        """Take the next ready conversation with up to ``limit`` of its oldest messages.

        ``holder`` names the claiming worker; while its ``heartbeat`` lasts the lease is
        its own, and once the heartbeat lapses any claim takes the conversation over at
        once (a new fence), without waiting for the lease to end."""
        ...

    async def claim_key(
        self, conversation_key: str, lease_s: float, limit: int, holder: str = ""
    ) -> Claim | None:
        """Take this conversation if nobody (alive) holds it, ready or not."""
        ...

    async def heartbeat(self, holder: str, ttl_s: float) -> None:
        """``holder`` is alive for ``ttl_s`` more; the conversations of holders whose
        heartbeat lapsed become ready at once (for a take-over)."""
        ...

    async def wait(self, timeout_s: float) -> None:
        """Return when a conversation may have become ready, or after ``timeout_s``."""
        ...

    async def renew(self, claim: Claim, lease_s: float) -> None:
        """Extend the lease; StaleClaim if the conversation changed hands."""
        ...

    async def commit(self, claim: Claim, commit: TurnCommit) -> None:
        """Atomically: drop the consumed messages, append entries, write outbox items and
        state. StaleClaim (and nothing written) if the conversation changed hands."""
        ...

    async def mark_delivered(self, conversation_key: str, item_key: str) -> None: ...

    async def undelivered(self, conversation_key: str) -> list[OutboxItem]:
        """Outbox items committed but not yet delivered, in commit order."""
        ...

    async def release(self, claim: Claim, delay_s: float = 0.0) -> None:
        """Give the conversation up; it is ready again (after ``delay_s``) if work remains."""
        ...

    async def overdue(self, waited_s: float) -> list[str]:
        """Conversations whose oldest waiting message arrived more than ``waited_s`` ago."""
        ...

    async def mark_held(self, conversation_key: str) -> None:
        """The waiting messages got a holding reply: leave them out of ``overdue``."""
        ...

    async def depth(self) -> int:
        """How many conversations have waiting messages."""
        ...

    async def customer_conversations(self, tenant: str, customer_id: str) -> list[str]:
        """Every conversation a customer wrote in (kept for erasure requests)."""
        ...

    async def erase(self, conversation_key: str) -> None:
        """Delete everything about the conversation: messages, outbox, transcript, state."""
        ...

    async def forget_customer(self, tenant: str, customer_id: str) -> None:
        """Delete the customer's index of conversations (after erasing them)."""
        ...

    async def approval(self, approval_id: str) -> ApprovalRecord | None: ...

    async def pending_approvals(self) -> list[ApprovalRecord]:
        """Every approval waiting for a decision, oldest first."""
        ...

    async def decide(self, record: ApprovalRecord, decision: InboundMessage) -> ApprovalRecord:
        """Atomically: record the decision (``record`` carries it) if the approval is still
        pending, and queue ``decision`` for the conversation's worker. ApprovalNotPending
        when someone decided first."""
        ...

    async def expired(self, idle_s: float) -> list[str]:
        """Conversations idle for longer than ``idle_s`` that the store does not expire by
        itself (Redis keys carry a TTL, so Redis returns none)."""
        ...


class Closeable(Protocol):
    async def close(self) -> None: ...
