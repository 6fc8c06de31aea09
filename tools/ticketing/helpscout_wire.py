"""Help Scout wire details: the ``Resource-ID`` of a 201, paths, ids, customer references."""

from typing import Any, NamedTuple
from urllib.parse import quote

import httpx

from tools.context import Customer
from tools.errors import HelpdeskResponseInvalid, TicketingError
from tools.helpdesk_http import HelpdeskHttp
from tools.ticketing.helpdesk_json import Json


class Created(NamedTuple):
    """A 201 answer: the ``Resource-ID`` header (Help Scout sends no body)."""

    resource_id: str


class ResourceIdHttp(HelpdeskHttp):
    """``HelpdeskHttp`` that also reports the ``Resource-ID`` header of a body-less 201."""

    def parse_response(self, response: httpx.Response) -> Any:
        data = super().parse_response(response)
        resource_id = response.headers.get("resource-id")
        return Created(resource_id) if resource_id and data is None else data


def path(conversation_id: Any) -> str:
    return f"/v2/conversations/{quote(str(conversation_id), safe='')}"


def number(value: str, what: str) -> int:
    if not (value.isascii() and value.isdigit()):
        raise TicketingError(f"helpscout {what} must be a number, got {value[:40]!r}")
    return int(value)


def created_id(answer: Any) -> str:
    if isinstance(answer, Created):
        return answer.resource_id
    raise HelpdeskResponseInvalid("helpscout: a create answered without a Resource-ID header")


def customer_ref(customer: Customer) -> Json:
    if customer.email:
        ref: Json = {"email": customer.email}
        if customer.name:
            ref["firstName"] = customer.name
        return ref
    return {"id": number(customer.id, "customer id")}


def customer_query(customer: Customer) -> str | None:
    if customer.email:
        email = "".join(ch for ch in customer.email if ch not in '"\\()')
        return f'(email:"{email}")'
    if customer.id.isascii() and customer.id.isdigit():
        return f"(customerIds:{customer.id})"
    return None
