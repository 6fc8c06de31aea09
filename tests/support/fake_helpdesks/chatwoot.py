"""A fake Chatwoot (REST API v1): the endpoints ``ChatwootClient`` calls, in memory.

Shapes follow Chatwoot's jbuilder views: a conversation's ``id`` is its display id,
``meta.sender`` / ``meta.assignee`` / ``meta.team``, ``labels``, unix ``created_at``;
messages come 20 a page (``before`` walks back) with a numeric ``message_type``; labels
are REPLACED by a POST; toggle_priority answers an empty 200; an unknown assignee or team
unassigns (as ``AssignmentsController`` does). Auth: the ``api_access_token`` header (401
``Invalid Access Token`` otherwise); an agent-bot token reaches only the endpoints of
Chatwoot's ``BOT_ACCESSIBLE_ENDPOINTS`` (no message list, no contacts). The inbox has the
agent bot attached, so new conversations start ``pending``; status, team and agent changes
add an activity message.
"""

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.support.fake_helpdesks import BackendUnderTest
from tests.support.fake_helpdesks.base import Directory, FakeHelpdesk, json_body
from tools.retry import RetryPolicy
from tools.ticketing.chatwoot import ChatwootClient, ChatwootConfig

Json = dict[str, Any]
TOKEN = "cw-token-1a2b3c4d5e6f"  # a user's access token
BOT_TOKEN = "cw-bot-token-77aa88bb"  # an agent bot's: writes only
ACCOUNT_ID = 3
INBOX_ID = 11
BOT = {"id": 2, "name": "deskhand", "type": "agent_bot"}
AGENTS = {7: {"id": 7, "name": "Dana Agent", "email": "dana@acme.test", "role": "agent"}}
TEAMS = {4: {"id": 4, "name": "billing"}, 5: {"id": 5, "name": "tier 2"}}
TEAM_MEMBERS = {4: {7}, 5: set[int]()}
AGENT_ID, TEAM_ID, HANDOFF_TEAM_ID = 7, 4, 5
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base_s=0.001, backoff_max_s=0.01)
STATUSES = ("open", "resolved", "pending", "snoozed")
PRIORITIES = ("low", "medium", "high", "urgent")
_PAGE = 20
_T0 = 1_790_000_000


@dataclass
class FakeChatwoot(FakeHelpdesk):
    name: str = "chatwoot"
    token: str = TOKEN
    contacts: dict[int, Json] = field(default_factory=dict)
    conversations: dict[int, Json] = field(default_factory=dict)
    messages: dict[int, list[Json]] = field(default_factory=dict)
    directory: Directory = field(
        default_factory=lambda: Directory(str(AGENT_ID), str(TEAM_ID), str(HANDOFF_TEAM_ID))
    )
    url: str = ""
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))
    _clock: "itertools.count[int]" = field(default_factory=lambda: itertools.count(_T0))

    def start(self) -> str:
        """Start serving; ``url`` is then the base URL a client is configured with."""
        self.url = super().start()
        return self.url

    def __post_init__(self) -> None:
        account = "/api/v1/accounts/{account_id:int}"
        one = account + "/conversations/{conversation_id:int}"
        routes = [  # method, path, handler, open to an agent-bot token
            ("GET", one, self._show, True),
            ("POST", account + "/conversations", self._create_conversation, True),
            ("GET", one + "/messages", self._list_messages, False),
            ("POST", one + "/messages", self._create_message, True),
            ("POST", one + "/toggle_status", self._toggle_status, True),
            ("POST", one + "/toggle_priority", self._toggle_priority, True),
            ("GET", one + "/labels", self._labels, True),
            ("POST", one + "/labels", self._set_labels, True),
            ("POST", one + "/assignments", self._assign, True),
            ("GET", account + "/contacts/search", self._search_contacts, False),
            ("POST", account + "/contacts", self._create_contact, False),
            (
                "GET",
                account + "/contacts/{contact_id:int}/conversations",
                self._contact_convs,
                False,
            ),
        ]
        for method, path, handler, bots in routes:
            self.route(method, path, self._guarded(handler, bots))

    # --- seeding (tests) -------------------------------------------------------------
    def seed_conversation(self, email: str, **fields: Any) -> Json:
        contact = self._contact_by_email(email) or self._new_contact(email, email.split("@")[0])
        conversation = self._new_conversation(contact["id"], {})
        conversation.update(fields)
        return conversation

    def customer_writes(self, conversation_id: int, text: str) -> Json:
        contact = self.contacts[self.conversations[conversation_id]["contact_id"]]
        sender = {"id": contact["id"], "name": contact["name"], "type": "contact"}
        return self._add_message(conversation_id, text, 0, False, sender)

    # --- conversations -----------------------------------------------------------------
    async def _show(self, request: Request) -> Response:
        return JSONResponse(self._conversation_json(self._find(request)))

    async def _create_conversation(self, request: Request) -> Response:
        body = await json_body(request)
        if not isinstance(body, dict) or body.get("inbox_id") != INBOX_ID:
            return _not_found()
        if body.get("contact_id") not in self.contacts:
            return _not_found()
        conversation = self._new_conversation(body["contact_id"], body)
        return JSONResponse(self._conversation_json(conversation))

    async def _toggle_status(self, request: Request) -> Response:
        conversation = self._find(request)
        status = (await json_body(request) or {}).get("status")
        if status not in STATUSES:
            return _unprocessable(f"'{status}' is not a valid status")
        if status != conversation["status"]:
            conversation["status"] = status
            self._add_message(conversation["id"], f"Status set to {status}", 2, False, None)
        payload = {
            "success": True,
            "conversation_id": conversation["id"],
            "current_status": status,
            "snoozed_until": None,
        }
        return JSONResponse({"meta": {}, "payload": payload})

    async def _toggle_priority(self, request: Request) -> Response:
        conversation = self._find(request)
        priority = (await json_body(request) or {}).get("priority")
        if priority not in (*PRIORITIES, "none", None):
            return _unprocessable(f"'{priority}' is not a valid priority")
        conversation["priority"] = None if priority in ("none", None) else priority
        return Response(status_code=200)

    async def _labels(self, request: Request) -> Response:
        return JSONResponse({"payload": list(self._find(request)["labels"])})

    async def _set_labels(self, request: Request) -> Response:
        conversation = self._find(request)
        labels = (await json_body(request) or {}).get("labels")
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            return _unprocessable("labels must be a list of strings")
        conversation["labels"] = list(dict.fromkeys(labels))  # replaces the whole set
        return JSONResponse({"payload": conversation["labels"]})

    async def _assign(self, request: Request) -> Response:
        """``AssignmentsController#create``: an unknown agent or team unassigns; a team
        change drops an agent who is not a member (``AssignmentHandler``)."""
        conversation = self._find(request)
        body = await json_body(request) or {}
        if "assignee_id" in body:
            agent = body["assignee_id"] if body["assignee_id"] in AGENTS else None
            self._change(conversation, "assignee_id", agent)
            return JSONResponse(AGENTS.get(agent) if agent else None)
        if "team_id" in body:
            team = body["team_id"] if body["team_id"] in TEAMS else None
            self._change(conversation, "team_id", team)
            if team is not None and conversation["assignee_id"] not in TEAM_MEMBERS[team]:
                conversation["assignee_id"] = None
            return JSONResponse(TEAMS.get(team) if team else None)
        return JSONResponse(None)

    def _change(self, conversation: Json, name: str, value: int | None) -> None:
        if conversation[name] != value:
            conversation[name] = value
            self._add_message(conversation["id"], f"{name} set to {value}", 2, False, None)

    # --- messages ----------------------------------------------------------------------
    async def _list_messages(self, request: Request) -> Response:
        conversation = self._find(request)
        found = self.messages[conversation["id"]]
        before = request.query_params.get("before")
        if before is not None:
            found = [m for m in found if m["id"] < int(before)]
        meta = {"labels": conversation["labels"], "contact_id": conversation["contact_id"]}
        return JSONResponse({"meta": meta, "payload": found[-_PAGE:]})

    async def _create_message(self, request: Request) -> Response:
        conversation = self._find(request)
        body = await json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("content"), str):
            return _unprocessable("content can't be blank")
        kind = {"incoming": 0, "outgoing": 1, "template": 3}.get(
            body.get("message_type", "outgoing")
        )
        if kind is None:
            return _unprocessable("message_type is not valid")
        message = self._add_message(
            conversation["id"], body["content"], kind, bool(body.get("private")), BOT
        )
        return JSONResponse(message)

    # --- contacts ----------------------------------------------------------------------
    async def _search_contacts(self, request: Request) -> Response:
        query = request.query_params.get("q", "").casefold()
        found = [
            c
            for c in self.contacts.values()
            if query
            and any(
                query in str(c.get(k) or "").casefold() for k in ("name", "email", "phone_number")
            )
        ]
        return JSONResponse({"meta": {"count": len(found), "current_page": 1}, "payload": found})

    async def _create_contact(self, request: Request) -> Response:
        body = await json_body(request) or {}
        email = body.get("email")
        if isinstance(email, str) and self._contact_by_email(email) is not None:
            return JSONResponse(
                {"message": "Email has already been taken", "attributes": ["email"]},
                status_code=422,
            )
        contact = self._new_contact(email, body.get("name") or "")
        inbox = {"id": INBOX_ID, "name": "Support API", "channel_type": "Channel::Api"}
        payload = {
            "contact": contact,
            "contact_inbox": {"inbox": inbox, "source_id": str(uuid.uuid4())},
        }
        return JSONResponse({"payload": payload})

    async def _contact_convs(self, request: Request) -> Response:
        contact_id = request.path_params["contact_id"]
        if contact_id not in self.contacts:
            return _not_found()
        found = [c for c in self.conversations.values() if c["contact_id"] == contact_id]
        return JSONResponse({"payload": [self._conversation_json(c) for c in found]})

    # --- state -------------------------------------------------------------------------
    def _guarded(self, handler: Any, bots: bool) -> Any:
        async def checked(request: Request) -> Response:
            token = request.headers.get("api_access_token")
            if token not in (self.token, BOT_TOKEN):
                return JSONResponse({"error": "Invalid Access Token"}, status_code=401)
            if token == BOT_TOKEN and not bots:  # BOT_ACCESSIBLE_ENDPOINTS
                refused = {"error": "Access to this endpoint is not authorized for bots"}
                return JSONResponse(refused, status_code=401)
            if request.path_params.get("account_id") != ACCOUNT_ID:
                return JSONResponse(
                    {"error": "You are not authorized to access this account"}, status_code=401
                )
            try:
                response: Response = await handler(request)
            except LookupError:
                return _not_found()
            return response

        return checked

    def _find(self, request: Request) -> Json:
        return self.conversations[request.path_params["conversation_id"]]  # KeyError: 404

    def _contact_by_email(self, email: str) -> Json | None:
        for contact in self.contacts.values():
            if (contact.get("email") or "").casefold() == email.casefold():
                return contact
        return None

    def _new_contact(self, email: str | None, name: str) -> Json:
        contact_id = next(self._ids)
        self.contacts[contact_id] = {
            "id": contact_id,
            "name": name,
            "email": email,
            "phone_number": None,
            "identifier": None,
            "additional_attributes": {},
            "custom_attributes": {},
            "created_at": next(self._clock),
        }
        return self.contacts[contact_id]

    def _new_conversation(self, contact_id: int, body: Json) -> Json:
        conversation_id, now = next(self._ids), next(self._clock)
        self.conversations[conversation_id] = {
            "id": conversation_id,
            "contact_id": contact_id,
            "status": body.get("status") or "pending",
            "priority": None,
            "labels": [],
            "assignee_id": body.get("assignee_id"),
            "team_id": body.get("team_id"),
            "additional_attributes": dict(body.get("additional_attributes") or {}),
            "custom_attributes": dict(body.get("custom_attributes") or {}),
            "created_at": now,
            "last_activity_at": now,
        }
        self.messages[conversation_id] = []
        return self.conversations[conversation_id]

    def _add_message(
        self, conversation_id: int, content: str, kind: int, private: bool, sender: Json | None
    ) -> Json:
        now = next(self._clock)
        message = {
            "id": next(self._ids),
            "content": content,
            "inbox_id": INBOX_ID,
            "conversation_id": conversation_id,
            "message_type": kind,
            "content_type": "text",
            "content_attributes": {},
            "created_at": now,
            "private": private,
            "source_id": None,
            "sender": sender,
        }
        self.messages[conversation_id].append(message)
        self.conversations[conversation_id]["last_activity_at"] = now
        return message

    def _conversation_json(self, conversation: Json) -> Json:
        contact = self.contacts[conversation["contact_id"]]
        meta: Json = {"sender": {**contact, "type": "contact"}, "channel": "Channel::Api"}
        if conversation["assignee_id"] in AGENTS:
            meta["assignee"] = AGENTS[conversation["assignee_id"]]
        if conversation["team_id"] in TEAMS:
            meta["team"] = TEAMS[conversation["team_id"]]
        last = self.messages[conversation["id"]][-1:]
        return {
            "meta": meta,
            "id": conversation["id"],
            "messages": last,
            "account_id": ACCOUNT_ID,
            "inbox_id": INBOX_ID,
            "additional_attributes": conversation["additional_attributes"],
            "custom_attributes": conversation["custom_attributes"],
            "labels": conversation["labels"],
            "status": conversation["status"],
            "priority": conversation["priority"],
            "snoozed_until": None,
            "can_reply": True,
            "created_at": conversation["created_at"],
            "timestamp": conversation["last_activity_at"],
            "last_activity_at": conversation["last_activity_at"],
            "unread_count": 0,
        }


def _not_found() -> JSONResponse:
    return JSONResponse({"error": "Resource could not be found"}, status_code=404)


def _unprocessable(message: str) -> JSONResponse:
    return JSONResponse({"message": message, "attributes": []}, status_code=422)


def chatwoot_client(
    fake: FakeChatwoot,
    *,
    token: str = TOKEN,
    inbox_id: int | None = INBOX_ID,
    timeout_s: float = 2.0,
    retry: RetryPolicy = FAST_RETRY,
    sleep: Any = None,
) -> ChatwootClient:
    """A client for the started ``fake``; ``sleep`` None: real (tiny) backoffs."""
    config = ChatwootConfig(
        base_url=fake.url,
        account_id=ACCOUNT_ID,
        access_token=token,
        handoff_team_id=HANDOFF_TEAM_ID,
        inbox_id=inbox_id,
        timeout_s=timeout_s,
    )
    if sleep is None:
        return ChatwootClient(config, retry=retry)
    return ChatwootClient(config, retry=retry, sleep=sleep)


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    fake = FakeChatwoot()
    fake.start()
    client = chatwoot_client(fake)
    try:
        yield BackendUnderTest(client, fake)
    finally:
        await client.aclose()
        fake.stop()
