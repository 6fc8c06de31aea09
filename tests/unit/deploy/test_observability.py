"""deploy/prometheus/alerts.yaml and deploy/grafana/deskhand.json: their structure, every
PromQL expression parses (promql-parser), and every metric they read exists: deskhand's in
agent/metrics.py, vLLM's in its documented list (tests/unit/deploy/support.py)."""

import json
import re
from typing import Any

import promql_parser
import pytest
import yaml

from tests.unit.deploy.support import DEPLOY, VLLM_METRICS, deskhand_metric_names

ALERTS = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yaml").read_text())
DASHBOARD = json.loads((DEPLOY / "grafana" / "deskhand.json").read_text())
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$tenant": ".*", "${datasource}": "prom"}
DURATION = re.compile(r"^\d+[smhd]$")
RULES = [rule for group in ALERTS["groups"] for rule in group["rules"]]
TARGETS = [
    (panel["title"], target["expr"])
    for panel in DASHBOARD["panels"]
    if panel["type"] != "row"
    for target in panel["targets"]
]


def metric_names(expression: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expression), visit)
    return names


def known(name: str) -> bool:
    return name in deskhand_metric_names() or name in VLLM_METRICS


def test_rule_groups_are_well_formed() -> None:
    names = [group["name"] for group in ALERTS["groups"]]
    assert len(names) == len(set(names))
    alerts = [rule["alert"] for rule in RULES]
    assert len(alerts) == len(set(alerts))
    for rule in RULES:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert DURATION.match(rule.get("for", "0s"))


@pytest.mark.parametrize("rule", RULES, ids=[rule["alert"] for rule in RULES])
def test_alert_expression_parses_and_reads_real_metrics(rule: dict[str, Any]) -> None:
    names = metric_names(rule["expr"])
    assert names, "an alert reads at least one metric"
    assert {name for name in names if not known(name)} == set()


def test_alerts_cover_what_the_deploy_issue_names() -> None:
    by_metric = {name for rule in RULES for name in metric_names(rule["expr"])}
    assert "deskhand_queue_depth" in by_metric
    assert "deskhand_escalations_total" in by_metric
    assert "deskhand_webhook_rejections_total" in by_metric
    circuit = next(r for r in RULES if r["alert"] == "DeskhandModelCircuitOpen")
    assert 'result="unavailable"' in circuit["expr"]


def test_an_unknown_metric_would_be_caught() -> None:
    assert not known("deskhand_turns_totl")
    assert metric_names("rate(deskhand_turns_totl[5m])") == {"deskhand_turns_totl"}


def test_dashboard_is_an_importable_grafana_dashboard() -> None:
    assert DASHBOARD["uid"] and DASHBOARD["title"] and DASHBOARD["schemaVersion"] >= 36
    ids = [panel["id"] for panel in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in DASHBOARD["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in DASHBOARD["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}"
            assert panel["targets"], panel["title"]


@pytest.mark.parametrize(("title", "expression"), TARGETS, ids=[t for t, _ in TARGETS])
def test_panel_query_parses_and_reads_real_metrics(title: str, expression: str) -> None:
    for variable, value in GRAFANA_VARIABLES.items():
        expression = expression.replace(variable, value)
    names = metric_names(expression)
    assert names and {name for name in names if not known(name)} == set()


def test_dashboard_shows_the_vllm_signals_that_size_the_gpu() -> None:
    shown = {
        name
        for _, expr in TARGETS
        for name in metric_names(expr.replace("$__rate_interval", "5m").replace("$tenant", ".*"))
    }
    assert {
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:time_to_first_token_seconds_bucket",
        "vllm:prefix_cache_hits_total",
        "vllm:prefix_cache_queries_total",
        "deskhand_queue_depth",
    } <= shown
