"""Prometheus metrics of the model-call gateway, served by the gateway itself at
``GET /metrics`` on its own port. Every name is listed in docs/metrics.md.

They live in a registry of each gateway's own, not in prometheus_client's process-global
one: the supervisor imports the gateway before it forks the workers, whose /metrics would
otherwise show the gateway's gauges (at zero) too; and each gateway counts from zero.
The registry also holds the gateway process's ``process_*`` and ``python_*`` metrics.

Labels are fixed sets, each series created at zero: ``outcome`` (``OUTCOMES``), ``kind``
(``ERROR_KINDS``), ``result`` (ok, error).
"""

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

from agent.llm.gateway_cache import ResponseCache
from agent.metrics import FAST_BUCKETS_S

# how a request was answered: the x-deskhand-gateway header's value, or error (not 2xx)
OUTCOMES = ("miss", "joined", "hit", "pass", "error")
ERROR_KINDS = ("4xx", "5xx", "timeout", "connection")  # why an upstream call failed


def status_error_kind(status: int) -> str | None:
    """The error kind of an upstream answer's status; None for a success (2xx)."""
    return None if 200 <= status < 300 else f"{status // 100}xx"


class GatewayMetrics:
    """One gateway's metrics; ``cache`` is read at each scrape."""

    def __init__(self, cache: ResponseCache) -> None:
        self.registry = CollectorRegistry()
        for collector in (ProcessCollector, PlatformCollector, GCCollector):
            collector(registry=self.registry)
        self._cache = cache
        self.requests = Counter(
            "deskhand_model_gateway_requests_total",
            "Requests the model gateway answered, by outcome: miss, joined, hit, pass, error.",
            ["outcome"],
            registry=self.registry,
        )
        self.upstream_seconds = Histogram(
            "deskhand_model_gateway_upstream_seconds",
            "One upstream call of the model gateway, by result: ok (2xx) or error.",
            ["result"],
            buckets=FAST_BUCKETS_S,
            registry=self.registry,
        )
        self.upstream_errors = Counter(
            "deskhand_model_gateway_upstream_errors_total",
            "Upstream calls of the model gateway that failed, by kind: 4xx, 5xx, timeout, "
            "connection.",
            ["kind"],
            registry=self.registry,
        )
        self.upstream_in_flight = Gauge(
            "deskhand_model_gateway_upstream_in_flight",
            "Upstream calls of the model gateway in flight.",
            registry=self.registry,
        )
        cache_entries = Gauge(
            "deskhand_model_gateway_cache_entries",
            "Answers the model gateway keeps.",
            registry=self.registry,
        )
        cache_bytes = Gauge(
            "deskhand_model_gateway_cache_bytes",
            "Bytes of the answers the model gateway keeps (bodies and headers).",
            registry=self.registry,
        )
        cache_entries.set_function(lambda: len(cache))
        cache_bytes.set_function(lambda: cache.bytes)
        for outcome in OUTCOMES:
            self.requests.labels(outcome)
        for kind in ERROR_KINDS:
            self.upstream_errors.labels(kind)
        for result in ("ok", "error"):
            self.upstream_seconds.labels(result)

    def answered(self, outcome: str, succeeded: bool) -> None:
        """A request answered: counted under its outcome, or ``error`` when not a 2xx."""
        self.requests.labels(outcome if succeeded else "error").inc()

    def upstream_call(self, seconds: float, error_kind: str | None) -> None:
        """An upstream call that ended (``error_kind`` None: a 2xx answer)."""
        self.upstream_seconds.labels("ok" if error_kind is None else "error").observe(seconds)
        if error_kind is not None:
            self.upstream_errors.labels(error_kind).inc()

    def exposition(self) -> bytes:
        """Everything in the Prometheus text format (answers past their time not counted)."""
        self._cache.expire()
        return generate_latest(self.registry)
