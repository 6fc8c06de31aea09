"""Erase one customer's data (GDPR art. 17): conversations, checkpoints, built-in tickets.

Conversations are found through the index the mailboxes keep from customer to
conversation; each one loses its messages, outbox, transcript (with the turn traces),
state, directory summary and LangGraph checkpoints. Tickets are erased from the built-in
store; a cloud helpdesk keeps its own copy, which its own deletion tools remove.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agent.runtime.directory import ConversationDirectory
from agent.runtime.stores import Mailboxes
from tools.ticketing.base import TicketingBackend
from tools.ticketing.builtin import BuiltinTicketStore

ForgetThread = Callable[[str], Awaitable[None]]


@dataclass
class Erasure:
    """What was removed for one tenant."""

    tenant: str
    conversations: list[str] = field(default_factory=list)
    tickets: int = 0
    tickets_elsewhere: bool = False  # the tenant's tickets live in a cloud helpdesk


async def erase_customer(
    tenant: str,
    customer_id: str,
    mailboxes: Mailboxes,
    helpdesk: TicketingBackend,
    forget_thread: ForgetThread | None = None,
    directory: ConversationDirectory | None = None,
) -> Erasure:
    erasure = Erasure(tenant)
    erasure.conversations = await mailboxes.customer_conversations(tenant, customer_id)
    for key in erasure.conversations:
        if forget_thread is not None:
            await forget_thread(key)
        await mailboxes.erase(key)
        if directory is not None:
            await directory.erase(key)
    await mailboxes.forget_customer(tenant, customer_id)
    if isinstance(helpdesk, BuiltinTicketStore):
        erasure.tickets = await helpdesk.erase_customer(customer_id)
    else:
        erasure.tickets_elsewhere = True
    return erasure
