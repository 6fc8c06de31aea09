"""One turn of a conversation: from an accepted message to a recorded, delivered reply."""

import asyncio
import logging
import time
from dataclasses import asdict
from typing import Any

from agent.config.tenants import TenantRegistry
from agent.delivery import Delivery
from agent.graph.prompts import history_messages
from agent.graph.state import Escalation, EscalationReason, Priority, Reply, TurnState
from agent.metrics import TURN_SECONDS, TURNS
from agent.outcome import TurnOutcome
from agent.runtime.models import (
    Author,
    ConversationState,
    InboundMessage,
    Mode,
    TranscriptEntry,
)
from agent.runtime.stores import TranscriptStore

log = logging.getLogger(__name__)


class TurnProcessor:
    def __init__(
        self,
        graph: Any,
        transcripts: TranscriptStore,
        delivery: Delivery,
        tenants: TenantRegistry,
        turn_timeout_s: float,
    ) -> None:
        self._graph = graph
        self._transcripts = transcripts
        self._delivery = delivery
        self._tenants = tenants
        self._timeout_s = turn_timeout_s

    async def handle(self, message: InboundMessage) -> None:
        """Record the message and, unless a human owns the conversation, answer it."""
        key = message.conversation_key
        earlier = await self._transcripts.entries(key)
        await self._transcripts.append(key, _customer_entry(message))
        state = await self._transcripts.state(key) or ConversationState(key=key)
        if state.mode is Mode.MANUAL:
            TURNS.labels(outcome="manual").inc()
            return
        started = time.monotonic()
        outcome = await self._run(message, earlier)
        TURN_SECONDS.observe(time.monotonic() - started)
        TURNS.labels(outcome=_label(outcome)).inc()
        reply = _bot_entry(message, outcome)
        await self._transcripts.append(key, reply)
        if outcome.escalation is not None:
            await self._transcripts.save_state(_escalated(state, outcome.escalation))
        await self._delivery.deliver(message, reply, outcome)

    async def _run(self, message: InboundMessage, earlier: list[TranscriptEntry]) -> TurnOutcome:
        state: TurnState = {
            "conversation_key": message.conversation_key,
            "tenant": message.tenant,
            "customer": message.customer,
            "history": history_messages(earlier),
            "message": message.text,
        }
        try:
            result = await asyncio.wait_for(self._graph.ainvoke(state), self._timeout_s)
        except Exception as error:  # never silence, never a stack trace to the customer
            log.exception("turn failed", extra={"conversation": message.conversation_key})
            return self._failsafe(message, error)
        return TurnOutcome(result.get("reply"), result.get("escalation"), result.get("trace", []))

    def _failsafe(self, message: InboundMessage, error: BaseException) -> TurnOutcome:
        bot = self._tenants.get(message.tenant)
        detail = f"the turn failed ({type(error).__name__})"
        escalation = Escalation(
            EscalationReason.MODEL_UNAVAILABLE,
            Priority.HIGH,
            summary=f"Customer wrote: {message.text[:300]}\nWhy handed off: {detail}",
            detail=detail,
        )
        return TurnOutcome(Reply(bot.escalation.holding_message), escalation)


def _customer_entry(message: InboundMessage) -> TranscriptEntry:
    return TranscriptEntry(Author.CUSTOMER, message.text, message.message_id, message.received_at)


def _bot_entry(message: InboundMessage, outcome: TurnOutcome) -> TranscriptEntry:
    reply = outcome.reply or Reply("")
    meta: dict[str, Any] = {"in_reply_to": message.message_id, "degraded": reply.degraded}
    if outcome.escalation is not None:
        meta["escalation"] = {
            "reason": outcome.escalation.reason.value,
            "priority": outcome.escalation.priority.value,
            "summary": outcome.escalation.summary,
        }
    meta["trace"] = [asdict(event) for event in outcome.trace]
    return TranscriptEntry(
        Author.BOT,
        reply.text,
        f"{message.message_id}.reply",
        citations=reply.citations,
        meta=meta,
    )


def _escalated(state: ConversationState, escalation: Escalation) -> ConversationState:
    return ConversationState(
        key=state.key, mode=Mode.MANUAL, escalation_reason=escalation.reason.value
    )


def _label(outcome: TurnOutcome) -> str:
    if outcome.escalation is not None:
        return "escalated"
    if outcome.reply is not None and outcome.reply.degraded:
        return "degraded"
    return "answered"
