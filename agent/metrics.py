"""Prometheus metrics of the process, served at /metrics (and by ``deskhand worker`` on
``DESKHAND_WORKER_METRICS_PORT``). Every name is listed in docs/metrics.md; dashboards and
alert rules depend on them, so keep names and labels stable.

Labels stay bounded: tenant and channel (configured), node, tool (registered), reason
(an enum), cause and status (a fixed set). Never a conversation id.
"""

from wsgiref.simple_server import WSGIServer

from prometheus_client import Counter, Gauge, Histogram, start_http_server

LATENCY_BUCKETS_S = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
FAST_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)

WEBHOOKS = Counter(
    "deskhand_webhooks_total",
    "Webhook deliveries by channel and result.",
    ["channel", "result"],
)
WEBHOOK_REJECTIONS = Counter(
    "deskhand_webhook_rejections_total",
    "Webhook deliveries refused, by channel (or 'unknown'), cause and HTTP status.",
    ["channel", "cause", "status"],
)
TURNS = Counter(
    "deskhand_turns_total",
    "Turns handled, by tenant, channel and outcome.",
    ["tenant", "channel", "outcome"],
)
GRAPH_TURNS = Counter(
    "deskhand_graph_turns_total",
    "Turns the bot answered or handed off (the automation rate's denominator).",
    ["tenant", "channel"],
)
AUTOMATED_TURNS = Counter(
    "deskhand_automated_turns_total",
    "Turns the bot answered without escalation or approval (the automation rate's numerator).",
    ["tenant", "channel"],
)
ESCALATIONS = Counter(
    "deskhand_escalations_total",
    "Turns handed to a person, by tenant and escalation reason.",
    ["tenant", "reason"],
)
TURN_SECONDS = Histogram(
    "deskhand_turn_seconds",
    "Time to run one turn's graph.",
    ["tenant"],
    buckets=LATENCY_BUCKETS_S,
)
NODE_SECONDS = Histogram(
    "deskhand_node_seconds",
    "Time one graph node took, per node.",
    ["node"],
    buckets=FAST_BUCKETS_S,
)
MODEL_SECONDS = Histogram(
    "deskhand_model_call_seconds",
    "One model call (retries included), by result: ok, unavailable, rejected, invalid.",
    ["result"],
    buckets=FAST_BUCKETS_S,
)
MODEL_TOKENS = Counter(
    "deskhand_model_tokens_total",
    "Model tokens used by turns, by tenant and kind (prompt, completion).",
    ["tenant", "kind"],
)
TOOL_CALLS = Counter(
    "deskhand_tool_calls_total",
    "Tool calls run, by tool.",
    ["tool"],
)
TOOL_FAILURES = Counter(
    "deskhand_tool_failures_total",
    "Tool calls that failed, by tool and kind: error (the model may correct it) or "
    "system (the turn is handed off).",
    ["tool", "kind"],
)
QUEUE_DEPTH = Gauge("deskhand_queue_depth", "Conversations with messages waiting for a worker.")


def serve_metrics(host: str, port: int) -> WSGIServer:
    """Serve /metrics on its own port in a daemon thread (worker processes: they have no
    web server). Returns the server: call its ``shutdown()`` to stop it."""
    server, _thread = start_http_server(port, addr=host)
    return server
