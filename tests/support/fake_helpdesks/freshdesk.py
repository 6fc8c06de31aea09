"""A fake Freshdesk (API v2): the endpoints ``FreshdeskClient`` calls, with in-memory state.

Shapes follow developers.freshdesk.com/api: tickets (status 2 to 5, priority 1 to 4, ``tags``
replaced by a PUT), conversations (``body`` HTML, ``body_text``, ``private``, ``incoming``,
``source`` 0 reply / 2 note), Basic auth with the API key as user name (401
``invalid_credentials`` otherwise), 400 ``Validation failed`` with per-field errors.
``strip_invisible`` makes the fake drop zero-width characters from stored bodies (a
sanitiser the client's check-before-write must survive).
"""

import base64
import html
import itertools
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.support.fake_helpdesks import BackendUnderTest
from tests.support.fake_helpdesks.base import Directory, FakeHelpdesk, json_body
from tools.retry import RetryPolicy
from tools.ticketing.freshdesk import FreshdeskClient, FreshdeskConfig

Json = dict[str, Any]
API_KEY = "fd-key-9f8e7d6c5b4a"
BOT_AGENT_ID = 5000
AGENT_ID = 5001
GROUP_ID = 7001
HUMAN_GROUP_ID = 7002
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=0.01)
_INVISIBLE = re.compile("[\u200b\u200c\u2063]")
_EPOCH = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@dataclass
class FakeFreshdesk(FakeHelpdesk):
    name: str = "freshdesk"
    api_key: str = API_KEY
    strip_invisible: bool = False
    tickets: dict[int, Json] = field(default_factory=dict)
    conversations: dict[int, list[Json]] = field(default_factory=dict)
    contacts: dict[int, Json] = field(default_factory=dict)
    agents: set[int] = field(default_factory=lambda: {BOT_AGENT_ID, AGENT_ID})
    groups: set[int] = field(default_factory=lambda: {GROUP_ID, HUMAN_GROUP_ID})
    directory: Directory = field(
        default_factory=lambda: Directory(str(AGENT_ID), str(GROUP_ID), str(HUMAN_GROUP_ID))
    )
    url: str = ""
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(101))
    _clock: "itertools.count[int]" = field(default_factory=itertools.count)

    def start(self) -> str:
        """Start serving; ``url`` is then the base URL a client is configured with."""
        self.url = super().start()
        return self.url

    def __post_init__(self) -> None:
        tickets, one = "/api/v2/tickets", "/api/v2/tickets/{ticket_id:int}"
        self.route("GET", tickets, self._authed(self._list_tickets))
        self.route("POST", tickets, self._authed(self._create_ticket))
        self.route("GET", one, self._authed(self._show_ticket))
        self.route("PUT", one, self._authed(self._update_ticket))
        self.route("GET", one + "/conversations", self._authed(self._list_conversations))
        self.route("POST", one + "/reply", self._authed(self._reply))
        self.route("POST", one + "/notes", self._authed(self._note))

    # --- seeding (tests) -------------------------------------------------------------
    def seed_ticket(self, subject: str, email: str, **fields: Any) -> Json:
        requester = self._contact_for(email, None)
        ticket = self._new_ticket({"subject": subject, "description": "<p>seeded</p>"}, requester)
        ticket.update(fields)
        return ticket

    def customer_writes(self, ticket_id: int, text: str) -> Json:
        requester = self.tickets[ticket_id]["requester_id"]
        return self._add_conversation(ticket_id, f"<p>{html.escape(text)}</p>", requester, 0, True)

    # --- handlers --------------------------------------------------------------------
    async def _create_ticket(self, request: Request) -> Response:
        body = await json_body(request)
        problems = _ticket_problems(body, self, creating=True)
        if problems:
            return _invalid(problems)
        requester = self._requester(body)
        if requester is None:
            return _invalid([("requester_id", "There is no contact matching the given ID")])
        ticket = self._new_ticket(body, requester)
        return JSONResponse(self._ticket_json(ticket, description=True), status_code=201)

    async def _show_ticket(self, request: Request) -> Response:
        ticket = self.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return Response(status_code=404)
        data = self._ticket_json(ticket, description=True)
        if "requester" in request.query_params.get("include", ""):
            contact = self.contacts[ticket["requester_id"]]
            data["requester"] = {k: contact.get(k) for k in ("id", "name", "email", "phone")}
        return JSONResponse(data)

    async def _update_ticket(self, request: Request) -> Response:
        ticket = self.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return Response(status_code=404)
        body = await json_body(request)
        problems = _ticket_problems(body, self, creating=False)
        if problems:
            return _invalid(problems)
        for name in ("status", "priority", "responder_id", "group_id", "subject"):
            if name in body:
                ticket[name] = body[name]
        if "tags" in body:
            ticket["tags"] = list(dict.fromkeys(body["tags"]))
        ticket["updated_at"] = self._now()
        return JSONResponse(self._ticket_json(ticket, description=True))

    async def _list_tickets(self, request: Request) -> Response:
        query = request.query_params
        per_page, page = int(query.get("per_page", "30")), int(query.get("page", "1"))
        if not 1 <= per_page <= 100:
            return _invalid(
                [("per_page", "It should be a Positive Number less than or equal to 100")]
            )
        unknown = self._unknown_requester(query)
        if unknown:
            return _invalid([(unknown, f"There is no contact matching the given {unknown}")])
        found = [t for t in self.tickets.values() if self._matches(t, query)]
        found.sort(
            key=lambda t: (t["created_at"], t["id"]), reverse=query.get("order_type") != "asc"
        )
        chunk = found[(page - 1) * per_page : page * per_page]
        with_description = "description" in query.get("include", "")
        return JSONResponse([self._ticket_json(t, description=with_description) for t in chunk])

    async def _list_conversations(self, request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        if ticket_id not in self.tickets:
            return Response(status_code=404)
        query = request.query_params
        per_page, page = int(query.get("per_page", "30")), int(query.get("page", "1"))
        chunk = self.conversations[ticket_id][(page - 1) * per_page : page * per_page]
        return JSONResponse(chunk)

    async def _reply(self, request: Request) -> Response:
        return await self._write_conversation(request, note=False)

    async def _note(self, request: Request) -> Response:
        return await self._write_conversation(request, note=True)

    async def _write_conversation(self, request: Request, note: bool) -> Response:
        ticket_id = request.path_params["ticket_id"]
        if ticket_id not in self.tickets:
            return Response(status_code=404)
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("body"), str):
            return _invalid([("body", "It should be a/an String")])
        private = bool(body.get("private", True)) if note else False
        conversation = self._add_conversation(
            ticket_id, body["body"], BOT_AGENT_ID, 2 if note else 0, False, private
        )
        return JSONResponse(conversation, status_code=201)

    # --- state -------------------------------------------------------------------------
    def _authed(self, handler: Any) -> Any:
        async def checked(request: Request) -> Response:
            if not self._authorised(request.headers.get("authorization", "")):
                return JSONResponse(
                    {
                        "code": "invalid_credentials",
                        "message": "You have to be logged in to perform this action.",
                    },
                    status_code=401,
                )
            response: Response = await handler(request)
            return response

        return checked

    def _authorised(self, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, _password = base64.b64decode(encoded).decode().partition(":")
        except ValueError:
            return False
        return user == self.api_key

    def _now(self) -> str:
        moment = _EPOCH + timedelta(seconds=next(self._clock))
        return moment.isoformat().replace("+00:00", "Z")

    def _clean(self, markup: str) -> str:
        return _INVISIBLE.sub("", markup) if self.strip_invisible else markup

    def _contact_for(self, email: str, name: str | None) -> int:
        for contact in self.contacts.values():
            if contact["email"].lower() == email.lower():
                return int(contact["id"])
        contact_id = next(self._ids)
        self.contacts[contact_id] = {"id": contact_id, "name": name or email, "email": email}
        return contact_id

    def _requester(self, body: Json) -> int | None:
        if isinstance(body.get("email"), str):
            return self._contact_for(body["email"], body.get("name"))
        requester = body.get("requester_id")
        return requester if requester in self.contacts else None

    def _new_ticket(self, body: Json, requester: int) -> Json:
        ticket_id, now = next(self._ids), self._now()
        description = self._clean(body["description"])
        self.tickets[ticket_id] = {
            "id": ticket_id,
            "subject": body["subject"],
            "description": description,
            "description_text": _text(description),
            "status": body.get("status", 2),
            "priority": body.get("priority", 1),
            "source": body.get("source", 2),
            "type": None,
            "requester_id": requester,
            "responder_id": body.get("responder_id"),
            "group_id": body.get("group_id"),
            "tags": list(dict.fromkeys(body.get("tags", []))),
            "custom_fields": {},
            "spam": False,
            "created_at": now,
            "updated_at": now,
        }
        self.conversations[ticket_id] = []
        return self.tickets[ticket_id]

    def _add_conversation(
        self,
        ticket_id: int,
        markup: str,
        user: int,
        source: int,
        incoming: bool,
        private: bool = False,
    ) -> Json:
        now, markup = self._now(), self._clean(markup)
        conversation = {
            "id": next(self._ids),
            "body": markup,
            "body_text": _text(markup),
            "incoming": incoming,
            "private": private,
            "user_id": user,
            "support_email": None if private else "support@acme.freshdesk.com",
            "source": source,
            "ticket_id": ticket_id,
            "to_emails": [],
            "attachments": [],
            "created_at": now,
            "updated_at": now,
        }
        self.conversations[ticket_id].append(conversation)
        return conversation

    def _unknown_requester(self, query: Any) -> str | None:
        """The filter naming a contact that does not exist (Freshdesk answers 400)."""
        emails = {str(c["email"]).lower() for c in self.contacts.values()}
        if "email" in query and query["email"].lower() not in emails:
            return "email"
        if "requester_id" in query and int(query["requester_id"]) not in self.contacts:
            return "requester_id"
        return None

    def _matches(self, ticket: Json, query: Any) -> bool:
        contact = self.contacts[ticket["requester_id"]]
        if "email" in query and contact["email"].lower() != query["email"].lower():
            return False
        return not (
            "requester_id" in query and str(ticket["requester_id"]) != query["requester_id"]
        )

    def _ticket_json(self, ticket: Json, description: bool) -> Json:
        hidden = () if description else ("description", "description_text")
        return {k: v for k, v in ticket.items() if k not in hidden}


def _ticket_problems(body: Any, fake: FakeFreshdesk, creating: bool) -> list[tuple[str, str]]:
    if not isinstance(body, dict):
        return [("body", "It should be a JSON object")]
    problems: list[tuple[str, str]] = []
    if creating and not isinstance(body.get("subject"), str):
        problems.append(("subject", "It should be a/an String"))
    if creating and not isinstance(body.get("description"), str):
        problems.append(("description", "It should be a/an String"))
    if "status" in body and body["status"] not in (2, 3, 4, 5):
        problems.append(("status", "It should be one of these values: '2,3,4,5'"))
    if "priority" in body and body["priority"] not in (1, 2, 3, 4):
        problems.append(("priority", "It should be one of these values: '1,2,3,4'"))
    if body.get("responder_id") is not None and body["responder_id"] not in fake.agents:
        problems.append(("responder_id", "There is no agent matching the given responder_id"))
    if body.get("group_id") is not None and body["group_id"] not in fake.groups:
        problems.append(("group_id", "There is no group matching the given group_id"))
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(("tags", "It should be an Array of Strings"))
    return problems


def _invalid(problems: list[tuple[str, str]]) -> JSONResponse:
    errors = [{"field": f, "message": m, "code": "invalid_value"} for f, m in problems]
    return JSONResponse({"description": "Validation failed", "errors": errors}, status_code=400)


def _text(markup: str) -> str:
    """Freshdesk's ``body_text``: the HTML without tags (and comments), entities decoded."""
    markup = re.sub(r"<!--.*?-->", "", markup, flags=re.DOTALL)
    markup = re.sub(r"<br\s*/?>|</p>", "\n", markup, flags=re.IGNORECASE)
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


def freshdesk_client(
    fake: FakeFreshdesk,
    *,
    api_key: str = API_KEY,
    timeout_s: float = 2.0,
    retry: RetryPolicy = FAST_RETRY,
    sleep: Any = None,
) -> FreshdeskClient:
    """A client for the started ``fake``; ``sleep`` None: real (tiny) backoffs."""
    config = FreshdeskConfig(
        base_url=fake.url, api_key=api_key, human_group_id=HUMAN_GROUP_ID, timeout_s=timeout_s
    )
    if sleep is None:
        return FreshdeskClient(config, retry=retry)
    return FreshdeskClient(config, retry=retry, sleep=sleep)


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    fake = FakeFreshdesk()
    fake.start()
    client = freshdesk_client(fake)
    try:
        yield BackendUnderTest(client, fake)
    finally:
        await client.aclose()
        fake.stop()
