"""respond: make the model's draft fit for the customer: clean, cited, within length."""

from typing import Any

from agent.graph.citations import citation, cited_passages, renumber
from agent.graph.deps import GraphDeps
from agent.graph.state import Reply, TraceEvent, TurnState
from agent.llm.qwen import parse_xml_tool_calls, strip_reasoning_markup


def clean_reply(draft: str) -> str:
    """Remove anything not meant for the customer: reasoning and raw tool-call markup."""
    text, _reasoning = strip_reasoning_markup(draft)
    _calls, text = parse_xml_tool_calls(text)
    return text.strip()


def shorten(text: str, limit: int) -> str:
    """Cut at the last sentence end (or word) before ``limit`` characters."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    end = max(cut.rfind(". "), cut.rfind("! "), cut.rfind("? "), cut.rfind("\n"))
    if end > limit // 3:  # a sentence end that keeps a fair share of the text
        return cut[: end + 1].rstrip()
    return cut.rsplit(" ", 1)[0].rstrip() + "…"


def make_respond(deps: GraphDeps) -> Any:
    async def respond(state: TurnState) -> dict[str, Any]:
        bot = deps.tenants.get(state["tenant"])
        passages = state.get("passages", [])
        text = clean_reply(state["draft"])
        cited = cited_passages(text, passages)
        text = shorten(renumber(text, passages, cited), bot.max_reply_chars)
        reply = Reply(
            text=text,
            citations=tuple(citation(p) for p in cited),
            grounded_in_kb=bool(cited),
        )
        detail = {"chars": len(text), "citations": len(cited)}
        return {"reply": reply, "trace": [TraceEvent("respond", detail)]}

    return respond
