"""What ``deskhand bench turn`` gives both graphs alike: the chunks, the tool, the model.

The tool is one Python function, ``lookup_order``, registered in our ``ToolRegistry`` and
wrapped as a LangChain tool for the baseline's ``ToolNode``. The scripted model answers
every request at once: a ``lookup_order`` call when the newest message is the customer's,
a reply once the tool has answered. The bot is the demo tenant's, with only that tool and
with no rule that would leave the path under test (low-confidence or ungrounded hand-offs:
the synthetic chunks are random text).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.tools import BaseTool

    from agent.config.botfile import BotConfig
    from agent.graph.deps import Retriever as GraphRetriever
    from agent.llm.stub import ScriptedResponse
    from agent.llm.types import ChatMessage, ToolSpec
    from knowledge.retriever import RetrievalResult, Retriever
    from tools.context import ToolContext
    from tools.registry import ToolRegistry

TENANT = "bench-turn"
TOOL_NAME = "lookup_order"
TOOL_DESCRIPTION = "The status, items and delivery estimate of one of the customer's orders."
ORDER = {
    "status": "shipped",
    "carrier": "DHL",
    "estimated_delivery": "2026-12-02",
    "items": [{"name": "Aurora table lamp", "quantity": 1}],
}
REPLY = "Your order {order} has shipped with DHL and should arrive on 2026-12-02."
_ORDER_ID = re.compile(r"\bBL-\d{5}\b")


class OrderQuery(BaseModel):
    order_id: str = Field(description="The order number, like BL-10234.")


async def lookup_order(order_id: str) -> dict[str, Any]:
    """The one tool both graphs call (a fixed order: the bench times the graphs)."""
    return {"id": order_id, **ORDER}


async def _our_handler(args: OrderQuery, context: ToolContext) -> dict[str, Any]:
    return await lookup_order(args.order_id)


def our_tools() -> ToolRegistry:
    from tools.registry import Tool, ToolRegistry

    return ToolRegistry([Tool(TOOL_NAME, TOOL_DESCRIPTION, OrderQuery, _our_handler)])


def tool_specs(registry: ToolRegistry) -> list[ToolSpec]:
    """The tools as both graphs send them to the model."""
    from agent.llm.types import ToolSpec

    return [ToolSpec(s.name, s.description, s.parameters) for s in registry.schemas([TOOL_NAME])]


def baseline_tools() -> list[BaseTool]:
    from langchain_core.tools import StructuredTool

    tool = StructuredTool.from_function(
        coroutine=lookup_order,
        name=TOOL_NAME,
        description=TOOL_DESCRIPTION,
        args_schema=OrderQuery,
    )
    return [tool]


def bench_bot() -> BotConfig:
    from agent.config.botfile import load_bot_file
    from agent.config.settings import DEMO_TENANTS_DIR

    demo = load_bot_file(DEMO_TENANTS_DIR / "demo.yaml", environ={"DESKHAND_PORT": "1"})
    escalation = demo.escalation.model_copy(
        update={"model_may_escalate": False, "low_confidence_turns": None, "min_grounding": 0.0}
    )
    retrieval = demo.retrieval.model_copy(update={"min_score": 0.0})
    update = {
        "tenant": TENANT,
        "tools": [TOOL_NAME],
        "escalation": escalation,
        "retrieval": retrieval,
    }
    return demo.model_copy(update=update)


def retrieve_in_thread(retriever: Retriever) -> GraphRetriever:
    """Retrieval as the worker wires it (``agent.components``): the search in a thread."""
    import asyncio

    async def retrieve(
        tenant: str, query: str, k: int, history: Sequence[ChatMessage]
    ) -> RetrievalResult:
        return await asyncio.to_thread(retriever.search, tenant, query, k, None, history)

    return retrieve


class ToolThenReply:
    """The scripted model: a ``lookup_order`` call for the customer, then a reply."""

    def __call__(self, body: dict[str, Any]) -> ScriptedResponse:
        from agent.llm.stub import ScriptedResponse, ScriptedToolCall

        messages = body.get("messages") or []
        order = _order_in(messages)
        if messages and messages[-1].get("role") == "tool":
            return ScriptedResponse(content=REPLY.format(order=order))
        call = ScriptedToolCall(name=TOOL_NAME, arguments={"order_id": order})
        return ScriptedResponse(tool_calls=[call])


def _order_in(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            found = _ORDER_ID.search(str(message.get("content") or ""))
            if found:
                return found.group()
    return "BL-10234"
