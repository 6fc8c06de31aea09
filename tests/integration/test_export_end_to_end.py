"""deskhand export after real turns: signed webhooks, the worker, the scripted model, an
operator's reply through the admin API; then the JSON lines the command writes."""

import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from agent.cli.client import DemoCustomer
from agent.cli.export import export
from agent.llm.stub import ScriptedModelServer
from agent.llm.stub.demo import DemoResponder
from agent.training_export import conversation_hash
from tests.integration.conftest import Running, StartDeskhand

pytestmark = pytest.mark.slow
ADMIN_TOKEN = "export-admin-secret"
EMAIL = "jane.doe@example.com"
PHONE = "+44 20 7946 0958"
OPERATOR_TEXT = "Hi, this is Ana from Brightleaf support: I am looking into it now."


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env or DESKHAND_* variable leaks into the export command."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DESKHAND_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def test_export_of_real_conversations(
    start_deskhand: StartDeskhand, request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    settings: dict[str, Any] = {"admin_token": ADMIN_TOKEN}
    if backend == "redis":
        settings |= {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }
    started = time.time()
    with (
        ScriptedModelServer(DemoResponder()) as model,
        start_deskhand(llm_base_url=model.base_url, **settings) as deskhand,
    ):
        client, customer = deskhand.client(), DemoCustomer()
        # A: answered by the model after a tool call; the customer's message has PII.
        order = _conversation()
        text = f"Where is my order BL-10234? Write to {EMAIL} or call {PHONE}."
        answer = client.wait_reply(order, client.send(order, text, customer), 30)
        assert not answer.escalation and answer.text
        time.sleep(0.05)
        between = time.time()
        # B: escalated at the customer's request, then answered by an operator.
        person = _conversation()
        held = client.wait_reply(
            person, client.send(person, "I want to talk to a person.", customer), 30
        )
        assert held.escalation is not None
        _operator_reply(deskhand, f"demo:generic:{person}")
        # C: escalated, and the customer's next message waits for a person.
        waiting = _conversation()
        client.wait_reply(waiting, client.send(waiting, "I want to talk to a human.", customer), 30)
        client.send(waiting, "hello? anyone there?", customer)
        keys = {name: f"demo:generic:{conv}" for name, conv in
                    (("order", order), ("person", person), ("waiting", waiting))}  # fmt: skip
        wait_for(lambda: _directory_counted(deskhand, keys["waiting"], customers=2))
        wait_for(lambda: _directory_counted(deskhand, keys["person"], operators=1))
        env = _env(deskhand)
        everything, everything_summary = _export(
            tmp_path / "all.jsonl", env, "--since", _iso(started)
        )
        later, _ = _export(tmp_path / "later.jsonl", env, "--since", _iso(between))
        earlier, _ = _export(
            tmp_path / "earlier.jsonl", env, "--since", _iso(started), "--until", _iso(between)
        )
    records = _mine(everything, keys)
    assert set(records) == {"order", "person"}  # C is still waiting for a reply
    assert "1 waiting" in everything_summary  # C, counted apart
    _check_the_answered_conversation(records["order"])
    _check_the_escalated_conversation(records["person"])
    assert set(_mine(later, keys)) == {"person"}
    assert set(_mine(earlier, keys)) == {"order"}


def _check_the_answered_conversation(record: dict[str, Any]) -> None:
    messages, metadata = record["messages"], record["metadata"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant"]
    assert "You work for" in messages[0]["content"]  # the tenant's system prompt
    user = messages[1]["content"]
    assert EMAIL not in user and "7946" not in user
    assert "[email]" in user and "[phone]" in user
    assert "BL-10234" in user  # an order number is not personal data
    assert messages[2]["content"].startswith("Your order BL-10234 is shipped.")
    serialized = json.dumps(record)
    assert "track_shipment" not in serialized and "trace" not in serialized  # no tool calls
    assert metadata["escalated"] is False and metadata["escalation_reason"] is None
    assert metadata["operator_messages"] == [] and metadata["turns"] == 1
    assert metadata["channel"] == "generic" and metadata["tenant"] == "demo"
    assert metadata["redacted"] is True
    assert metadata["started_at"] <= metadata["last_activity_at"]


def _check_the_escalated_conversation(record: dict[str, Any]) -> None:
    messages, metadata = record["messages"], record["metadata"]
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "assistant"]
    assert messages[1]["content"] == "I want to talk to a person."
    assert metadata["escalated"] is True
    assert metadata["escalation_reason"] == "customer_request"
    assert metadata["operator_messages"] == [3]
    assert messages[3]["content"] == OPERATOR_TEXT


def _operator_reply(deskhand: Running, key: str) -> None:
    response = deskhand.http.post(
        f"/admin/v1/conversations/{key}/messages",
        json={"text": OPERATOR_TEXT},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert response.status_code == 202, response.text


def _directory_counted(deskhand: Running, key: str, customers: int = 0, operators: int = 0) -> bool:
    response = deskhand.http.get(
        "/admin/v1/conversations",
        params={"tenant": "demo", "limit": 200},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    response.raise_for_status()
    for item in response.json()["items"]:
        if item["key"] == key:
            counts = item.get("counts") or {}
            return bool(
                counts.get("customer", 0) >= customers and counts.get("operator", 0) >= operators
            )
    return False


def _export(path: Path, env: dict[str, str], *window: str) -> tuple[list[dict[str, Any]], str]:
    result = _run(["--tenant", "demo", *window, "--format", "chat-jsonl", "--redact",
                   "--output", str(path)], env)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "exported" in result.output  # the summary line (standard error)
    return [json.loads(line) for line in path.read_text().splitlines()], result.output


def _run(args: list[str], env: dict[str, str]) -> Result:
    app = typer.Typer()
    app.command()(export)  # the function deskhand registers as ``deskhand export``
    return CliRunner().invoke(app, args, env=env)


def _env(deskhand: Running) -> dict[str, str]:
    config = deskhand.settings
    env = {
        "DESKHAND_DATA_DIR": str(config.data_dir),
        "DESKHAND_TENANTS_DIR": str(config.tenants_dir),
    }
    if config.redis_url:
        env |= {
            "DESKHAND_REDIS_URL": config.redis_url,
            "DESKHAND_REDIS_PREFIX": config.redis_prefix,
        }
    return env


def _mine(records: list[dict[str, Any]], keys: dict[str, str]) -> dict[str, dict[str, Any]]:
    """This test's records (the data directory is shared with other tests), by name."""
    names = {conversation_hash(key): name for name, key in keys.items()}
    return {
        names[r["metadata"]["conversation"]]: r
        for r in records
        if r["metadata"]["conversation"] in names
    }


def wait_for(found: Callable[[], bool], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if found():
            return
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s:g} s")


def _conversation() -> str:
    return f"ex-{uuid.uuid4().hex[:10]}"


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()
