"""Plays conversations against the harness's deskhand, step by step, and judges them.

A run stops at its first failing step (later steps build on it); the end state is checked
when every step passed. ``--repeat K`` plays each conversation K times, with fresh
conversation ids, for pass^k.
"""

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from math import comb
from typing import Any

from agent.cli.client import ClientError, DemoCustomer
from agent.replay.end_state import check_end_state, shop_seed
from agent.replay.errors import ReplayError, ReplayFormatError
from agent.replay.expectations import Miss, check
from agent.replay.format import CassetteAnswer, Conversation, Step
from agent.replay.harness import Harness
from agent.replay.loader import LoadedConversation, load_cassette_file
from agent.replay.model import ModelStep
from agent.replay.observation import Observation, grounding_score, tool_uses

POLL_S = 0.1
MANUAL_SETTLE_S = 1.0  # a message to a person's conversation gets no answer: wait, then look


@dataclass
class StepResult:
    index: int
    line: int
    description: str
    observation: Observation | None = None
    misses: list[Miss] = field(default_factory=list)
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not self.misses and self.error is None


@dataclass
class Run:
    loaded: LoadedConversation
    attempt: int
    conversation_id: str
    clock_offset_s: float = 0.0  # how far the steps' pause_days moved the graph's clock
    steps: list[StepResult] = field(default_factory=list)
    end_misses: list[Miss] = field(default_factory=list)
    recorded: list[list[CassetteAnswer]] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def passed(self) -> bool:
        return all(step.passed for step in self.steps) and not self.end_misses

    @property
    def complete(self) -> bool:
        return len(self.steps) == len(self.loaded.conversation.turns)


@dataclass
class Outcome:
    """One conversation's runs (``--repeat``)."""

    loaded: LoadedConversation
    runs: list[Run] = field(default_factory=list)

    @property
    def successes(self) -> int:
        return sum(run.passed for run in self.runs)

    def pass_at(self, k: int) -> float:
        """pass^k (τ-bench): the chance that k runs drawn from these all pass."""
        n = len(self.runs)
        return comb(self.successes, k) / comb(n, k) if 0 < k <= n else 0.0


@dataclass(frozen=True)
class RunOptions:
    repeat: int = 1
    fail_fast: bool = False
    turn_timeout_s: float = 60.0


class Runner:
    def __init__(self, harness: Harness, options: RunOptions) -> None:
        self.harness = harness
        self.options = options

    @property
    def live(self) -> bool:
        return self.harness.model.live

    def run_all(
        self, conversations: Iterable[LoadedConversation], on_run: Callable[[Run], None] = print
    ) -> list[Outcome]:
        outcomes = []
        for loaded in conversations:
            outcome = Outcome(loaded)
            outcomes.append(outcome)
            for attempt in range(1, self.options.repeat + 1):
                run = self.run(loaded, attempt)
                outcome.runs.append(run)
                on_run(run)
                if self.options.fail_fast and not run.passed:
                    return outcomes
        return outcomes

    def run(self, loaded: LoadedConversation, attempt: int = 1) -> Run:
        conversation = loaded.conversation
        run = Run(loaded, attempt, f"replay-{conversation.name[:60]}-{uuid.uuid4().hex[:10]}")
        started = time.monotonic()
        answers = [None] * len(conversation.turns) if self.live else answers_for(loaded)
        seeded = shop_seed(conversation.fixtures.shop)
        self.harness.seed_shop(seeded)
        self.harness.set_clock(0.0)
        for index, step in enumerate(conversation.turns):
            result, recorded = self._step(run, index, step, answers[index])
            run.steps.append(result)
            run.recorded.append(recorded)
            if not result.passed:
                break
        if run.clock_offset_s:
            self.harness.set_clock(0.0)
        if run.passed and conversation.end_state is not None:
            run.end_misses = check_end_state(conversation.end_state, seeded, self.harness.shop())
        run.duration_s = time.monotonic() - started
        return run

    def _step(
        self, run: Run, index: int, step: Step, answers: list[CassetteAnswer] | None
    ) -> tuple[StepResult, list[CassetteAnswer]]:
        conversation = run.loaded.conversation
        result = StepResult(index, run.loaded.step_line(index), step.describe())
        conditions = conversation.conditions
        model = step.conditions.model or conditions.model
        tool_fails = step.conditions.tool_fails
        if step.conditions.gap_s:
            time.sleep(step.conditions.gap_s)
        if step.conditions.pause_days:
            run.clock_offset_s += step.conditions.pause_days * 86_400
            self.harness.set_clock(run.clock_offset_s)
        self.harness.set_conditions(
            conversation.tenant, tool_fails if tool_fails is not None else conditions.tool_fails
        )
        self.harness.model.begin(answers, unavailable=model == "unavailable")
        try:
            result.observation = self._execute(conversation, run.conversation_id, step)
        except ReplayError as error:
            result.error = str(error)
        finally:
            model_step = self.harness.model.end()
        result.misses = self._model_misses(model_step, answers)
        if result.observation is not None:
            result.misses += check(step.expect, result.observation)
        return result, model_step.recorded

    def _model_misses(self, step: ModelStep, answers: list[CassetteAnswer] | None) -> list[Miss]:
        if self.live:
            return []
        misses = [
            Miss(
                "llm",
                f"answer {m.index} keyed {m.expected_key[:12]}… (the request it was recorded for)",
                "the agent sent the model a different request (key "
                f"{m.actual_key[:12]}…):\n" + "\n".join(m.diff),
            )
            for m in step.mismatches
        ]
        if step.unanswered:
            held = len(answers or [])
            misses.append(
                Miss(
                    "llm",
                    f"{held} model call(s) this turn (the answers the cassette holds)",
                    f"{len(step.unanswered)} more request(s); "
                    f"the first ends with {step.unanswered[0]!r}",
                )
            )
        if step.leftover:
            misses.append(
                Miss("llm", "every scripted answer used", f"{step.leftover} never asked for")
            )
        return misses

    # Executing a step

    def _execute(self, conversation: Conversation, conversation_id: str, step: Step) -> Observation:
        key = f"{conversation.tenant}:{conversation.channel}:{conversation_id}"
        before = self.harness.conversation(key)
        start, mode_before = len(before["entries"]), before["mode"]
        began = time.monotonic()
        if step.operator is None:
            sent = self._send(conversation, conversation_id, step.messages)
            data = self._wait_for_reply(key, start, sent[-1], mode_before)
        else:
            sent = []
            data = self._operate(conversation, conversation_id, key, step, start)
        return observe(data, start, sent, mode_before, time.monotonic() - began)

    def _send(
        self, conversation: Conversation, conversation_id: str, messages: list[str]
    ) -> list[str]:
        spec = conversation.customer
        customer = DemoCustomer(spec.id, spec.email or "", spec.name or "", spec.locale or "")
        client = self.harness.client(conversation.tenant)
        try:
            return [client.send(conversation_id, text, customer) for text in messages]
        except ClientError as error:
            raise ReplayError(f"the webhook refused the message: {error}") from None

    def _wait_for_reply(
        self, key: str, start: int, last_id: str, mode_before: str
    ) -> dict[str, Any]:
        if mode_before == "manual":
            time.sleep(MANUAL_SETTLE_S + self.harness.settings.coalesce_window_s)
            return self.harness.conversation(key)
        return self._wait(key, lambda data: _answered(data, start, last_id), "a reply")

    def _operate(
        self, conversation: Conversation, conversation_id: str, key: str, step: Step, start: int
    ) -> dict[str, Any]:
        action = step.operator
        if action in ("approve", "deny"):
            pending = self.harness.pending_approvals(key)
            if not pending:
                raise ReplayError(f"operator {action}: no approval is pending in this conversation")
            self.harness.decide(pending[-1]["id"], action == "approve", step.text)
            return self._wait(
                key, lambda data: _bot_after(data, start) is not None, "the resumed turn's reply"
            )
        mode = "auto" if action == "hand_back" else "manual"
        change = {
            "tenant": conversation.tenant,
            "channel": conversation.channel,
            "conversation_id": conversation_id,
            "event_id": f"op-{uuid.uuid4().hex[:16]}",
            "mode": mode,
            "text": step.text or "",
            "customer_id": conversation.customer.id,
        }
        self.harness.change_mode(change)
        return self._wait(key, lambda data: data["mode"] == mode, f"mode {mode}")

    def _wait(self, key: str, done: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.options.turn_timeout_s
        while True:
            data = self.harness.conversation(key)
            if done(data):
                return data
            if time.monotonic() > deadline:
                raise ReplayError(f"no {what} within {self.options.turn_timeout_s:g} s")
            time.sleep(POLL_S)


def answers_for(loaded: LoadedConversation) -> list[list[CassetteAnswer] | None]:
    """Each step's scripted model answers: inline ``llm``, else the recorded cassette."""
    turns = loaded.conversation.turns
    if any(step.llm is not None for step in turns):
        return [step.llm for step in turns]
    path = loaded.cassette_path()
    if loaded.conversation.cassette is None and not path.exists():
        return [None] * len(turns)
    cassette = load_cassette_file(path)
    if len(cassette.turns) != len(turns):
        problem = f"{len(cassette.turns)} turns recorded; the conversation has {len(turns)}"
        raise ReplayFormatError(path, 1, "turns", problem + " (record it again)")
    return [list(answers) for answers in cassette.turns]


def _bot_entries(data: dict[str, Any], start: int) -> list[dict[str, Any]]:
    return [
        e for e in data["entries"][start:] if e["author"] == "bot" and not e["meta"].get("holding")
    ]


def _bot_after(data: dict[str, Any], start: int) -> dict[str, Any] | None:
    found = _bot_entries(data, start)
    return found[-1] if found else None


def _answered(data: dict[str, Any], start: int, message_id: str) -> bool:
    return any(message_id in (e["meta"].get("answers") or []) for e in _bot_entries(data, start))


def _without_paused_part(trace: list[Any], earlier: list[dict[str, Any]]) -> list[Any]:
    """A resumed turn's trace without what its paused part already showed (and the paused
    step already judged): the nodes before the approval."""
    paused = earlier[-1]["meta"] if earlier else {}
    shown = paused.get("trace") or []
    if paused.get("approval") and shown and trace[: len(shown)] == shown:
        return trace[len(shown) :]
    return trace


def observe(
    data: dict[str, Any], start: int, sent: list[str], mode_before: str, took_s: float
) -> Observation:
    """The step's bot entries (their traces joined) and the conversation's state after it."""
    entries = _bot_entries(data, start)
    last = entries[-1] if entries else None
    trace = [event for entry in entries for event in entry["meta"].get("trace") or []]
    trace = _without_paused_part(trace, _bot_entries(data, 0)[: -len(entries) or None])
    meta: dict[str, Any] = last["meta"] if last else {}
    return Observation(
        reply=last["text"] if last else None,
        citations=list(last["citations"]) if last else [],
        degraded=bool(meta.get("degraded")),
        escalation=next(
            (e["meta"]["escalation"] for e in entries if e["meta"].get("escalation")), None
        ),
        approval=next((e["meta"]["approval"] for e in entries if e["meta"].get("approval")), None),
        sent=sent,
        answers=list(meta.get("answers") or []),
        tools=tool_uses(trace),
        mode_before=mode_before,
        mode=data["mode"],
        facts=dict(data.get("facts") or {}),
        language=last.get("language") if last else None,
        grounding=grounding_score(trace),
        min_grounding=float(data.get("min_grounding") or 0.0),
        latency_s=took_s if last else None,
        trace=trace,
    )
