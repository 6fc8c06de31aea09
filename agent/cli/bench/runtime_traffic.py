"""The customers of ``deskhand bench runtime`` and the callback receiver that hears the bot.

Customers post signed messages to the real webhook endpoint, as the tenant's helpdesk
would (``deskhand say`` signs them the same way). The receiver, the tenant's side of the
generic channel, records every callback; a customer waiting for an answer is woken when a
reply whose ``answers`` holds its message arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tools.errors import SignatureError
from tools.signing.standard_webhooks import signed_headers, verify

HOLDING_SUFFIX = ".holding"  # the watchdog's "an answer is coming" reply
POST_ATTEMPTS = 4
CUSTOMERS = (  # (id, email, name) and their orders in the demo shop (tools/demo_shop/data.json)
    (("cust_1001", "alex@example.com", "Alex Morgan"), ("BL-10234", "BL-10217", "BL-10251")),
    (("cust_1002", "sam@example.com", "Sam Rivera"), ("BL-10240", "BL-10198")),
    (("cust_1003", "priya@example.com", "Priya Shah"), ("BL-10262",)),
    (("cust_1004", "jonas@example.com", "Jonas Weber"), ("BL-10245", "BL-10185")),
)
PAIRS = [(person, order) for person, orders in CUSTOMERS for order in orders]


@dataclass(frozen=True)
class Plan:
    """One simulated conversation."""

    index: int
    conversation_id: str
    customer: dict[str, str]
    order: str
    bursty: bool
    messages: int

    @property
    def key(self) -> str:
        return f"demo:generic:{self.conversation_id}"

    def text(self, number: int) -> str:
        return f"Where is my order {self.order}? ({self.index}, {number})"


def plans(count: int, messages: int, prefix: str) -> list[Plan]:
    """Half the customers wait for each answer, half write in bursts (alternating)."""
    made = []
    for index in range(count):
        (customer_id, email, name), order = PAIRS[index % len(PAIRS)]
        customer = {"id": customer_id, "email": email, "name": name, "locale": "en"}
        made.append(Plan(index, f"{prefix}{index}", customer, order, bool(index % 2), messages))
    return made


@dataclass
class Callback:
    webhook_id: str
    kind: str
    reply_id: str
    answers: tuple[str, ...]
    conversation: str
    at: float
    body: bytes

    @property
    def holding(self) -> bool:
        return self.reply_id.endswith(HOLDING_SUFFIX)


@dataclass
class Sent:
    message_id: str
    conversation: str
    at: float
    accepted: bool = False


@dataclass
class Ledger:
    """Everything sent and heard; mutated on the bench's event loop only."""

    sent: dict[str, Sent] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)
    callbacks: list[Callback] = field(default_factory=list)
    answered_at: dict[str, float] = field(default_factory=dict)
    bad_signatures: int = 0
    post_failures: int = 0
    _waiters: dict[str, asyncio.Event] = field(default_factory=dict)

    def sending(self, plan: Plan, message_id: str) -> Sent:
        sent = Sent(message_id, plan.key, time.perf_counter())
        self.sent[message_id] = sent
        self.order.setdefault(plan.key, []).append(message_id)
        self._waiters[message_id] = asyncio.Event()
        return sent

    def record(self, callback: Callback) -> None:
        self.callbacks.append(callback)
        if callback.kind != "message.created" or callback.holding:
            return
        for message_id in callback.answers:
            if message_id not in self.answered_at:
                self.answered_at[message_id] = callback.at
            waiter = self._waiters.get(message_id)
            if waiter is not None:
                waiter.set()

    def last_activity(self) -> float:
        return self.callbacks[-1].at if self.callbacks else 0.0

    async def wait_answer(self, message_id: str, deadline: float) -> None:
        waiter = self._waiters[message_id]
        remaining = deadline - time.perf_counter()
        if remaining > 0 and not waiter.is_set():
            with contextlib.suppress(TimeoutError):  # counted as lost from the ledger
                await asyncio.wait_for(waiter.wait(), remaining)


def receiver_app(ledger: Ledger, loop: asyncio.AbstractEventLoop, secrets: list[str]) -> Starlette:
    """The callback URL: verify, parse, hand the record to the bench's loop, answer 200."""

    async def receive(request: Request) -> JSONResponse:
        at = time.perf_counter()
        try:
            body = await request.body()
        except ClientDisconnect:  # a worker killed mid-delivery: its outbox sends it again
            return JSONResponse({"error": "the sender went away"}, status_code=400)
        try:
            webhook_id = verify(secrets, request.headers, body)
        except SignatureError as error:
            loop.call_soon_threadsafe(_count_bad_signature, ledger)
            return JSONResponse({"error": str(error)}, status_code=401)
        callback = parse_callback(webhook_id, body, at)
        loop.call_soon_threadsafe(ledger.record, callback)
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/events", receive, methods=["POST"])])


def _count_bad_signature(ledger: Ledger) -> None:
    ledger.bad_signatures += 1


def parse_callback(webhook_id: str, body: bytes, at: float) -> Callback:
    event: dict[str, Any] = json.loads(body)
    message = event.get("message") or {}
    return Callback(
        webhook_id=webhook_id,
        kind=str(event.get("type")),
        reply_id=str(message.get("id", "")),
        answers=tuple(message.get("answers") or ()),
        conversation=str((event.get("conversation") or {}).get("key", "")),
        at=at,
        body=body,
    )


class Customers:
    """Posts the plans' messages through the webhook endpoint and waits for the answers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        ledger: Ledger,
        secret: str,
        lost_after_s: float,
        max_posts: int,
    ) -> None:
        self._http = http
        self._ledger = ledger
        self._secret = secret
        self._lost_after_s = lost_after_s
        self._posts = asyncio.Semaphore(max_posts)

    async def run(self, plans: list[Plan]) -> None:
        await asyncio.gather(*(self._converse(plan) for plan in plans))

    async def _converse(self, plan: Plan) -> None:
        numbers = range(1, plan.messages + 1)
        if plan.bursty:
            async with self._posts:  # back to back: the burst holds one POST slot throughout
                burst = [await self._send(plan, number) for number in numbers]
            for sent in burst:
                await self._await_answer(sent)
            return
        for number in numbers:
            async with self._posts:
                sent = await self._send(plan, number)
            await self._await_answer(sent)

    async def _await_answer(self, sent: Sent) -> None:
        await self._ledger.wait_answer(sent.message_id, sent.at + self._lost_after_s)

    async def _send(self, plan: Plan, number: int) -> Sent:
        message_id = f"{plan.conversation_id}-m{number}"
        event = {
            "type": "message.created",
            "conversation": {"id": plan.conversation_id},
            "message": {"id": message_id, "text": plan.text(number)},
            "customer": plan.customer,
        }
        body = json.dumps(event).encode()
        sent = self._ledger.sending(plan, message_id)
        sent.accepted = await self._post(body, f"wh-{message_id}")
        if not sent.accepted:
            self._ledger.post_failures += 1
        return sent

    async def _post(self, body: bytes, webhook_id: str) -> bool:
        """POST until a 200 (the same webhook-id each time, as a helpdesk retries)."""
        for attempt in range(POST_ATTEMPTS):
            headers = {"content-type": "application/json"}
            headers |= signed_headers(self._secret, body, webhook_id=webhook_id).as_dict()
            try:
                response = await self._http.post(
                    "/webhooks/demo/generic", content=body, headers=headers
                )
            except httpx.HTTPError:
                pass
            else:
                if response.status_code == 200:
                    return True
                if response.status_code < 500 and response.status_code != 429:
                    return False
            await asyncio.sleep(0.2 * 2**attempt)
        return False
