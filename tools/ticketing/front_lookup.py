"""Front reads: lists followed page by page, a customer's conversations, tag ids by name."""

from urllib.parse import quote

from tools.context import Customer
from tools.errors import TicketNotFound
from tools.helpdesk_http import HelpdeskHttp
from tools.ticketing import front_parse as parse
from tools.ticketing.helpdesk_json import Json, ident, obj

_MAX_PAGES = 10


def path(conversation_id: object) -> str:
    return f"/conversations/{quote(str(conversation_id), safe='')}"


class FrontReader:
    def __init__(self, http: HelpdeskHttp, base_url: str) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")

    async def pages(self, list_path: str, what: str, limit: int = 100) -> list[Json]:
        """``_results`` of a list, following ``_pagination.next`` on this API's host only."""
        found: list[Json] = []
        page = await self._http.request("GET", list_path, params={"limit": min(limit, 100)})
        for _ in range(_MAX_PAGES):
            found += parse.results(page, what)
            link = parse.next_page(page)
            if len(found) >= limit or not link or not link.startswith(self._base_url + "/"):
                break
            page = await self._http.request("GET", link.removeprefix(self._base_url))
        return found[:limit]

    async def messages_and_comments(self, conversation_id: str) -> tuple[list[Json], list[Json]]:
        messages = await self.pages(f"{path(conversation_id)}/messages", "messages", 1000)
        comments = await self.pages(f"{path(conversation_id)}/comments", "comments", 1000)
        return messages, comments

    async def customer_conversations(self, customer: Customer, limit: int) -> list[Json]:
        """Newest first; by the e-mail contact alias, else by the contact id."""
        contact = f"alt:email:{customer.email}" if customer.email else customer.id
        contact_path = f"/contacts/{quote(contact, safe=':@')}/conversations"
        try:
            found = await self.pages(contact_path, "conversations", limit)
        except TicketNotFound:
            return []  # Front knows no such contact: no conversations
        return [parse.conversation(conv) for conv in found]


class TagIds:
    """Tag names → ids: the company's tags are listed (again when a name is new), a tag
    missing from the list is created."""

    def __init__(self, http: HelpdeskHttp, reader: FrontReader) -> None:
        self._http = http
        self._reader = reader
        self._ids: dict[str, str] = {}

    async def of(self, name: str) -> str:
        if name not in self._ids:
            tags = await self._reader.pages("/tags", "tags", 10_000)
            self._ids = {str(t.get("name")): ident(t.get("id"), "front tag") for t in tags}
        if name not in self._ids:
            made = obj(await self._http.request("POST", "/tags", json_body={"name": name}), "tag")
            self._ids[name] = ident(made.get("id"), "front tag")
        return self._ids[name]
