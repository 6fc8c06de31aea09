"""A tenant's answered conversations as a chat-format training set (docs/fine-tuning.md).

One record per conversation, in the OpenAI chat format that trainers read:
``{"messages": [{"role": "system"|"user"|"assistant", "content": ...}], "metadata": {...}}``.
The messages are what the customer saw: the customer's words (a burst the bot answered as
one turn joined into one user message), the bot's replies and the operators' replies (both
assistant; the operators' marked in the metadata, by index). Left out: tool calls and the
turn traces, holding messages ("we will get back to you"), and, for a tenant whose replies
are drafts for a person, the bot's drafts (only what a person sent reached the customer).

A conversation is exported when its last activity (its newest transcript entry) lies in
``[since, until)`` and it is answered: it does not end with a customer message waiting for a
reply, nor with an action waiting for an operator's approval. Conversations are listed
through the conversation directory (``agent.runtime.directory``).
"""

import hashlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.runtime.directory import (
    ConversationDirectory,
    ConversationSummary,
    DirectoryQuery,
    Position,
    Status,
)
from agent.runtime.models import Author, TranscriptEntry
from agent.runtime.stores import TranscriptStore

CHAT_JSONL = "chat-jsonl"
PAGE_SIZE = 200


@dataclass(frozen=True)
class ExportRequest:
    tenant: str
    since: float  # inclusive, epoch seconds
    until: float | None = None  # exclusive; None: up to now
    system_prompt: str | None = None  # the tenant's, as the first message of each record
    redact: Callable[[str], str] | None = None  # applied to every message's content
    bot_replies_seen: bool = True  # False: the tenant's bot writes drafts for a person


@dataclass(frozen=True)
class Exported:
    """One conversation's outcome: its record, or why it was left out."""

    key: str
    record: dict[str, Any] | None
    skipped: str | None = None  # "waiting", "outside the window", "no answer", ...


async def export_conversations(
    directory: ConversationDirectory, transcripts: TranscriptStore, request: ExportRequest
) -> AsyncIterator[Exported]:
    """Every conversation of the tenant active since ``request.since``, newest first."""
    query = DirectoryQuery(tenant=request.tenant, updated_since=request.since)
    after: Position | None = None
    while True:
        page = await directory.page(query, PAGE_SIZE, after)
        for summary in page.items:
            entries = await transcripts.entries(summary.key)
            yield conversation_record(summary, entries, request)
        if page.next is None:
            return
        after = page.next


def conversation_record(
    summary: ConversationSummary, entries: list[TranscriptEntry], request: ExportRequest
) -> Exported:
    """The conversation as a training record, or the reason it is not one."""
    key = summary.key
    if not entries:
        return Exported(key, None, "no answer")
    last_activity = max(entry.at for entry in entries)
    if last_activity < request.since or (
        request.until is not None and last_activity >= request.until
    ):
        return Exported(key, None, "outside the window")
    seen = _seen_by_customer(entries, request.bot_replies_seen)
    if summary.status is Status.AWAITING_APPROVAL or not seen or _waiting(seen):
        return Exported(key, None, "waiting")
    messages, operator_indices = _messages(seen, request)
    if not any(message["role"] == "user" for message in messages):
        return Exported(key, None, "no customer message")
    reason = _escalation_reason(entries) or summary.escalation_reason
    metadata = {
        "conversation": conversation_hash(key),
        "tenant": summary.tenant,
        "channel": summary.channel,
        "escalated": reason is not None,
        "escalation_reason": reason,
        "status": summary.status.value,
        "operator_messages": operator_indices,
        "turns": sum(1 for message in messages if message["role"] == "user"),
        "started_at": _iso(min(entry.at for entry in entries)),
        "last_activity_at": _iso(last_activity),
        "redacted": request.redact is not None,
    }
    return Exported(key, {"messages": messages, "metadata": metadata})


def conversation_hash(conversation_key: str) -> str:
    """A stable id for the record that does not show the helpdesk's conversation id."""
    return hashlib.sha256(conversation_key.encode()).hexdigest()[:16]


def _seen_by_customer(
    entries: list[TranscriptEntry], bot_replies_seen: bool
) -> list[TranscriptEntry]:
    """The entries the customer saw: no holding messages, no empty or superseded drafts."""
    sent_drafts = {
        str(entry.meta["draft_of"])
        for entry in entries
        if entry.author is Author.OPERATOR and entry.meta.get("draft_of")
    }
    kept = []
    for entry in entries:
        if not entry.text.strip():
            continue
        if entry.author is Author.BOT and (
            not bot_replies_seen or entry.meta.get("holding") or entry.message_id in sent_drafts
        ):
            continue
        kept.append(entry)
    return kept


def _waiting(seen: list[TranscriptEntry]) -> bool:
    return seen[-1].author is Author.CUSTOMER


def _messages(
    seen: list[TranscriptEntry], request: ExportRequest
) -> tuple[list[dict[str, str]], list[int]]:
    clean = request.redact or (lambda text: text)
    messages: list[dict[str, str]] = []
    if request.system_prompt:
        messages.append({"role": "system", "content": request.system_prompt})
    operators: list[int] = []
    for entry in seen:
        text = clean(entry.text)
        if entry.author is Author.CUSTOMER:
            if messages and messages[-1]["role"] == "user":
                messages[-1]["content"] += "\n" + text  # a burst answered as one turn
            else:
                messages.append({"role": "user", "content": text})
            continue
        if entry.author is Author.OPERATOR:
            operators.append(len(messages))
        messages.append({"role": "assistant", "content": text})
    return messages, operators


def _escalation_reason(entries: list[TranscriptEntry]) -> str | None:
    reasons = [
        str(entry.meta["escalation"]["reason"])
        for entry in entries
        if isinstance(entry.meta.get("escalation"), dict) and entry.meta["escalation"].get("reason")
    ]
    return reasons[-1] if reasons else None


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="seconds")
