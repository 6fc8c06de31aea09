"""deskhand export: a tenant's answered conversations as a training set (docs/fine-tuning.md)."""

import asyncio
import json
import os
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer

from agent.cli.common import errors, fail, friendly_errors, settings_or_exit
from agent.config.settings import Settings

CHAT_JSONL = "chat-jsonl"


def export(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant whose conversations.")],
    since: Annotated[
        str,
        typer.Option(
            "--since", help="Last activity on or after: 2026-11-01 or 2026-11-01T09:00 (UTC)."
        ),
    ],
    until: Annotated[
        str | None, typer.Option("--until", help="Last activity before this (default: now).")
    ] = None,
    output_format: Annotated[
        str, typer.Option("--format", help="chat-jsonl: one OpenAI chat record per line.")
    ] = CHAT_JSONL,
    redact: Annotated[
        bool | None,
        typer.Option(
            "--redact/--no-redact",
            help="Replace e-mails, phones, cards, IBANs and national ids (required choice).",
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="Write here (default: standard output).")
    ] = None,
) -> None:
    """Export answered conversations as chat JSON lines, to train a tenant's LoRA adapter.

    Operator replies are included and marked, escalated conversations marked; --redact
    masks personal data (docs/fine-tuning.md)."""
    if output_format != CHAT_JSONL:
        fail(f"--format must be {CHAT_JSONL}, not {output_format!r}", code=2)
    if redact is None:
        fail("say --redact (personal data replaced) or --no-redact", code=2)
    start = parse_moment(since, "--since")
    end = parse_moment(until, "--until") if until is not None else None
    if end is not None and end <= start:
        fail("--until must be later than --since", code=2)
    settings = settings_or_exit()
    with friendly_errors(), _destination(output) as stream:
        counts = asyncio.run(_export(settings, tenant, start, end, redact, stream))
    errors.print(_summary(counts), highlight=False, soft_wrap=True, markup=False)


def parse_moment(value: str, option: str) -> float:
    """Epoch seconds of an ISO date or date-time; without a zone, UTC."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        fail(f"{option} must be a date (2026-11-01) or a date-time (2026-11-01T09:00)", code=2)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


async def _export(
    settings: Settings, tenant: str, since: float, until: float | None, redact: bool, out: TextIO
) -> Counter[str]:
    from agent.config.tenants import TenantRegistry
    from agent.graph.prompts import system_prompt
    from agent.runtime.factory import open_runtime
    from agent.safety import redact as redact_text
    from agent.training_export import ExportRequest, export_conversations

    bot = TenantRegistry.load(settings.tenants_dir).get(tenant)  # UnknownTenant names them
    request = ExportRequest(
        tenant=tenant,
        since=since,
        until=until,
        system_prompt=str(system_prompt(bot).content),
        redact=redact_text if redact else None,
        bot_replies_seen=bot.channels.reply_mode != "draft",
    )
    counts: Counter[str] = Counter()
    runtime = await open_runtime(settings)
    try:
        async for done in export_conversations(runtime.directory, runtime.transcripts, request):
            if done.record is None:
                counts[f"skipped: {done.skipped}"] += 1
                continue
            out.write(json.dumps(done.record, ensure_ascii=False) + "\n")
            counts["exported"] += 1
            metadata = done.record["metadata"]
            counts["escalated"] += bool(metadata["escalated"])
            counts["with operator replies"] += bool(metadata["operator_messages"])
    finally:
        await runtime.close()
    return counts


@contextmanager
def _destination(path: Path | None) -> Iterator[TextIO]:
    """Standard output, or the file, written whole or not at all."""
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    partial = path.with_name(f".{path.name}.partial")
    try:
        with partial.open("w", encoding="utf-8") as stream:
            yield stream
        os.replace(partial, path)
    except OSError as error:
        fail(f"cannot write {path}: {error}")
    finally:
        partial.unlink(missing_ok=True)


def _summary(counts: Counter[str]) -> str:
    line = (
        f"exported {counts['exported']} conversation(s): {counts['escalated']} escalated, "
        f"{counts['with operator replies']} with operator replies"
    )
    skipped = sorted(
        (key.removeprefix("skipped: "), n)
        for key, n in counts.items()
        if key.startswith("skipped: ")
    )
    if skipped:
        line += "; skipped " + ", ".join(f"{n} {why}" for why, n in skipped)
    return line
