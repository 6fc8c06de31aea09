"""Keep the conversation directory up to date: a summary folded from the transcript.

``DirectoryUpdates.refresh`` is called by the worker after everything it commits for a
conversation (a turn, a manual-mode message, a mode change, an operator's action, an
approval decision) while it holds the conversation, so the summaries of one conversation
are written in order. It reads only the transcript entries the summary has not counted
yet (``entries``) and the conversation's state, so it is cheap, idempotent and
self-healing: an update lost to a crash is folded in by the next one. The webhook path
writes nothing here; a customer message shows in the listing once the worker has taken
it (the coalescing delay plus the queue's wait), in manual mode too.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from agent.runtime.directory import ConversationDirectory, ConversationSummary, Status
from agent.runtime.models import (
    ApprovalStatus,
    Author,
    ConversationState,
    Mode,
    TranscriptEntry,
)
from agent.runtime.stores import Mailboxes, RuntimeStoreError, TranscriptStore

log = logging.getLogger(__name__)

PREVIEW_CHARS = 200
# Escalation reasons that say a person owns the conversation (not an escalation waiting)
PERSON_OWNED = ("helpdesk:", "operator:")


@dataclass(frozen=True)
class Noted:
    """What an operator's action adds that the transcript does not say."""

    resolved_at: float | None = None
    draft_handled: str | None = None  # the draft (its message id) sent or discarded
    customer_id: str | None = None


class DirectoryUpdates:
    def __init__(
        self,
        directory: ConversationDirectory,
        transcripts: TranscriptStore,
        mailboxes: Mailboxes,
        draft_mode: Callable[[str], bool],
    ) -> None:
        self.directory = directory
        self._transcripts = transcripts
        self._mailboxes = mailboxes
        self._draft_mode = draft_mode  # tenant -> replies are drafts for a person to send

    async def refresh(
        self, conversation_key: str, noted: Noted | None = None, now: float | None = None
    ) -> ConversationSummary | None:
        """Fold what changed into the conversation's summary; None when it has no record
        at all (nothing was ever written about it)."""
        noted = noted or Noted()
        previous = await self.directory.get(conversation_key)
        after = previous.entries - 1 if previous else -1
        new = await self._transcripts.entries(conversation_key, after=after)
        state = await self._transcripts.state(conversation_key)
        if previous is None and not new and state is None:
            return None
        now = time.time() if now is None else now
        start = previous or ConversationSummary.empty(conversation_key, new[0].at if new else now)
        summary = _fold(start, new, self._draft_mode(start.tenant))
        summary = await self._apply(summary, state, noted)
        if previous is not None and replace(summary, updated_at=previous.updated_at) == previous:
            return previous
        summary = summary.touched(max(now, summary.updated_at))
        await self.directory.put(summary)
        return summary

    async def safely(self, conversation_key: str, noted: Noted | None = None) -> None:
        """``refresh``, logging a store failure instead of raising it (the next refresh
        catches up): the worker's commit already happened."""
        try:
            await self.refresh(conversation_key, noted)
        except RuntimeStoreError as error:
            log.warning(
                "the conversation directory was not updated",
                extra={"conversation": conversation_key, "error": str(error)},
            )

    async def _apply(
        self, summary: ConversationSummary, state: ConversationState | None, noted: Noted
    ) -> ConversationSummary:
        mode = state.mode if state else Mode.AUTO
        reason = summary.escalation_reason
        if state is not None and state.escalation_reason and not _person_owned(state):
            reason = state.escalation_reason
        draft = summary.draft
        if draft is not None and noted.draft_handled == draft.get("message_id"):
            draft = None
        updated = replace(
            summary,
            mode=mode,
            escalation_reason=reason,
            draft=draft,
            resolved_at=noted.resolved_at or summary.resolved_at,
            customer_id=noted.customer_id or summary.customer_id,
        )
        return replace(updated, status=await self._status(updated, state))

    async def _status(
        self, summary: ConversationSummary, state: ConversationState | None
    ) -> Status:
        resolved = summary.resolved_at
        if resolved is not None and resolved >= summary.last_customer_at:
            return Status.RESOLVED
        if summary.approval_id is not None:
            record = await self._mailboxes.approval(summary.approval_id)
            if record is not None and record.status is ApprovalStatus.PENDING:
                return Status.AWAITING_APPROVAL
        if state is None or state.mode is Mode.AUTO:
            return Status.AUTO
        return Status.MANUAL if _person_owned(state) else Status.ESCALATED


def _fold(
    summary: ConversationSummary, new: list[TranscriptEntry], drafts: bool
) -> ConversationSummary:
    """The summary with the new transcript entries counted."""
    if not new:
        return summary
    counts = dict(summary.counts)
    fields: dict[str, Any] = {
        "approval_id": summary.approval_id,
        "escalation_reason": summary.escalation_reason,
        "draft": summary.draft,
        "last_customer_at": summary.last_customer_at,
    }
    for entry in new:
        counts[entry.author.value] = counts.get(entry.author.value, 0) + 1
        if entry.author is Author.CUSTOMER:
            fields["last_customer_at"] = max(fields["last_customer_at"], entry.at)
        elif entry.author is Author.OPERATOR:
            fields["draft"] = None  # a person answered: the bot's draft is moot
        else:
            _bot_entry(entry, fields, drafts)
    last = new[-1]
    preview = {"author": last.author.value, "text": last.text[:PREVIEW_CHARS], "at": last.at}
    return replace(
        summary,
        counts=counts,
        entries=summary.entries + len(new),
        last_message=preview,
        updated_at=max(summary.updated_at, last.at),
        **fields,
    )


def _bot_entry(entry: TranscriptEntry, fields: dict[str, Any], drafts: bool) -> None:
    escalation = entry.meta.get("escalation")
    if isinstance(escalation, dict) and escalation.get("reason"):
        fields["escalation_reason"] = str(escalation["reason"])
    approval = entry.meta.get("approval")
    if isinstance(approval, dict) and approval.get("id"):
        fields["approval_id"] = str(approval["id"])
    if drafts and entry.text and not entry.meta.get("holding"):
        fields["draft"] = {"message_id": entry.message_id, "text": entry.text}


def _person_owned(state: ConversationState) -> bool:
    reason = state.escalation_reason or ""
    return state.mode is Mode.MANUAL and (not reason or reason.startswith(PERSON_OWNED))
