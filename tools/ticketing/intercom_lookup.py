"""Intercom look-ups: tag ids by name, a customer's contacts, and their conversations."""

from tools.context import Customer
from tools.helpdesk_http import HelpdeskHttp
from tools.ticketing import intercom_parse as parse
from tools.ticketing.helpdesk_json import Json, ident, items_or_empty, obj

SEARCH_PAGE = 150  # the most conversations one search answer holds


class TagIds:
    """Tag names → ids: the workspace's tags are listed once, a missing one is created."""

    def __init__(self, http: HelpdeskHttp) -> None:
        self._http = http
        self._ids: dict[str, str] | None = None

    async def of(self, name: str) -> str:
        if self._ids is None:
            listed = obj(await self._http.request("GET", "/tags"), "intercom tag list")
            tags = items_or_empty(listed.get("data"), "intercom tag list")
            self._ids = {str(t.get("name")): ident(t.get("id"), "intercom tag") for t in tags}
        if name not in self._ids:
            # POST /tags creates the tag, or answers the existing one: safe to retry.
            made = obj(await self._http.request("POST", "/tags", json_body={"name": name}), "tag")
            self._ids[name] = ident(made.get("id"), "intercom tag")
        return self._ids[name]


async def find_contacts(http: HelpdeskHttp, customer: Customer) -> list[Json]:
    """Contacts with the customer's e-mail; without one, whose id or external_id is theirs."""
    if customer.email:
        query: Json = {"field": "email", "operator": "=", "value": customer.email}
    else:
        fields = ("id", "external_id")
        query = {
            "operator": "OR",
            "value": [{"field": f, "operator": "=", "value": customer.id} for f in fields],
        }
    found = await http.request("POST", "/contacts/search", json_body={"query": query})
    return items_or_empty(obj(found, "intercom contact list").get("data"), "intercom contacts")


async def create_contact(http: HelpdeskHttp, customer: Customer) -> Json:
    """A user contact (by e-mail, else with the customer's id as external_id)."""
    body: Json = {"role": "user"}
    body.update({"email": customer.email} if customer.email else {"external_id": customer.id})
    if customer.name:
        body["name"] = customer.name

    async def earlier() -> Json | None:
        found = await find_contacts(http, customer)
        return found[0] if found else None

    made = await http.request("POST", "/contacts", json_body=body, already_applied=earlier)
    return obj(made, "intercom contact")


async def conversations_of(http: HelpdeskHttp, contact_ids: list[str]) -> list[Json]:
    """The contacts' conversations: one search page of the most Intercom allows.

    The search takes no sort order, so callers sort; a contact with more than
    ``SEARCH_PAGE`` conversations has only those the search answers considered.
    """
    if len(contact_ids) == 1:
        query: Json = {"field": "contact_ids", "operator": "=", "value": contact_ids[0]}
    else:
        query = {"field": "contact_ids", "operator": "IN", "value": contact_ids}
    body = {"query": query, "pagination": {"per_page": SEARCH_PAGE}}
    found = await http.request("POST", "/conversations/search", json_body=body)
    raw = obj(found, "intercom conversation list").get("conversations")
    return [parse.conversation(c) for c in items_or_empty(raw, "intercom conversations")]
