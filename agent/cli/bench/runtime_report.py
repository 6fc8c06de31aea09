"""What ``deskhand bench runtime`` measured: answers, losses, duplicates, order, throughput.

Definitions (the issue's): a turn is one distinct reply id, so a coalesced burst counts
once; ``duplicates`` are the extra distinct replies a message got, plus webhook-ids
delivered more than once with different content; plain re-sends of one webhook-id are
``redeliveries`` (receivers drop them); a message is ``lost`` without an answer within
``lost_after_s`` of being sent; ``coalesced`` messages were answered by a reply that also
answers an earlier message.
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from agent.cli.bench.runtime_traffic import Callback, Ledger


@dataclass(frozen=True)
class Tally:
    messages: int
    replies: int
    lost: int
    unanswered: int
    duplicates: int
    conflicting: int
    redeliveries: int
    coalesced: int
    handoffs: int
    holding: int
    first_send: float
    last_reply: float
    latencies: tuple[float, ...]

    @property
    def elapsed_s(self) -> float:
        return max(self.last_reply - self.first_send, 1e-9)


def tally(ledger: Ledger, lost_after_s: float) -> Tally:
    """Count the customers' messages and the bot's callbacks in their conversations."""
    ours = set(ledger.order)
    callbacks = [c for c in ledger.callbacks if c.conversation in ours]
    redeliveries, conflicting = _resends(callbacks)
    replies = _first_replies(callbacks)
    answered_by: dict[str, set[str]] = defaultdict(set)
    for reply in (c for c in callbacks if _is_reply(c)):
        for message_id in reply.answers:
            answered_by[message_id].add(reply.reply_id)
    latencies = [
        ledger.answered_at[m] - sent.at
        for m, sent in ledger.sent.items()
        if m in ledger.answered_at
    ]
    counted = [r for r in replies.values() if any(m in ledger.sent for m in r.answers)]
    return Tally(
        messages=len(ledger.sent),
        replies=len(counted),
        lost=sum(1 for m in ledger.sent if not _in_time(ledger, m, lost_after_s)),
        unanswered=sum(1 for m in ledger.sent if m not in ledger.answered_at),
        duplicates=sum(len(ids) - 1 for ids in answered_by.values() if ids) + conflicting,
        conflicting=conflicting,
        redeliveries=redeliveries,
        coalesced=_coalesced(ledger, replies),
        handoffs=len({c.webhook_id for c in callbacks if c.kind == "conversation.handoff"}),
        holding=len({c.reply_id for c in callbacks if c.holding}),
        first_send=min((s.at for s in ledger.sent.values()), default=0.0),
        last_reply=max((r.at for r in counted), default=0.0),
        latencies=tuple(sorted(latencies)),
    )


def _is_reply(callback: Callback) -> bool:
    return callback.kind == "message.created" and not callback.holding


def _resends(callbacks: list[Callback]) -> tuple[int, int]:
    """(plain re-sends of a webhook-id, webhook-ids sent with different content)."""
    bodies: dict[str, list[bytes]] = defaultdict(list)
    for callback in callbacks:
        bodies[callback.webhook_id].append(callback.body)
    redeliveries = sum(len(sent) - 1 for sent in bodies.values())
    conflicting = sum(1 for sent in bodies.values() if len(set(sent)) > 1)
    return redeliveries, conflicting


def _first_replies(callbacks: list[Callback]) -> dict[str, Callback]:
    """Each distinct reply id at its first arrival."""
    first: dict[str, Callback] = {}
    for callback in sorted((c for c in callbacks if _is_reply(c)), key=lambda c: c.at):
        first.setdefault(callback.reply_id, callback)
    return first


def _in_time(ledger: Ledger, message_id: str, lost_after_s: float) -> bool:
    answered = ledger.answered_at.get(message_id)
    return answered is not None and answered - ledger.sent[message_id].at <= lost_after_s


def _coalesced(ledger: Ledger, replies: dict[str, Callback]) -> int:
    """Messages whose first answer also answers an earlier message of theirs."""
    first_answer: dict[str, Callback] = {}
    for reply in sorted(replies.values(), key=lambda c: c.at):
        for message_id in reply.answers:
            first_answer.setdefault(message_id, reply)
    return sum(
        1
        for message_id in ledger.sent
        if message_id in first_answer and first_answer[message_id].answers.index(message_id) > 0
    )


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``, None when there are none."""
    if not values:
        return None
    rank = max(1, math.ceil(q / 100 * len(values)))
    return round(values[rank - 1], 3)


async def order_violations(
    http: httpx.AsyncClient, token: str, ledger: Ledger, parallel: int = 16
) -> list[str]:
    """Conversations whose transcript does not hold exactly the sent messages in send order."""
    gate = asyncio.Semaphore(parallel)

    async def check(key: str, sent: list[str]) -> str | None:
        async with gate:
            response = await http.get(
                f"/v1/conversations/{key}", headers={"authorization": f"Bearer {token}"}
            )
        if response.status_code != 200:
            return f"{key}: transcript answered {response.status_code}"
        entries = response.json()["entries"]
        stored = [e["message_id"] for e in entries if e["author"] == "customer"]
        if stored != sent:
            return f"{key}: sent {sent}, transcript holds {stored}"
        return None

    found = await asyncio.gather(*(check(key, sent) for key, sent in ledger.order.items()))
    return [problem for problem in found if problem is not None]
