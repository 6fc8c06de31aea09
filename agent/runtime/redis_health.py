"""What `deskhand doctor` reports about Redis: version, topology, latency, and durability.

Errors make Redis unusable for deskhand (too old, a replica, a broken cluster, the wrong
kind of server for the settings); warnings are settings that lose messages in a crash or
under memory pressure (no AOF, eviction), or that could not be read at all.
"""

import statistics
import time
from dataclasses import dataclass
from typing import Any

from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisClusterException, RedisError, ResponseError

from agent.errors import DependencyUnavailable
from agent.runtime.redis_connection import (
    AsyncRedis,
    RedisOptions,
    open_async_redis,
    ping,
    redact_text,
    unreachable,
)

MIN_VERSION = (6, 2)  # BLMOVE, GETDEL, SET ... GET
LATENCY_PINGS = 5
DURABILITY_SETTINGS = ("appendonly", "appendfsync", "maxmemory-policy")
NO_AOF = (
    "appendonly is off{where}: a Redis restart loses queued messages; "
    "set appendonly yes, appendfsync always or everysec"
)
LAZY_FSYNC = (
    "appendfsync is no{where}: a crash can lose the last seconds of acknowledged messages; "
    "set appendfsync always or everysec"
)
EVICTION = (
    "maxmemory-policy is {policy}{where}: evicting mailbox or lock keys loses messages; "
    "set maxmemory-policy noeviction"
)
CONFIG_UNREADABLE = (
    "CONFIG GET is not permitted ({error}), as on most managed Redis services: appendonly "
    "and maxmemory-policy could not be read; make sure AOF persistence is on "
    "(appendfsync always or everysec) and maxmemory-policy is noeviction"
)

NodeValues = dict[str, dict[str, Any]]  # node ("host:port", or "server") → INFO / CONFIG fields


@dataclass(frozen=True)
class RedisHealth:
    version: str
    mode: str
    latency_ms: float
    pool_size: int
    cluster: bool = False
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        per_node = " per node" if self.cluster else ""
        return (
            f"Redis {self.version}, {self.mode}, round trip {self.latency_ms:.1f} ms, "
            f"pool {self.pool_size} connections{per_node}"
        )


async def check_redis(options: RedisOptions) -> RedisHealth:
    """Connect, inspect and close; DependencyUnavailable when Redis cannot be reached."""
    client = open_async_redis(options, decode_responses=True)
    try:
        await ping(client, options)
        return await inspect(client, options)
    except ResponseError as error:
        detail = redact_text(str(error), options.url)
        message = f"{options.describe()} refused to be inspected: {detail}"
        raise DependencyUnavailable(message) from None
    except (RedisError, RedisClusterException, OSError) as error:
        raise unreachable(options, error) from None
    finally:
        await client.aclose()


async def inspect(client: AsyncRedis, options: RedisOptions) -> RedisHealth:
    server = await _info(client, "server")
    version = min((str(fields.get("redis_version", "0")) for fields in server.values()), key=_v)
    mode, mode_errors = await _mode(client, options, server)
    warnings = await _durability_warnings(client)
    return RedisHealth(
        version=version,
        mode=mode,
        latency_ms=await _latency_ms(client),
        pool_size=options.pool_size,
        cluster=options.cluster,
        errors=(*_version_errors(version), *mode_errors),
        warnings=warnings,
    )


def _v(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.split(".")[:3]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def _version_errors(version: str) -> tuple[str, ...]:
    if _v(version) >= MIN_VERSION:
        return ()
    needed = ".".join(map(str, MIN_VERSION))
    return (f"Redis {version} is too old: deskhand needs {needed} or later (BLMOVE, GETDEL)",)


async def _info(client: AsyncRedis, section: str) -> NodeValues:
    """INFO of the server, or of every primary of a cluster."""
    if isinstance(client, RedisCluster):
        return _by_node(await client.info(section, target_nodes=RedisCluster.PRIMARIES))
    return {"server": dict(await client.info(section))}


async def _config(client: AsyncRedis, name: str) -> NodeValues:
    """CONFIG GET of the server, or of every primary of a cluster."""
    if isinstance(client, RedisCluster):
        return _by_node(await client.config_get(name, target_nodes=RedisCluster.PRIMARIES))
    values = await client.config_get(name)
    return {"server": {str(key): value for key, value in values.items()}}


def _by_node(result: Any) -> NodeValues:
    return {str(node): dict(values) for node, values in result.items()}


async def _latency_ms(client: AsyncRedis) -> float:
    samples = []
    for _ in range(LATENCY_PINGS):
        started = time.perf_counter()
        await client.ping()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


# --- topology -------------------------------------------------------------------------------


async def _mode(
    client: AsyncRedis, options: RedisOptions, server: NodeValues
) -> tuple[str, tuple[str, ...]]:
    if isinstance(client, RedisCluster):
        return await _cluster_mode(client)
    server_mode = str(next(iter(server.values())).get("redis_mode", "standalone"))
    if server_mode == "cluster":
        return "a Redis Cluster node", (
            "the server is a Redis Cluster node: set DESKHAND_REDIS_CLUSTER=true",
        )
    if server_mode == "sentinel":
        return "a Sentinel", (
            "the server is a Sentinel, not a Redis server: list it in DESKHAND_REDIS_SENTINELS",
        )
    role = str((await client.info("replication")).get("role", "master"))
    errors = () if role == "master" else (f"the server is a read-only {role}, not a master",)
    if options.mode == "sentinel":
        return f"sentinel (master {options.sentinel_master!r} at {await _master(client)})", errors
    return f"standalone ({role})", errors


async def _cluster_mode(client: RedisCluster) -> tuple[str, tuple[str, ...]]:
    info = await client.cluster_info()
    state = str(info.get("cluster_state", "unknown"))
    masters = info.get("cluster_size", "?")
    mode = f"cluster (cluster_state {state}, {masters} masters with slots)"
    if state == "ok":
        return mode, ()
    return mode, (f"cluster_state is {state}: some hash slots are not served",)


async def _master(client: AsyncRedis) -> str:
    pool = client.connection_pool if not isinstance(client, RedisCluster) else None
    get_address = getattr(pool, "get_master_address", None)
    if get_address is None:
        return "unknown"
    host, port = await get_address()
    return f"{host}:{port}"


# --- durability -----------------------------------------------------------------------------


async def _durability_warnings(client: AsyncRedis) -> tuple[str, ...]:
    try:
        config: NodeValues = {}
        for name in DURABILITY_SETTINGS:
            for node, values in (await _config(client, name)).items():
                config.setdefault(node, {}).update(values)
    except ResponseError as error:
        return (CONFIG_UNREADABLE.format(error=error),)
    return durability_warnings(config)


def durability_warnings(config: NodeValues) -> tuple[str, ...]:
    """Warnings for CONFIG GET values, per node (``"server"`` for a single server)."""
    warnings = []
    no_aof = [node for node, values in config.items() if values.get("appendonly") != "yes"]
    if no_aof:
        warnings.append(NO_AOF.format(where=_where(no_aof)))
    lazy = [node for node, values in config.items() if values.get("appendfsync") == "no"]
    if lazy and not no_aof:
        warnings.append(LAZY_FSYNC.format(where=_where(lazy)))
    policies = {values.get("maxmemory-policy", "noeviction") for values in config.values()}
    for policy in sorted(str(p) for p in policies - {"noeviction"}):
        nodes = [n for n, values in config.items() if values.get("maxmemory-policy") == policy]
        warnings.append(EVICTION.format(policy=policy, where=_where(nodes)))
    return tuple(warnings)


def _where(nodes: list[str]) -> str:
    named = [node for node in nodes if node != "server"]
    return f" on {', '.join(sorted(named))}" if named else ""
