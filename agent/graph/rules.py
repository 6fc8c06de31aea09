"""Escalation rules: configuration in the bot file, decisions from the turn's signals.

Each rule is a small function of the bot's settings and what the guard and the memory
know; the first that fires hands the conversation to a person, with its reason and
priority (the tenant may change any reason's priority).
"""

from collections.abc import Callable

from agent.config.botfile import BotConfig
from agent.graph.state import Escalation, EscalationReason, Memory, Priority, Signals
from tools.context import Customer

DEFAULT_PRIORITY = {
    EscalationReason.CUSTOMER_REQUEST: Priority.NORMAL,
    EscalationReason.MODEL_UNAVAILABLE: Priority.NORMAL,
    EscalationReason.LOW_CONFIDENCE: Priority.NORMAL,
    EscalationReason.TOOL_FAILURE: Priority.HIGH,
    EscalationReason.APPROVAL_REQUIRED: Priority.NORMAL,
    EscalationReason.FRUSTRATION: Priority.HIGH,
    EscalationReason.SENSITIVE_TOPIC: Priority.HIGH,
    EscalationReason.TOO_MANY_TURNS: Priority.NORMAL,
    EscalationReason.VIP: Priority.HIGH,
    EscalationReason.ABUSE: Priority.NORMAL,
    EscalationReason.MODEL_REQUEST: Priority.NORMAL,
    EscalationReason.UNGROUNDED: Priority.NORMAL,
}
TOPIC_PRIORITY = {
    "legal": Priority.HIGH,
    "security": Priority.URGENT,
    "medical_safety": Priority.URGENT,
}


def escalation(
    bot: BotConfig, reason: EscalationReason, detail: str, priority: Priority | None = None
) -> Escalation:
    """An escalation with the tenant's priority for ``reason`` (or the default)."""
    configured = bot.escalation.priorities.get(reason.value)
    chosen = Priority(configured) if configured else priority or DEFAULT_PRIORITY[reason]
    return Escalation(reason=reason, priority=chosen, detail=detail)


Rule = Callable[[BotConfig, Signals, Memory, Customer | None], Escalation | None]


def abuse(
    bot: BotConfig, signals: Signals, memory: Memory, _: Customer | None
) -> Escalation | None:
    if not (bot.escalation.abuse and signals.abuse):
        return None
    return escalation(
        bot, EscalationReason.ABUSE, "abusive language: " + ", ".join(signals.reasons)
    )


def sensitive_topic(
    bot: BotConfig, signals: Signals, memory: Memory, _: Customer | None
) -> Escalation | None:
    topic = signals.topic
    if topic is None or topic not in bot.escalation.sensitive_topics:
        return None
    detail = f"a sensitive topic ({topic.replace('_', ' ')}) is for a person to handle"
    return escalation(bot, EscalationReason.SENSITIVE_TOPIC, detail, TOPIC_PRIORITY.get(topic))


def vip(
    bot: BotConfig, signals: Signals, memory: Memory, customer: Customer | None
) -> Escalation | None:
    if customer is None or not bot.escalation.vip.matches(customer.id, customer.email):
        return None
    return escalation(bot, EscalationReason.VIP, f"customer {customer.id} is a VIP")


def frustration(
    bot: BotConfig, signals: Signals, memory: Memory, _: Customer | None
) -> Escalation | None:
    limit = bot.escalation.frustration_turns
    if limit is None or not signals.negative or memory.negative_turns < limit:
        return None
    detail = f"the customer sounded frustrated {memory.negative_turns} turns in a row"
    return escalation(bot, EscalationReason.FRUSTRATION, detail)


def too_many_turns(
    bot: BotConfig, signals: Signals, memory: Memory, _: Customer | None
) -> Escalation | None:
    limit = bot.escalation.max_turns
    if limit is None or memory.turns <= limit:
        return None
    detail = f"{memory.turns - 1} turns without resolution (limit {limit})"
    return escalation(bot, EscalationReason.TOO_MANY_TURNS, detail)


RULES: tuple[Rule, ...] = (abuse, sensitive_topic, vip, frustration, too_many_turns)


def first_escalation(
    bot: BotConfig, signals: Signals, memory: Memory, customer: Customer | None
) -> Escalation | None:
    """The first rule that fires, in order of urgency, or None."""
    for rule in RULES:
        found = rule(bot, signals, memory, customer)
        if found is not None:
            return found
    return None


def low_confidence(bot: BotConfig, memory: Memory, confidence: float) -> Escalation | None:
    """This turn's retrieval is weak too, after earlier turns the bot could not answer."""
    limit = bot.escalation.low_confidence_turns
    if limit is None or confidence >= bot.retrieval.min_score:
        return None
    if memory.low_confidence_turns + 1 < limit:
        return None
    detail = (
        f"the knowledge base had no confident answer {memory.low_confidence_turns + 1} turns "
        f"in a row (best score {confidence:.2f}, needed {bot.retrieval.min_score:.2f})"
    )
    return escalation(bot, EscalationReason.LOW_CONFIDENCE, detail)
