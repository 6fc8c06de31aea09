"""/openapi.json documents every route: summary, auth, parameters, body and answers; /docs
renders it. No lifespan is started (the document needs no store)."""

import importlib
import pkgutil
import re
from types import ModuleType
from typing import Any

import jsonschema
import pytest
import schemathesis
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from starlette.testclient import TestClient

import agent.api
from agent.api.app import create_app
from agent.api.webhook_examples import EXAMPLES
from agent.channels import CHANNELS
from agent.config.settings import Settings

WEBHOOK = "/webhooks/{tenant}/{channel}"
CHANNEL_HEADERS = {
    "generic": ["webhook-id", "webhook-timestamp", "webhook-signature"],
    "chatwoot": ["X-Chatwoot-Signature", "X-Chatwoot-Timestamp", "X-Chatwoot-Delivery"],
    "zendesk": [
        "X-Zendesk-Webhook-Signature",
        "X-Zendesk-Webhook-Signature-Timestamp",
        "X-Zendesk-Webhook-Invocation-Id",
    ],
    "sunshine": ["X-API-Key"],
    "intercom": ["X-Hub-Signature"],
    "freshdesk": ["X-Deskhand-Token"],
    "helpscout": ["X-HelpScout-Signature", "X-HelpScout-Event"],
    "front": ["X-Front-Signature", "X-Front-Request-Timestamp", "X-Front-Challenge"],
}
SECURED = {
    ("get", "/v1/conversations/{key}"): "tenantToken",
    ("get", "/admin/v1/approvals"): "adminToken",
    ("post", "/admin/v1/approvals/{approval_id}"): "adminToken",
}


@pytest.fixture(scope="module")
def app() -> FastAPI:
    return create_app(Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app)


@pytest.fixture(scope="module")
def spec(client: TestClient) -> dict[str, Any]:
    answer = client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, methods in spec["paths"].items()
        for method, operation in methods.items()
    ]


def webhook(spec: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = spec["paths"][WEBHOOK]["post"]
    return operation


def parameter(operation: dict[str, Any], name: str, where: str) -> dict[str, Any]:
    found = [p for p in operation["parameters"] if p["name"] == name and p["in"] == where]
    assert len(found) == 1, f"{where} parameter {name}: {len(found)} found"
    return found[0]


def route_modules() -> list[ModuleType]:
    """Every agent.api module that defines a router (a new one is found too)."""
    names = [info.name for info in pkgutil.iter_modules(agent.api.__path__)]
    modules = [importlib.import_module(f"agent.api.{name}") for name in names]
    return [module for module in modules if isinstance(getattr(module, "router", None), APIRouter)]


def test_every_route_is_in_the_document(spec: dict[str, Any]) -> None:
    modules = route_modules()
    assert {module.__name__.rsplit(".", 1)[1] for module in modules} >= {
        "health",
        "webhooks",
        "conversations",
        "admin",
    }
    routes = {
        (method.lower(), route.path_format.replace(":path", ""))
        for module in modules
        for route in module.router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
        for method in route.methods
    }
    documented = {(method, path) for method, path, _ in operations(spec)}
    assert routes == documented
    assert {"/healthz", "/readyz", "/metrics", WEBHOOK} <= set(spec["paths"])


def test_every_operation_is_described(spec: dict[str, Any]) -> None:
    for method, path, operation in operations(spec):
        assert operation.get("summary") and operation.get("description"), (method, path)
        assert operation.get("tags"), (method, path)
        assert any(code.startswith("2") for code in operation["responses"]), (method, path)


def test_errors_have_the_error_body(spec: dict[str, Any]) -> None:
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for method, path, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if status.startswith("4") or (status == "503" and path != "/readyz"):
                schema = answer["content"]["application/json"]["schema"]
                if schema != error_ref:  # a richer body still carries "error" first
                    name = schema["$ref"].rsplit("/", 1)[1]
                    assert "error" in spec["components"]["schemas"][name]["required"], name
                    continue
                assert schema == error_ref, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]  # ours is {"error"}


def test_webhook_answers(spec: dict[str, Any]) -> None:
    responses = webhook(spec)["responses"]
    assert set(responses) == {"200", "400", "401", "404", "413", "422", "503"}
    ok = responses["200"]["content"]["application/json"]["schema"]["anyOf"]
    assert {ref["$ref"].rsplit("/", 1)[1] for ref in ok} == {"WebhookAnswer", "FrontChallenge"}
    answer = spec["components"]["schemas"]["WebhookAnswer"]
    assert answer["properties"]["status"]["enum"] == ["queued", "duplicate", "ignored"]
    assert set(answer["properties"]) == {"status", "delivery_id", "conversations", "ignored"}
    ignored = spec["components"]["schemas"]["IgnoredEvent"]
    assert set(ignored["properties"]) == {"id", "reason"}


def test_webhook_path_parameters(spec: dict[str, Any]) -> None:
    operation = webhook(spec)
    channel = parameter(operation, "channel", "path")
    assert channel["schema"]["enum"] == list(CHANNELS)
    assert list(CHANNELS) == [
        "generic",
        "chatwoot",
        "zendesk",
        "sunshine",
        "intercom",
        "freshdesk",
        "helpscout",
        "front",
    ]
    assert parameter(operation, "tenant", "path")["schema"]["pattern"]


@pytest.mark.parametrize("channel", list(CHANNEL_HEADERS))
def test_webhook_documents_the_headers_of(channel: str, spec: dict[str, Any]) -> None:
    for name in CHANNEL_HEADERS[channel]:
        header = parameter(webhook(spec), name, "header")
        assert header["required"] is False
        assert header["description"].startswith(f"[{channel}]")


def test_webhook_token_and_basic_auth(spec: dict[str, Any]) -> None:
    operation = webhook(spec)
    token = parameter(operation, "token", "query")
    assert token["required"] is False and "url_tokens" in token["description"]
    assert operation["security"] == [{}, {"freshdeskBasic": []}]
    assert spec["components"]["securitySchemes"]["freshdeskBasic"]["scheme"] == "basic"


def test_webhook_body_has_an_example_per_channel(spec: dict[str, Any]) -> None:
    body = webhook(spec)["requestBody"]
    assert body["required"] is True
    media = body["content"]["application/json"]
    assert media["schema"] == {"type": "object", "additionalProperties": True}
    examples = media["examples"]
    assert set(CHANNELS) | {"front_sync"} == set(examples)
    for channel, example in EXAMPLES.items():
        assert examples[channel]["value"] == example
        jsonschema.validate(example, media["schema"])


@pytest.mark.parametrize(("method", "path"), list(SECURED))
def test_secured_routes_name_their_scheme(method: str, path: str, spec: dict[str, Any]) -> None:
    scheme = SECURED[(method, path)]
    assert spec["paths"][path][method]["security"] == [{scheme: []}]
    assert spec["components"]["securitySchemes"][scheme] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"][scheme]["description"],
    }


def test_admin_decision_body(spec: dict[str, Any]) -> None:
    operation = spec["paths"]["/admin/v1/approvals/{approval_id}"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Decision"}
    decision = spec["components"]["schemas"]["Decision"]
    assert decision["properties"]["decision"]["enum"] == ["approve", "deny"]


def test_conversation_positions_are_bounded(spec: dict[str, Any]) -> None:
    """The stores take 64-bit integers: a larger ``after`` is a 422, not a store error."""
    after = parameter(spec["paths"]["/v1/conversations/{key}"]["get"], "after", "query")
    assert after["schema"]["minimum"] == -1 and after["schema"]["maximum"] < 2**63


def test_metrics_is_text(spec: dict[str, Any]) -> None:
    content = spec["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert [media.split(";")[0] for media in content] == ["text/plain"]


def test_schemathesis_loads_every_operation(spec: dict[str, Any]) -> None:
    schema = schemathesis.openapi.from_dict(spec)
    loaded = [result.ok() for result in schema.get_all_operations()]
    assert len(loaded) == len(operations(spec))


def test_docs_render_the_document_without_the_internet(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "/openapi.json" in page.text and "swagger-ui" in page.text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(url.startswith("/docs/assets/") for url in assets), assets
    for url in assets:
        assert client.get(url).status_code == 200, url
    assert client.get("/docs/assets/index.html").status_code == 404
    assert client.get("/redoc").status_code == 404  # it would need a CDN


def test_framework_errors_have_the_error_body(client: TestClient) -> None:
    unknown = client.get("/no-such-route")
    assert unknown.status_code == 404 and unknown.json() == {"error": "Not Found"}
    unparsable = client.post(
        "/admin/v1/approvals/apr_x",
        content=b"\xff\xfe{",  # not UTF-8: FastAPI refuses it before validation
        headers={"content-type": "application/json"},
    )
    assert unparsable.status_code == 400 and set(unparsable.json()) == {"error"}
