"""A small client of deskhand's own HTTP API, used by ``deskhand say`` and ``deskhand chat``.

It signs each message as the tenant's integration would (Standard Webhooks) and
reads the reply from the conversations API with the tenant's bearer token.
"""

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from agent.errors import DeskhandError
from tools.signing.standard_webhooks import signed_headers


class ClientError(DeskhandError):
    """The server refused a request, or did not answer in time."""


@dataclass(frozen=True)
class DemoCustomer:
    id: str = "cust_1001"
    email: str = "alex@example.com"
    name: str = "Alex Morgan"
    locale: str = "en"


@dataclass(frozen=True)
class Reply:
    text: str
    citations: list[dict[str, str]]
    escalation: dict[str, Any] | None
    degraded: bool
    mode: str
    approval: dict[str, Any] | None = None


class DeskhandClient:
    def __init__(
        self, base_url: str, tenant: str, secret: str, token: str | None, timeout_s: float = 10.0
    ) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=timeout_s)
        self._tenant = tenant
        self._secret = secret
        self._token = token

    def close(self) -> None:
        self._http.close()

    def send(self, conversation_id: str, text: str, customer: DemoCustomer) -> str:
        """Post one customer message; returns its message id."""
        message_id = f"m-{uuid.uuid4().hex[:16]}"
        event = {
            "type": "message.created",
            "conversation": {"id": conversation_id},
            "message": {"id": message_id, "text": text},
            "customer": customer.__dict__,
        }
        body = json.dumps(event).encode()
        headers = {"content-type": "application/json"}
        headers |= signed_headers(self._secret, body).as_dict()
        response = self._request("POST", f"/webhooks/{self._tenant}/generic", body, headers)
        if response.status_code != 200:
            raise ClientError(f"server answered {response.status_code}: {_error(response)}")
        return message_id

    def wait_reply(self, conversation_id: str, message_id: str, timeout_s: float) -> Reply:
        """Poll the transcript until the bot's answer to ``message_id`` appears."""
        key = f"{self._tenant}:generic:{conversation_id}"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = self._find_reply(key, message_id)
            if found is not None:
                return found
            time.sleep(0.25)
        raise ClientError(f"no reply within {timeout_s:g}s (conversation {key})")

    def _find_reply(self, key: str, message_id: str) -> Reply | None:
        headers = {"authorization": f"Bearer {self._token}"} if self._token else {}
        response = self._request("GET", f"/v1/conversations/{key}", None, headers)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise ClientError(f"server answered {response.status_code}: {_error(response)}")
        data = response.json()
        for entry in data["entries"]:
            answers = entry.get("answers") or [entry.get("in_reply_to")]
            if entry["author"] == "bot" and not entry.get("holding") and message_id in answers:
                return Reply(
                    entry["text"],
                    entry.get("citations", []),
                    entry.get("escalation"),
                    bool(entry.get("degraded")),
                    data["mode"],
                    entry.get("approval"),
                )
        if data["mode"] == "manual":
            return Reply("", [], None, False, "manual")
        return None

    def _request(
        self, method: str, path: str, body: bytes | None, headers: dict[str, str]
    ) -> httpx.Response:
        try:
            return self._http.request(method, path, content=body, headers=headers)
        except httpx.HTTPError as error:
            raise ClientError(
                f"cannot reach deskhand at {self._http.base_url}: {type(error).__name__}"
            ) from None


def _error(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", response.text))
    except ValueError:
        return response.text[:200]
