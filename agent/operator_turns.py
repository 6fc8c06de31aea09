"""An operator's action from the admin API, applied by the worker under the conversation's
claim, in order with the customer's messages and the bot's turns.

The admin API queues the action in the conversation's mailbox (``OPERATOR_ACTION``
messages, agent.admin.conversations); the worker commits its effect here: a message as the
operator (a transcript entry and an outbox item, delivered once through the channel like
the bot's replies), a draft sent or discarded, the conversation resolved. Take-over and
hand-back are ``MODE_CHANGE`` messages (agent.turns applies them).
"""

import logging

from agent.admin.directory import Noted
from agent.delivery import operator_reply_item
from agent.runtime.directory import ConversationDirectory
from agent.runtime.models import (
    Author,
    Claim,
    ConversationState,
    InboundMessage,
    Mode,
    OutboxItem,
    TranscriptEntry,
    TurnCommit,
)
from agent.runtime.stores import Mailboxes

log = logging.getLogger(__name__)

SEND = "send"
DRAFT_SEND = "draft_send"
DRAFT_DISCARD = "draft_discard"
RESOLVE = "resolve"
ACTIONS = (SEND, DRAFT_SEND, DRAFT_DISCARD, RESOLVE)


async def apply_operator_action(
    claim: Claim, mailboxes: Mailboxes, directory: ConversationDirectory | None
) -> Noted:
    """Commit the leading action of the claim (consuming it); what the directory should note."""
    message = claim.messages[0]
    action = str(message.data.get("action"))
    draft_of = message.data.get("draft_of")
    if action == DRAFT_SEND and not await _draft_pending(directory, claim, str(draft_of)):
        log.info("draft already handled: not sent", extra={"message": message.message_id})
        commit, noted = TurnCommit(consumed=1), Noted()
    elif action in (SEND, DRAFT_SEND):
        commit = TurnCommit(consumed=1, entries=(_entry(message),), outbox=(_item(message),))
        noted = Noted(draft_handled=str(draft_of) if draft_of else None)
    elif action == DRAFT_DISCARD:
        commit, noted = TurnCommit(consumed=1), Noted(draft_handled=str(draft_of))
    elif action == RESOLVE:
        state = ConversationState(key=claim.conversation_key, mode=Mode.AUTO)
        commit, noted = TurnCommit(consumed=1, state=state), Noted(resolved_at=message.received_at)
    else:
        log.error("unknown operator action dropped", extra={"action": action})
        commit, noted = TurnCommit(consumed=1), Noted()
    await mailboxes.commit(claim, commit)
    return noted


def _entry(message: InboundMessage) -> TranscriptEntry:
    meta = {"by": message.data.get("by"), "source": "admin"}
    if message.data.get("draft_of"):
        meta["draft_of"] = message.data["draft_of"]
    return TranscriptEntry(
        Author.OPERATOR,
        str(message.data["text"]),
        message.message_id,
        message.received_at,
        meta=meta,
    )


def _item(message: InboundMessage) -> OutboxItem:
    return operator_reply_item(
        message.message_id, str(message.data["text"]), str(message.data.get("by"))
    )


async def _draft_pending(
    directory: ConversationDirectory | None, claim: Claim, draft_of: str
) -> bool:
    if directory is None:
        return True
    summary = await directory.get(claim.conversation_key)
    return bool(summary and summary.draft and summary.draft.get("message_id") == draft_of)
