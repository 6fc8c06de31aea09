"""A fake Sunshine Conversations (REST API v2): exactly the endpoints ``SunshineClient`` calls.

Basic auth with the app's API key id and secret (401 ``errors`` otherwise); one app, its
conversations in memory with their messages and switchboard state. Two switchboard
integrations: the bot (``BOT``, active when a conversation starts) and Zendesk's agent
workspace (``AGENTS``, the bot's ``next``). Answers are shaped as the v2 OpenAPI
description documents (``{"messages": [...]}``, ``{"conversation": {...}}``).
"""

import base64
import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.support.fake_helpdesks.base import FakeHelpdesk, json_body

Json = dict[str, Any]
APP_ID = "5ebee0975ac5304b664a12fa"
KEY_ID = "app_5f0ebd9b0fa1c6001f38e3f1"
KEY_SECRET = "sunco-key-secret-0123456789abcdef"
BOT: Json = {
    "id": "5eecde2dcdbffb08f5c3ed37",
    "name": "bot",
    "integrationId": "5f11a650e4e987667c2051d1",
    "integrationType": "custom",
}
AGENTS: Json = {
    "id": "5eecde2dcdbffb08f5c3ed38",
    "name": "zd-agentWorkspace",
    "integrationId": "5f11a650e4e987667c2051d2",
    "integrationType": "zd:agentWorkspace",
}
_NEXT = {BOT["id"]: AGENTS, AGENTS["id"]: BOT}
Handler = Callable[[Request, str], Awaitable[Response]]
_CONVERSATION = "/v2/apps/{app_id}/conversations/{id}"


def error(status: int, code: str, title: str) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "title": title}]}, status_code=status)


@dataclass
class FakeSunshine(FakeHelpdesk):
    name: str = "sunshine"
    app_id: str = APP_ID
    key_id: str = KEY_ID
    key_secret: str = KEY_SECRET
    conversations: dict[str, Json] = field(default_factory=dict)
    messages: dict[str, list[Json]] = field(default_factory=dict)
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.route("GET", _CONVERSATION, self._authed(self._get))
        self.route("GET", f"{_CONVERSATION}/messages", self._authed(self._list))
        self.route("POST", f"{_CONVERSATION}/messages", self._authed(self._post))
        self.route("POST", f"{_CONVERSATION}/passControl", self._authed(self._pass))

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return self._server.base_url

    # --- seeding and reading (tests) -------------------------------------------------
    def add_conversation(self, conversation_id: str | None = None) -> Json:
        conversation_id = conversation_id or f"{next(self._ids):024x}"
        conv = {"id": conversation_id, "type": "personal", "activeSwitchboardIntegration": BOT}
        self.conversations[conversation_id] = conv
        self.messages[conversation_id] = []
        return conv

    def business_texts(self, conversation_id: str) -> list[str]:
        return [
            m["content"]["text"]
            for m in self.messages.get(conversation_id, [])
            if m["author"]["type"] == "business"
        ]

    def path(self, conversation_id: str, tail: str = "") -> str:
        return f"/v2/apps/{self.app_id}/conversations/{conversation_id}{tail}"

    # --- plumbing --------------------------------------------------------------------
    def _authed(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()

        async def checked(request: Request) -> Response:
            if request.headers.get("authorization") != f"Basic {expected}":
                return error(401, "unauthorized", "Authorization is required")
            if request.path_params["app_id"] != self.app_id:
                return error(404, "app_not_found", "App not found")
            if request.path_params["id"] not in self.conversations:
                return error(404, "conversation_not_found", "Conversation not found")
            return await handler(request, request.path_params["id"])

        return checked

    # --- endpoints -------------------------------------------------------------------
    async def _get(self, request: Request, conversation_id: str) -> Response:
        return JSONResponse({"conversation": self.conversations[conversation_id]})

    async def _list(self, request: Request, conversation_id: str) -> Response:
        latest = self.messages[conversation_id][-100:]
        return JSONResponse({"messages": latest, "meta": {"hasBefore": False}, "links": {}})

    async def _post(self, request: Request, conversation_id: str) -> Response:
        body = await json_body(request) or {}
        author, content = body.get("author") or {}, body.get("content") or {}
        if author.get("type") not in ("business", "user"):
            return error(400, "bad_request", "author.type is invalid")
        if content.get("type") != "text" or not content.get("text"):
            return error(400, "bad_request", "content.text is required")
        message = {
            "id": f"{next(self._ids):024x}",
            "received": "2026-11-30T10:00:00.000Z",
            "author": author,
            "content": content,
            "metadata": body.get("metadata") or {},
        }
        self.messages[conversation_id].append(message)
        return JSONResponse({"messages": [message]}, status_code=201)

    async def _pass(self, request: Request, conversation_id: str) -> Response:
        body = await json_body(request) or {}
        conv = self.conversations[conversation_id]
        target = body.get("switchboardIntegration")
        chosen = _NEXT[conv["activeSwitchboardIntegration"]["id"]] if target == "next" else None
        for candidate in (BOT, AGENTS):
            if target in (candidate["id"], candidate["name"], candidate["integrationType"]):
                chosen = candidate
        if chosen is None:
            return error(400, "bad_request", "switchboardIntegration not found")
        metadata = body.get("metadata") or {}
        if not isinstance(metadata, dict) or len(str(metadata).encode()) > 4096:
            return error(400, "bad_request", "metadata must be a flat object of at most 4KB")
        conv["activeSwitchboardIntegration"] = chosen
        return JSONResponse({})
