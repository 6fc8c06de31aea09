"""The knowledge-base commands: ``deskhand ingest``, ``deskhand kb search``, ``deskhand kb stats``.

Plain functions with typer annotations; ``agent.cli.main`` registers them on the app.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agent.cli.common import console, friendly_errors, settings_or_exit

if TYPE_CHECKING:  # the knowledge package imports chromadb: only when a command runs
    from knowledge import IngestReport, KnowledgeStore, Passage
    from knowledge.config import KnowledgeConfig

SNIPPET_CHARS = 240
# Mirrors knowledge.loaders.walk (not imported: the CLI starts without the knowledge package).
DEFAULT_INCLUDE = ("*.md", "*.markdown", "*.txt", "*.html", "*.htm", "*.pdf", "*.json")
DEFAULT_EXCLUDE = (".*",)


def _globs(patterns: tuple[str, ...]) -> str:
    return " ".join(patterns)


TenantOption = Annotated[
    str, typer.Option("--tenant", "-t", help="Tenant whose knowledge base to use.")
]


def ingest(
    path: Annotated[
        Path,
        typer.Argument(
            help="A file (Markdown, text, HTML, PDF or a Zendesk Guide JSON export), "
            "or a folder of them."
        ),
    ],
    tenant: TenantOption,
    delete_missing: Annotated[
        bool,
        typer.Option(
            "--delete-missing", help="Remove documents whose files are no longer in PATH."
        ),
    ] = False,
    include: Annotated[
        list[str] | None,
        typer.Option(
            "--include",
            metavar="GLOB",
            help=f"Load only files matching GLOB; repeatable. Default: {_globs(DEFAULT_INCLUDE)}.",
        ),
    ] = None,
    exclude: Annotated[
        list[str] | None,
        typer.Option(
            "--exclude",
            metavar="GLOB",
            help="Skip files, or folders, matching GLOB; repeatable. Hidden files and folders "
            f"({_globs(DEFAULT_EXCLUDE)}) are always skipped.",
        ),
    ] = None,
) -> None:
    """Load documents into a tenant's knowledge base; only changed ones are re-embedded.

    A GLOB without "/" matches file names (and, for --exclude, folder names); with "/"
    it matches the path below PATH, e.g. --exclude "drafts/*". Matching ignores case.
    Exits with status 1 when any file or document could not be ingested.
    """
    from knowledge import ingest_path

    with friendly_errors():
        _announce_export(_knowledge_config())
        store = _open_store()
        with _progress_bar() as bar:
            task = bar.add_task("embedding", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done if total else 1, total=total or 1)

            report = ingest_path(
                store,
                tenant,
                path,
                delete_missing,
                progress,
                include=tuple(include) if include else DEFAULT_INCLUDE,
                exclude=(*DEFAULT_EXCLUDE, *(exclude or ())),
            )
    _print_report(report)
    if report.failed:
        raise typer.Exit(1)


def kb_search(
    question: Annotated[str, typer.Argument(help="What a customer might ask.")],
    tenant: TenantOption,
    k: Annotated[int, typer.Option("--k", "-k", min=1, max=50, help="Passages to show.")] = 4,
) -> None:
    """Show the passages the agent would retrieve for a question (hybrid search), with scores."""
    from knowledge import Retriever

    with friendly_errors():
        result = Retriever(_open_store()).search(tenant, question, k)
    if not result.passages:
        console.print(f"[yellow]no passages found in the knowledge base of {escape(tenant)}[/]")
        return
    for rank, passage in enumerate(result.passages, start=1):
        _print_passage(rank, passage)
    console.print(f"[dim]confidence {result.confidence:.3f} (cosine of the best passage)[/]")


def kb_stats(tenant: TenantOption) -> None:
    """Show how many documents and chunks a tenant's knowledge base holds."""
    with friendly_errors():
        store = _open_store()
        counts = store.stats(tenant)
        collection = store.collection_name(tenant)
    console.print(
        f"{escape(tenant)} · collection {escape(collection)} · "
        f"{counts['documents']} documents · {counts['chunks']} chunks"
    )


def _knowledge_config() -> KnowledgeConfig:
    from agent.config.derived import knowledge_config

    return knowledge_config(settings_or_exit())


def _open_store() -> KnowledgeStore:
    from knowledge import KnowledgeStore

    return KnowledgeStore.open(_knowledge_config())


def _announce_export(config: KnowledgeConfig) -> None:
    """Say why the first ingest of a models folder pauses before embedding anything."""
    from knowledge.embeddings import export_pending

    if export_pending(config):
        console.print(
            f"exporting the embedding model to ONNX in {escape(str(config.models_dir))} "
            "(once per models folder; about 10 s)"
        )


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def _print_report(report: IngestReport) -> None:
    summary = report.summary
    console.print(
        f"added {summary.added} · updated {summary.updated} · unchanged {summary.unchanged} · "
        f"removed {summary.removed} · failed {report.failed}"
    )
    for source, reason in report.all_failures:
        console.print(f"  [red]failed[/] {escape(source)}: {escape(reason)}")
    if report.deletions_skipped:
        console.print(
            "  [yellow]--delete-missing skipped: nothing is removed while a file fails to load[/]"
        )


def _print_passage(rank: int, passage: Passage) -> None:
    location = " › ".join((passage.title, *passage.heading_path))
    console.print(f"[bold]{rank}.[/] [cyan]{passage.score:.3f}[/]  [bold]{escape(location)}[/]")
    console.print(f"   [dim]{escape(passage.url or passage.source)}[/]")
    console.print(f"   {escape(_snippet(passage.text))}")


def _snippet(text: str) -> str:
    flat = " ".join(text.replace("**", "").split())
    return flat if len(flat) <= SNIPPET_CHARS else flat[: SNIPPET_CHARS - 1].rstrip() + "…"
