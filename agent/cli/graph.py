"""deskhand graph."""

from collections.abc import Sequence

from agent.cli.common import console


def graph() -> None:
    """Print the turn graph as a Mermaid flowchart."""
    from agent.config.tenants import TenantRegistry
    from agent.graph.build import mermaid
    from agent.graph.deps import GraphDeps
    from agent.llm.types import ChatMessage
    from agent.tenant_tools import TenantTools
    from knowledge.retriever import RetrievalResult

    async def nothing_found(
        tenant: str, query: str, k: int, history: Sequence[ChatMessage]
    ) -> RetrievalResult:
        return RetrievalResult([], 0.0)

    # The drawing depends only on the wiring, not on tenants, knowledge or tools.
    deps = GraphDeps(TenantRegistry({}), nothing_found, TenantTools({}))
    console.print(mermaid(deps), highlight=False, markup=False, soft_wrap=True)
