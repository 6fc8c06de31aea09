"""A fake Zendesk Support: the Ticketing API v2 endpoints ZendeskClient uses, in memory.

Shapes as developer.zendesk.com documents them (Tickets, Ticket Comments, Tags, Users):

- ``GET /api/v2/tickets/{id}.json[?include=users]`` → ``{"ticket": {…}, "users": […]}``
- ``POST /api/v2/tickets.json`` ``{"ticket": {"subject", "comment": {"body", "public"},
  "requester": {"email", "name"} | "requester_id", "priority", "tags"}}`` → 201
  ``{"ticket": {…}}``. With ``Idempotency-Key``: the same key and body answer the first
  ticket again (``x-idempotency-lookup: hit``); the same key with another body → 400
  ``IdempotentRequestError``.
- ``PUT /api/v2/tickets/{id}.json`` ``{"ticket": {"status", "priority", "assignee_id",
  "group_id", "tags", "comment": {"body", "public", "author_id"}}}`` → ``{"ticket": {…},
  "audit": {"events": [{"type": "Comment" | "Change", …}]}}``; invalid values → 422
  ``{"error": "RecordInvalid", "description": "Record validation errors", "details": …}``
- ``GET /api/v2/tickets/{id}/comments.json`` and ``GET /api/v2/users/{id}/tickets/
  requested.json``: cursor pagination (``page[size]``, ``page[after]`` → ``meta.has_more``,
  ``meta.after_cursor``); comments take ``sort=-created_at``; requested takes
  ``include=users``.
- ``PUT`` / ``DELETE /api/v2/tickets/{id}/tags.json`` ``{"tags": […]}`` add / remove →
  ``{"tags": […]}``.
- ``GET /api/v2/users/search.json?query=email:…`` → ``{"users": […], "count", "next_page",
  "previous_page"}``.

Every endpoint wants ``Authorization: Basic base64("{email}/token:{api_token}")`` or
``Bearer {oauth_token}``; anything else → 401 ``{"error": "Couldn't authenticate you"}``.
Unknown tickets and users → 404 ``{"error": "RecordNotFound", "description": "Not found"}``.
"""

import base64
import copy
import html
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.support.fake_helpdesks import BackendUnderTest
from tests.support.fake_helpdesks.base import Directory, FakeHelpdesk, Handler, json_body
from tools.helpdesk_http import Sleep
from tools.retry import RetryPolicy
from tools.ticketing.zendesk import ZendeskClient, ZendeskConfig

Json = dict[str, Any]
BOT_AGENT_ID = 501
HUMAN_AGENT_ID = 502
SUPPORT_GROUP_ID = 601
ESCALATIONS_GROUP_ID = 602
_STATUSES = ("new", "open", "pending", "hold", "solved", "closed")
_PRIORITIES = ("low", "normal", "high", "urgent")
_EPOCH = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@dataclass
class FakeZendesk(FakeHelpdesk):
    name: str = "zendesk"
    email: str = "bot@acme.example"
    api_token: str = "zd-api-token-6f1c0e9a"
    oauth_token: str = "zd-oauth-token-93b2d7"
    users: dict[int, Json] = field(default_factory=dict)
    groups: dict[int, Json] = field(default_factory=dict)
    tickets: dict[int, Json] = field(default_factory=dict)
    comments: dict[int, list[Json]] = field(default_factory=dict)
    directory: Directory = field(
        default_factory=lambda: Directory(
            str(HUMAN_AGENT_ID), str(SUPPORT_GROUP_ID), str(ESCALATIONS_GROUP_ID)
        )
    )
    url: str = ""
    _idempotency: dict[str, tuple[Any, Json]] = field(default_factory=dict)
    _next_id: int = 35436
    _ticks: int = 0

    def __post_init__(self) -> None:
        self._add_user(BOT_AGENT_ID, "Deskhand Bot", self.email, "agent")
        self._add_user(HUMAN_AGENT_ID, "Hana Human", "hana@acme.example", "agent")
        self.groups.update({SUPPORT_GROUP_ID: {"name": "Support"}})
        self.groups.update({ESCALATIONS_GROUP_ID: {"name": "Escalations"}})
        ticket = "/api/v2/tickets/{ticket_id:int}"
        for method, path, handler in (
            ("GET", f"{ticket}.json", self._show_ticket),
            ("PUT", f"{ticket}.json", self._update_ticket),
            ("POST", "/api/v2/tickets.json", self._create_ticket),
            ("GET", f"{ticket}/comments.json", self._list_comments),
            ("PUT", f"{ticket}/tags.json", self._add_tags),
            ("DELETE", f"{ticket}/tags.json", self._remove_tags),
            ("GET", "/api/v2/users/search.json", self._search_users),
            ("GET", "/api/v2/users/{user_id:int}/tickets/requested.json", self._requested),
        ):
            self.route(method, path, self._authenticated(handler))

    def start(self) -> str:
        self.url = super().start()
        return self.url

    # --- what tests read -------------------------------------------------------------
    def authorization(self, oauth: bool = False) -> str:
        if oauth:
            return f"Bearer {self.oauth_token}"
        pair = f"{self.email}/token:{self.api_token}".encode()
        return "Basic " + base64.b64encode(pair).decode()

    def ticket_path(self, ticket_id: int | str, suffix: str = "") -> str:
        return f"/api/v2/tickets/{ticket_id}{suffix}.json"

    # --- handlers --------------------------------------------------------------------
    def _authenticated(self, handler: Handler) -> Handler:
        async def check(request: Request) -> Response:
            accepted = {self.authorization(), self.authorization(oauth=True)}
            if request.headers.get("authorization") not in accepted:
                return JSONResponse({"error": "Couldn't authenticate you"}, status_code=401)
            return await handler(request)

        return check

    async def _show_ticket(self, request: Request) -> Response:
        ticket = self.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return _not_found()
        answer: Json = {"ticket": ticket}
        if "users" in request.query_params.get("include", ""):
            answer["users"] = self._users_of([ticket])
        return JSONResponse(answer)

    async def _create_ticket(self, request: Request) -> Response:
        body = await json_body(request)
        key = request.headers.get("idempotency-key")
        if key is not None and key in self._idempotency:
            first_body, answer = self._idempotency[key]
            if first_body != body:
                return _error(400, "IdempotentRequestError", "Key reused with another request")
            return JSONResponse(answer, status_code=201, headers={"x-idempotency-lookup": "hit"})
        fields = body.get("ticket") if isinstance(body, dict) else None
        problems = self._new_ticket_problems(fields)
        if problems:
            return _invalid(problems)
        assert isinstance(fields, dict)
        ticket = self._add_ticket(fields)
        answer = {"ticket": copy.deepcopy(ticket)}
        if key is not None:
            self._idempotency[key] = (body, answer)
        headers = {"location": ticket["url"], "x-idempotency-lookup": "miss"}
        return JSONResponse(answer, status_code=201, headers=headers)

    async def _update_ticket(self, request: Request) -> Response:
        ticket = self.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return _not_found()
        body = await json_body(request)
        fields = body.get("ticket") if isinstance(body, dict) else None
        if not isinstance(fields, dict):
            return _error(400, "InvalidEndpoint", "Expected a ticket object")
        problems = self._update_problems(ticket, fields)
        if problems:
            return _invalid(problems)
        events = self._apply(ticket, fields)
        audit = {
            "id": self._id(),
            "ticket_id": ticket["id"],
            "created_at": ticket["updated_at"],
            "author_id": BOT_AGENT_ID,
            "metadata": {"system": {}, "custom": {}},
            "events": events,
        }
        return JSONResponse({"ticket": ticket, "audit": audit})

    async def _list_comments(self, request: Request) -> Response:
        ticket_id = request.path_params["ticket_id"]
        if ticket_id not in self.tickets:
            return _not_found()
        comments = list(self.comments[ticket_id])
        if request.query_params.get("sort") == "-created_at":
            comments.reverse()
        return JSONResponse(_page(request, "comments", comments))

    async def _add_tags(self, request: Request) -> Response:
        return await self._change_tags(request, lambda tags, given: tags | given)

    async def _remove_tags(self, request: Request) -> Response:
        return await self._change_tags(request, lambda tags, given: tags - given)

    async def _change_tags(
        self, request: Request, change: Callable[[set[str], set[str]], set[str]]
    ) -> Response:
        ticket = self.tickets.get(request.path_params["ticket_id"])
        if ticket is None:
            return _not_found()
        body = await json_body(request)
        given = body.get("tags") if isinstance(body, dict) else None
        if not _is_str_list(given):
            return _invalid({"tags": "must be a list of strings"})
        if ticket["status"] == "closed":
            return _invalid({"status": "closed prevents ticket update"})
        ticket["tags"] = sorted(change(set(ticket["tags"]), set(given)))
        ticket["updated_at"] = self._now()
        return JSONResponse({"tags": ticket["tags"]})

    async def _search_users(self, request: Request) -> Response:
        query = request.query_params.get("query", "").strip()
        if query.startswith("email:"):
            wanted = query.removeprefix("email:").strip('"').casefold()
            found = [u for u in self.users.values() if u["email"].casefold() == wanted]
        else:
            found = [u for u in self.users.values() if query.casefold() in str(u).casefold()]
        return JSONResponse(
            {"users": found, "count": len(found), "next_page": None, "previous_page": None}
        )

    async def _requested(self, request: Request) -> Response:
        user_id = request.path_params["user_id"]
        if user_id not in self.users:
            return _not_found()
        tickets = [t for t in self.tickets.values() if t["requester_id"] == user_id]
        answer = _page(request, "tickets", tickets)
        if "users" in request.query_params.get("include", ""):
            answer["users"] = self._users_of(answer["tickets"])
        return JSONResponse(answer)

    # --- state -----------------------------------------------------------------------
    def _new_ticket_problems(self, fields: Any) -> dict[str, str]:
        if not isinstance(fields, dict):
            return {"ticket": "is required"}
        problems = self._value_problems(fields)
        comment = fields.get("comment")
        if not isinstance(comment, dict) or not comment.get("body"):
            problems["comment"] = "Description: cannot be blank"
        requester = fields.get("requester")
        if isinstance(requester, dict):
            if not requester.get("email") or not requester.get("name"):
                problems["requester"] = "needs an email and a name"
        elif fields.get("requester_id") not in self.users:
            problems["requester"] = "Requester: is invalid"
        return problems

    def _update_problems(self, ticket: Json, fields: Json) -> dict[str, str]:
        problems = self._value_problems(fields)
        if ticket["status"] == "closed":
            problems["status"] = "closed prevents ticket update"
        status = fields.get("status", ticket["status"])
        assignee = fields.get("assignee_id", ticket["assignee_id"])
        if status == "solved" and assignee is None:
            problems["assignee"] = "Assignee: is required when solving a ticket"
        comment = fields.get("comment")
        if comment is not None and (not isinstance(comment, dict) or not comment.get("body")):
            problems["comment"] = "Comment: body cannot be blank"
        elif isinstance(comment, dict) and comment.get("author_id", BOT_AGENT_ID) not in self.users:
            problems["comment"] = "Author: is invalid"
        return problems

    def _value_problems(self, fields: Json) -> dict[str, str]:
        problems: dict[str, str] = {}
        if "status" in fields and fields["status"] not in _STATUSES:
            problems["status"] = f"Status: {fields['status']!r} is not valid"
        if fields.get("priority") not in (None, *_PRIORITIES):
            problems["priority"] = f"Priority: {fields['priority']!r} is not valid"
        assignee = fields.get("assignee_id")
        if assignee is not None and self.users.get(assignee, {}).get("role") != "agent":
            problems["assignee"] = "Assignee: is not an agent"
        if fields.get("group_id") not in (None, *self.groups):
            problems["group"] = "Group: is invalid"
        if "tags" in fields and not _is_str_list(fields["tags"]):
            problems["tags"] = "Tags: must be a list of strings"
        return problems

    def _add_ticket(self, fields: Json) -> Json:
        requester = fields.get("requester")
        requester_id = (
            self._find_or_add_user(requester["email"], requester["name"])
            if isinstance(requester, dict)
            else fields["requester_id"]
        )
        ticket_id, now = self._id(), self._now()
        ticket: Json = {
            "url": f"https://acme.zendesk.com/api/v2/tickets/{ticket_id}.json",
            "id": ticket_id,
            "external_id": None,
            "via": {"channel": "api"},
            "created_at": now,
            "updated_at": now,
            "type": None,
            "subject": fields.get("subject"),
            "raw_subject": fields.get("subject"),
            "description": fields["comment"]["body"],
            "priority": fields.get("priority"),
            "status": "new",
            "requester_id": requester_id,
            "submitter_id": BOT_AGENT_ID,
            "assignee_id": None,
            "organization_id": None,
            "group_id": None,
            "collaborator_ids": [],
            "follower_ids": [],
            "has_incidents": False,
            "is_public": True,
            "tags": sorted(set(fields.get("tags", []))),
            "custom_fields": [],
        }
        self.tickets[ticket_id] = ticket
        self.comments[ticket_id] = []
        self._add_comment(ticket, {"public": True, **fields["comment"]})
        return ticket

    def _apply(self, ticket: Json, fields: Json) -> list[Json]:
        events: list[Json] = []
        for name in ("status", "priority", "assignee_id", "group_id", "subject", "tags"):
            if name in fields and fields[name] != ticket[name]:
                change = {"id": self._id(), "type": "Change", "field_name": name}
                events.append({**change, "value": fields[name], "previous_value": ticket[name]})
                ticket[name] = sorted(set(fields[name])) if name == "tags" else fields[name]
        if isinstance(fields.get("comment"), dict):
            comment = self._add_comment(ticket, fields["comment"])
            events.append({key: comment[key] for key in _EVENT_KEYS})
        ticket["updated_at"] = self._now()
        return events

    def _add_comment(self, ticket: Json, given: Json) -> Json:
        body = given["body"]
        comment = {
            "id": self._id(),
            "type": "Comment",
            "author_id": given.get("author_id", BOT_AGENT_ID),
            "body": body,
            "html_body": f'<div class="zd-comment"><p>{html.escape(body)}</p></div>',
            "plain_body": body,
            "public": given.get("public", True),
            "attachments": [],
            "via": {"channel": "api"},
            "metadata": {"system": {}, "custom": {}},
            "created_at": self._now(),
        }
        self.comments[ticket["id"]].append(comment)
        return comment

    def _find_or_add_user(self, email: str, name: str) -> int:
        for user in self.users.values():
            if user["email"].casefold() == email.casefold():
                return int(user["id"])
        return self._add_user(self._id(), name, email, "end-user")

    def _add_user(self, user_id: int, name: str, email: str, role: str) -> int:
        self.users[user_id] = {"id": user_id, "name": name, "email": email, "role": role}
        return user_id

    def _users_of(self, tickets: list[Json]) -> list[Json]:
        ids = {t[k] for t in tickets for k in ("requester_id", "submitter_id", "assignee_id")}
        return [self.users[i] for i in sorted(i for i in ids if i in self.users)]

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def _now(self) -> str:
        self._ticks += 1
        return (_EPOCH + timedelta(seconds=self._ticks)).strftime("%Y-%m-%dT%H:%M:%SZ")


_EVENT_KEYS = ("id", "type", "author_id", "body", "html_body", "plain_body", "public")


def _page(request: Request, key: str, records: list[Json]) -> Json:
    """Cursor pagination as Zendesk documents it (the cursor here is just an offset)."""
    size = max(1, min(int(request.query_params.get("page[size]", "100")), 100))
    after = request.query_params.get("page[after]")
    start = int(base64.urlsafe_b64decode(after).decode()) if after else 0
    chunk, has_more = records[start : start + size], start + size < len(records)
    cursor = base64.urlsafe_b64encode(str(start + size).encode()).decode() if has_more else None
    return {
        key: chunk,
        "meta": {"has_more": has_more, "after_cursor": cursor, "before_cursor": None},
        "links": {"next": None, "prev": None},
    }


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _error(status: int, error: str, description: str) -> JSONResponse:
    return JSONResponse({"error": error, "description": description}, status_code=status)


def _not_found() -> JSONResponse:
    return _error(404, "RecordNotFound", "Not found")


def _invalid(problems: dict[str, str]) -> JSONResponse:
    details = {name: [{"description": text}] for name, text in problems.items()}
    body = {"error": "RecordInvalid", "description": "Record validation errors", "details": details}
    return JSONResponse(body, status_code=422)


def zendesk_client(
    fake: FakeZendesk,
    *,
    sleep: Sleep | None = None,
    timeout_s: float = 2.0,
    retry: RetryPolicy | None = None,
    oauth: bool = False,
) -> ZendeskClient:
    """The real client pointed at ``fake`` (started), with tiny backoffs unless told."""
    credentials = (
        {"oauth_token": fake.oauth_token}
        if oauth
        else {"email": fake.email, "api_token": fake.api_token}
    )
    config = ZendeskConfig(
        base_url=fake.url,
        bot_agent_id=str(BOT_AGENT_ID),
        handoff_group_id=str(ESCALATIONS_GROUP_ID),
        timeout_s=timeout_s,
        retry=retry or RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=0.01),
        **credentials,
    )
    return ZendeskClient(config, sleep=sleep) if sleep else ZendeskClient(config)


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    fake = FakeZendesk()
    fake.start()
    client = zendesk_client(fake)
    try:
        yield BackendUnderTest(client, fake)
    finally:
        await client.aclose()
        fake.stop()
