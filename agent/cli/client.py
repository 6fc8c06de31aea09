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

POLL_INTERVAL_S = 0.25
MAX_RETRY_AFTER_S = 5.0


class ClientError(DeskhandError):
    """The server refused a request, or did not answer in time."""


class TransientError(ClientError):
    """A read worth repeating: the server is briefly unavailable or out of reach."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


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
        """Poll the transcript until the bot's answer to ``message_id`` appears.

        A 503 (Redis restarting, say) or an unreachable server is waited out like a
        reply that has not come yet; the error at the deadline names the last one.
        """
        key = f"{self._tenant}:generic:{conversation_id}"
        deadline = time.monotonic() + timeout_s
        last_problem = ""
        while time.monotonic() < deadline:
            try:
                found = self._find_reply(key, message_id)
            except TransientError as problem:
                last_problem, pause_s = f"; last: {problem}", problem.retry_after_s
            else:
                if found is not None:
                    return found
                pause_s = POLL_INTERVAL_S
            time.sleep(max(0.0, min(pause_s, deadline - time.monotonic())))
        raise ClientError(f"no reply within {timeout_s:g}s (conversation {key}){last_problem}")

    def _find_reply(self, key: str, message_id: str) -> Reply | None:
        headers = {"authorization": f"Bearer {self._token}"} if self._token else {}
        response = self._poll("GET", f"/v1/conversations/{key}", headers)
        if response.status_code == 404:
            return None
        if response.status_code == 503:
            raise TransientError(f"server answered 503: {_error(response)}", _retry_after(response))
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

    def _poll(self, method: str, path: str, headers: dict[str, str]) -> httpx.Response:
        """A read that may be repeated: a server out of reach is a transient problem."""
        try:
            return self._request(method, path, None, headers)
        except ClientError as unreachable:
            raise TransientError(str(unreachable), POLL_INTERVAL_S) from None

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


def _retry_after(response: httpx.Response) -> float:
    """The server's ``Retry-After`` in seconds (capped), or the usual poll interval."""
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return POLL_INTERVAL_S
    return min(max(seconds, POLL_INTERVAL_S), MAX_RETRY_AFTER_S)
