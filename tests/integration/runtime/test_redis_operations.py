"""Redis as operators run it: Cluster, TLS, Sentinel, AOF restarts, and what doctor says.

Every server here is a throwaway of the test's own (the shared test Redis is not used).
"""

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from redis.asyncio.cluster import RedisCluster

from agent.config.settings import Settings
from agent.doctor import Check, _redis
from agent.errors import DependencyUnavailable
from agent.runtime.redis_connection import (
    RedisOptions,
    open_async_redis,
    open_sync_redis,
    ping,
)
from agent.runtime.redis_keys import RedisKeys
from agent.runtime.redis_stats import RedisStats
from agent.runtime.stats_records import StatsRow
from tests.support.redis_server import RedisProcess, free_port

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(
        shutil.which("redis-server") is None, reason="redis-server is not installed"
    ),
]


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def key(name: str) -> str:
    return f"deskhand-test-{uuid.uuid4().hex[:8]}:{name}"


def warnings_of(checks: list[Check]) -> list[str]:
    return [check.detail for check in checks if check.warning]


# --- Cluster --------------------------------------------------------------------------------


async def test_cluster_reads_and_writes_across_slots(redis_cluster_url: str) -> None:
    options = RedisOptions(redis_cluster_url, cluster=True, pool_size=4)
    client = open_async_redis(options)
    assert isinstance(client, RedisCluster)
    names = [key(f"{{conversation-{n}}}:mailbox") for n in range(30)]
    try:
        await ping(client, options)
        for n, name in enumerate(names):
            await client.set(name, str(n))
        assert [await client.get(name) for name in names] == [str(n).encode() for n in range(30)]
        owners = {client.get_node_from_key(name).name for name in names}
        assert len(owners) == 3  # the keys really are spread over the three masters
    finally:
        for name in names:
            await client.delete(name)
        await client.aclose()


async def test_cluster_counts_stats_per_tenant_slot_and_sums_them_across(
    redis_cluster_url: str,
) -> None:
    """Each row is one script on its tenant's slot; a window over all tenants reads them
    all, whole hours from the rollup."""
    options = RedisOptions(redis_cluster_url, cluster=True, pool_size=4)
    client = open_async_redis(options)
    prefix = f"deskhand-test-{uuid.uuid4().hex[:8]}:"
    now = [1_700_000_040.0]
    stats = RedisStats(client, RedisKeys(prefix), 7 * 86_400, clock=lambda: now[0])
    tenants = [f"tenant-{n}" for n in range(6)]
    try:
        for _ in range(30):  # ten minutes apart: five hours
            now[0] += 600
            await stats.add([StatsRow(t, now[0], {"turns": 1}) for t in tenants])
        assert await stats.totals(0, now[0] + 60) == {"turns": 30 * len(tenants)}
        assert await stats.totals(0, now[0] + 60, "tenant-3") == {"turns": 30}
        slots = {client.keyslot(RedisKeys(prefix).stats(t, "buckets")) for t in tenants}
        assert len(slots) == len(tenants)
    finally:
        async for name in client.scan_iter(match=f"{prefix}*"):
            await client.delete(name)
        await client.aclose()


def test_sync_cluster_client(redis_cluster_url: str) -> None:
    options = RedisOptions(redis_cluster_url, cluster=True)
    client = open_sync_redis(options)
    name = key("{sync}:x")
    try:
        assert isinstance(client, redis.cluster.RedisCluster)
        client.set(name, "1")
        assert client.get(name) == b"1"
    finally:
        client.delete(name)
        client.close()


async def test_doctor_reports_cluster_mode(redis_cluster_url: str) -> None:
    checks = await _redis(settings(redis_url=redis_cluster_url, redis_cluster=True))
    main = checks[0]
    assert main.ok, main.detail
    assert "Redis 7" in main.detail or "Redis 6" in main.detail
    assert "cluster (cluster_state ok, 3 masters with slots)" in main.detail
    assert "pool 50 connections per node" in main.detail
    (warning,) = warnings_of(checks)  # the test cluster runs without AOF, on every node
    assert warning.startswith("appendonly is off on 127.0.0.1:")
    assert warning.count("127.0.0.1:") == 3


async def test_doctor_says_a_cluster_node_needs_cluster_mode(redis_cluster_url: str) -> None:
    (check, *_) = await _redis(settings(redis_url=redis_cluster_url))
    assert not check.ok
    assert "Redis Cluster node: set DESKHAND_REDIS_CLUSTER=true" in check.detail


# --- AOF restart and doctor's durability warnings ---------------------------------------------


async def test_an_aof_server_keeps_acknowledged_writes_through_sigkill(tmp_path: Path) -> None:
    messages = [f"message-{n}".encode() for n in range(100)]
    with RedisProcess(tmp_path / "aof", appendonly=True, appendfsync="always") as server:
        options = RedisOptions(server.url)
        before = open_async_redis(options)
        try:
            assert await before.rpush("mailbox", *messages) == 100  # acknowledged
        finally:
            await before.aclose()
        server.restart()  # SIGKILL: no shutdown save; only the fsynced AOF survives
        after = open_async_redis(options)
        try:
            assert await after.lrange("mailbox", 0, -1) == messages
        finally:
            await after.aclose()
    assert not server.running


async def test_doctor_warns_about_aof_off_and_eviction(tmp_path: Path) -> None:
    args = ["--maxmemory-policy", "allkeys-lru"]
    with RedisProcess(tmp_path / "r", appendonly=False, args=args) as server:
        checks = await _redis(settings(redis_url=server.url, redis_pool_size=12))
    assert checks[0].ok and "standalone (master)" in checks[0].detail
    assert "round trip" in checks[0].detail and "pool 12 connections" in checks[0].detail
    aof, eviction = warnings_of(checks)
    assert aof == (
        "appendonly is off: a Redis restart loses queued messages; "
        "set appendonly yes, appendfsync always or everysec"
    )
    assert eviction.startswith("maxmemory-policy is allkeys-lru: evicting mailbox or lock keys")
    assert all(not check.required for check in checks[1:])


def test_doctor_command_shows_warnings_without_failing_on_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from agent.cli.main import app

    monkeypatch.chdir(tmp_path)  # no developer .env
    with RedisProcess(tmp_path / "r", appendonly=False) as server:
        environment = {"DESKHAND_REDIS_URL": server.url, "DESKHAND_DATA_DIR": str(tmp_path)}
        result = CliRunner().invoke(app, ["doctor"], env=environment)
    assert "ok   redis: Redis " in result.output
    assert "warn redis settings: appendonly is off" in result.output
    assert "FAIL redis" not in result.output


async def test_doctor_is_quiet_about_a_durable_server(tmp_path: Path) -> None:
    with RedisProcess(tmp_path / "r", appendonly=True, appendfsync="everysec") as server:
        checks = await _redis(settings(redis_url=server.url))
    assert [check.ok for check in checks] == [True]
    assert warnings_of(checks) == []


async def test_doctor_when_config_get_is_not_permitted(tmp_path: Path) -> None:
    acl = ["--user", "app", "on", ">pw", "~*", "&*", "+@all", "-config", "--user", "default", "off"]
    with RedisProcess(tmp_path / "r", args=acl) as server:
        url = f"redis://app:pw@127.0.0.1:{server.port}/0"
        checks = await _redis(settings(redis_url=url))
    assert checks[0].ok, checks[0].detail
    (warning,) = warnings_of(checks)
    assert warning.startswith("CONFIG GET is not permitted (")
    assert "appendonly and maxmemory-policy could not be read" in warning


async def test_doctor_reports_an_unreachable_redis_without_its_password() -> None:
    url = f"redis://app:s3cret@127.0.0.1:{free_port()}/0"
    (check,) = await _redis(settings(redis_url=url, redis_timeout_s=1))
    assert not check.ok and check.required
    assert check.detail.startswith("Redis at redis://app:***@127.0.0.1:")
    assert "s3cret" not in check.detail


# --- TLS ------------------------------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def _make_ca(directory: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "1", "-subj", f"/CN={name}",
        cwd=directory,
    )  # fmt: skip


def _make_server_cert(directory: Path) -> None:
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
        cwd=directory,
    )  # fmt: skip
    (directory / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.crt", "-days", "1", "-extfile", "san.cnf",
        cwd=directory,
    )  # fmt: skip


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """(TLS port, folder with ca.crt and another-ca.crt) of a TLS-only redis-server."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a throwaway CA")
    certs = tmp_path_factory.mktemp("redis-tls")
    _make_ca(certs, "ca")
    _make_ca(certs, "another-ca")
    _make_server_cert(certs)
    port = free_port()
    args = [
        "--port", "0", "--tls-port", str(port),
        "--tls-cert-file", str(certs / "server.crt"),
        "--tls-key-file", str(certs / "server.key"),
        "--tls-ca-cert-file", str(certs / "ca.crt"),
        "--tls-auth-clients", "no",
    ]  # fmt: skip
    server = RedisProcess(certs / "data", appendonly=False, port=port, args=args, probe="tcp")
    try:
        server.start()
    except RuntimeError as error:
        if "tls" in str(error).lower():
            pytest.skip(f"this redis-server was built without TLS: {error}")
        raise
    try:
        yield port, certs
    finally:
        server.stop()


async def test_tls_with_the_servers_ca(tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    options = RedisOptions.from_settings(
        settings(redis_url=f"rediss://127.0.0.1:{port}/0", redis_tls_ca_file=certs / "ca.crt")
    )
    client = open_async_redis(options)
    name = key("tls")
    try:
        await ping(client, options)
        await client.set(name, "secret")
        assert await client.getdel(name) == b"secret"
    finally:
        await client.aclose()


async def test_tls_with_the_wrong_ca_is_unavailable(tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    options = RedisOptions(f"rediss://127.0.0.1:{port}/0", tls_ca_file=certs / "another-ca.crt")
    client = open_async_redis(options)
    try:
        with pytest.raises(DependencyUnavailable, match="cannot be reached"):
            await ping(client, options)
    finally:
        await client.aclose()


def test_tls_without_verification_and_doctor(tls_server: tuple[int, Path]) -> None:
    port, _ = tls_server
    options = RedisOptions(f"rediss://127.0.0.1:{port}/0", tls_verify=False)
    client = open_sync_redis(options)
    try:
        assert client.ping()
    finally:
        client.close()


async def test_doctor_over_tls(tls_server: tuple[int, Path]) -> None:
    port, certs = tls_server
    url = f"rediss://127.0.0.1:{port}/0"
    checks = await _redis(settings(redis_url=url, redis_tls_ca_file=certs / "ca.crt"))
    assert checks[0].ok and "standalone (master)" in checks[0].detail


# --- Sentinel -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sentinel_setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    """(master port, sentinel port): a password-protected master watched by one Sentinel."""
    root = tmp_path_factory.mktemp("redis-sentinel")
    master = RedisProcess(root / "master", appendonly=False, args=["--requirepass", "pw"])
    master.start()
    try:
        config = root / "sentinel.conf"
        config.write_text(
            f"sentinel monitor mymaster 127.0.0.1 {master.port} 1\nsentinel auth-pass mymaster pw\n"
        )
        sentinel = RedisProcess(root / "sentinel", config_file=config, args=["--sentinel"])
        try:
            sentinel.start()
        except RuntimeError as error:
            pytest.skip(f"redis-server --sentinel does not run here: {error}")
        try:
            yield master.port, sentinel.port
        finally:
            sentinel.stop()
    finally:
        master.stop()


async def test_sentinel_finds_the_master(sentinel_setup: tuple[int, int]) -> None:
    master_port, sentinel_port = sentinel_setup
    options = RedisOptions.from_settings(
        settings(
            redis_url="redis://:pw@not-used/3",
            redis_sentinels=f"127.0.0.1:{sentinel_port}",
            redis_sentinel_master="mymaster",
        )
    )
    client = open_async_redis(options)
    name = key("sentinel")
    try:
        await client.set(name, "via sentinel")
        direct = redis.Redis(port=master_port, password="pw", db=3)
        assert direct.get(name) == b"via sentinel"  # db and password came from the URL
        direct.close()
        await client.delete(name)
    finally:
        await client.aclose()


def test_sync_sentinel_client(sentinel_setup: tuple[int, int]) -> None:
    _, sentinel_port = sentinel_setup
    options = RedisOptions("redis://:pw@x/0", sentinels=(("127.0.0.1", sentinel_port),))
    client = open_sync_redis(options)
    try:
        assert client.ping()
    finally:
        client.close()


async def test_doctor_reports_the_sentinel_master(sentinel_setup: tuple[int, int]) -> None:
    master_port, sentinel_port = sentinel_setup
    checks = await _redis(
        settings(redis_url="redis://:pw@x/0", redis_sentinels=f"127.0.0.1:{sentinel_port}")
    )
    assert checks[0].ok, checks[0].detail
    assert f"sentinel (master 'mymaster' at 127.0.0.1:{master_port})" in checks[0].detail


async def test_an_unknown_sentinel_master_is_unavailable(sentinel_setup: tuple[int, int]) -> None:
    _, sentinel_port = sentinel_setup
    options = RedisOptions(
        "redis://:pw@x/0", sentinels=(("127.0.0.1", sentinel_port),), sentinel_master="nope"
    )
    client = open_async_redis(options)
    try:
        with pytest.raises(DependencyUnavailable, match="Redis master 'nope' via sentinels"):
            await ping(client, options)
    finally:
        await client.aclose()
