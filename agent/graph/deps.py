"""What the graph's nodes need from the rest of the process, passed in once at build time."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from agent.config.tenants import TenantRegistry
from agent.llm.client import ChatClient
from knowledge.types import Passage
from tools.registry import ToolRegistry

Retriever = Callable[[str, str, int], Awaitable[list[Passage]]]
"""(tenant, query, k) -> passages, best first."""


@dataclass(frozen=True)
class GraphDeps:
    tenants: TenantRegistry
    retrieve: Retriever
    tools: ToolRegistry
    llm: ChatClient | None = None
