"""The baseline of ``deskhand bench turn``: the textbook LangGraph RAG agent, fixed as the
issue describes it (it is not tuned; it is the yardstick).

``StateGraph`` over LangGraph's ``MessagesState`` plus the retrieved text: a ``retrieve``
node calling ``collection.query(query_texts=…)`` on a Chroma collection of the same chunks
with the same embedding function; an ``agent`` node making the same chat call as ours
(our OpenAI-compatible client, the same tools and options); ``langgraph.prebuilt.ToolNode``
with the same tool; ``InMemorySaver`` keeping each conversation's messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langgraph.graph import START, MessagesState, StateGraph

from agent.llm.types import ChatMessage, ToolCall

if TYPE_CHECKING:
    from collections.abc import Sequence

    from langchain_core.tools import BaseTool

    from agent.llm.client import ChatClient
    from agent.llm.types import ChatOptions, ToolSpec

SYSTEM = "You are a helpful support assistant. Answer from this context:\n\n"


class BaselineState(MessagesState):
    context: str


def build_baseline(
    collection: Any,
    client: ChatClient,
    specs: Sequence[ToolSpec],
    tools: Sequence[BaseTool],
    options: ChatOptions,
    k: int,
) -> Any:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.prebuilt import ToolNode, tools_condition

    def retrieve(state: BaselineState) -> dict[str, Any]:
        question = str(state["messages"][-1].content)
        found = collection.query(query_texts=[question], n_results=k)
        return {"context": "\n\n".join(found["documents"][0])}

    async def agent(state: BaselineState) -> dict[str, Any]:
        system = ChatMessage(role="system", content=SYSTEM + state["context"])
        messages = [system, *(_chat_message(m) for m in state["messages"])]
        result = await client.chat(messages, specs, options)
        calls = [{"name": c.name, "args": c.arguments, "id": c.id} for c in result.tool_calls]
        return {"messages": [AIMessage(content=result.content, tool_calls=calls)]}

    graph = StateGraph(BaselineState)
    graph.add_node("retrieve", retrieve)
    graph.add_node("agent", agent)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_edge(START, "retrieve")
    graph.add_edge("retrieve", "agent")
    graph.add_conditional_edges("agent", tools_condition)
    graph.add_edge("tools", "agent")
    return graph.compile(checkpointer=InMemorySaver())


def baseline_input(text: str) -> dict[str, Any]:
    return {"messages": [HumanMessage(content=text)]}


def _chat_message(message: AnyMessage) -> ChatMessage:
    if isinstance(message, HumanMessage):
        return ChatMessage(role="user", content=str(message.content))
    if isinstance(message, ToolMessage):
        return ChatMessage(
            role="tool", content=str(message.content), tool_call_id=message.tool_call_id
        )
    calls = tuple(
        ToolCall(str(c["id"]), c["name"], dict(c["args"]))
        for c in getattr(message, "tool_calls", [])
    )
    return ChatMessage(role="assistant", content=str(message.content) or None, tool_calls=calls)
