"""Each expectation kind: does the step's observation satisfy it? A miss says what was
expected and what happened instead."""

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agent.replay.format import ApprovalSpec, EscalationSpec, Expectations, ToolCallSpec
from agent.replay.observation import Observation, ToolUse


@dataclass(frozen=True)
class Miss:
    expectation: str
    expected: str
    actual: str


Check = Callable[[Any, Observation], Miss | None]


def check(expect: Expectations, observed: Observation) -> list[Miss]:
    """The misses of every expectation the step sets, in the format's order."""
    misses = []
    for name in Expectations.model_fields:
        value = getattr(expect, name)
        if value is not None:
            miss = CHECKS[name](value, observed)
            if miss is not None:
                misses.append(miss)
    return misses


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _reply(observed: Observation) -> str:
    if observed.reply is None:
        return "no reply"
    text = observed.reply if len(observed.reply) <= 200 else observed.reply[:200] + "…"
    return f"reply {text!r}"


def replied(value: bool, observed: Observation) -> Miss | None:
    if (observed.reply is not None) == value:
        return None
    return Miss("replied", "a reply" if value else "no reply", _reply(observed))


def reply_matches(patterns: str | list[str], observed: Observation) -> Miss | None:
    text = observed.reply or ""
    missing = [p for p in _as_list(patterns) if not re.search(p, text)]
    if missing:
        return Miss("reply_matches", " and ".join(f"/{p}/" for p in missing), _reply(observed))
    return None


def reply_not_matches(patterns: str | list[str], observed: Observation) -> Miss | None:
    text = observed.reply or ""
    found = [p for p in _as_list(patterns) if re.search(p, text)]
    if found:
        return Miss("reply_not_matches", f"no match for /{found[0]}/", _reply(observed))
    return None


def reply_cites(sources: str | list[str], observed: Observation) -> Miss | None:
    cited = [set(c.values()) for c in observed.citations]
    missing = [s for s in _as_list(sources) if not any(s in values for values in cited)]
    if missing:
        shown = [c.get("source") for c in observed.citations] or "no citation"
        return Miss("reply_cites", f"a citation of {', '.join(missing)}", f"cited {shown}")
    return None


def tool_called(specs: Any, observed: Observation) -> Miss | None:
    for spec in _as_list(specs):
        wanted = ToolCallSpec(name=spec) if isinstance(spec, str) else spec
        if not any(_call_fits(wanted, use) for use in observed.tools):
            return Miss("tool_called", _describe_call(wanted), _tools(observed.tools))
    return None


def _call_fits(spec: ToolCallSpec, use: ToolUse) -> bool:
    if spec.name != use.name:
        return False
    if spec.arguments is not None and use.arguments != spec.arguments:
        return False
    include = spec.arguments_include or {}
    return all(use.arguments.get(key) == value for key, value in include.items())


def _describe_call(spec: ToolCallSpec) -> str:
    if spec.arguments is not None:
        return f"{spec.name} with exactly {spec.arguments}"
    if spec.arguments_include:
        return f"{spec.name} with at least {spec.arguments_include}"
    return spec.name


def _tools(uses: list[ToolUse]) -> str:
    return "tools called: " + (", ".join(map(str, uses)) if uses else "none")


def no_tool_called(value: bool | list[str], observed: Observation) -> Miss | None:
    if value is False:
        return None if observed.tools else Miss("no_tool_called", "a tool call", "none")
    forbidden = [u for u in observed.tools if value is True or u.name in value]
    if forbidden:
        expected = "no tool call" if value is True else f"none of {', '.join(value)}"
        return Miss("no_tool_called", expected, _tools(forbidden))
    return None


def tool_order(names: list[str], observed: Observation) -> Miss | None:
    """The tools were called in this order (others may come between)."""
    remaining = iter(use.name for use in observed.tools)
    if all(name in remaining for name in names):
        return None
    return Miss("tool_order", " then ".join(names), _tools(observed.tools))


def escalated(value: bool | EscalationSpec, observed: Observation) -> Miss | None:
    found = observed.escalation
    if value is False:
        return None if found is None else Miss("escalated", "no escalation", _escalation(found))
    if found is None:
        return Miss("escalated", "an escalation", "no escalation")
    if isinstance(value, EscalationSpec):
        return _escalation_fits(value, found)
    return None


def _escalation_fits(spec: EscalationSpec, found: dict[str, Any]) -> Miss | None:
    if spec.reason is not None and found.get("reason") != spec.reason:
        return Miss("escalated", f"reason {spec.reason}", _escalation(found))
    if spec.priority is not None and found.get("priority") != spec.priority:
        return Miss("escalated", f"priority {spec.priority}", _escalation(found))
    pattern = spec.summary_matches
    if pattern is not None and not re.search(pattern, str(found.get("summary") or "")):
        return Miss("escalated", f"a summary matching /{pattern}/", _escalation(found))
    return None


def _escalation(found: dict[str, Any]) -> str:
    summary = str(found.get("summary") or "").replace("\n", " | ")[:160]
    reason, priority = found.get("reason"), found.get("priority")
    return f"escalated: reason {reason}, priority {priority}, summary {summary!r}"


def handed_off(value: bool, observed: Observation) -> Miss | None:
    happened = observed.mode_before == "auto" and observed.mode == "manual"
    if happened == value:
        return None
    expected = "the conversation handed to a person" if value else "no hand-off"
    return Miss("handed_off", expected, f"mode {observed.mode_before} → {observed.mode}")


def approval_requested(value: bool | ApprovalSpec, observed: Observation) -> Miss | None:
    found = observed.approval
    actual = f"approval requested for {found.get('tool')}" if found else "no approval requested"
    if value is False:
        return None if found is None else Miss("approval_requested", "no approval", actual)
    if found is None:
        return Miss("approval_requested", "an approval request", actual)
    if isinstance(value, ApprovalSpec) and value.tool not in (None, found.get("tool")):
        return Miss("approval_requested", f"an approval for {value.tool}", actual)
    return None


def mode(value: str, observed: Observation) -> Miss | None:
    return None if observed.mode == value else Miss("mode", value, f"mode {observed.mode}")


def state(facts: dict[str, str], observed: Observation) -> Miss | None:
    wrong = {k: v for k, v in facts.items() if observed.facts.get(k) != v}
    if wrong:
        return Miss("state", f"facts {wrong}", f"facts {observed.facts}")
    return None


def language(value: str, observed: Observation) -> Miss | None:
    if observed.language == value:
        return None
    return Miss("language", value, f"reply language {observed.language} in {_reply(observed)}")


def grounded(value: bool, observed: Observation) -> Miss | None:
    score, floor = observed.grounding, observed.min_grounding
    if score is None:
        if not value:
            return None
        return Miss("grounded", f"grounding ≥ {floor}", "no grounding score (no knowledge answer)")
    if (score >= floor) == value:
        return None
    expected = f"grounding ≥ {floor}" if value else f"grounding < {floor}"
    return Miss("grounded", expected, f"grounding {score}")


def degraded(value: bool, observed: Observation) -> Miss | None:
    if observed.degraded == value:
        return None
    actual = "a degraded answer" if observed.degraded else "the model's answer"
    return Miss("degraded", "degraded path" if value else "the model's answer", actual)


def coalesced(value: bool, observed: Observation) -> Miss | None:
    together = bool(observed.sent) and set(observed.sent) <= set(observed.answers)
    if together == value:
        return None
    expected = "one reply to every message" if value else "separate replies"
    return Miss(
        "coalesced", expected, f"the reply answers {len(observed.answers)} of {len(observed.sent)}"
    )


def latency_s(budget: float, observed: Observation) -> Miss | None:
    took = observed.latency_s
    if took is not None and took <= budget:
        return None
    return Miss(
        "latency_s", f"a reply within {budget:g} s", "no reply" if took is None else f"{took:.2f} s"
    )


CHECKS: dict[str, Check] = {
    "replied": replied,
    "reply_matches": reply_matches,
    "reply_not_matches": reply_not_matches,
    "reply_cites": reply_cites,
    "tool_called": tool_called,
    "no_tool_called": no_tool_called,
    "tool_order": tool_order,
    "escalated": escalated,
    "handed_off": handed_off,
    "approval_requested": approval_requested,
    "mode": mode,
    "state": state,
    "language": language,
    "grounded": grounded,
    "degraded": degraded,
    "coalesced": coalesced,
    "latency_s": latency_s,
}
