"""Open the runtime stores the settings ask for: embedded (SQLite, in-process) or Redis."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agent.config.settings import Settings
from agent.runtime.admin_stores import AuditLog, TokenStore
from agent.runtime.config_generations import (
    ConfigGenerations,
    MemoryConfigGenerations,
    RedisConfigGenerations,
)
from agent.runtime.directory import ConversationDirectory
from agent.runtime.knowledge_jobs import KnowledgeJobStore
from agent.runtime.limits import MemoryUsageMeter, RedisUsageMeter, UsageMeter
from agent.runtime.redis_admin import RedisAuditLog, RedisTokenStore
from agent.runtime.redis_connection import AsyncRedis, RedisOptions, open_async_redis, ping
from agent.runtime.redis_directory import RedisDirectory
from agent.runtime.redis_intake import RedisIntake
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_knowledge_jobs import RedisKnowledgeJobs
from agent.runtime.redis_mailboxes import RedisMailboxes
from agent.runtime.redis_stats import RedisStats
from agent.runtime.redis_stores import RedisTranscripts
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_admin import SqliteAuditLog, SqliteTokenStore
from agent.runtime.sqlite_directory import SqliteDirectory
from agent.runtime.sqlite_knowledge_jobs import SqliteKnowledgeJobs
from agent.runtime.sqlite_mailboxes import SqliteMailboxes
from agent.runtime.sqlite_stats import SqliteStats
from agent.runtime.stats_store import StatsStore
from agent.runtime.stores import Intake, Mailboxes, TranscriptStore

Step = Callable[[], Awaitable[object]]


@dataclass
class Runtime:
    """The stores a process works with, whatever backs them."""

    mode: str
    transcripts: TranscriptStore
    mailboxes: Mailboxes
    intake: Intake  # the webhook path: a delivery's claim and messages in one step
    usage: UsageMeter
    admin_tokens: TokenStore  # the admin API's bearer tokens (hashed)
    audit: AuditLog  # the admin API's append-only record of mutating calls
    stats: StatsStore  # per-minute turn and webhook counts, for /admin/v1/stats
    directory: ConversationDirectory  # a summary per conversation, for operators to list
    knowledge_jobs: KnowledgeJobStore  # ingest/reindex jobs, readable from every replica
    bot_generations: ConfigGenerations  # bot-file reloads, followed by every process
    redis: AsyncRedis | None = None  # the shared client, in Redis mode
    _closers: list[Step] = field(default_factory=list)
    _pingers: list[Step] = field(default_factory=list)

    async def ping(self) -> None:
        """Raise DependencyUnavailable if a backing store cannot be used."""
        for pinger in self._pingers:
            await pinger()

    async def close(self) -> None:
        for closer in self._closers:
            await closer()


async def open_runtime(settings: Settings) -> Runtime:
    if settings.redis_url:
        return await _open_redis(settings)
    return await _open_embedded(settings)


async def _open_embedded(settings: Settings) -> Runtime:
    database = await SqliteDatabase.open(settings.sqlite_path)
    try:
        mailboxes = await SqliteMailboxes.open(database)
        admin_tokens = await SqliteTokenStore.open(database)
        audit = await SqliteAuditLog.open(database)
        stats = await SqliteStats.open(database, settings.retention_days * 86_400)
        directory = await SqliteDirectory.open(database)
        knowledge_jobs = await SqliteKnowledgeJobs.open(database)
    except BaseException:
        await database.close()
        raise
    return Runtime(
        mode="embedded",
        transcripts=SqliteTranscripts(database),
        mailboxes=mailboxes,
        intake=mailboxes,
        usage=MemoryUsageMeter(),
        admin_tokens=admin_tokens,
        audit=audit,
        stats=stats,
        directory=directory,
        knowledge_jobs=knowledge_jobs,
        bot_generations=MemoryConfigGenerations(),
        _closers=[database.close],
        _pingers=[database.ping],
    )


async def _open_redis(settings: Settings) -> Runtime:
    options = RedisOptions.from_settings(settings)
    client = open_async_redis(options)
    try:
        await ping(client, options)
    except BaseException:
        await client.aclose()
        raise
    keys = RedisKeys(settings.redis_prefix)
    retention_s = int(settings.retention_days * 86_400)

    async def check() -> None:
        await ping(client, options)

    mailboxes = RedisMailboxes(client, keys, retention_s)
    return Runtime(
        mode="redis",
        transcripts=RedisTranscripts(client, keys),
        mailboxes=mailboxes,
        intake=RedisIntake(client, keys, retention_s, mailboxes),
        usage=RedisUsageMeter(client, keys),
        admin_tokens=RedisTokenStore(client, keys),
        audit=RedisAuditLog(client, keys),
        stats=RedisStats(client, keys, retention_s),
        directory=RedisDirectory(client, keys, retention_s),
        knowledge_jobs=RedisKnowledgeJobs(client, keys),
        bot_generations=RedisConfigGenerations(client, keys),
        redis=client,
        _closers=[client.aclose],
        _pingers=[check],
    )
