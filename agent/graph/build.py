"""Wire the nodes into the turn graph.

understand ─▶ escalate                      (the customer asked for a person)
    └──────▶ retrieve ─▶ agent ⇄ tools ─▶ respond
                 │         └─▶ degraded ─▶ escalate (nothing confident to quote)
                 └──────────▶ degraded     (no model configured)
"""

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.graph.deps import GraphDeps
from agent.graph.nodes.agent import make_agent
from agent.graph.nodes.degraded import make_degraded
from agent.graph.nodes.escalate import make_escalate
from agent.graph.nodes.respond import make_respond
from agent.graph.nodes.retrieve import make_retrieve
from agent.graph.nodes.tools import make_tools
from agent.graph.nodes.understand import make_understand
from agent.graph.state import TurnState


def after_understand(state: TurnState) -> str:
    return "escalate" if state.get("escalation") else "retrieve"


def after_agent(state: TurnState) -> str:
    if state.get("degraded_reason"):
        return "degraded"
    exchange = state.get("exchange", [])
    if exchange and exchange[-1].tool_calls and not state.get("draft"):
        return "tools"
    return "respond"


def after_tools(state: TurnState) -> str:
    return "escalate" if state.get("escalation") else "agent"


def after_degraded(state: TurnState) -> str:
    return "escalate" if state.get("escalation") else END


def build_graph(deps: GraphDeps, checkpointer: Any = None) -> Any:
    """The compiled turn graph; ``fresh_turn`` gives the input of each turn.

    With a checkpointer (thread = conversation key) the state is kept between turns, so
    a paused turn can resume; history still comes in with each turn's input.
    """
    graph = StateGraph(TurnState)
    graph.add_node("understand", make_understand(deps))
    graph.add_node("retrieve", make_retrieve(deps))
    graph.add_node("agent", make_agent(deps))
    graph.add_node("tools", make_tools(deps))
    graph.add_node("respond", make_respond(deps))
    graph.add_node("degraded", make_degraded(deps))
    graph.add_node("escalate", make_escalate(deps))

    graph.add_edge(START, "understand")
    graph.add_conditional_edges("understand", after_understand, ["escalate", "retrieve"])
    graph.add_conditional_edges(
        "retrieve",
        lambda state: "agent" if deps.llm and not state.get("degraded_reason") else "degraded",
        ["agent", "degraded"],
    )
    graph.add_conditional_edges("agent", after_agent, ["tools", "respond", "degraded"])
    graph.add_conditional_edges("tools", after_tools, ["agent", "escalate"])
    graph.add_conditional_edges("degraded", after_degraded, ["escalate", END])
    graph.add_edge("respond", END)
    graph.add_edge("escalate", END)
    return graph.compile(name="deskhand-turn", checkpointer=checkpointer)


def mermaid(deps: GraphDeps) -> str:
    """The graph as a Mermaid flowchart (``deskhand graph``)."""
    return str(build_graph(deps).get_graph().draw_mermaid())
