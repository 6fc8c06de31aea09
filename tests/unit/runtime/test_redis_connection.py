"""RedisOptions: built from Settings, validated, clients configured, passwords hidden."""

from pathlib import Path

import pytest
import redis
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.connection import SSLConnection
from redis.asyncio.sentinel import SentinelConnectionPool

from agent.config.settings import Settings
from agent.errors import ConfigError, DependencyUnavailable
from agent.runtime.redis_connection import (
    RedisOptions,
    open_async_redis,
    open_sync_redis,
    parse_sentinels,
    ping,
    ping_sync,
    redact_url,
)
from tests.support.redis_server import free_port


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def tls_files(tmp_path: Path) -> dict[str, Path]:
    files = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for path in files.values():
        path.write_text("not read until a connection is made\n")
    return files


# --- from_settings --------------------------------------------------------------------------


def test_defaults_from_settings() -> None:
    options = RedisOptions.from_settings(settings(redis_url="redis://127.0.0.1:6379/0"))
    assert options.mode == "standalone"
    assert (options.timeout_s, options.pool_size, options.tls) == (5.0, 50, False)
    assert options.sentinels == ()


def test_every_setting_is_carried(tls_files: dict[str, Path]) -> None:
    options = RedisOptions.from_settings(
        settings(
            redis_url="rediss://:pw@ignored/2",
            redis_timeout_s=2.5,
            redis_pool_size=8,
            redis_sentinels="10.0.0.5:26379, 10.0.0.6:26380",
            redis_sentinel_master="main",
            redis_tls_ca_file=tls_files["ca"],
            redis_tls_cert_file=tls_files["cert"],
            redis_tls_key_file=tls_files["key"],
            redis_tls_verify=False,
        )
    )
    assert options.mode == "sentinel" and options.tls
    assert options.sentinels == (("10.0.0.5", 26379), ("10.0.0.6", 26380))
    assert (options.sentinel_master, options.timeout_s, options.pool_size) == ("main", 2.5, 8)
    assert options.tls_cert_file == tls_files["cert"] and options.tls_verify is False


def test_cluster_mode() -> None:
    options = RedisOptions.from_settings(
        settings(redis_url="redis://10.0.0.1:7000/0", redis_cluster=True)
    )
    assert options.mode == "cluster"


def test_without_a_url_the_sentinels_need_one() -> None:
    with pytest.raises(ConfigError, match=r"DESKHAND_REDIS_URL is not set.*SENTINELS"):
        RedisOptions.from_settings(settings(redis_sentinels="10.0.0.5:26379"))


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["10.0.0.5", "10.0.0.5:port", ":26379", "h:0", "h:70000"])
def test_a_malformed_sentinel_list_names_the_entry(value: str) -> None:
    with pytest.raises(ConfigError, match=r"DESKHAND_REDIS_SENTINELS.*not host:port"):
        parse_sentinels(f"10.0.0.9:26379,{value}")


def test_sentinel_list_forms() -> None:
    assert parse_sentinels(None) == () and parse_sentinels("  ") == ()
    assert parse_sentinels("[::1]:26379") == (("::1", 26379),)


def test_cluster_and_sentinels_exclude_each_other() -> None:
    with pytest.raises(ConfigError, match="CLUSTER and DESKHAND_REDIS_SENTINELS cannot be used"):
        RedisOptions("redis://h:6379/0", cluster=True, sentinels=(("h", 26379),))


def test_a_client_certificate_needs_its_key(tls_files: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match="CERT_FILE and DESKHAND_REDIS_TLS_KEY_FILE go together"):
        RedisOptions("rediss://h:6379/0", tls_cert_file=tls_files["cert"])
    with pytest.raises(ConfigError, match="go together"):
        RedisOptions("rediss://h:6379/0", tls_key_file=tls_files["key"])


def test_tls_files_must_exist(tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError, match=f"DESKHAND_REDIS_TLS_CA_FILE: {missing} does not exist"):
        RedisOptions("rediss://h:6379/0", tls_ca_file=missing)


def test_tls_settings_need_a_rediss_url(tls_files: dict[str, Path]) -> None:
    with pytest.raises(ConfigError, match=r"DESKHAND_REDIS_TLS_CA_FILE only apply to TLS.*rediss"):
        RedisOptions("redis://h:6379/0", tls_ca_file=tls_files["ca"])
    with pytest.raises(ConfigError, match="DESKHAND_REDIS_TLS_VERIFY=false only apply to TLS"):
        RedisOptions("redis://h:6379/0", tls_verify=False)


def test_a_unix_socket_is_one_local_server() -> None:
    with pytest.raises(ConfigError, match=r"unix:// .*DESKHAND_REDIS_CLUSTER"):
        RedisOptions("unix:///run/redis.sock", cluster=True)
    with pytest.raises(ConfigError, match=r"unix:// .*DESKHAND_REDIS_SENTINELS"):
        RedisOptions("unix:///run/redis.sock", sentinels=(("h", 26379),))


def test_a_cluster_has_only_database_zero() -> None:
    with pytest.raises(ConfigError, match="only database 0"):
        RedisOptions("redis://h:7000/3", cluster=True)


def test_scheme_and_master_name_are_checked() -> None:
    with pytest.raises(ConfigError, match="must start with redis://"):
        RedisOptions("http://h:6379")
    with pytest.raises(ConfigError, match="SENTINEL_MASTER is empty"):
        RedisOptions("redis://h/0", sentinels=(("h", 26379),), sentinel_master=" ")


# --- clients --------------------------------------------------------------------------------


def test_standalone_client_settings() -> None:
    client = open_async_redis(RedisOptions("redis://h:6379/1", timeout_s=2, pool_size=7))
    assert type(client) is Redis
    pool = client.connection_pool
    assert pool.max_connections == 7
    kwargs = pool.connection_kwargs
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (2, 32)
    assert kwargs["health_check_interval"] == 30 and kwargs["db"] == 1


def test_a_fail_fast_client_reads_within_its_timeout_and_never_retries() -> None:
    """For a cache: no margin for blocking reads, no retry (sync and asyncio alike)."""
    options = RedisOptions("redis://h:6379/1", timeout_s=0.5, fail_fast=True)
    sync = open_sync_redis(options)
    assert isinstance(sync, redis.Redis)
    kwargs = sync.connection_pool.connection_kwargs
    assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (0.5, 0.5)
    assert kwargs["retry"].get_retries() == 0
    asynchronous = open_async_redis(options)
    assert isinstance(asynchronous, Redis)
    assert asynchronous.connection_pool.connection_kwargs["retry"].get_retries() == 0
    default = open_async_redis(RedisOptions("redis://h:6379/1")).connection_pool
    assert "retry" not in default.connection_kwargs


def test_tls_client_settings(tls_files: dict[str, Path]) -> None:
    options = RedisOptions(
        "rediss://h:6380/0",
        tls_ca_file=tls_files["ca"],
        tls_cert_file=tls_files["cert"],
        tls_key_file=tls_files["key"],
    )
    client = open_async_redis(options)
    assert isinstance(client, Redis)
    assert client.connection_pool.connection_class is SSLConnection
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["ssl_ca_certs"] == str(tls_files["ca"])
    assert kwargs["ssl_certfile"] == str(tls_files["cert"])
    assert (kwargs["ssl_cert_reqs"], kwargs["ssl_check_hostname"]) == ("required", True)


def test_tls_without_verification() -> None:
    client = open_async_redis(RedisOptions("rediss://h:6380/0", tls_verify=False))
    assert isinstance(client, Redis)
    kwargs = client.connection_pool.connection_kwargs
    assert (kwargs["ssl_cert_reqs"], kwargs["ssl_check_hostname"]) == ("none", False)


def test_sentinel_client_takes_auth_and_db_from_the_url() -> None:
    options = RedisOptions(
        "redis://app:pw@ignored:1/4", sentinels=(("10.0.0.5", 26379),), pool_size=9
    )
    client = open_async_redis(options)
    assert isinstance(client, Redis)
    pool = client.connection_pool
    assert isinstance(pool, SentinelConnectionPool)
    assert pool.service_name == "mymaster" and pool.max_connections == 9
    kwargs = pool.connection_kwargs
    assert (kwargs["username"], kwargs["password"], kwargs["db"]) == ("app", "pw", 4)
    sentinel = pool.sentinel_manager.sentinels[0]
    sentinel_kwargs = sentinel.connection_pool.connection_kwargs
    assert sentinel_kwargs["password"] is None
    assert sentinel_kwargs["socket_connect_timeout"] == 5.0


def test_cluster_client() -> None:
    client = open_async_redis(RedisOptions("redis://10.0.0.1:7000/0", cluster=True))
    assert isinstance(client, RedisCluster)


def test_sync_twins() -> None:
    # The sync RedisCluster connects while it is built: the integration tests cover it.
    assert type(open_sync_redis(RedisOptions("unix:///run/redis.sock"))) is redis.Redis
    sentinel = open_sync_redis(RedisOptions("redis://h/0", sentinels=(("h", 26379),)))
    assert isinstance(sentinel, redis.Redis)
    assert sentinel.connection_pool.service_name == "mymaster"  # type: ignore[attr-defined]


# --- reachability and redaction -------------------------------------------------------------


async def test_ping_failure_hides_the_password() -> None:
    options = RedisOptions(f"redis://app:s3cret@127.0.0.1:{free_port()}/0", timeout_s=1)
    client = open_async_redis(options)
    try:
        with pytest.raises(DependencyUnavailable) as caught:
            await ping(client, options)
    finally:
        await client.aclose()
    message = str(caught.value)
    assert message.startswith("Redis at redis://app:***@127.0.0.1:")
    assert "cannot be reached" in message and "s3cret" not in message


def test_sync_ping_failure() -> None:
    options = RedisOptions(f"redis://:pw@127.0.0.1:{free_port()}/0", timeout_s=1)
    client = open_sync_redis(options)
    try:
        with pytest.raises(DependencyUnavailable, match=r"redis://:\*\*\*@127"):
            ping_sync(client, options)
    finally:
        client.close()


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/0"),
        ("redis://user:pw@h:6379/0", "redis://user:***@h:6379/0"),
        ("rediss://:pw@h:6380/0", "rediss://:***@h:6380/0"),
        ("redis://token@h/0", "redis://***@h/0"),
        ("redis://h/0?password=pw&db=1", "redis://h/0?password=***&db=1"),
        ("unix:///run/redis.sock?db=0&password=pw", "unix:///run/redis.sock?db=0&password=***"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_describe_names_the_topology() -> None:
    sentinel = RedisOptions("redis://:pw@x/0", sentinels=(("a", 1), ("b", 2)))
    assert sentinel.describe() == "Redis master 'mymaster' via sentinels a:1,b:2"
    cluster = RedisOptions("redis://:pw@h:7000/0", cluster=True)
    assert cluster.describe() == "Redis Cluster at redis://:***@h:7000/0"


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigError, match="DESKHAND_REDIS_TIMEOUT_S must be greater than 0"):
        RedisOptions("redis://h/0", timeout_s=0)
    with pytest.raises(ConfigError, match="DESKHAND_REDIS_POOL_SIZE must be at least 1"):
        RedisOptions("redis://h/0", pool_size=0)
