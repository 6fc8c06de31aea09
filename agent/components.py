"""The parts of a deskhand process, built once at start-up from the settings."""

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from agent.config.derived import knowledge_config, llm_config
from agent.config.settings import Settings
from agent.config.tenants import TenantRegistry
from agent.delivery import ChannelDelivery
from agent.graph.build import build_graph
from agent.graph.deps import GraphDeps
from agent.graph.deps import Retriever as GraphRetriever
from agent.llm.client import ChatClient
from agent.llm.types import ChatMessage
from agent.runtime.factory import Runtime, open_runtime
from agent.runtime.worker import Worker
from agent.tenant_helpdesks import TenantHelpdesks
from agent.tenant_tools import TenantTools, tools_environ
from agent.turns import TurnProcessor
from knowledge.retriever import RetrievalResult, Retriever
from knowledge.store import KnowledgeStore
from tools.delivery.generic_callback import GenericCallbackClient
from tools.retry import RetryPolicy

log = logging.getLogger(__name__)


@dataclass
class Components:
    settings: Settings
    tenants: TenantRegistry
    runtime: Runtime
    knowledge: KnowledgeStore
    retriever: Retriever
    llm: ChatClient | None
    tools: TenantTools
    graph: Any
    turns: TurnProcessor
    http: httpx.AsyncClient
    helpdesks: TenantHelpdesks

    @classmethod
    async def open(cls, settings: Settings) -> "Components":
        """Build everything; raises ConfigError or DependencyUnavailable with a clear message."""
        tenants = TenantRegistry.load(settings.tenants_dir)
        helpdesks = await TenantHelpdesks.open(tenants, settings.data_dir)
        try:
            return await cls._open_with(settings, tenants, helpdesks)
        except BaseException:
            await helpdesks.aclose()
            raise

    @classmethod
    async def _open_with(
        cls, settings: Settings, tenants: TenantRegistry, helpdesks: TenantHelpdesks
    ) -> "Components":
        tools = TenantTools.load(tenants, tools_environ(settings), helpdesks)
        knowledge = KnowledgeStore.open(knowledge_config(settings))
        retriever = Retriever(knowledge)
        config = llm_config(settings)
        runtime = await open_runtime(settings)  # last of what can fail: nothing left to leak
        llm = ChatClient(config) if config else None
        graph = build_graph(GraphDeps(tenants, _retrieve_with(retriever), tools, llm))
        http = httpx.AsyncClient()
        callback = GenericCallbackClient(
            http,
            timeout_s=settings.callback_timeout_s,
            retry=RetryPolicy(max_retries=settings.callback_max_retries),
        )
        delivery = ChannelDelivery(tenants, callback)
        turns = TurnProcessor(
            graph, runtime.transcripts, delivery, tenants, settings.turn_timeout_s
        )
        return cls(
            settings=settings,
            tenants=tenants,
            runtime=runtime,
            knowledge=knowledge,
            retriever=retriever,
            llm=llm,
            tools=tools,
            graph=graph,
            turns=turns,
            http=http,
            helpdesks=helpdesks,
        )

    def worker(self) -> Worker:
        return Worker(
            self.runtime.queue,
            self.runtime.locks,
            self.turns.handle,
            lock_ttl_s=self.settings.turn_timeout_s + 30,
        )

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()
        await self.http.aclose()
        await self.runtime.close()
        await self.helpdesks.aclose()


def _retrieve_with(retriever: Retriever) -> GraphRetriever:
    async def retrieve(
        tenant: str, query: str, k: int, history: Sequence[ChatMessage]
    ) -> RetrievalResult:
        return await asyncio.to_thread(retriever.search, tenant, query, k, None, history)

    return retrieve
