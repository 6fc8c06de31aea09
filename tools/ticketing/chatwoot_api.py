"""The Chatwoot REST calls ``ChatwootClient`` makes, under ``/api/v1/accounts/{account}``.

Each call goes through ``HelpdeskHttp`` (timeouts, retries, typed errors) with the
``api_access_token`` header, and answers the JSON Chatwoot documents, shape-checked.
"""

import asyncio
from typing import Literal

import httpx

from tools.helpdesk_http import AlreadyApplied, HelpdeskHttp, Sleep
from tools.retry import RetryPolicy
from tools.ticketing import chatwoot_wire as wire
from tools.ticketing.helpdesk_json import Json, at, int_ident, items, obj, strings, ticket_number
from tools.ticketing.tagging import tag_changes

_PAGE = 20  # Chatwoot's MessageFinder answers 20 messages a page
_MAX_PAGES = 50


class ChatwootApi:
    def __init__(
        self,
        base_url: str,
        account_id: int,
        access_token: str,
        *,
        timeout_s: float,
        retry: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._account = f"/api/v1/accounts/{account_id}"
        self._http = HelpdeskHttp(
            "chatwoot",
            base_url,
            headers={"api_access_token": access_token, "Accept": "application/json"},
            timeout_s=timeout_s,
            retry=retry,
            sleep=sleep,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- conversations ---------------------------------------------------------------
    async def conversation(self, ticket_id: str) -> Json:
        data = await self._http.request("GET", self._conversation(ticket_id))
        return obj(data, "chatwoot conversation")

    async def create_conversation(self, body: Json, applied: AlreadyApplied) -> Json:
        path = f"{self._account}/conversations"
        data = await self._http.request("POST", path, json_body=body, already_applied=applied)
        return obj(data, "chatwoot conversation")

    async def messages(self, ticket_id: str) -> list[Json]:
        """Every message, oldest first: pages of 20, walking back with ``before``."""
        path = f"{self._conversation(ticket_id)}/messages"
        found: dict[int, Json] = {}
        params: dict[str, str | int] = {}
        for _ in range(_MAX_PAGES):
            data = await self._http.request("GET", path, params=params)
            page = items(obj(data, "chatwoot messages").get("payload"), "chatwoot messages")
            ids = [int_ident(m.get("id"), "chatwoot message") for m in page]
            fresh = {i: m for i, m in zip(ids, page, strict=True) if i not in found}
            found.update(fresh)
            if len(page) < _PAGE or not fresh:
                break
            params = {"before": min(ids)}
        return [found[i] for i in sorted(found)]

    async def post_message(
        self, ticket_id: str, content: str, private: bool, applied: AlreadyApplied
    ) -> Json:
        """An outgoing message: a reply to the customer, or (``private``) a note."""
        body = {"content": content, "message_type": "outgoing", "private": private}
        path = f"{self._conversation(ticket_id)}/messages"
        data = await self._http.request("POST", path, json_body=body, already_applied=applied)
        return obj(data, "chatwoot message")

    async def set_status(self, ticket_id: str, status: str) -> None:
        path = f"{self._conversation(ticket_id)}/toggle_status"
        await self._http.request("POST", path, json_body={"status": status})

    async def set_priority(self, ticket_id: str, priority: str) -> None:
        path = f"{self._conversation(ticket_id)}/toggle_priority"
        await self._http.request("POST", path, json_body={"priority": priority})

    async def merge_labels(
        self, ticket_id: str, add: tuple[str, ...], remove: tuple[str, ...]
    ) -> None:
        """A POST replaces the labels: read the current ones, send the merged set."""
        if not add and not remove:
            return
        path = f"{self._conversation(ticket_id)}/labels"
        data = await self._http.request("GET", path)
        current = strings(obj(data, "chatwoot labels").get("payload"), "chatwoot labels")
        changes = tag_changes(current, add, remove)
        if changes:
            labels = list(changes.result(current))
            await self._http.request("POST", path, json_body={"labels": labels})

    async def assign(
        self, ticket_id: str, field: Literal["team_id", "assignee_id"], value: int | None
    ) -> None:
        """A team or an agent (None: unassign), one per call, as Chatwoot takes them."""
        path = f"{self._conversation(ticket_id)}/assignments"
        await self._http.request("POST", path, json_body={field: value})

    # --- contacts --------------------------------------------------------------------
    async def contact_with_email(self, email: str) -> int | None:
        path = f"{self._account}/contacts/search"
        data = await self._http.request("GET", path, params={"q": email})
        found = items(obj(data, "chatwoot contacts").get("payload"), "chatwoot contacts")
        contact = wire.contact_with_email(found, email)
        return None if contact is None else int_ident(contact.get("id"), "chatwoot contact")

    async def create_contact(self, inbox_id: int, name: str, email: str) -> int:
        """A contact in ``inbox_id``; a retry after a lost answer finds it by e-mail first."""

        async def applied() -> Json | None:
            found = await self.contact_with_email(email)
            return None if found is None else {"payload": {"contact": {"id": found}}}

        body = {"inbox_id": inbox_id, "name": name, "email": email}
        path = f"{self._account}/contacts"
        data = await self._http.request("POST", path, json_body=body, already_applied=applied)
        contact = obj(at(obj(data, "chatwoot contact"), "payload", "contact"), "chatwoot contact")
        return int_ident(contact.get("id"), "chatwoot contact")

    async def contact_conversations(self, contact_id: int) -> list[Json]:
        path = f"{self._account}/contacts/{contact_id}/conversations"
        data = await self._http.request("GET", path)
        return items(obj(data, "chatwoot conversations").get("payload"), "chatwoot conversations")

    def _conversation(self, ticket_id: str) -> str:
        return f"{self._account}/conversations/{ticket_number(ticket_id)}"
