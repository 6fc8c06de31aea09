"""Wire the nodes into the turn graph.

guard ─▶ (an injection attempt: a neutral answer) ─▶ end
  └▶ understand ─▶ escalate                  (asked for a person; an escalation rule fired)
       └▶ retrieve ─▶ agent ⇄ tools ─▶ respond
            │          │      └─▶ approval ─▶ (paused until a person decides) ─▶ agent
            │          └─▶ degraded ─▶ escalate (nothing confident to quote)
            ├──────────▶ degraded    (no model, or the token budget is spent)
            └──────────▶ escalate    (the knowledge base failed again)
"""

from typing import Any

from langgraph.graph import END, START, StateGraph

from agent.graph.deps import GraphDeps
from agent.graph.intents import needs_intent
from agent.graph.nodes.agent import make_agent
from agent.graph.nodes.approval import after_approval, make_approval
from agent.graph.nodes.degraded import make_degraded
from agent.graph.nodes.escalate import make_escalate
from agent.graph.nodes.guard import after_guard, make_guard
from agent.graph.nodes.respond import make_respond
from agent.graph.nodes.retrieve import make_retrieve
from agent.graph.nodes.tools import after_tools, make_tools
from agent.graph.nodes.understand import make_understand
from agent.graph.state import TurnState
from agent.graph.timing import timed


def after_understand(state: TurnState) -> str:
    return "escalate" if state.get("escalation") else "retrieve"


def after_retrieve(deps: GraphDeps) -> Any:
    def route(state: TurnState) -> str:
        if state.get("escalation"):
            return "escalate"
        if not deps.llm or state.get("degraded_reason"):
            return "degraded"
        bot = deps.tenants.get(state["tenant"])
        return "degraded" if needs_intent(state["message"], bot) else "agent"

    return route


def after_agent(state: TurnState) -> str:
    if state.get("degraded_reason"):
        return "degraded"
    exchange = state.get("exchange", [])
    if exchange and exchange[-1].tool_calls and not state.get("draft"):
        return "tools"
    return "respond"


def after_degraded(state: TurnState) -> str:
    return "escalate" if state.get("escalation") else END


def after_respond(state: TurnState) -> str:
    return "escalate" if state.get("escalation") else END


def build_graph(deps: GraphDeps, checkpointer: Any = None) -> Any:
    """The compiled turn graph; ``fresh_turn`` gives the input of each turn.

    With a checkpointer (thread = conversation key) the state is kept between turns, so
    a paused turn can resume; history still comes in with each turn's input.
    """
    graph = StateGraph(TurnState)
    nodes = {
        "guard": make_guard(deps),
        "understand": make_understand(deps),
        "retrieve": make_retrieve(deps),
        "agent": make_agent(deps),
        "tools": make_tools(deps),
        "approval": make_approval(deps),
        "respond": make_respond(deps),
        "degraded": make_degraded(deps),
        "escalate": make_escalate(deps),
    }
    for name, node in nodes.items():
        graph.add_node(name, timed(name, node))

    graph.add_edge(START, "guard")
    graph.add_conditional_edges("guard", after_guard, {"understand": "understand", "deflect": END})
    graph.add_conditional_edges("understand", after_understand, ["escalate", "retrieve"])
    graph.add_conditional_edges("retrieve", after_retrieve(deps), ["agent", "degraded", "escalate"])
    graph.add_conditional_edges("agent", after_agent, ["tools", "respond", "degraded"])
    graph.add_conditional_edges("tools", after_tools, ["agent", "approval", "escalate"])
    graph.add_conditional_edges(
        "approval", after_approval, {"agent": "agent", "escalate": "escalate", "end": END}
    )
    graph.add_conditional_edges("degraded", after_degraded, ["escalate", END])
    graph.add_conditional_edges("respond", after_respond, ["escalate", END])
    graph.add_edge("escalate", END)
    return graph.compile(name="deskhand-turn", checkpointer=checkpointer)


def mermaid(deps: GraphDeps) -> str:
    """The graph as a Mermaid flowchart (``deskhand graph``)."""
    return str(build_graph(deps).get_graph().draw_mermaid())
