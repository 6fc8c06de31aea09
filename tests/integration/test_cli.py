"""The deskhand command line, as a user runs it (the commands talk real HTTP, Redis, Chroma)."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from agent.cli.main import app
from agent.demo import DEMO_KB_DIR
from tests.integration.conftest import StartDeskhand
from tests.support.redis_server import free_port

runner = CliRunner()
EXPECTED_COMMANDS = {
    "serve",
    "worker",
    "say",
    "chat",
    "ingest",
    "doctor",
    "erase",
    "approve",
    "graph",
    "llm-stub",
    "replay",
    "capacity",
    "export",
    "version",
    "kb",
    "bench",
    "admin",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer .env or DESKHAND_* variable leaks in; data goes to a temporary folder."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("DESKHAND_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DESKHAND_DATA_DIR", str(tmp_path / "data"))


def invoke(*args: str, **env: str):
    return runner.invoke(app, list(args), env=env or None)


def test_help_lists_exactly_the_commands_that_exist() -> None:
    result = invoke("--help")
    assert result.exit_code == 0
    group = typer.main.get_command(app)
    assert set(group.commands) == EXPECTED_COMMANDS  # type: ignore[attr-defined]
    listed = set(re.findall(r"│ ([a-z][a-z-]+)\s{2,}", result.output))
    assert listed == EXPECTED_COMMANDS
    for command in EXPECTED_COMMANDS:
        assert invoke(command, "--help").exit_code == 0, command


def test_the_command_line_loads_no_server_or_model_library() -> None:
    """``deskhand --help`` (and every command's start) stays fast: the app, the graph, the
    vector store and the model libraries load only in the commands that use them."""
    heavy = ("agent.api.app", "langgraph", "chromadb", "torch", "sentence_transformers")
    code = f"import sys, agent.cli.main; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    repo = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=repo, check=True
    )
    assert result.stdout.strip() == "[]"


def test_version() -> None:
    result = invoke("version")
    assert result.exit_code == 0 and re.fullmatch(r"\d+\.\d+\.\d+\n", result.output)


def test_graph_prints_mermaid_with_every_node() -> None:
    result = invoke("graph")
    assert result.exit_code == 0
    assert result.output.lstrip().startswith(("graph TD", "---", "flowchart"))
    for node in ("understand", "retrieve", "agent", "tools", "respond", "degraded", "escalate"):
        assert node in result.output


@pytest.mark.slow
def test_ingest_search_and_stats(tmp_path: Path) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(DEMO_KB_DIR, kb)
    first = invoke("ingest", str(kb), "--tenant", "acme")
    assert first.exit_code == 0, first.output
    assert "added 38" in first.output
    # a fresh data dir (no shared models folder here): the auto backend exports first
    assert "exporting the embedding model to ONNX" in first.output
    again = invoke("ingest", str(kb), "--tenant", "acme")
    assert "unchanged 38" in again.output
    assert "exporting" not in again.output
    (kb / "refunds.md").unlink()
    pruned = invoke("ingest", str(kb), "--tenant", "acme", "--delete-missing")
    assert "removed 1" in pruned.output
    search = invoke("kb", "search", "how do I reset my password", "--tenant", "acme")
    assert search.exit_code == 0
    assert search.output.startswith("1. ")
    assert "Account and password reset" in search.output.splitlines()[0]
    stats = invoke("kb", "stats", "--tenant", "acme")
    assert stats.exit_code == 0 and "· 37 documents ·" in stats.output


@pytest.mark.slow
def test_say_gets_a_grounded_answer(start_deskhand: StartDeskhand) -> None:
    with start_deskhand() as deskhand:
        result = invoke(
            "say", "--tenant", "demo", "--url", deskhand.base_url, "Can I cancel my order?"
        )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("bot> ")
    assert "cancelling-an-order" in result.output


def test_say_explains_an_unreachable_server() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = invoke("say", "--tenant", "demo", "--url", url, "hello")
    assert result.exit_code == 1
    assert "cannot reach deskhand" in result.output


def test_say_unknown_tenant() -> None:
    result = invoke("say", "--tenant", "nobody", "hello")
    assert result.exit_code == 1
    assert "unknown tenant 'nobody'" in result.output


@pytest.mark.slow
def test_doctor_passes_on_embedded_defaults() -> None:
    result = invoke("doctor")
    assert result.exit_code == 0, result.output
    assert "all checks passed" in result.output


def test_doctor_reports_an_unreachable_redis_and_model() -> None:
    dead = free_port()
    result = invoke(
        "doctor",
        DESKHAND_REDIS_URL=f"redis://127.0.0.1:{dead}/0",
        DESKHAND_LLM_BASE_URL=f"http://127.0.0.1:{dead}",
        DESKHAND_LLM_CONNECT_TIMEOUT_S="1",
    )
    assert result.exit_code == 1
    assert f"Redis at redis://127.0.0.1:{dead}/0 cannot be reached" in result.output
    assert "model endpoint" in result.output and "FAIL" in result.output


def test_invalid_setting_stops_with_the_variables_name() -> None:
    result = invoke("doctor", DESKHAND_PORT="eighty")
    assert result.exit_code == 2
    assert "DESKHAND_PORT" in result.output


def test_serve_refuses_to_start_without_its_redis() -> None:
    result = invoke("serve", DESKHAND_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert result.exit_code == 2
    assert "cannot be reached" in result.output


def test_serve_refuses_an_invalid_bot_file(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    (tenants / "acme.yaml").write_text("tenant: acme\ncompany: Acme\npersona: x\ntools: [nope]\n")
    result = invoke("serve", DESKHAND_TENANTS_DIR=str(tenants))
    assert result.exit_code == 2
    assert "acme.yaml" in result.output and "nope" in result.output


def test_worker_needs_redis() -> None:
    result = invoke("worker")
    assert result.exit_code == 2
    assert "DESKHAND_REDIS_URL" in result.output


@pytest.mark.slow
def test_chat_holds_one_conversation_until_an_empty_line(start_deskhand: StartDeskhand) -> None:
    with start_deskhand() as deskhand:
        result = runner.invoke(
            app,
            ["chat", "--tenant", "demo", "--url", deskhand.base_url],
            input="How long does a refund take?\nI want to talk to a human\n\n",
        )
    assert result.exit_code == 0, result.output
    replies = [line for line in result.output.splitlines() if "bot> " in line]
    assert len(replies) == 2
    assert "handed to a person (customer_request)" in result.output
    conversation = re.search(r"conversation (demo:generic:cli-[0-9a-f]+)", result.output)
    assert conversation is not None


def test_serve_warns_when_the_model_endpoint_is_down(monkeypatch: pytest.MonkeyPatch) -> None:
    # uvicorn.run would block: record its arguments instead of serving.
    started: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **kwargs: started.append(kwargs))
    result = invoke(
        "serve",
        DESKHAND_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}",
        DESKHAND_LLM_CONNECT_TIMEOUT_S="1",
        DESKHAND_PORT="18999",
    )
    assert result.exit_code == 0, result.output
    assert "warning: model endpoint" in result.output
    assert started and started[0]["port"] == 18999


def test_erase_removes_a_customers_conversations(tmp_path: Path) -> None:
    import asyncio

    from agent.runtime.models import InboundMessage
    from agent.runtime.sqlite import SqliteDatabase
    from agent.runtime.sqlite_mailboxes import SqliteMailboxes
    from tools.context import Customer

    async def seed() -> None:
        database = await SqliteDatabase.open(tmp_path / "data" / "deskhand.sqlite3")
        boxes = await SqliteMailboxes.open(database)
        for customer, conversation in (("cust_9", "a"), ("cust_1", "b")):
            message = InboundMessage(
                "demo", "generic", conversation, "m-1", "hi", Customer(customer)
            )
            await boxes.append(message, delay_s=0)
        await database.close()

    asyncio.run(seed())
    refused = invoke("erase", "--customer", "cust_9", "--tenant", "nope", "--yes")
    assert refused.exit_code != 0 and "nope" in refused.output
    result = invoke("erase", "--customer", "cust_9", "--yes")
    assert result.exit_code == 0, result.output
    assert "demo: erased 1 conversation(s); 0 ticket(s)" in result.output
    again = invoke("erase", "--customer", "cust_9", "--yes")
    assert "demo: erased 0 conversation(s)" in again.output


def test_approve_lists_and_reports_unknown_ids(start_deskhand: StartDeskhand) -> None:
    with start_deskhand(admin_token="admin-secret") as deskhand:
        env = {"DESKHAND_ADMIN_TOKEN": "admin-secret"}
        listed = invoke("approve", "--list", "--url", deskhand.base_url, **env)
        unknown = invoke(
            "approve", "apr_0123456789ab_ZGVtbzpnZW5lcmljOm5vbmU", "--url", deskhand.base_url, **env
        )
    assert listed.exit_code == 0 and "no approval is waiting" in listed.output
    assert unknown.exit_code == 1 and "404" in unknown.output and "no approval" in unknown.output


def test_approve_needs_the_admin_token() -> None:
    result = invoke("approve", "--list")
    assert result.exit_code == 2 and "DESKHAND_ADMIN_TOKEN" in result.output
