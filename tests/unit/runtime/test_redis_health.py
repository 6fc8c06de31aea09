"""Which Redis settings doctor warns about, and what it reports."""

from agent.runtime.redis_health import RedisHealth, _version_errors, durability_warnings

DURABLE = {"appendonly": "yes", "appendfsync": "everysec", "maxmemory-policy": "noeviction"}


def test_a_durable_server_gives_no_warning() -> None:
    assert durability_warnings({"server": DURABLE}) == ()
    assert durability_warnings({"server": {**DURABLE, "appendfsync": "always"}}) == ()


def test_aof_off() -> None:
    (warning,) = durability_warnings({"server": {**DURABLE, "appendonly": "no"}})
    assert warning.startswith("appendonly is off: a Redis restart loses queued messages")
    assert "appendfsync always or everysec" in warning


def test_lazy_fsync() -> None:
    (warning,) = durability_warnings({"server": {**DURABLE, "appendfsync": "no"}})
    assert warning.startswith("appendfsync is no: a crash can lose")


def test_eviction_policy() -> None:
    (warning,) = durability_warnings({"server": {**DURABLE, "maxmemory-policy": "allkeys-lru"}})
    assert "maxmemory-policy is allkeys-lru" in warning
    assert "evicting mailbox or lock keys loses messages" in warning


def test_cluster_warnings_name_the_nodes() -> None:
    config = {
        "10.0.0.2:7000": {**DURABLE, "appendonly": "no"},
        "10.0.0.1:7000": {**DURABLE, "appendonly": "no"},
        "10.0.0.3:7000": DURABLE,
    }
    (warning,) = durability_warnings(config)
    assert warning.startswith("appendonly is off on 10.0.0.1:7000, 10.0.0.2:7000:")


def test_versions() -> None:
    assert _version_errors("7.0.15") == () and _version_errors("6.2.0") == ()
    (error,) = _version_errors("6.0.9")
    assert "Redis 6.0.9 is too old: deskhand needs 6.2 or later" in error


def test_summary() -> None:
    health = RedisHealth(
        "7.2.4", "cluster (cluster_state ok, 3 masters with slots)", 0.42, 50, True
    )
    assert health.summary() == (
        "Redis 7.2.4, cluster (cluster_state ok, 3 masters with slots), round trip 0.4 ms, "
        "pool 50 connections per node"
    )
