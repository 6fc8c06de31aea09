"""The parts of a deskhand process, built once at start-up from the settings."""

import asyncio
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from redis.exceptions import RedisClusterException, RedisError

from agent.admin.directory import DirectoryUpdates
from agent.bot_reload import BotReload, follow_reloads, reload_bot
from agent.channel_delivery import ChannelDelivery
from agent.checkpoints import open_checkpointer
from agent.config.channels import HELPDESK_CHANNELS
from agent.config.derived import knowledge_config, llm_config
from agent.config.settings import Settings
from agent.config.tenants import TenantRegistry
from agent.delivery import Delivery, GenericDelivery
from agent.graph.build import build_graph
from agent.graph.deps import GraphDeps
from agent.graph.deps import Retriever as GraphRetriever
from agent.helpdesk_delivery import HelpdeskDelivery
from agent.llm.client import ChatClient
from agent.llm.types import ChatMessage
from agent.queue_depth import refresh_forever
from agent.retention import sweep_forever
from agent.runtime.factory import Runtime, open_runtime
from agent.runtime.redis_connection import RedisOptions, open_sync_redis, unreachable
from agent.runtime.worker import PoolConfig, WorkerPool
from agent.sunshine_delivery import SunshineDelivery
from agent.tenant_helpdesks import TenantHelpdesks
from agent.tenant_tools import TenantTools, tools_environ
from agent.turns import TurnProcessor
from agent.webhook_rejections import RejectionTally
from knowledge.retriever import RetrievalResult, Retriever
from knowledge.store import KnowledgeStore
from knowledge.vector_cache import RedisVectorCache
from tools.delivery.generic_callback import GenericCallbackClient
from tools.http_tools.pool import HttpPool
from tools.retry import RetryPolicy
from tools.tls import default_tls_context

log = logging.getLogger(__name__)

QUERY_VECTOR_TIMEOUT_S = 0.5  # the shared query-vector cache: a miss beats a wait


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
    resources: AsyncExitStack  # runtime, checkpointer, query-vector client; closed in reverse
    tool_connections: HttpPool  # the HTTP tools' connections, shared by every tenant
    rejections: RejectionTally = field(default_factory=RejectionTally)  # webhook refusals

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
        tool_connections = HttpPool()
        tools = TenantTools.load(tenants, tools_environ(settings), helpdesks, tool_connections)
        knowledge = KnowledgeStore.open(knowledge_config(settings))
        config = llm_config(settings)
        runtime = await open_runtime(settings)
        resources = AsyncExitStack()
        resources.push_async_callback(runtime.close)
        try:
            checkpointer = await resources.enter_async_context(open_checkpointer(settings, runtime))
        except BaseException:
            await resources.aclose()
            raise
        # Nothing below can fail: nothing left to leak.
        retriever = Retriever(
            knowledge, vector_cache=shared_query_vectors(settings, runtime, resources)
        )
        llm = ChatClient(config) if config else None
        deps = GraphDeps(tenants, _retrieve_with(retriever), tools, llm)
        graph = build_graph(deps, checkpointer)
        http = httpx.AsyncClient(verify=default_tls_context())
        callback = GenericCallbackClient(
            http,
            timeout_s=settings.callback_timeout_s,
            retry=RetryPolicy(max_retries=settings.callback_max_retries),
        )
        delivery = channel_delivery(tenants, callback, helpdesks, http)
        turns = TurnProcessor(
            graph,
            runtime.mailboxes,
            runtime.transcripts,
            delivery,
            tenants,
            runtime.usage,
            settings.turn_timeout_s,
            checkpoint_every_step=settings.checkpoint_every_step,
            stats=runtime.stats,
            directory=directory_updates(runtime, tenants),
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
            resources=resources,
            tool_connections=tool_connections,
        )

    async def work(self, stop: asyncio.Event, holder: str | None = None) -> None:
        """Run the workers and the retention sweep until ``stop`` is set; ``holder``
        names the worker pool in leases (a supervised process is named by its parent)."""
        idle_s = self.settings.retention_days * 86_400
        forget = self.graph.checkpointer.adelete_thread
        await asyncio.gather(
            self.worker_pool(holder).run(stop),
            sweep_forever(
                self.runtime.mailboxes, forget, idle_s, stop, directory=self.runtime.directory
            ),
            refresh_forever(self.runtime.mailboxes, stop),
            self.follow_reloads(stop),
        )

    def reload_bot(self, tenant: str) -> BotReload:
        """Read the tenant's bot file again and use it, tools included (agent.bot_reload)."""
        environ = tools_environ(self.settings)
        return reload_bot(self.tenants, self.tools, self.helpdesks, tenant, environ)

    async def follow_reloads(self, stop: asyncio.Event) -> None:
        """On Redis, reload the bot files other processes reloaded, until ``stop``; in
        embedded mode the one process already did."""
        if self.runtime.redis is not None:
            await follow_reloads(self.runtime.bot_generations, self.reload_bot, stop)

    def worker_pool(self, holder: str | None = None) -> WorkerPool:
        settings = self.settings
        config = PoolConfig(
            concurrency=settings.worker_concurrency,
            lease_s=settings.lease_s,
            max_message_age_s=settings.max_message_age_s,
        )
        return WorkerPool(
            self.runtime.mailboxes, self.turns.handle, self.turns.hold, config, holder
        )

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()
        await self.http.aclose()
        await self.tool_connections.aclose()
        await self.resources.aclose()
        await self.helpdesks.aclose()


def directory_updates(runtime: Runtime, tenants: TenantRegistry) -> DirectoryUpdates:
    """How the worker keeps the conversation directory (drafts: the tenant's reply mode)."""

    def draft_mode(tenant: str) -> bool:
        return tenant in tenants.tenants and tenants.get(tenant).channels.reply_mode == "draft"

    return DirectoryUpdates(runtime.directory, runtime.transcripts, runtime.mailboxes, draft_mode)


def channel_delivery(
    tenants: TenantRegistry,
    callback: GenericCallbackClient,
    helpdesks: TenantHelpdesks,
    http: httpx.AsyncClient,
) -> ChannelDelivery:
    """Each channel's outbound route (the helpdesk channels share the tenant's client)."""
    through_helpdesk = HelpdeskDelivery(tenants, helpdesks)
    routes: dict[str, Delivery] = dict.fromkeys(HELPDESK_CHANNELS, through_helpdesk)
    routes["generic"] = GenericDelivery(tenants, callback)
    routes["sunshine"] = SunshineDelivery(tenants, http)
    return ChannelDelivery(routes)


def shared_query_vectors(
    settings: Settings, runtime: Runtime, resources: AsyncExitStack
) -> RedisVectorCache | None:
    """On Redis, the query-vector cache of every worker process, on a sync client of its own
    (closed with ``resources``) that waits at most QUERY_VECTOR_TIMEOUT_S and never retries.
    None in embedded mode, or if it cannot be opened (a warning): each process keeps its own.
    """
    if runtime.redis is None:
        return None
    options = replace(
        RedisOptions.from_settings(settings), timeout_s=QUERY_VECTOR_TIMEOUT_S, fail_fast=True
    )
    try:
        client = open_sync_redis(options)  # a Redis Cluster is asked for its nodes now
    except (RedisError, RedisClusterException, OSError) as error:
        log.warning(
            "query vectors are not shared between processes: %s", unreachable(options, error)
        )
        return None
    resources.callback(client.close)
    return RedisVectorCache(client, settings.redis_prefix)


def _retrieve_with(retriever: Retriever) -> GraphRetriever:
    async def retrieve(
        tenant: str, query: str, k: int, history: Sequence[ChatMessage]
    ) -> RetrievalResult:
        return await asyncio.to_thread(retriever.search, tenant, query, k, None, history)

    return retrieve
