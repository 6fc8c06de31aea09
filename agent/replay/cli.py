"""``deskhand replay PATH…``: run scripted conversations and tell what broke."""

import importlib
import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from agent.cli.common import fail, settings_or_exit
from agent.logs import configure_logging
from agent.replay.errors import ReplayError
from agent.replay.loader import LoadedConversation, load_conversations

if TYPE_CHECKING:  # the runner pulls in the whole app: loaded when a replay runs
    from agent.replay.runner import Outcome, Run


def replay(
    paths: Annotated[list[Path], typer.Argument(help="Conversation files or directories.")],
    live: Annotated[
        bool, typer.Option("--live", help="Ask the real model endpoint, not the cassettes.")
    ] = False,
    record: Annotated[
        bool, typer.Option("--record", help="Live, and write each conversation's cassette.")
    ] = False,
    repeat: Annotated[int, typer.Option(help="Runs per conversation (pass^k).", min=1)] = 1,
    junit: Annotated[Path | None, typer.Option(help="Write JUnit XML here.")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write what each step observed (JSON).")
    ] = None,
    select: Annotated[
        list[str] | None,
        typer.Option("-k", help="Only conversations whose name contains this (repeatable)."),
    ] = None,
    fail_fast: Annotated[
        bool, typer.Option("--fail-fast", help="Stop at the first failing run.")
    ] = False,
    llm_base_url: Annotated[
        str | None,
        typer.Option(help="The live endpoint (default: DESKHAND_LLM_BASE_URL)."),
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Data directory (default: a temporary one).")
    ] = None,
    turn_timeout: Annotated[float, typer.Option(help="Seconds to wait for a reply.", min=1)] = 60,
) -> None:
    """Replay conversations through the real HTTP path, graph and stores, and check them.

    By default the model's answers come from the conversations' cassettes (deterministic);
    --live asks the configured endpoint and reports pass^1 and pass^k; --record does a live
    run and writes the cassettes next to the files (cassettes/NAME.cassette.yaml).
    """
    settings = settings_or_exit()
    live = live or record
    if record and repeat > 1:
        fail("--record writes one run's answers; drop --repeat", 2)
    live_url = (llm_base_url or settings.llm_base_url) if live else None
    if live and live_url is None:
        fail("--live needs a model endpoint: DESKHAND_LLM_BASE_URL or --llm-base-url", 2)
    try:
        chosen = selected(load_conversations(paths), select or [])
    except ReplayError as error:
        fail(str(error), 2)
    if not chosen:
        fail("no conversation selected", 2)
    configure_logging("ERROR", json_lines=False)
    importlib.import_module("bm25s")  # it sets its own logger to DEBUG when imported
    logging.getLogger("bm25s").setLevel(logging.ERROR)
    from agent.replay.harness import Harness, HarnessConfig
    from agent.replay.report import summary
    from agent.replay.runner import Runner, RunOptions

    config = HarnessConfig(settings, data_dir=data_dir, live_url=live_url)
    options = RunOptions(repeat=repeat, fail_fast=fail_fast, turn_timeout_s=turn_timeout)
    try:
        with Harness(config) as harness:
            outcomes = Runner(harness, options).run_all(
                chosen, lambda run: _show(run, repeat, record)
            )
    except ReplayError as error:
        fail(str(error))
    typer.echo(summary(outcomes, repeat, live))
    _write_outputs(outcomes, repeat, junit, json_out)
    if not all(run.passed for outcome in outcomes for run in outcome.runs):
        raise typer.Exit(1)


def selected(loaded: list[LoadedConversation], patterns: list[str]) -> list[LoadedConversation]:
    if not patterns:
        return loaded
    return [c for c in loaded if any(re.search(re.escape(p), c.name) for p in patterns)]


def _show(run: "Run", repeat: int, record: bool) -> None:
    from agent.replay.report import failure_text, run_line, write_cassette

    typer.echo(run_line(run, repeat))
    if not run.passed:
        typer.echo(failure_text(run))
    if record and run.complete:
        typer.echo(f"  recorded {write_cassette(run)}")


def _write_outputs(
    outcomes: "list[Outcome]", repeat: int, junit: Path | None, json_out: Path | None
) -> None:
    from agent.replay.junit import write_junit
    from agent.replay.report import results_data, write_json

    if junit is not None:
        write_junit(junit, outcomes, repeat)
    if json_out is not None:
        write_json(json_out, results_data(outcomes, repeat))
