"""One turn of a conversation: from claimed messages to a committed, delivered reply.

Everything a turn produces (the bot's transcript entry, its outbox items, the new
conversation state, the consumed messages) is committed at once under the claim's
fence; delivery happens after, from the outbox, so a turn re-run after a crash never
shows the customer a second reply.
"""

import asyncio
import logging
import time
from dataclasses import asdict
from typing import Any

from agent.config.botfile import BotConfig
from agent.config.tenants import TenantRegistry
from agent.delivery import Delivery, reply_item, turn_items
from agent.graph.prompts import history_messages
from agent.graph.state import Escalation, EscalationReason, Priority, Reply, turn_input
from agent.metrics import TURN_SECONDS, TURNS
from agent.outcome import TurnOutcome
from agent.runtime.limits import UsageMeter
from agent.runtime.models import (
    Author,
    Claim,
    ConversationState,
    InboundMessage,
    Mode,
    TranscriptEntry,
    TurnCommit,
)
from agent.runtime.stores import Mailboxes, TranscriptStore
from tools.errors import DeliveryError

log = logging.getLogger(__name__)

BUDGET_SPENT_REASON = "the tenant's daily model token budget is spent"


class TurnProcessor:
    def __init__(
        self,
        graph: Any,
        mailboxes: Mailboxes,
        transcripts: TranscriptStore,
        delivery: Delivery,
        tenants: TenantRegistry,
        usage: UsageMeter,
        turn_timeout_s: float,
        max_attempts: int = 3,
    ) -> None:
        self._graph = graph
        self._mailboxes = mailboxes
        self._transcripts = transcripts
        self._delivery = delivery
        self._tenants = tenants
        self._usage = usage
        self._timeout_s = turn_timeout_s
        self._max_attempts = max_attempts

    async def handle(self, claim: Claim) -> float:
        """Answer the claimed messages (or only record them: a human owns the conversation).

        Returns 0, or the seconds to wait before the conversation is tried again (the
        tenant's turns-per-minute quota is spent).
        """
        key = claim.conversation_key
        await self.flush(key)
        if not claim.messages:
            return 0.0
        state = await self._transcripts.state(key) or ConversationState(key=key)
        if state.mode is Mode.MANUAL:
            await self._mailboxes.commit(claim, TurnCommit(consumed=len(claim.messages)))
            TURNS.labels(outcome="manual").inc()
            return 0.0
        bot = self._tenants.get(claim.messages[0].tenant)
        wait_s = await self._usage.start_turn(bot.tenant, bot.limits.turns_per_minute)
        if wait_s > 0:
            return wait_s
        started = time.monotonic()
        outcome = await self._outcome(claim, bot)
        TURN_SECONDS.observe(time.monotonic() - started)
        await self._commit(claim, state, outcome)
        await self._usage.add_tokens(bot.tenant, model_tokens(outcome))
        TURNS.labels(outcome=_label(outcome)).inc()
        await self.flush(key)
        return 0.0

    async def hold(self, claim: Claim) -> None:
        """Tell a customer who has waited too long that an answer is coming."""
        key = claim.conversation_key
        await self.flush(key)
        state = await self._transcripts.state(key)
        if claim.messages and (state is None or state.mode is Mode.AUTO):
            head = claim.messages[0]
            text = self._tenants.get(head.tenant).limits.busy_message
            item = reply_item(f"{head.message_id}.holding", claim.messages[:1], text)
            meta = {"in_reply_to": head.message_id, "holding": True}
            entry = TranscriptEntry(Author.BOT, text, item.key, meta=meta)
            await self._mailboxes.commit(claim, TurnCommit(0, (entry,), (item,)))
            TURNS.labels(outcome="holding").inc()
        await self._mailboxes.mark_held(key)
        await self.flush(key)

    async def flush(self, conversation_key: str) -> None:
        """Deliver what earlier commits left undelivered, in order."""
        for item in await self._mailboxes.undelivered(conversation_key):
            try:
                await self._delivery.deliver(conversation_key, item)
            except DeliveryError as error:
                # Kept in the transcript, readable through the API; the channel refused it.
                log.error(
                    "outbox item not delivered",
                    extra={"conversation": conversation_key, "item": item.key, "error": str(error)},
                )
            await self._mailboxes.mark_delivered(conversation_key, item.key)

    async def _commit(self, claim: Claim, state: ConversationState, outcome: TurnOutcome) -> None:
        reply = _bot_entry(claim.messages, outcome)
        escalated = _escalated(state, outcome.escalation) if outcome.escalation else None
        commit = TurnCommit(
            consumed=len(claim.messages),
            entries=(reply,),
            outbox=turn_items(claim.messages, reply, outcome),
            state=escalated,
        )
        await self._mailboxes.commit(claim, commit)

    async def _outcome(self, claim: Claim, bot: BotConfig) -> TurnOutcome:
        if claim.attempts > self._max_attempts:
            detail = f"the turn failed {claim.attempts - 1} times"
            return self._failsafe(claim.messages, bot, detail)
        earlier = await self._history(claim)
        turn = turn_input(
            claim.conversation_key,
            bot.tenant,
            claim.messages[-1].customer,
            history_messages(earlier),
            "\n".join(message.text for message in claim.messages),
        )
        budget = bot.limits.model_tokens_per_day
        if budget is not None and await self._usage.tokens_today(bot.tenant) >= budget:
            turn["degraded_reason"] = BUDGET_SPENT_REASON
        config = {"configurable": {"thread_id": claim.conversation_key}}
        try:
            # One checkpoint per turn (and one at a pause), not one per step: a turn that
            # crashes is re-run from its messages, which the outbox makes harmless.
            durable = {"durability": "exit"} if self._graph.checkpointer else {}
            run = self._graph.ainvoke(turn, config, **durable)
            result = await asyncio.wait_for(run, self._timeout_s)
        except Exception as error:  # never silence, never a stack trace to the customer
            log.exception("turn failed", extra={"conversation": claim.conversation_key})
            detail = f"the turn failed ({type(error).__name__})"
            return self._failsafe(claim.messages, bot, detail)
        return TurnOutcome(result.get("reply"), result.get("escalation"), result.get("trace", []))

    async def _history(self, claim: Claim) -> list[TranscriptEntry]:
        """The transcript before the first of the claimed messages."""
        entries = await self._transcripts.entries(claim.conversation_key)
        first = claim.messages[0].message_id
        for position, entry in enumerate(entries):
            if entry.author is Author.CUSTOMER and entry.message_id == first:
                return entries[:position]
        claimed = {message.message_id for message in claim.messages}
        return [entry for entry in entries if entry.message_id not in claimed]

    @staticmethod
    def _failsafe(messages: tuple[InboundMessage, ...], bot: BotConfig, detail: str) -> TurnOutcome:
        wrote = "\n".join(message.text for message in messages)[:300]
        escalation = Escalation(
            EscalationReason.MODEL_UNAVAILABLE,
            Priority.HIGH,
            summary=f"Customer wrote: {wrote}\nWhy handed off: {detail}",
            detail=detail,
        )
        return TurnOutcome(Reply(bot.escalation.holding_message), escalation)


def model_tokens(outcome: TurnOutcome) -> int:
    """Prompt and completion tokens the turn's model calls used."""
    return sum(
        int(event.detail.get("prompt_tokens") or 0)
        + int(event.detail.get("completion_tokens") or 0)
        for event in outcome.trace
        if event.node == "agent"
    )


def _bot_entry(answered: tuple[InboundMessage, ...], outcome: TurnOutcome) -> TranscriptEntry:
    reply = outcome.reply or Reply("")
    last = answered[-1].message_id
    meta: dict[str, Any] = {
        "in_reply_to": last,
        "answers": [message.message_id for message in answered],
        "degraded": reply.degraded,
    }
    if outcome.escalation is not None:
        meta["escalation"] = {
            "reason": outcome.escalation.reason.value,
            "priority": outcome.escalation.priority.value,
            "summary": outcome.escalation.summary,
        }
    meta["trace"] = [asdict(event) for event in outcome.trace]
    return TranscriptEntry(
        Author.BOT, reply.text, f"{last}.reply", citations=reply.citations, meta=meta
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
