"""A fake Front (Core API): exactly the endpoints ``FrontClient`` calls.

Bearer-token auth (401 ``_error`` otherwise); conversations with messages, comments, tags,
an inbox and an assignee in memory; ``_results`` lists with ``_pagination.next``; replies
and imports answered 202 with a ``message_uid``, readable as ``/messages/alt:uid:{uid}``
(after ``import_hidden_reads`` 404s, to mimic Front's asynchronous processing).
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
from tools.ticketing.front import FrontClient, FrontConfig

Json = dict[str, Any]
Handler = Callable[[Request], Awaitable[Response]]
BOT, AGENT = "tea_bot", "tea_agent"
INBOXES = {
    "inb_support": "support@acme.test",
    "inb_tier1": "t1@acme.test",
    "inb_tier2": "t2@acme.test",
}


def error(status: int, message: str) -> JSONResponse:
    titles = {400: "Bad request", 401: "Unauthorized", 404: "Not found", 409: "Conflict"}
    body = {"_error": {"status": status, "title": titles.get(status, "Error"), "message": message}}
    return JSONResponse(body, status_code=status)


def teammate(teammate_id: str) -> Json:
    name = teammate_id.removeprefix("tea_")
    return {"id": teammate_id, "email": f"{name}@acme.test", "username": name, "is_admin": False}


@dataclass
class FakeFront(FakeHelpdesk):
    name: str = "front"
    token: str = "front-token-0123456789-secret"
    teammates: tuple[str, ...] = (BOT, AGENT)
    directory: Directory = field(default_factory=lambda: Directory(AGENT, "inb_tier1", "inb_tier2"))
    page_size: int = 50
    import_hidden_reads: int = 0
    conversations: dict[str, Json] = field(default_factory=dict)
    contacts: dict[str, str] = field(default_factory=dict)  # e-mail → crd_ id
    tags: dict[str, Json] = field(default_factory=dict)
    by_uid: dict[str, tuple[str, Json]] = field(default_factory=dict)
    _clock: Any = field(default_factory=lambda: itertools.count(1_700_000_000))
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        conv = "/conversations/{id}"
        routes: list[tuple[str, str, Handler]] = [
            ("GET", conv, self._get),
            ("GET", conv + "/inboxes", self._inboxes),
            ("GET", conv + "/messages", self._messages),
            ("GET", conv + "/comments", self._comments),
            ("POST", conv + "/messages", self._reply),
            ("POST", conv + "/comments", self._comment),
            ("POST", conv + "/tags", self._tag),
            ("DELETE", conv + "/tags", self._untag),
            ("PATCH", conv, self._patch),
            ("PUT", conv + "/assignee", self._assign),
            ("GET", "/contacts/{contact}/conversations", self._contact_conversations),
            ("GET", "/tags", self._tag_list),
            ("POST", "/tags", self._tag_create),
            ("POST", "/inboxes/{inbox}/imported_messages", self._import),
            ("GET", "/messages/{message}", self._message),
        ]
        for method, path, handler in routes:
            self.route(method, path, self._authed(handler))

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.base_url

    # --- seeding (tests) -------------------------------------------------------------
    def add_conversation(self, email: str, subject: str = "Help", body: str = "Hi") -> Json:
        contact = self.contacts.setdefault(email, f"crd_{next(self._ids)}")
        conv: Json = {
            "id": f"cnv_{next(self._ids)}",
            "subject": subject,
            "status": "unassigned",
            "assignee": None,
            "recipient": {"handle": email, "role": "from", "contact": contact},
            "tags": [],
            "created_at": next(self._clock) + 0.5,
            "_inbox": "inb_support",
            "_messages": [],
            "_comments": [],
        }
        self.conversations[conv["id"]] = conv
        self.add_message(conv, body, author=None)
        return conv

    def add_message(self, conv: Json, body: str, author: str | None) -> Json:
        message = {
            "id": f"msg_{next(self._ids)}",
            "type": "email",
            "is_inbound": author is None,
            "created_at": next(self._clock) + 0.25,
            "subject": conv["subject"],
            "author": teammate(author) if author else None,
            "body": body,
            "text": body,
            "attachments": [],
            "metadata": {},
            "is_draft": False,
        }
        conv["_messages"].append(message)
        uid = f"uid{next(self._ids)}"
        self.by_uid[uid] = (conv["id"], message)
        return {"uid": uid, **message}

    # --- plumbing --------------------------------------------------------------------
    def _authed(self, handler: Handler) -> Handler:
        async def checked(request: Request) -> Response:
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return error(401, "Invalid token")
            return await handler(request)

        return checked

    def _conv(self, request: Request) -> Json | None:
        return self.conversations.get(request.path_params["id"])

    def _public(self, conv: Json, base: str) -> Json:
        shown = {k: v for k, v in conv.items() if not k.startswith("_") and k != "recipient"}
        recipient = conv["recipient"]
        contact_link = f"{base}contacts/{recipient['contact']}"
        shown["recipient"] = {
            "_links": {"related": {"contact": contact_link}},
            "handle": recipient["handle"],
            "role": recipient["role"],
        }
        shown["_links"] = {"self": f"{base}conversations/{conv['id']}"}
        return shown

    def _page(self, request: Request, found: list[Json]) -> JSONResponse:
        limit = min(int(request.query_params.get("limit", self.page_size)), self.page_size)
        start = int(request.query_params.get("page_token", "0"))
        shown, after = found[start : start + limit], start + limit
        more = after < len(found)
        next_link = f"{request.url.replace(query=f'limit={limit}&page_token={after}')}"
        return JSONResponse(
            {"_pagination": {"next": next_link if more else None}, "_results": shown}
        )

    # --- conversations ---------------------------------------------------------------
    async def _get(self, request: Request) -> Response:
        conv = self._conv(request)
        if conv is None:
            return error(404, "Unknown conversation")
        return JSONResponse(self._public(conv, str(request.base_url)))

    async def _inboxes(self, request: Request) -> Response:
        conv = self._conv(request)
        if conv is None:
            return error(404, "Unknown conversation")
        inbox = {"id": conv["_inbox"], "name": conv["_inbox"], "address": INBOXES[conv["_inbox"]]}
        return self._page(request, [inbox])

    async def _messages(self, request: Request) -> Response:
        conv = self._conv(request)
        if conv is None:
            return error(404, "Unknown conversation")
        base = str(request.base_url)
        newest_first = [
            {"_links": {"related": {"conversation": f"{base}conversations/{conv['id']}"}}, **m}
            for m in reversed(conv["_messages"])
        ]
        return self._page(request, newest_first)

    async def _comments(self, request: Request) -> Response:
        conv = self._conv(request)
        if conv is None:
            return error(404, "Unknown conversation")
        return self._page(request, list(reversed(conv["_comments"])))

    async def _reply(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Unknown conversation")
        if body.get("author_id") not in self.teammates or not body.get("body"):
            return error(400, "author_id must be a teammate and body is required")
        message = self.add_message(conv, body["body"], author=body["author_id"])
        return JSONResponse({"status": "accepted", "message_uid": message["uid"]}, 202)

    async def _comment(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Unknown conversation")
        author = body.get("author_id", BOT)
        if author not in self.teammates or not body.get("body"):
            return error(400, "body is required")
        comment = {
            "id": f"com_{next(self._ids)}",
            "author": teammate(author),
            "body": body["body"],
            "posted_at": next(self._clock) + 0.75,
            "attachments": [],
            "is_pinned": False,
        }
        conv["_comments"].append(comment)
        return JSONResponse(comment, 201)

    async def _tag(self, request: Request) -> Response:
        conv, ids = self._conv(request), (await json_body(request) or {}).get("tag_ids")
        if conv is None:
            return error(404, "Unknown conversation")
        if not isinstance(ids, list) or any(i not in self.tags for i in ids):
            return error(400, "tag_ids must name existing tags")
        have = {t["id"] for t in conv["tags"]}
        conv["tags"] += [self.tags[i] for i in ids if i not in have]
        return Response(status_code=204)

    async def _untag(self, request: Request) -> Response:
        conv, ids = self._conv(request), (await json_body(request) or {}).get("tag_ids")
        if conv is None:
            return error(404, "Unknown conversation")
        if not isinstance(ids, list):
            return error(400, "tag_ids is required")
        conv["tags"] = [t for t in conv["tags"] if t["id"] not in ids]
        return Response(status_code=204)

    async def _patch(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Unknown conversation")
        status, inbox = body.get("status"), body.get("inbox_id")
        if status not in (None, "archived", "open", "deleted", "spam") or inbox not in (
            None,
            *INBOXES,
        ):
            return error(400, "invalid status or inbox_id")
        if status == "open":
            conv["status"] = "assigned" if conv["assignee"] else "unassigned"
        elif status is not None:
            conv["status"] = status
        conv["_inbox"] = inbox or conv["_inbox"]
        return Response(status_code=204)

    async def _assign(self, request: Request) -> Response:
        conv, body = self._conv(request), await json_body(request) or {}
        if conv is None:
            return error(404, "Unknown conversation")
        if body.get("assignee_id") not in (*self.teammates, None):
            return error(400, "assignee_id must be a teammate")
        conv["assignee"] = teammate(body["assignee_id"]) if body.get("assignee_id") else None
        if conv["status"] != "archived":
            conv["status"] = "assigned" if conv["assignee"] else "unassigned"
        return Response(status_code=204)

    async def _contact_conversations(self, request: Request) -> Response:
        contact = request.path_params["contact"]
        if contact.startswith("alt:email:"):
            contact = self.contacts.get(contact.removeprefix("alt:email:"), "")
        if contact not in self.contacts.values():
            return error(404, "Unknown contact")
        base = str(request.base_url)
        found = [
            self._public(c, base)
            for c in self.conversations.values()
            if c["recipient"]["contact"] == contact
        ]
        found.sort(key=lambda c: c["created_at"], reverse=True)
        return self._page(request, found)

    # --- tags, imports, messages -----------------------------------------------------
    async def _tag_list(self, request: Request) -> Response:
        return self._page(request, list(self.tags.values()))

    async def _tag_create(self, request: Request) -> Response:
        name = (await json_body(request) or {}).get("name")
        if not isinstance(name, str) or not name:
            return error(400, "name is required")
        if any(t["name"] == name for t in self.tags.values()):
            return error(409, f"A tag named {name} already exists")
        tag: Json = {"id": f"tag_{next(self._ids)}", "name": name, "is_private": False}
        self.tags[tag["id"]] = tag
        return JSONResponse(tag, 201)

    async def _import(self, request: Request) -> Response:
        inbox, body = request.path_params["inbox"], await json_body(request) or {}
        if inbox not in INBOXES:
            return error(404, "Unknown inbox")
        handle = (body.get("sender") or {}).get("handle")
        required = ("to", "body", "external_id", "created_at", "metadata")
        if not handle or any(not body.get(k) for k in required):
            return error(400, "sender.handle, to, body, external_id, created_at, metadata required")
        conv = self.add_conversation(handle, body.get("subject", ""), body["body"])
        conv["_inbox"] = inbox
        for name in body.get("tags", []):
            tag = next((t for t in self.tags.values() if t["name"] == name), None)
            if tag is None:
                tag = {"id": f"tag_{next(self._ids)}", "name": name, "is_private": False}
                self.tags[tag["id"]] = tag
            conv["tags"].append(tag)
        uid = next(u for u, (c, _) in self.by_uid.items() if c == conv["id"])
        return JSONResponse({"status": "accepted", "message_uid": uid}, 202)

    async def _message(self, request: Request) -> Response:
        wanted = request.path_params["message"].removeprefix("alt:uid:")
        if wanted not in self.by_uid or self.import_hidden_reads > 0:
            self.import_hidden_reads = max(0, self.import_hidden_reads - 1)
            return error(404, "Unknown message")
        conversation_id, message = self.by_uid[wanted]
        link = f"{request.base_url}conversations/{conversation_id}"
        return JSONResponse({"_links": {"related": {"conversation": link}}, **message})


def front_client(
    fake: FakeFront,
    *,
    sleep: Sleep = asyncio.sleep,
    timeout_s: float = 2.0,
    retry: RetryPolicy | None = None,
    **config: Any,
) -> FrontClient:
    """The real client pointed at ``fake`` (started), with tiny backoffs unless told."""
    settings = FrontConfig(
        **{
            "api_token": fake.token,
            "teammate_id": BOT,
            "base_url": fake.url,
            "inbox_id": "inb_support",
            "inbox_address": INBOXES["inb_support"],
            "import_poll_s": 0.01,
            **config,
        }
    )
    return FrontClient(settings, retry=retry or fast_retry(), timeout_s=timeout_s, sleep=sleep)


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    fake = FakeFront()
    fake.start()
    client = front_client(fake, timeout_s=1.0)
    try:
        yield BackendUnderTest(client, fake)
    finally:
        await client.aclose()
        fake.stop()


def fast_retry(max_retries: int = 2) -> RetryPolicy:
    return RetryPolicy(max_retries=max_retries, backoff_base_s=0.001, backoff_max_s=0.005)
