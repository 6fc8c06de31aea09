"""A fake Help Scout (Mailbox API 2.0): exactly the endpoints ``HelpScoutClient`` calls.

OAuth2 client credentials (``POST /v2/oauth2/token``, form-encoded; 401 on wrong
credentials), Bearer tokens checked on every call (``revoke_tokens()`` makes the issued
ones expire), HAL pages, 201 + ``Resource-ID`` for creates, 204 for updates.
"""

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.support.fake_helpdesks import BackendUnderTest
from tests.support.fake_helpdesks.base import Directory, FakeHelpdesk, json_body
from tools.helpdesk_http import Sleep
from tools.retry import RetryPolicy
from tools.ticketing.helpscout import HelpScoutClient, HelpScoutConfig

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]
MAILBOXES = (85, 86, 87)
USERS = (100, 101)
_STATUSES = ("active", "pending", "closed", "spam")


def error(status: int, message: str) -> JSONResponse:
    body = {"logRef": "log-1", "message": message, "_embedded": {"errors": []}}
    return JSONResponse(body, status_code=status)


def created(resource_id: int) -> Response:
    return Response(status_code=201, headers={"Resource-ID": str(resource_id)})


def _matches(conv: Json, email: str | None, customer_id: str | None) -> bool:
    customer = conv["primaryCustomer"]
    if email:
        return bool(customer["email"] == email)
    return customer_id is not None and customer["id"] == int(customer_id)


@dataclass
class FakeHelpScout(FakeHelpdesk):
    name: str = "helpscout"
    client_id: str = "hs-app-id"
    client_secret: str = "hs-secret-0123456789"
    expires_in: int = 172_800
    threads_per_page: int = 50
    directory: Directory = field(default_factory=lambda: Directory("101", "86", "87"))
    conversations: dict[int, Json] = field(default_factory=dict)
    customers: dict[int, Json] = field(default_factory=dict)
    issued: list[str] = field(default_factory=list)
    _revoked: set[str] = field(default_factory=set)
    _clock: Any = field(default_factory=lambda: itertools.count(1))
    _ids: Any = field(default_factory=lambda: itertools.count(1001))

    def __post_init__(self) -> None:
        self.route("POST", "/v2/oauth2/token", self._token)
        routes: list[tuple[str, str, Handler]] = [
            ("GET", "/v2/conversations/{id:int}", self._get),
            ("GET", "/v2/conversations/{id:int}/threads", self._threads),
            ("POST", "/v2/conversations/{id:int}/reply", self._reply),
            ("POST", "/v2/conversations/{id:int}/notes", self._note),
            ("PUT", "/v2/conversations/{id:int}/tags", self._tags),
            ("PATCH", "/v2/conversations/{id:int}", self._patch),
            ("GET", "/v2/conversations", self._list),
            ("POST", "/v2/conversations", self._create),
        ]
        for method, path, handler in routes:
            self.route(method, path, self._authed(handler))

    def revoke_tokens(self) -> None:
        self._revoked.update(self.issued)

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.base_url

    # --- seeding (tests) -------------------------------------------------------------
    def add_customer(self, email: str, first: str | None = None) -> Json:
        customer = {"id": next(self._ids), "email": email, "first": first, "type": "customer"}
        self.customers[customer["id"]] = customer
        return customer

    def add_conversation(self, customer: Json, subject: str = "Help", text: str = "Hi") -> Json:
        conversation_id, now = next(self._ids), self._now()
        conv: Json = {
            "id": conversation_id,
            "number": conversation_id - 1000,
            "type": "email",
            "status": "active",
            "state": "published",
            "subject": subject,
            "mailboxId": MAILBOXES[0],
            "primaryCustomer": {"id": customer["id"], "email": customer["email"]},
            "tags": [],
            "createdAt": now,
            "userUpdatedAt": now,
            "_links": {
                "web": {"href": f"https://secure.helpscout.net/conversation/{conversation_id}"}
            },
            "_threads": [],
        }
        self.conversations[conversation_id] = conv
        self.add_thread(conv, "customer", text, {"id": customer["id"], "type": "customer"})
        return conv

    def add_thread(self, conv: Json, kind: str, text: str, by: Json) -> Json:
        thread = {
            "id": next(self._ids),
            "type": kind,
            "status": "active",
            "state": "published",
            "body": text,
            "createdBy": by,
            "createdAt": self._now(),
        }
        conv["_threads"].append(thread)
        conv["userUpdatedAt"] = thread["createdAt"]
        return thread

    def public(self, conv: Json, embed_threads: bool = False) -> Json:
        shown = {k: v for k, v in conv.items() if k != "_threads"}
        if embed_threads:
            shown["_embedded"] = {"threads": list(reversed(conv["_threads"]))}
        return shown

    # --- plumbing --------------------------------------------------------------------
    def _now(self) -> str:
        tick = next(self._clock)
        return f"2026-05-01T10:{tick // 60:02d}:{tick % 60:02d}Z"

    def _authed(self, handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            header = request.headers.get("authorization", "")
            token = header.removeprefix("Bearer ")
            if (
                not header.startswith("Bearer ")
                or token not in self.issued
                or token in self._revoked
            ):
                return JSONResponse({"error": "Unauthorized"}, status_code=401)
            return await handler(request)

        return checked

    async def _token(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if form.get("grant_type") != "client_credentials":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        if (form.get("client_id"), form.get("client_secret")) != (
            self.client_id,
            self.client_secret,
        ):
            body = {"error": "invalid_client", "error_description": "Bad client credentials"}
            return JSONResponse(body, status_code=401)
        token = f"hs-token-{len(self.issued) + 1}"
        self.issued.append(token)
        return JSONResponse(
            {"token_type": "bearer", "access_token": token, "expires_in": self.expires_in}
        )

    def _conv(self, request: Request) -> Json | None:
        return self.conversations.get(request.path_params["id"])

    # --- conversations ---------------------------------------------------------------
    async def _get(self, request: Request) -> Response:
        conv = self._conv(request)
        if conv is None:
            return error(404, "Conversation not found")
        return JSONResponse(self.public(conv, request.query_params.get("embed") == "threads"))

    async def _threads(self, request: Request) -> Response:
        conv = self._conv(request)
        if conv is None:
            return error(404, "Conversation not found")
        newest_first = list(reversed(conv["_threads"]))
        size, page = self.threads_per_page, int(request.query_params.get("page", "1"))
        pages = max(1, -(-len(newest_first) // size))
        shown = newest_first[(page - 1) * size : page * size]
        meta = {
            "size": size,
            "totalElements": len(newest_first),
            "totalPages": pages,
            "number": page,
        }
        return JSONResponse({"_embedded": {"threads": shown}, "page": meta})

    async def _reply(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Conversation not found")
        customer_id = (body.get("customer") or {}).get("id")
        if customer_id != conv["primaryCustomer"]["id"] or not body.get("text"):
            return error(400, "Validation error: customer and text are required")
        thread = self.add_thread(conv, "message", body["text"], self._user(body))
        conv["status"] = body.get("status", "active")
        return created(thread["id"])

    async def _note(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Conversation not found")
        if not body.get("text"):
            return error(400, "Validation error: text is required")
        return created(self.add_thread(conv, "note", body["text"], self._user(body))["id"])

    def _user(self, body: Json) -> Json:
        return {"id": body.get("user", USERS[0]), "type": "user", "email": "bot@x.test"}

    async def _tags(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Conversation not found")
        names = body.get("tags")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            return error(400, "Validation error: tags must be a list of strings")
        conv["tags"] = [{"id": i + 1, "color": "#929499", "tag": n} for i, n in enumerate(names)]
        return Response(status_code=204)

    async def _patch(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Conversation not found")
        problem = self._apply_patch(conv, body.get("op"), body.get("path"), body.get("value"))
        return error(400, problem) if problem else Response(status_code=204)

    def _apply_patch(self, conv: Json, op: Any, path: Any, value: Any) -> str | None:
        if (op, path) == ("replace", "/status") and value in _STATUSES:
            conv["status"] = value
        elif (op, path) == ("replace", "/assignTo") and value in USERS:
            conv["assignee"] = {"id": value, "type": "user", "email": f"user{value}@x.test"}
        elif (op, path) == ("remove", "/assignTo"):
            conv.pop("assignee", None)
        elif (op, path) == ("move", "/mailboxId") and value in MAILBOXES:
            conv["mailboxId"] = value
        else:
            return f"Invalid patch operation {op} {path}"
        return None

    async def _list(self, request: Request) -> Response:
        params = request.query_params
        match = re.fullmatch(r'\(email:"([^"]*)"\)|\(customerIds:(\d+)\)', params.get("query", ""))
        if match is None:
            return error(400, "Invalid query")
        found = [c for c in self.conversations.values() if _matches(c, match[1], match[2])]
        if params.get("status", "active") != "all":
            found = [c for c in found if c["status"] == params.get("status", "active")]
        found.sort(key=lambda c: c["createdAt"], reverse=params.get("sortOrder", "desc") == "desc")
        shown = [self.public(c, params.get("embed") == "threads") for c in found[:25]]
        meta = {"size": 25, "totalElements": len(found), "totalPages": 1, "number": 1}
        return JSONResponse({"_embedded": {"conversations": shown}, "page": meta})

    async def _create(self, request: Request) -> Response:
        body = await json_body(request) or {}
        threads = body.get("threads") or []
        if body.get("mailboxId") not in MAILBOXES or not body.get("subject") or not threads:
            return error(400, "Validation error: mailboxId, subject and threads are required")
        customer = self._customer(body.get("customer") or {})
        if customer is None:
            return error(400, "Validation error: customer must have an id or an email")
        first = threads[0]
        conv = self.add_conversation(customer, body["subject"], first.get("text", ""))
        conv["mailboxId"], conv["status"] = body["mailboxId"], body.get("status", "active")
        conv["tags"] = [
            {"id": i + 1, "color": "#929499", "tag": t} for i, t in enumerate(body.get("tags", []))
        ]
        return created(conv["id"])

    def _customer(self, ref: Json) -> Json | None:
        if "id" in ref:
            return self.customers.get(ref["id"])
        if not ref.get("email"):
            return None
        for customer in self.customers.values():
            if customer["email"] == ref["email"]:
                return customer
        return self.add_customer(ref["email"], ref.get("firstName"))


def helpscout_client(
    fake: FakeHelpScout,
    *,
    sleep: Sleep = asyncio.sleep,
    timeout_s: float = 2.0,
    retry: RetryPolicy | None = None,
    **config: Any,
) -> HelpScoutClient:
    """The real client pointed at ``fake`` (started), with tiny backoffs unless told."""
    settings = HelpScoutConfig(
        client_id=fake.client_id,
        client_secret=fake.client_secret,
        mailbox_id=str(MAILBOXES[0]),
        base_url=fake.url,
        **config,
    )
    return HelpScoutClient(settings, retry=retry or fast_retry(), timeout_s=timeout_s, sleep=sleep)


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    fake = FakeHelpScout()
    fake.start()
    client = helpscout_client(fake, timeout_s=1.0)
    try:
        yield BackendUnderTest(client, fake)
    finally:
        await client.aclose()
        fake.stop()


def fast_retry(max_retries: int = 2) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, backoff_base_s=0.001, backoff_max_s=0.005)
