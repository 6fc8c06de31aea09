"""Prometheus metrics of the process, served at /metrics."""

from prometheus_client import Counter, Gauge, Histogram

WEBHOOKS = Counter(
    "deskhand_webhooks_total",
    "Webhook deliveries by channel and result.",
    ["channel", "result"],
)
TURNS = Counter("deskhand_turns_total", "Completed turns by outcome.", ["outcome"])
TURN_SECONDS = Histogram(
    "deskhand_turn_seconds",
    "Time to run one turn's graph.",
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120),
)
QUEUE_DEPTH = Gauge("deskhand_queue_depth", "Conversations with messages waiting for a worker.")
