"""A fake Intercom (REST API 2.14): exactly the endpoints ``IntercomClient`` calls.

Bearer-token auth (401 ``error.list`` otherwise); conversations with parts, tags, contacts
and admins/teams in memory; answers shaped as the 2.14 OpenAPI description documents.
"""

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.support.fake_helpdesks import BackendUnderTest
from tests.support.fake_helpdesks.base import Directory, FakeHelpdesk, json_body
from tools.helpdesk_http import Sleep
from tools.retry import RetryPolicy
from tools.ticketing.intercom import IntercomClient, IntercomConfig

Json = dict[str, Any]
ADMIN_ID = "991267001"
AGENT_ID = "991267002"
TEAMS = ("5017691", "5017692")


def error(status: int, code: str, message: str) -> JSONResponse:
    body = {
        "type": "error.list",
        "request_id": "req-1",
        "errors": [{"code": code, "message": message}],
    }
    return JSONResponse(body, status_code=status)


@dataclass
class FakeIntercom(FakeHelpdesk):
    name: str = "intercom"
    token: str = "ic-token-0123456789-secret"
    admins: tuple[str, ...] = (ADMIN_ID, AGENT_ID)
    teams: tuple[str, ...] = TEAMS
    directory: Directory = field(default_factory=lambda: Directory(AGENT_ID, TEAMS[0], TEAMS[1]))
    conversations: dict[str, Json] = field(default_factory=dict)
    contacts: dict[str, Json] = field(default_factory=dict)
    tags: dict[str, Json] = field(default_factory=dict)
    _clock: Any = field(default_factory=lambda: itertools.count(1_700_000_000))
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        routes: list[tuple[str, str, Callable[[Request], Awaitable[Response]]]] = [
            ("GET", "/conversations/{id}", self._get),
            ("PUT", "/conversations/{id}", self._put),
            ("POST", "/conversations/{id}/reply", self._reply),
            ("POST", "/conversations/{id}/parts", self._parts),
            ("POST", "/conversations/{id}/tags", self._tag),
            ("DELETE", "/conversations/{id}/tags/{tag_id}", self._untag),
            ("POST", "/conversations/search", self._search),
            ("POST", "/conversations", self._create),
            ("POST", "/contacts/search", self._contact_search),
            ("POST", "/contacts", self._contact_create),
            ("GET", "/tags", self._tag_list),
            ("POST", "/tags", self._tag_create),
        ]
        for method, path, handler in routes:
            self.route(method, path, self._authed(handler))

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.base_url

    # --- seeding (tests) -------------------------------------------------------------
    def add_contact(self, email: str | None, role: str = "user", **extra: Any) -> Json:
        contact_id = f"{next(self._ids):024x}"
        contact = {"type": "contact", "id": contact_id, "role": role, "email": email, **extra}
        self.contacts[contact_id] = contact
        return contact

    def add_conversation(self, contact: Json, body: str = "<p>Hi</p>") -> Json:
        now, conversation_id = next(self._clock), str(next(self._ids))
        author = {k: contact.get(k) for k in ("id", "name", "email")} | {"type": contact["role"]}
        conv: Json = {
            "type": "conversation",
            "id": conversation_id,
            "title": None,
            "created_at": now,
            "updated_at": now,
            "open": True,
            "state": "open",
            "read": False,
            "priority": "not_priority",
            "snoozed_until": None,
            "admin_assignee_id": None,
            "team_assignee_id": None,
            "tags": {"type": "tag.list", "tags": []},
            "source": {
                "type": "conversation",
                "id": str(next(self._ids)),
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": body,
                "author": author,
            },
            "contacts": {
                "type": "contact.list",
                "contacts": [{"type": "contact", "id": contact["id"], "external_id": None}],
            },
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [],
                "total_count": 0,
            },
        }
        self.conversations[conversation_id] = conv
        return conv

    def parts_of(self, conversation_id: str) -> list[Json]:
        parts: list[Json] = self.conversations[conversation_id]["conversation_parts"][
            "conversation_parts"
        ]
        return parts

    # --- plumbing --------------------------------------------------------------------
    def _authed(
        self, handler: Callable[[Request], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def checked(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error(401, "unauthorized", "Access Token Invalid")
            return await handler(request)

        return checked

    def _conv(self, request: Request) -> Json | None:
        return self.conversations.get(request.path_params["id"])

    def _add_part(self, conv: Json, part_type: str, admin_id: str, body: str | None) -> Json:
        now = next(self._clock)
        part = {
            "type": "conversation_part",
            "id": str(next(self._ids)),
            "part_type": part_type,
            "body": body,
            "created_at": now,
            "updated_at": now,
            "notified_at": now,
            "author": {"type": "admin", "id": admin_id, "name": "Bot", "email": "bot@x.test"},
            "redacted": False,
        }
        parts = conv["conversation_parts"]
        parts["conversation_parts"].append(part)
        parts["total_count"] = len(parts["conversation_parts"])
        conv["updated_at"] = now
        return part

    # --- conversations ---------------------------------------------------------------
    async def _get(self, request: Request) -> Response:
        conv = self._conv(request)
        return JSONResponse(conv) if conv else error(404, "not_found", "Resource Not Found")

    async def _put(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "not_found", "Resource Not Found")
        unknown = set(body) - {"title", "read", "custom_attributes"}
        if unknown:
            return error(400, "parameter_invalid", f"unknown parameters: {sorted(unknown)}")
        conv.update({k: body[k] for k in ("title", "read") if k in body})
        conv["updated_at"] = next(self._clock)
        return JSONResponse(conv)

    async def _reply(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "not_found", "Resource Not Found")
        if body.get("type") != "admin" or body.get("admin_id") not in self.admins:
            return error(400, "parameter_invalid", "admin_id is invalid")
        if body.get("message_type") not in ("comment", "note") or not body.get("body"):
            return error(400, "parameter_invalid", "Body is required")
        self._add_part(conv, body["message_type"], body["admin_id"], body["body"])
        return JSONResponse(conv)

    async def _parts(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "not_found", "Resource Not Found")
        if body.get("admin_id") not in self.admins:
            return error(400, "parameter_invalid", "admin_id is invalid")
        kind = body.get("message_type")
        problem = self._apply_part(conv, kind, body)
        if problem:
            return error(400, "parameter_invalid", problem)
        self._add_part(conv, str(kind), body["admin_id"], body.get("body"))
        return JSONResponse(conv)

    def _apply_part(self, conv: Json, kind: Any, body: Json) -> str | None:
        if kind == "open":
            conv.update(state="open", open=True, snoozed_until=None)
        elif kind == "close" and body.get("type") == "admin":
            conv.update(state="closed", open=False)
        elif kind == "snoozed" and isinstance(body.get("snoozed_until"), int):
            conv.update(state="snoozed", snoozed_until=body["snoozed_until"])
        elif kind == "assignment":
            return self._assign(conv, body)
        else:
            return f"{kind} is not a valid message_type here"
        return None

    def _assign(self, conv: Json, body: Json) -> str | None:
        target = body.get("assignee_id")
        if body.get("type") == "admin" and target == "0":
            conv["admin_assignee_id"] = None
        elif body.get("type") == "admin" and target in self.admins:
            conv["admin_assignee_id"] = int(target)
        elif body.get("type") == "team" and target in self.teams:
            conv["team_assignee_id"] = target
        else:
            return "Assignee not found"
        return None

    async def _create(self, request: Request) -> Response:
        body = await json_body(request) or {}
        sender = body.get("from") or {}
        contact = self.contacts.get(str(sender.get("id")))
        if contact is None:
            return error(404, "not_found", "User Not Found")
        if sender.get("type") not in ("user", "lead", "contact") or not body.get("body"):
            return error(400, "parameter_invalid", "from and body are required")
        conv = self.add_conversation(contact, body["body"])
        message = {
            "type": "user_message",
            "id": conv["source"]["id"],
            "created_at": conv["created_at"],
            "body": body["body"],
            "message_type": "inapp",
            "conversation_id": conv["id"],
        }
        return JSONResponse(message)

    async def _search(self, request: Request) -> Response:
        body = await json_body(request) or {}
        query = body.get("query") or {}
        if query.get("field") != "contact_ids" or query.get("operator") not in ("=", "IN"):
            return error(400, "invalid_field", "unsupported query in this fake")
        wanted = query["value"] if query["operator"] == "IN" else [query["value"]]
        found = [
            {k: v for k, v in conv.items() if k != "conversation_parts"}
            for conv in self.conversations.values()
            if conv["contacts"]["contacts"][0]["id"] in wanted
        ]
        per_page = int((body.get("pagination") or {}).get("per_page", 20))
        page = {"type": "pages", "page": 1, "per_page": per_page, "total_pages": 1}
        listed = {
            "type": "conversation.list",
            "pages": page,
            "total_count": len(found),
            "conversations": found[:per_page],
        }
        return JSONResponse(listed)

    # --- tags ------------------------------------------------------------------------
    async def _tag(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        tag = self.tags.get(str(body.get("id")))
        if conv is None or tag is None:
            return error(404, "not_found", "Resource Not Found")
        if body.get("admin_id") not in self.admins:
            return error(400, "parameter_invalid", "admin_id is invalid")
        attached = conv["tags"]["tags"]
        if all(t["id"] != tag["id"] for t in attached):
            attached.append(dict(tag))
        return JSONResponse(tag)

    async def _untag(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        tag_id = request.path_params["tag_id"]
        if conv is None or all(t["id"] != tag_id for t in conv["tags"]["tags"]):
            return error(404, "tag_not_found", "Tag not found")
        if body.get("admin_id") not in self.admins:
            return error(400, "parameter_invalid", "admin_id is invalid")
        conv["tags"]["tags"] = [t for t in conv["tags"]["tags"] if t["id"] != tag_id]
        return JSONResponse(self.tags[tag_id])

    async def _tag_list(self, request: Request) -> Response:
        return JSONResponse({"type": "list", "data": list(self.tags.values())})

    async def _tag_create(self, request: Request) -> Response:
        name = str((await json_body(request) or {}).get("name") or "")
        if not name:
            return error(400, "parameter_invalid", "name is required")
        for tag in self.tags.values():
            if tag["name"] == name:
                return JSONResponse(tag)
        tag = {"type": "tag", "id": str(next(self._ids)), "name": name}
        self.tags[tag["id"]] = tag
        return JSONResponse(tag)

    # --- contacts --------------------------------------------------------------------
    async def _contact_search(self, request: Request) -> Response:
        query = (await json_body(request) or {}).get("query") or {}
        clauses = query["value"] if query.get("operator") == "OR" else [query]
        found = [
            c
            for c in self.contacts.values()
            if any(
                cl.get("operator") == "=" and c.get(str(cl.get("field"))) == cl.get("value")
                for cl in clauses
            )
        ]
        return JSONResponse({"type": "list", "data": found, "total_count": len(found)})

    async def _contact_create(self, request: Request) -> Response:
        body = await json_body(request) or {}
        email = body.get("email")
        if email and any(c.get("email") == email for c in self.contacts.values()):
            return error(409, "conflict", "A contact matching those details already exists")
        if body.get("role") not in ("user", "lead"):
            return error(400, "parameter_invalid", "role is invalid")
        extra = {k: body[k] for k in ("name", "external_id") if k in body}
        return JSONResponse(self.add_contact(email, body["role"], **extra))


def intercom_client(
    fake: FakeIntercom,
    *,
    sleep: Sleep = asyncio.sleep,
    timeout_s: float = 2.0,
    retry: RetryPolicy | None = None,
    **config: Any,
) -> IntercomClient:
    """The real client pointed at ``fake`` (started), with tiny backoffs unless told."""
    settings = IntercomConfig(
        access_token=fake.token, admin_id=ADMIN_ID, base_url=fake.url, **config
    )
    return IntercomClient(settings, retry=retry or fast_retry(), timeout_s=timeout_s, sleep=sleep)


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    fake = FakeIntercom()
    fake.start()
    client = intercom_client(fake, timeout_s=1.0)
    try:
        yield BackendUnderTest(client, fake)
    finally:
        await client.aclose()
        fake.stop()


def fast_retry(max_retries: int = 2) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, backoff_base_s=0.001, backoff_max_s=0.005)
