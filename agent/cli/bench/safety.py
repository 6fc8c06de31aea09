"""``deskhand bench safety``: precision and recall of the deterministic safety checks.

Runs the checks of ``agent.safety`` over labelled customer messages (injection,
abuse, negative sentiment, sensitive topics, personal data, language) and labelled
replies with their sources (grounding), by default the sets packaged in
``agent/safety/eval``. Pure Python, no model, no network: it runs in about a second.

Prints one JSON line on stdout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import friendly_errors


def safety(
    messages: Annotated[
        Path | None,
        typer.Option("--set", help="Labelled messages (YAML); default: the packaged set."),
    ] = None,
    grounding: Annotated[
        Path | None,
        typer.Option(
            "--grounding-set",
            help="Labelled replies and their sources (YAML); default: the packaged set.",
        ),
    ] = None,
) -> None:
    """Precision and recall of each safety check on labelled sets.

    Prints one JSON line: per check (injection, abuse, negative, topic micro-averaged
    with by_topic, pii overall and per kind, grounding's detection of unsupported
    replies) precision, recall, f1 and counts; language accuracy; set sizes; and
    ms_per_message for the message checks.
    """
    from agent.safety.evaluate import evaluate
    from agent.safety.labelled import load_grounding, load_messages

    with friendly_errors():
        result = evaluate(load_messages(messages), load_grounding(grounding))
    typer.echo(json.dumps(result, ensure_ascii=False))
