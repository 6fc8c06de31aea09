"""The demo responder: what ``deskhand llm-stub`` answers when given no script.

A few fixed rules, enough to show the model path of the graph without a GPU:
an order number with the ``lookup_order`` tool offered → call it; a tool result →
summarise it; knowledge passages in the prompt → answer from the first, citing it;
otherwise → say it does not know. It reads only the request, like a model would.
"""

import json
import re
from typing import Any

from agent.llm.stub.script import ScriptedResponse, ScriptedToolCall

_ORDER = re.compile(r"\b(?:BL-?)?(\d{5})\b", re.IGNORECASE)
_KNOWLEDGE = re.compile(r"<knowledge>\s*(.*?)\s*</knowledge>", re.DOTALL)
_PASSAGE = re.compile(r"^\[(\d+)\] [^\n]*\n(.*?)(?=^\[\d+\] |\Z)", re.DOTALL | re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_DONT_KNOW = "I'm not sure about that one. Would you like me to talk to a colleague?"


class DemoResponder:
    def __call__(self, body: dict[str, Any]) -> ScriptedResponse:
        messages = body.get("messages") or []
        last = messages[-1] if messages else {}
        if last.get("role") == "tool":
            return ScriptedResponse(content=_summarise_tool_result(str(last.get("content"))))
        text = str(last.get("content") or "")
        question, passages = _split_knowledge(text)
        order = _ORDER.search(question)
        if order and "lookup_order" in _tool_names(body):
            call = ScriptedToolCall(name="lookup_order", arguments={"order_id": f"BL-{order[1]}"})
            return ScriptedResponse(tool_calls=[call])
        quotable = [(i, p) for i, p in enumerate(passages, start=1) if _first_sentences(p, 2)]
        if quotable:  # passages shown in an earlier turn come back as a title only
            number, passage = quotable[0]
            return ScriptedResponse(content=f"{_first_sentences(passage, 2)} [{number}]")
        return ScriptedResponse(content=_DONT_KNOW)


def _tool_names(body: dict[str, Any]) -> set[str]:
    return {t.get("function", {}).get("name", "") for t in body.get("tools") or []}


def _split_knowledge(text: str) -> tuple[str, list[str]]:
    match = _KNOWLEDGE.search(text)
    if match is None:
        return text, []
    passages = [p.group(2).strip() for p in _PASSAGE.finditer(match.group(1))]
    return text[: match.start()].strip(), passages


def _first_sentences(text: str, count: int) -> str:
    prose = " ".join(line for line in text.splitlines() if line and not line.startswith("#"))
    return " ".join(_SENTENCE_END.split(prose)[:count]).strip()


def _summarise_tool_result(content: str) -> str:
    try:
        payload = json.loads(content)
    except json.JSONDecodeError:
        return "I couldn't read the result of that lookup. Let me get a colleague to help."
    if not payload.get("ok"):
        return "I couldn't find that order on your account. Could you check the order number?"
    order = payload.get("result") or {}
    parts = [f"Your order {order.get('id')} is {order.get('status')}."]
    if order.get("estimated_delivery"):
        parts.append(f"Estimated delivery: {order['estimated_delivery']}.")
    if order.get("delivered_at"):
        parts.append(f"It was delivered on {order['delivered_at']}.")
    if order.get("tracking_url"):
        parts.append(f"Track it here: {order['tracking_url']}")
    return " ".join(parts)
