"""Open Redis the way the settings ask: one server, TLS, Sentinel or Cluster.

``RedisOptions.from_settings`` validates the combination of ``DESKHAND_REDIS_*`` variables
(a ``ConfigError`` names them); ``open_async_redis`` / ``open_sync_redis`` build the client
(no I/O happens until the first command); ``ping`` / ``ping_sync`` turn any failure into a
``DependencyUnavailable`` whose message never shows the password.

Commands are not re-sent automatically: a command on a connection that broke (Redis
restarted, a failover) raises ``ConnectionError`` and the caller decides, because a blind
re-send could apply ``SET NX`` or ``RPUSH`` twice; the next command reconnects.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import redis
import redis.cluster
import redis.sentinel
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import parse_url
from redis.asyncio.retry import Retry as AsyncRetry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import NoBackoff
from redis.exceptions import RedisClusterException, RedisError
from redis.retry import Retry as SyncRetry

from agent.config.settings import Settings
from agent.errors import ConfigError, DependencyUnavailable

AsyncRedis = Redis | RedisCluster
SyncRedis = redis.Redis | redis.cluster.RedisCluster
RedisMode = Literal["standalone", "cluster", "sentinel"]

HEALTH_CHECK_INTERVAL_S = 30
BLOCKING_READ_MARGIN_S = 30  # blocking reads (BLMOVE) pass their own, shorter timeout
SCHEMES = ("redis://", "rediss://", "unix://")
_UNREACHABLE = (RedisError, RedisClusterException, OSError)


@dataclass(frozen=True)
class RedisOptions:
    """How to reach Redis; checked on construction, so an instance is always coherent."""

    url: str
    timeout_s: float = 5.0
    pool_size: int = 50
    cluster: bool = False
    sentinels: tuple[tuple[str, int], ...] = ()
    sentinel_master: str = "mymaster"
    tls_ca_file: Path | None = None
    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_verify: bool = True
    # A client that would rather fail than wait (a cache): every read gives up after
    # timeout_s, with no margin for blocking reads, and nothing is retried.
    fail_fast: bool = False

    def __post_init__(self) -> None:
        _validate(self)

    @classmethod
    def from_settings(cls, settings: Settings) -> "RedisOptions":
        if not settings.redis_url:
            hint = " (DESKHAND_REDIS_SENTINELS needs it for db and password)"
            raise ConfigError(
                "DESKHAND_REDIS_URL is not set" + (hint if settings.redis_sentinels else "")
            )
        return cls(
            url=settings.redis_url,
            timeout_s=settings.redis_timeout_s,
            pool_size=settings.redis_pool_size,
            cluster=settings.redis_cluster,
            sentinels=parse_sentinels(settings.redis_sentinels),
            sentinel_master=settings.redis_sentinel_master,
            tls_ca_file=settings.redis_tls_ca_file,
            tls_cert_file=settings.redis_tls_cert_file,
            tls_key_file=settings.redis_tls_key_file,
            tls_verify=settings.redis_tls_verify,
        )

    @property
    def mode(self) -> RedisMode:
        if self.cluster:
            return "cluster"
        return "sentinel" if self.sentinels else "standalone"

    @property
    def tls(self) -> bool:
        return self.url.startswith("rediss://")

    def describe(self) -> str:
        """Where Redis is, for messages and logs: never the password."""
        if self.mode == "sentinel":
            where = ",".join(f"{host}:{port}" for host, port in self.sentinels)
            return f"Redis master {self.sentinel_master!r} via sentinels {where}"
        kind = "Redis Cluster" if self.cluster else "Redis"
        return f"{kind} at {redact_url(self.url)}"


def parse_sentinels(value: str | None) -> tuple[tuple[str, int], ...]:
    """``"host:port,host:port"`` → ``(("host", port), ...)``; a ConfigError names the bad entry."""
    if not value or not value.strip():
        return ()
    return tuple(_sentinel_address(entry.strip()) for entry in value.split(","))


def _sentinel_address(entry: str) -> tuple[str, int]:
    host, _, port = entry.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ConfigError(
            f"DESKHAND_REDIS_SENTINELS: {entry!r} is not host:port "
            "(expected e.g. 10.0.0.5:26379,10.0.0.6:26379)"
        )
    return host, int(port)


# --- validation -------------------------------------------------------------------------


def _validate(options: RedisOptions) -> None:
    _validate_url(options)
    _validate_limits(options)
    _validate_topology(options)
    _validate_tls(options)


def _validate_url(options: RedisOptions) -> None:
    if not options.url.startswith(SCHEMES):
        raise ConfigError("DESKHAND_REDIS_URL must start with redis://, rediss:// or unix://")
    try:
        parse_url(options.url)
    except ValueError as error:
        raise ConfigError(f"DESKHAND_REDIS_URL is not a valid Redis URL: {error}") from None


def _validate_limits(options: RedisOptions) -> None:
    if options.timeout_s <= 0:
        raise ConfigError("DESKHAND_REDIS_TIMEOUT_S must be greater than 0")
    if options.pool_size < 1:
        raise ConfigError("DESKHAND_REDIS_POOL_SIZE must be at least 1")


def _validate_topology(options: RedisOptions) -> None:
    if options.cluster and options.sentinels:
        raise ConfigError(
            "DESKHAND_REDIS_CLUSTER and DESKHAND_REDIS_SENTINELS cannot be used together: "
            "a Redis Cluster fails over by itself, Sentinel watches one master"
        )
    unix = options.url.startswith("unix://")
    if unix and options.mode != "standalone":
        raise ConfigError(
            f"a unix:// DESKHAND_REDIS_URL reaches one local server; it cannot be used with "
            f"{'DESKHAND_REDIS_CLUSTER' if options.cluster else 'DESKHAND_REDIS_SENTINELS'}"
        )
    if options.cluster and int(parse_url(options.url).get("db") or 0) != 0:
        raise ConfigError("DESKHAND_REDIS_URL: a Redis Cluster has only database 0 (use /0)")
    if options.sentinels and not options.sentinel_master.strip():
        raise ConfigError("DESKHAND_REDIS_SENTINEL_MASTER is empty: name the monitored master")


def _validate_tls(options: RedisOptions) -> None:
    if (options.tls_cert_file is None) != (options.tls_key_file is None):
        raise ConfigError(
            "DESKHAND_REDIS_TLS_CERT_FILE and DESKHAND_REDIS_TLS_KEY_FILE go together: "
            "a client certificate needs its private key"
        )
    files = {
        "DESKHAND_REDIS_TLS_CA_FILE": options.tls_ca_file,
        "DESKHAND_REDIS_TLS_CERT_FILE": options.tls_cert_file,
        "DESKHAND_REDIS_TLS_KEY_FILE": options.tls_key_file,
    }
    named = {name: path for name, path in files.items() if path is not None}
    for name, path in named.items():
        if not path.is_file():
            raise ConfigError(f"{name}: {path} does not exist or is not a file")
    uses_tls = bool(named) or not options.tls_verify
    if uses_tls and not options.tls:
        what = ", ".join(named) or "DESKHAND_REDIS_TLS_VERIFY=false"
        raise ConfigError(f"{what} only apply to TLS: use a rediss:// DESKHAND_REDIS_URL")


# --- connection keyword arguments ----------------------------------------------------------


def _socket_kwargs(options: RedisOptions) -> dict[str, Any]:
    margin = 0 if options.fail_fast else BLOCKING_READ_MARGIN_S
    return {
        "socket_connect_timeout": options.timeout_s,
        "socket_timeout": options.timeout_s + margin,
    }


def _tls_kwargs(options: RedisOptions) -> dict[str, Any]:
    if not options.tls:
        return {}
    return {
        "ssl_ca_certs": _path(options.tls_ca_file),
        "ssl_certfile": _path(options.tls_cert_file),
        "ssl_keyfile": _path(options.tls_key_file),
        "ssl_cert_reqs": "required" if options.tls_verify else "none",
        "ssl_check_hostname": options.tls_verify,
    }


def _client_kwargs(
    options: RedisOptions, decode_responses: bool, asyncio: bool = True
) -> dict[str, Any]:
    retry = AsyncRetry(NoBackoff(), 0) if asyncio else SyncRetry(NoBackoff(), 0)
    never_retry = {"retry": retry} if options.fail_fast else {}
    return {
        **_socket_kwargs(options),
        **_tls_kwargs(options),
        **never_retry,
        "max_connections": options.pool_size,
        "health_check_interval": HEALTH_CHECK_INTERVAL_S,
        "decode_responses": decode_responses,
    }


def _sentinel_kwargs(options: RedisOptions) -> dict[str, Any]:
    """The sentinels themselves: same timeouts and TLS as the master, no password."""
    tls = {"ssl": True, **_tls_kwargs(options)} if options.tls else {}
    return {**_socket_kwargs(options), **tls}


def _master_kwargs(
    options: RedisOptions, decode_responses: bool, asyncio: bool = True
) -> dict[str, Any]:
    """Credentials and database come from the URL; its host is not used."""
    parsed = parse_url(options.url)
    auth = {key: parsed.get(key) for key in ("username", "password") if parsed.get(key)}
    tls = {"ssl": True} if options.tls else {}
    return {
        **_client_kwargs(options, decode_responses, asyncio),
        **auth,
        **tls,
        "db": int(parsed.get("db") or 0),
    }


def _path(path: Path | None) -> str | None:
    return str(path) if path is not None else None


# --- clients -------------------------------------------------------------------------------


class _AsyncSentinelMaster(Redis):
    """The master's client; closing it also closes the connections to the sentinels."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", []):
            await sentinel.aclose()


class _SyncSentinelMaster(redis.Redis):
    def close(self) -> None:
        super().close()
        manager = getattr(self.connection_pool, "sentinel_manager", None)
        for sentinel in getattr(manager, "sentinels", []):
            sentinel.close()


def open_async_redis(options: RedisOptions, *, decode_responses: bool = False) -> AsyncRedis:
    """An asyncio client for ``options`` (``RedisCluster`` in cluster mode); close with aclose()."""
    if options.mode == "cluster":
        return RedisCluster.from_url(options.url, **_client_kwargs(options, decode_responses))
    if options.mode == "sentinel":
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            list(options.sentinels), sentinel_kwargs=_sentinel_kwargs(options)
        )
        master = sentinel.master_for(
            options.sentinel_master,
            redis_class=_AsyncSentinelMaster,
            **_master_kwargs(options, decode_responses),
        )
        assert isinstance(master, Redis)
        return master
    return Redis.from_url(options.url, **_client_kwargs(options, decode_responses))


def open_sync_redis(options: RedisOptions, *, decode_responses: bool = False) -> SyncRedis:
    """The blocking twin of ``open_async_redis`` (LangGraph's sync checkpointer API)."""
    if options.mode == "cluster":
        return redis.cluster.RedisCluster.from_url(
            options.url, **_client_kwargs(options, decode_responses, asyncio=False)
        )
    if options.mode == "sentinel":
        sentinel = redis.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            list(options.sentinels), sentinel_kwargs=_sentinel_kwargs(options)
        )
        master = sentinel.master_for(  # type: ignore[no-untyped-call]
            options.sentinel_master,
            redis_class=_SyncSentinelMaster,
            **_master_kwargs(options, decode_responses, asyncio=False),
        )
        assert isinstance(master, redis.Redis)
        return master
    return redis.Redis.from_url(
        options.url, **_client_kwargs(options, decode_responses, asyncio=False)
    )


# --- reachability --------------------------------------------------------------------------


async def ping(client: AsyncRedis, options: RedisOptions) -> None:
    """Raise DependencyUnavailable (password redacted) if Redis cannot be used."""
    try:
        await client.ping()
    except _UNREACHABLE as error:
        raise unreachable(options, error) from None


def ping_sync(client: SyncRedis, options: RedisOptions) -> None:
    try:
        client.ping()
    except _UNREACHABLE as error:
        raise unreachable(options, error) from None


def unreachable(options: RedisOptions, error: BaseException) -> DependencyUnavailable:
    detail = redact_text(str(error) or type(error).__name__, options.url)
    return DependencyUnavailable(f"{options.describe()} cannot be reached: {detail}")


# --- redaction -----------------------------------------------------------------------------

_QUERY_SECRET = re.compile(r"((?:^|&)(?:password|sentinel_password)=)[^&]*", re.IGNORECASE)


def redact_url(url: str) -> str:
    """The URL without its password (userinfo or ``?password=``), for messages and logs."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        netloc = f"{user}:***@{hostinfo}" if colon else f"***@{hostinfo}"
    query = _QUERY_SECRET.sub(r"\1***", parts.query)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")


def redact_text(text: str, url: str) -> str:
    """``text`` with the URL's password (if any) replaced, in case an error quoted it."""
    password = parse_url(url).get("password") if url.startswith(SCHEMES) else None
    return text.replace(password, "***") if password else text
