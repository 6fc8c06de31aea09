"""What the graph's nodes need from the rest of the process, passed in once at build time."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from agent.config.tenants import TenantRegistry
from agent.llm.client import ChatClient
from agent.llm.types import ChatMessage
from agent.tenant_tools import TenantTools
from knowledge.retriever import RetrievalResult

Retriever = Callable[[str, str, int, Sequence[ChatMessage]], Awaitable[RetrievalResult]]
"""(tenant, latest message, k, earlier messages) -> passages best first, with a confidence."""


@dataclass(frozen=True)
class GraphDeps:
    tenants: TenantRegistry
    retrieve: Retriever
    tools: TenantTools  # each tenant's registry
    llm: ChatClient | None = None
