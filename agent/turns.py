"""One turn of a conversation: from claimed messages to a committed, delivered reply.

Everything a turn produces (the bot's transcript entry, its outbox items, the new
conversation state, a paused approval, the consumed messages) is committed at once under
the claim's fence; delivery happens after, from the outbox, so a turn re-run after a
crash never shows the customer a second reply.
"""

import logging
import time
from dataclasses import replace

from agent.admin.directory import DirectoryUpdates, Noted
from agent.config.botfile import BotConfig
from agent.config.localized import localized
from agent.config.tenants import TenantRegistry
from agent.delivery import Delivery, approval_item, reply_item, turn_items
from agent.graph.prompts import history_messages
from agent.graph.state import (
    Escalation,
    EscalationReason,
    Priority,
    Reply,
    TurnState,
    turn_input,
)
from agent.graph_runs import GraphRunner, ResumeExpired
from agent.loop_guard import loop_reason, stop_commit
from agent.metrics import TURNS
from agent.operator_turns import apply_operator_action
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
from agent.runtime.stats_store import StatsStore
from agent.runtime.stores import Mailboxes, RuntimeStoreError, TranscriptStore
from agent.safety import detect_language
from agent.turn_metrics import observe, stats_row, turn_facts
from agent.turn_records import bot_entry, escalated, model_tokens
from tools.errors import DeliveryError

log = logging.getLogger(__name__)

BUDGET_SPENT_REASON = "the tenant's daily model token budget is spent"


class TurnProcessor:
    def __init__(
        self,
        graph: object,
        mailboxes: Mailboxes,
        transcripts: TranscriptStore,
        delivery: Delivery,
        tenants: TenantRegistry,
        usage: UsageMeter,
        turn_timeout_s: float,
        max_attempts: int = 5,
        max_crashes: int = 20,
        checkpoint_every_step: bool = False,
        stats: StatsStore | None = None,
        directory: DirectoryUpdates | None = None,
    ) -> None:
        self._runner = GraphRunner(graph, turn_timeout_s, checkpoint_every_step)
        self._mailboxes = mailboxes
        self._transcripts = transcripts
        self._delivery = delivery
        self._tenants = tenants
        self._usage = usage
        self._max_attempts = max_attempts
        self._max_crashes = max_crashes
        self._stats = stats  # None: the turns are counted in Prometheus only
        self._directory = directory  # None: no conversation directory kept

    async def handle(self, claim: Claim) -> float:
        """Answer the claimed customer messages, or apply an operator's decision or action;
        then bring the conversation's directory summary up to date.

        Returns 0, or the seconds to wait before the conversation is tried again (the
        tenant's turns-per-minute quota is spent).
        """
        noted = Noted(customer_id=_customer_id(claim))
        if claim.messages and claim.messages[0].is_operator_action:
            await self.flush(claim.conversation_key)
            directory = self._directory.directory if self._directory else None
            noted = await apply_operator_action(claim, self._mailboxes, directory)
            await self.flush(claim.conversation_key)
            wait_s = 0.0
        else:
            wait_s = await self._handle(claim)
        if self._directory is not None:
            await self._directory.safely(claim.conversation_key, noted)
        return wait_s

    async def _handle(self, claim: Claim) -> float:
        key = claim.conversation_key
        await self.flush(key)
        if not claim.messages:
            return 0.0
        if claim.messages[0].is_mode_change:
            await self._apply_mode_changes(claim)
            return 0.0
        if not claim.messages[0].from_customer:
            await self._apply_decision(claim, claim.messages[0])
            await self.flush(key)
            return 0.0
        batch = _leading_customer_messages(claim.messages)
        resumed = await self._unfinished(claim, batch)
        batch = batch[: len(resumed)] if resumed else batch
        wait_s = await self._answer(replace(claim, messages=batch), bool(resumed))
        await self.flush(key)
        return wait_s

    async def hold(self, claim: Claim) -> None:
        """Tell a customer who has waited too long that an answer is coming."""
        key = claim.conversation_key
        await self.flush(key)
        state = await self._transcripts.state(key)
        head = claim.messages[0] if claim.messages else None
        if head is not None and head.from_customer and (state is None or state.mode is Mode.AUTO):
            bot = self._tenants.get(head.tenant)
            text = localized(bot.limits.busy_message, _language(bot, (head,)))
            item = reply_item(f"{head.message_id}.holding", (head,), text)
            meta = {"in_reply_to": head.message_id, "holding": True}
            entry = TranscriptEntry(Author.BOT, text, item.key, meta=meta)
            await self._mailboxes.commit(claim, TurnCommit(0, (entry,), (item,)))
            _count(head, "holding")
        await self._mailboxes.mark_held(key)
        await self.flush(key)
        if self._directory is not None:
            await self._directory.safely(key)

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

    async def _unfinished(self, claim: Claim, batch: tuple[InboundMessage, ...]) -> tuple[str, ...]:
        """The messages of a turn a dead worker left midway, when they lead ``batch``
        (more may have arrived since: they wait for the next turn); () otherwise. Only
        a repeated claim can find one."""
        if claim.attempts <= 1 and claim.crashes == 0:
            return ()
        ids = await self._runner.unfinished(claim.conversation_key)
        leading = tuple(message.message_id for message in batch[: len(ids)])
        return ids if ids and leading == ids else ()

    async def _answer(self, claim: Claim, resume: bool = False) -> float:
        state = await self._transcripts.state(claim.conversation_key)
        state = state or ConversationState(key=claim.conversation_key)
        if state.mode is Mode.MANUAL:
            await self._mailboxes.commit(claim, TurnCommit(consumed=len(claim.messages)))
            _count(claim.messages[0], "manual")
            return 0.0
        bot = self._tenants.get(claim.messages[0].tenant)
        entries = await self._transcripts.entries(claim.conversation_key)  # read once a turn
        if await self._stopped_loop(claim, bot, entries):
            return 0.0
        wait_s = await self._usage.start_turn(bot.tenant, bot.limits.turns_per_minute)
        if wait_s > 0:
            return wait_s
        started = time.monotonic()
        outcome = await self._outcome(claim, bot, resume, entries)
        latency_s = time.monotonic() - started
        await self._commit(claim, state, outcome, bot)
        await self._usage.add_tokens(bot.tenant, model_tokens(outcome))
        await self._record(claim, outcome, latency_s)
        return 0.0

    async def _stopped_loop(
        self, claim: Claim, bot: BotConfig, entries: list[TranscriptEntry]
    ) -> bool:
        """Hand off instead of replying when another bot or an auto-responder keeps the
        conversation going (agent.loop_guard); True when the turn was committed so."""
        email = any(message.data.get("email") for message in claim.messages)
        reason = loop_reason(entries, bot.channels.loop_guard, email)
        if reason is None:
            return False
        log.warning(
            "reply loop stopped: handed to a person",
            extra={"conversation": claim.conversation_key, "reason": reason},
        )
        await self._mailboxes.commit(claim, stop_commit(claim, reason))
        _count(claim.messages[0], "loop_stopped")
        return True

    async def _apply_mode_changes(self, claim: Claim) -> None:
        """The helpdesk said who owns the conversation (a person took it, or gave it back):
        record the last word of the leading changes and consume them."""
        changes = _leading_mode_changes(claim.messages)
        said = [change for change in changes if change.data.get("mode")]
        if not said:  # a person's words only (draft mode): recorded when accepted
            await self._mailboxes.commit(claim, TurnCommit(consumed=len(changes)))
            return
        last = said[-1]
        mode = Mode(str(last.data["mode"]))
        source = "operator" if last.data.get("source") == "operator" else "helpdesk"
        reason = f"{source}: {last.data.get('reason') or 'a person took over'}"
        state = ConversationState(
            key=claim.conversation_key,
            mode=mode,
            escalation_reason=reason if mode is Mode.MANUAL else None,
        )
        await self._mailboxes.commit(claim, TurnCommit(consumed=len(changes), state=state))
        _count(last, f"{source}_{mode.value}")

    async def _apply_decision(self, claim: Claim, decision: InboundMessage) -> None:
        """Resume the paused turn with the operator's decision; consume the decision."""
        bot = self._tenants.get(decision.tenant)
        record = await self._mailboxes.approval(str(decision.data.get("approval_id")))
        if record is None:
            log.error("a decision for an unknown approval", extra={"message": decision.message_id})
            await self._mailboxes.commit(claim, TurnCommit(consumed=1))
            return
        try:
            outcome = await self._runner.resume(record, dict(decision.data["decision"]))
        except ResumeExpired as error:
            outcome = _failsafe((decision,), bot, str(error), EscalationReason.APPROVAL_REQUIRED)
        except RuntimeStoreError:
            raise  # retried by the worker once the store is back
        except Exception as error:  # never silence, never a stack trace to the customer
            log.exception("resuming a turn failed", extra={"conversation": record.id})
            outcome = _failsafe(
                (decision,), bot, f"the resumed turn failed ({type(error).__name__})"
            )
        state = await self._transcripts.state(claim.conversation_key)
        state = state or ConversationState(key=claim.conversation_key)
        await self._commit(replace(claim, messages=(decision,)), state, outcome, bot)
        await self._record(claim, outcome, None)

    async def _record(self, claim: Claim, outcome: TurnOutcome, latency_s: float | None) -> None:
        """Count the committed turn: this process's metrics, and the stats store (one
        write; a failure is logged, never the turn's: its reply is committed already)."""
        head = claim.messages[0]
        facts = turn_facts(outcome, head.tenant, head.channel, latency_s)
        observe(facts)
        if self._stats is None:
            return
        try:
            await self._stats.add([stats_row(facts, time.time())])
        except RuntimeStoreError as error:
            log.warning(
                "turn not counted in the stats store",
                extra={"conversation": claim.conversation_key, "error": str(error)},
            )

    async def _commit(
        self, claim: Claim, state: ConversationState, outcome: TurnOutcome, bot: BotConfig
    ) -> None:
        if outcome.approval is not None and outcome.reply is None:
            language = outcome.language or _language(bot, claim.messages)
            text = localized(bot.escalation.approval_message, language)
            outcome = replace(outcome, reply=Reply(text))
        reply = bot_entry(claim.messages, outcome)
        items = turn_items(claim.messages, reply, outcome)
        if outcome.approval is not None:
            items = (*items, approval_item(outcome.approval))
        commit = TurnCommit(
            consumed=len(claim.messages),
            entries=(reply,),
            outbox=items,
            state=escalated(state, outcome.escalation) if outcome.escalation else None,
            approvals=(outcome.approval,) if outcome.approval else (),
        )
        await self._mailboxes.commit(claim, commit)

    async def _outcome(
        self, claim: Claim, bot: BotConfig, resume: bool, entries: list[TranscriptEntry]
    ) -> TurnOutcome:
        detail = self._given_up(claim)
        if detail is not None:
            return _failsafe(claim.messages, bot, detail)
        last = claim.messages[-1]
        if resume:
            return await self._run(claim, bot, None)
        earlier = _history(claim, entries)
        turn = turn_input(
            claim.conversation_key,
            bot.tenant,
            last.customer,
            history_messages(earlier),
            "\n".join(message.text for message in claim.messages),
            [message.message_id for message in claim.messages],
        )
        budget = bot.limits.model_tokens_per_day
        if budget is not None and await self._usage.tokens_today(bot.tenant) >= budget:
            turn["degraded_reason"] = BUDGET_SPENT_REASON
        return await self._run(claim, bot, turn)

    async def _run(self, claim: Claim, bot: BotConfig, turn: TurnState | None) -> TurnOutcome:
        """Run the turn (None: continue the unfinished one); a failure hands off."""
        customer = claim.messages[-1].customer.id
        try:
            return await self._runner.run(turn, claim.conversation_key, customer)
        except RuntimeStoreError:
            raise  # Redis is away (a checkpoint not written): the turn is retried, not handed off
        except Exception as error:  # never silence, never a stack trace to the customer
            log.exception("turn failed", extra={"conversation": claim.conversation_key})
            return _failsafe(claim.messages, bot, f"the turn failed ({type(error).__name__})")

    def _given_up(self, claim: Claim) -> str | None:
        """Why the turn is handed to a person instead of tried again, if it is: too many
        failed attempts (errors, lost leases), or far more workers killed under it (a
        crash is usually the process's fault, not the turn's, so it is tolerated longer)."""
        if claim.attempts > self._max_attempts:
            return f"the turn did not complete {claim.attempts - 1} times (errors or lost leases)"
        if claim.crashes > self._max_crashes:
            return f"the workers running the turn died {claim.crashes} times"
        return None


def _customer_id(claim: Claim) -> str | None:
    """The customer of the claimed messages, for the directory (None when none says)."""
    ids = [m.customer.id for m in claim.messages if m.from_customer and m.customer.id]
    return ids[-1] if ids else None


def _history(claim: Claim, entries: list[TranscriptEntry]) -> list[TranscriptEntry]:
    """The transcript before the first of the claimed messages."""
    first = claim.messages[0].message_id
    for position, entry in enumerate(entries):
        if entry.author is Author.CUSTOMER and entry.message_id == first:
            return entries[:position]
    claimed = {message.message_id for message in claim.messages}
    return [entry for entry in entries if entry.message_id not in claimed]


def _count(message: InboundMessage, outcome: str) -> None:
    """A turn the graph did not run (manual mode, a holding reply, a stopped loop...)."""
    TURNS.labels(tenant=message.tenant, channel=message.channel, outcome=outcome).inc()


def _leading_customer_messages(messages: tuple[InboundMessage, ...]) -> tuple[InboundMessage, ...]:
    """The customer messages before the first operator decision (each decision is a turn)."""
    batch = []
    for message in messages:
        if not message.from_customer:
            break
        batch.append(message)
    return tuple(batch)


def _leading_mode_changes(messages: tuple[InboundMessage, ...]) -> tuple[InboundMessage, ...]:
    changes = []
    for message in messages:
        if not message.is_mode_change:
            break
        changes.append(message)
    return tuple(changes)


def _failsafe(
    messages: tuple[InboundMessage, ...],
    bot: BotConfig,
    detail: str,
    reason: EscalationReason = EscalationReason.MODEL_UNAVAILABLE,
) -> TurnOutcome:
    wrote = "\n".join(message.text for message in messages if message.from_customer)[:300]
    escalation = Escalation(
        reason,
        Priority.HIGH,
        summary=f"Customer wrote: {wrote or '(an operator decision)'}\nWhy handed off: {detail}",
        detail=detail,
    )
    text = localized(bot.escalation.holding_message, _language(bot, messages))
    return TurnOutcome(Reply(text), escalation)


def _language(bot: BotConfig, messages: tuple[InboundMessage, ...]) -> str | None:
    """The language the customer wrote in, or their profile's."""
    text = " ".join(message.text for message in messages if message.from_customer)
    found = detect_language(text, tuple(bot.languages)) if text else None
    return found or (messages[-1].customer.locale if messages else None)
