"""The hand-off summary a human agent reads, built from the turn's state (no model needed)."""

from agent.graph.state import Escalation, EscalationReason, TurnState

_NEXT_STEP = {
    EscalationReason.CUSTOMER_REQUEST: "Reply to the customer personally; they asked for a person.",
    EscalationReason.MODEL_UNAVAILABLE: (
        "Answer the question; the assistant's model was unreachable and no article matched well."
    ),
    EscalationReason.LOW_CONFIDENCE: (
        "Answer the question, and consider adding a help-center article that covers it."
    ),
    EscalationReason.TOOL_FAILURE: (
        "Check the failing system, then answer; the assistant could not look the data up."
    ),
    EscalationReason.APPROVAL_REQUIRED: (
        "Decide on the held-back action below: carry it out yourself if it is right (the "
        "assistant did not), then tell the customer either way."
    ),
    EscalationReason.FRUSTRATION: (
        "Acknowledge the frustration first, then resolve the issue; the customer is unhappy "
        "with the answers so far."
    ),
    EscalationReason.SENSITIVE_TOPIC: (
        "Handle with care and follow the policy for this topic; do not let the assistant answer."
    ),
    EscalationReason.TOO_MANY_TURNS: (
        "Read the conversation and resolve it; the assistant went round in circles."
    ),
    EscalationReason.VIP: "Serve this customer personally, as agreed for VIP accounts.",
    EscalationReason.ABUSE: (
        "Decide whether to continue the conversation; follow the policy on abusive messages."
    ),
    EscalationReason.MODEL_REQUEST: ("The assistant judged it could not help; answer the request."),
    EscalationReason.UNGROUNDED: (
        "Answer the question; the assistant's draft was not supported by the help center."
    ),
}


def handoff_summary(state: TurnState, escalation: Escalation) -> str:
    lines = [
        f"Customer wants: {_quote(state.get('message', ''))}",
        f"Why handed off: {escalation.detail or escalation.reason.value}",
        f"Tried: {_tried(state)}",
    ]
    facts = _facts(state)
    if facts:
        lines.append(f"Facts: {facts}")
    pending = state.get("pending_approval")
    if pending is not None:
        call = f"{pending.tool}({_args(pending.arguments)})"
        lines.append(f"Needs approval: {call}: {pending.reason}")
    lines.append(f"Suggested next step: {_NEXT_STEP[escalation.reason]}")
    return "\n".join(lines)


def _quote(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return f"“{text[:limit]}{'…' if len(text) > limit else ''}”"


def _tried(state: TurnState) -> str:
    steps = []
    passages = state.get("passages", [])
    if passages:
        best = passages[0]
        steps.append(
            f"knowledge base ({len(passages)} passages; best: {best.title}, score {best.score:.2f})"
        )
    calls = [c for m in state.get("exchange", []) for c in m.tool_calls]
    if calls:
        steps.append("tools: " + ", ".join(f"{c.name}({_args(c.arguments)})" for c in calls))
    return "; ".join(steps) or "nothing yet"


def _facts(state: TurnState) -> str:
    customer = state.get("customer")
    parts = []
    if customer is not None:
        parts.append(f"customer id {customer.id}")
        parts += [value for value in (customer.name, customer.email) if value]
    memory = state.get("memory")
    if memory is not None:
        parts += [f"{name.replace('_', ' ')} {value}" for name, value in memory.facts.items()]
        if memory.language:
            parts.append(f"language {memory.language}")
    signals = state.get("signals")
    if signals is not None and signals.topic:
        parts.append(f"topic {signals.topic.replace('_', ' ')}")
    return ", ".join(parts)


def _args(arguments: dict[str, object]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in arguments.items())
