"""deskhand graph."""

from agent.cli.common import console


def graph() -> None:
    """Print the turn graph as a Mermaid flowchart."""
    from agent.config.tenants import TenantRegistry
    from agent.graph.build import mermaid
    from agent.graph.deps import GraphDeps
    from knowledge.types import Passage
    from tools.registry import ToolRegistry

    async def no_passages(tenant: str, query: str, k: int) -> list[Passage]:
        return []

    # The drawing depends only on the wiring, not on tenants, knowledge or tools.
    deps = GraphDeps(TenantRegistry({}), no_passages, ToolRegistry())
    console.print(mermaid(deps), highlight=False, markup=False, soft_wrap=True)
