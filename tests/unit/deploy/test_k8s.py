"""deploy/k8s/: every manifest against the Kubernetes API schemas (kubernetes-validate,
offline), the KEDA ScaledObject against what KEDA and deskhand need, and the wiring
between the manifests (probes, requests, selectors, secrets by reference, settings)."""

import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import promql_parser
import pytest
import yaml

from agent.config.settings import Settings
from tests.unit.deploy.support import DEPLOY, deskhand_metric_names, documents, serve_dry_run, tool

K8S = DEPLOY / "k8s"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text())
KUBERNETES_VERSION = "1.33.0"
MANIFESTS = sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")
BUILT_IN = [
    (path, document)
    for path in MANIFESTS
    for document in documents(path)
    if not document["apiVersion"].startswith("keda.sh/")
]


def listed() -> list[dict[str, Any]]:
    """The documents `kubectl apply -k deploy/k8s` creates (generated ConfigMaps aside)."""
    return [doc for name in KUSTOMIZATION["resources"] for doc in documents(K8S / name)]


def workloads() -> list[dict[str, Any]]:
    return [doc for doc in listed() if doc["kind"] in {"Deployment", "StatefulSet"}]


def named(kind: str, name: str) -> dict[str, Any]:
    return next(d for d in listed() if d["kind"] == kind and d["metadata"]["name"] == name)


@pytest.mark.parametrize(
    ("path", "document"),
    BUILT_IN,
    ids=[f"{p.relative_to(K8S)}:{d['kind']}/{d['metadata']['name']}" for p, d in BUILT_IN],
)
def test_manifest_matches_the_kubernetes_schema(path: Path, document: dict[str, Any]) -> None:
    # Raises ValidationError on any mismatch; answers the schema version it checked against.
    checked = kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
    assert KUBERNETES_VERSION.startswith(checked)


def test_the_validator_rejects_an_unknown_field() -> None:
    broken = named("Deployment", "deskhand-api")
    broken = yaml.safe_load(yaml.safe_dump(broken))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_kustomization_lists_every_manifest_outside_alternatives() -> None:
    top_level = {p.name for p in MANIFESTS if p.parent == K8S}
    assert set(KUSTOMIZATION["resources"]) == top_level
    for generator in KUSTOMIZATION["configMapGenerator"]:
        for entry in generator["files"]:
            assert (K8S / entry.split("=", 1)[-1]).is_file()
    assert not [d for d in listed() if d["kind"] == "Secret"], "secrets are referenced, not kept"


def test_kubectl_kustomize_builds_it() -> None:
    kubectl = tool("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed (docs/deploy.md: kubectl kustomize deploy/k8s)")
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("ConfigMap") == 2 and "ScaledObject" in kinds


def test_every_container_has_probes_and_requests() -> None:
    for workload in workloads():
        for container in workload["spec"]["template"]["spec"]["containers"]:
            name = f"{workload['metadata']['name']}/{container['name']}"
            assert "readinessProbe" in container and "livenessProbe" in container, name
            requests = container["resources"]["requests"]
            assert {"cpu", "memory"} <= set(requests), name


def test_services_and_budgets_select_existing_pods() -> None:
    labels = [w["spec"]["template"]["metadata"]["labels"] for w in workloads()]
    selectors = [d["spec"]["selector"] for d in listed() if d["kind"] == "Service"]
    selectors += [
        d["spec"]["selector"]["matchLabels"] for d in listed() if d["kind"] == "PodDisruptionBudget"
    ]
    for selector in selectors:
        assert any(selector.items() <= pod.items() for pod in labels), selector
    budgets = {d["metadata"]["name"] for d in listed() if d["kind"] == "PodDisruptionBudget"}
    assert {"deskhand-api", "deskhand-worker"} <= budgets


def test_probes_use_the_right_routes() -> None:
    api = named("Deployment", "deskhand-api")["spec"]["template"]["spec"]["containers"][0]
    assert api["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert api["readinessProbe"]["httpGet"]["path"] == "/readyz"
    vllm = named("StatefulSet", "vllm")["spec"]["template"]["spec"]["containers"][0]
    assert vllm["readinessProbe"]["httpGet"]["path"] == "/v1/models"  # not /health
    assert vllm["startupProbe"]["httpGet"]["path"] == "/v1/models"
    assert vllm["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_settings_are_real_and_secrets_come_by_reference() -> None:
    fields = {f"DESKHAND_{name.upper()}" for name in Settings.model_fields}
    config = named("ConfigMap", "deskhand-config")["data"]
    assert {k for k in config if k.startswith("DESKHAND_")} <= fields
    for name in ("deskhand-api", "deskhand-worker"):
        container = named("Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        env = {item["name"]: item for item in container["env"]}
        assert {k for k in env if k.startswith("DESKHAND_")} <= fields
        password = env["REDIS_PASSWORD"]["valueFrom"]["secretKeyRef"]
        assert password == {"name": "deskhand-secrets", "key": "redis-password"}
        assert env["DESKHAND_REDIS_URL"]["value"] == "redis://:$(REDIS_PASSWORD)@redis:6379/0"
        assert list(env).index("REDIS_PASSWORD") < list(env).index("DESKHAND_REDIS_URL")
    redis = named("StatefulSet", "redis")["spec"]["template"]["spec"]["containers"][0]
    assert " ".join(redis["args"]).startswith("--appendonly yes --appendfsync always")


def test_vllm_env_gives_serve_sh_a_valid_command() -> None:
    container = named("StatefulSet", "vllm")["spec"]["template"]["spec"]["containers"][0]
    env = {item["name"]: item["value"] for item in container["env"]}
    env["VLLM_ENV_FILE"] = str(DEPLOY / "vllm" / Path(env["VLLM_ENV_FILE"]).name)
    args = serve_dry_run(env)
    port = container["ports"][0]["containerPort"]
    assert args[args.index("--port") + 1] == str(port)
    config = named("ConfigMap", "deskhand-config")["data"]
    assert args[args.index("--served-model-name") + 1] == config["DESKHAND_LLM_MODEL"]


def test_workers_scale_on_deskhands_queue_depth() -> None:
    scaled = named("ScaledObject", "deskhand-worker")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    target = scaled["spec"]["scaleTargetRef"]["name"]
    assert named("Deployment", target)["metadata"]["name"] == "deskhand-worker"
    assert 1 <= scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "prometheus"
    assert set(trigger["metadata"]) >= {"serverAddress", "query", "threshold"}
    assert float(trigger["metadata"]["threshold"]) > 0
    names = metric_names(trigger["metadata"]["query"])
    assert names == {"deskhand_queue_depth"} and names <= deskhand_metric_names()


def test_the_hpa_alternative_uses_the_same_metric() -> None:
    (hpa,) = documents(K8S / "alternatives" / "worker-hpa.yaml")
    metric = hpa["spec"]["metrics"][0]["external"]["metric"]["name"]
    assert metric in deskhand_metric_names()
    assert hpa["spec"]["scaleTargetRef"]["name"] == "deskhand-worker"


def test_images_are_the_ones_kustomize_rewrites() -> None:
    rewritten = {image["name"] for image in KUSTOMIZATION["images"]}
    used = {c["image"] for w in workloads() for c in w["spec"]["template"]["spec"]["containers"]}
    ours = {image for image in used if not re.search(r"[:/]", image)}
    assert ours == rewritten == {"deskhand", "deskhand-vllm"}
    assert all(":" in image for image in used - ours), "third-party images carry a tag"


def metric_names(query: str) -> set[str]:
    names: set[str] = set()

    def visit(node: Any) -> bool:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(query), visit)
    return names
