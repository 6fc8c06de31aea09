"""New Front tickets: the customer's message imported into an inbox (see ``front``).

The import travels with the key three ways: its invisible marker in the body (what the
check-before-write looks for), ``external_id`` and ``metadata.thread_ref``.
"""

import time
from urllib.parse import quote

from tools.context import Customer
from tools.errors import TicketingError, TicketNotFound
from tools.helpdesk_http import HelpdeskHttp, Sleep
from tools.ticketing import front_parse as parse
from tools.ticketing.base import NewTicket, priority_tag
from tools.ticketing.front_lookup import FrontReader, path
from tools.ticketing.helpdesk_json import Json
from tools.ticketing.key_marker import digest, with_marker

LOOKBACK = 10  # a customer's newest conversations searched for an earlier import


def import_body(ticket: NewTicket, email: str, inbox_address: str, key: str) -> Json:
    tags = [*ticket.tags, *([priority_tag(ticket.priority)] if ticket.priority else [])]
    sender: Json = {"handle": email}
    if ticket.requester.name:
        sender["name"] = ticket.requester.name
    return {
        "sender": sender,
        "to": [inbox_address],
        "subject": ticket.subject,
        "body": with_marker(ticket.body, key),
        "external_id": f"deskhand-{digest(key)}",
        "created_at": int(time.time()),
        "type": "email",
        "tags": list(dict.fromkeys(tags)),
        "metadata": {"is_inbound": True, "is_archived": False, "thread_ref": digest(key)},
    }


async def created_by_key(reader: FrontReader, customer: Customer, key: str) -> str | None:
    """The conversation an earlier import with this key opened, if any."""
    for conv in await reader.customer_conversations(customer, LOOKBACK):
        messages = await reader.pages(f"{path(conv['id'])}/messages", "messages", 1000)
        if parse.marked(messages, [], key) is not None:
            return str(conv["id"])
    return None


async def imported_conversation(
    http: HelpdeskHttp, message_uid: str, attempts: int, pause_s: float, sleep: Sleep
) -> str:
    """The conversation of an imported message, once Front has processed it."""
    message_path = f"/messages/{quote('alt:uid:' + message_uid, safe=':')}"
    for attempt in range(attempts):
        try:
            return parse.message_conversation_id(await http.request("GET", message_path))
        except TicketNotFound:
            if attempt + 1 < attempts:
                await sleep(pause_s)
    raise TicketingError(f"front: imported message {message_uid} not processed in time")
