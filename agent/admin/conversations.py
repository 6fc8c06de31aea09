"""Reading conversations for operators: the filtered listing, a conversation's transcript
with its state and approvals, and the per-turn trace. Shared by the admin API
(agent/api/admin_conversations.py) and the web console.

Text search is not indexed: a search page walks the directory's matches for the other
filters, newest first, and reads each candidate's transcript, examining at most
``SEARCH_SCAN`` conversations per call (a page can then be short, with a cursor to go on).
Its cost is one transcript read per candidate; narrow it with the other filters.
"""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from agent.admin.trace import turn_view
from agent.errors import DeskhandError
from agent.runtime.directory import ConversationSummary, DirectoryQuery, Position
from agent.runtime.factory import Runtime
from agent.runtime.models import ApprovalRecord, Author, ConversationState, TranscriptEntry

SEARCH_SCAN = 200  # conversations one text-search page reads at most
_HIDDEN_META = ("trace", "reasoning")  # in the trace view, not in the transcript


class ConversationNotFound(DeskhandError):
    pass


class InvalidCursor(DeskhandError):
    pass


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


async def list_conversations(
    runtime: Runtime, query: DirectoryQuery, limit: int, cursor: str | None, text: str | None
) -> Page:
    """Summaries matching ``query`` (and mentioning ``text``), newest update first."""
    after = _position(cursor)
    if not text:
        page = await runtime.directory.page(query, limit, after)
        return Page([public_summary(s) for s in page.items], _encode_position(page.next))
    needle = text.casefold()
    found: list[ConversationSummary] = []
    examined = 0
    while examined < SEARCH_SCAN:
        page = await runtime.directory.page(
            query, min(max(limit, 50), SEARCH_SCAN - examined), after
        )
        for summary in page.items:
            examined += 1
            after = Position(summary.updated_at, summary.key)
            if await _mentions(runtime, summary.key, needle):
                found.append(summary)
                if len(found) == limit:
                    return Page([public_summary(s) for s in found], _encode_position(after))
        if page.next is None:
            return Page([public_summary(s) for s in found], None)
        after = page.next
    return Page([public_summary(s) for s in found], _encode_position(after))


async def conversation_detail(
    runtime: Runtime, key: str, limit: int, cursor: str | None
) -> dict[str, Any]:
    """The summary, state, approvals and a page of transcript entries (oldest first)."""
    after = _entry_position(cursor)
    summary = await runtime.directory.get(key)
    state, entries = await runtime.transcripts.read(key, after)
    if summary is None and state is None and not entries and after < 0:
        raise ConversationNotFound(f"no conversation {key!r}")
    shown = entries[:limit]
    more = len(entries) > limit
    return {
        "key": key,
        "summary": public_summary(summary) if summary else None,
        "state": _public_state(key, state),
        "approvals": [_public_approval(r) for r in await _approvals(runtime, key, summary)],
        "entries": [public_entry(after + 1 + i, entry) for i, entry in enumerate(shown)],
        "next_cursor": _encode_entry(after + len(shown)) if more else None,
    }


async def conversation_turns(runtime: Runtime, key: str, limit: int, cursor: str | None) -> Page:
    """The bot's turns with their traces, oldest first: a page of ``limit`` turns."""
    after = _entry_position(cursor)
    entries = await runtime.transcripts.entries(key, after=after)
    if not entries and after < 0 and await runtime.transcripts.state(key) is None:
        raise ConversationNotFound(f"no conversation {key!r}")
    turns: list[dict[str, Any]] = []
    for offset, entry in enumerate(entries):
        if entry.author is not Author.BOT:
            continue
        if len(turns) == limit:
            return Page(turns, _encode_entry(after + offset))
        turns.append(turn_view(after + 1 + offset, entry))
    return Page(turns, None)


async def require_conversation(runtime: Runtime, key: str) -> ConversationSummary | None:
    """The conversation's summary (None before its first turn); ConversationNotFound when
    nothing at all is known about it."""
    summary = await runtime.directory.get(key)
    if summary is not None:
        return summary
    if await runtime.transcripts.state(key) is None and not await runtime.transcripts.entries(key):
        raise ConversationNotFound(f"no conversation {key!r}")
    return None


def public_summary(summary: ConversationSummary) -> dict[str, Any]:
    data = summary.to_dict()
    for internal in ("v", "entries", "last_customer_at"):
        data.pop(internal, None)
    return data


def public_entry(position: int, entry: TranscriptEntry) -> dict[str, Any]:
    meta = {k: v for k, v in entry.meta.items() if k not in _HIDDEN_META}
    return {
        "position": position,
        "author": entry.author.value,
        "text": entry.text,
        "message_id": entry.message_id,
        "at": entry.at,
        "citations": list(entry.citations),
        "meta": meta,
    }


async def _approvals(
    runtime: Runtime, key: str, summary: ConversationSummary | None
) -> list[ApprovalRecord]:
    """The conversation's pending approvals, and its latest one whatever its status."""
    records = [r for r in await runtime.mailboxes.pending_approvals() if r.conversation_key == key]
    latest = summary.approval_id if summary else None
    if latest is not None and all(r.id != latest for r in records):
        record = await runtime.mailboxes.approval(latest)
        if record is not None:
            records.append(record)
    return records


async def _mentions(runtime: Runtime, key: str, needle: str) -> bool:
    entries = await runtime.transcripts.entries(key)
    return any(needle in entry.text.casefold() for entry in entries)


def _public_state(key: str, state: ConversationState | None) -> dict[str, Any]:
    state = state or ConversationState(key=key)
    return {"mode": state.mode.value, "escalation_reason": state.escalation_reason}


def _public_approval(record: ApprovalRecord) -> dict[str, Any]:
    data = record.to_dict()
    data.pop("v", None)
    data.pop("checkpoint_id", None)
    return data


def _encode_position(position: Position | None) -> str | None:
    if position is None:
        return None
    return _encode({"u": position.updated_at, "k": position.key})


def _position(cursor: str | None) -> Position | None:
    if cursor is None:
        return None
    data = _decode(cursor)
    try:
        return Position(float(data["u"]), str(data["k"]))
    except (KeyError, TypeError, ValueError):
        raise InvalidCursor("not a cursor this listing gave") from None


def _encode_entry(position: int) -> str:
    return _encode({"p": position})


def _entry_position(cursor: str | None) -> int:
    """The position after which the page starts (-1: from the beginning)."""
    if cursor is None:
        return -1
    data = _decode(cursor)
    position = data.get("p")
    if not isinstance(position, int) or position < -1:
        raise InvalidCursor("not a cursor this listing gave")
    return position


def _encode(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidCursor("not a cursor this listing gave") from None
    if not isinstance(data, dict):
        raise InvalidCursor("not a cursor this listing gave")
    return data
