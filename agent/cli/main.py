"""The ``deskhand`` command."""

import typer

from agent import __version__
from agent.cli import admin as admin_cli
from agent.cli import approve, doctor, erase, graph, kb, llm_stub, serve, talk
from agent.cli import capacity as capacity_cli
from agent.cli import export as export_cli
from agent.cli.bench import ingest as bench_ingest
from agent.cli.bench import prefix as bench_prefix
from agent.cli.bench import quote as bench_quote
from agent.cli.bench import retrieval as bench_retrieval
from agent.cli.bench import runtime as bench_runtime
from agent.cli.bench import safety as bench_safety
from agent.cli.bench import search as bench_search
from agent.cli.bench import turn as bench_turn
from agent.cli.bench import webhook as bench_webhook
from agent.replay import cli as replay_cli

app = typer.Typer(
    name="deskhand",
    help=(
        "Self-hosted customer-support agent: answers from your knowledge base, "
        "beside your helpdesk."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
kb_app = typer.Typer(help="Inspect the knowledge base.", no_args_is_help=True)
bench_app = typer.Typer(
    help="Benchmarks; each prints one JSON line, its baseline measured in the same run.",
    no_args_is_help=True,
)

app.command()(serve.serve)
app.command()(serve.worker)
app.command()(talk.say)
app.command()(talk.chat)
app.command()(kb.ingest)
app.command()(doctor.doctor)
app.command()(erase.erase)
app.command()(approve.approve)
app.command()(graph.graph)
app.command("llm-stub")(llm_stub.llm_stub)
app.command()(replay_cli.replay)
app.command()(capacity_cli.capacity)
app.command()(export_cli.export)
kb_app.command("search")(kb.kb_search)
kb_app.command("stats")(kb.kb_stats)
app.add_typer(kb_app, name="kb")
app.add_typer(admin_cli.app, name="admin")
bench_app.command("ingest")(bench_ingest.ingest)
bench_app.command("retrieval")(bench_retrieval.retrieval)
bench_app.command("search")(bench_search.search)
bench_app.command("safety")(bench_safety.safety)
bench_app.command("turn")(bench_turn.turn)
bench_app.command("prefix")(bench_prefix.prefix)
bench_app.command("quote")(bench_quote.quote)
bench_app.command("runtime")(bench_runtime.runtime)
bench_app.command("webhook")(bench_webhook.webhook)
app.add_typer(bench_app, name="bench")


@app.command()
def version() -> None:
    """Print deskhand's version."""
    typer.echo(__version__)


def main() -> None:
    app()
