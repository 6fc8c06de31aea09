"""What a replay prints: one line per run, the failing turn in detail, pass^k at the end."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from agent.replay.format import CassetteAnswer
from agent.replay.observation import summarise_trace
from agent.replay.runner import Outcome, Run, StepResult


def run_line(run: Run, repeat: int) -> str:
    attempt = f" [{run.attempt}/{repeat}]" if repeat > 1 else ""
    status = "PASS" if run.passed else "FAIL"
    return f"{status} {run.loaded.name}{attempt} ({run.duration_s:.1f} s)"


def failure_text(run: Run) -> str:
    """The failing turn: where it is, each expectation missed, what happened, the trace."""
    loaded = run.loaded
    lines = [f"{loaded.name} ({loaded.path}:{loaded.line}), conversation {run.conversation_id}"]
    for step in run.steps:
        if not step.passed:
            lines += _step_failure(loaded.path, step)
    for miss in run.end_misses:
        lines.append(f"  at the end: expected {miss.expectation}: {miss.expected}")
        lines.append(f"    instead: {miss.actual}")
    return "\n".join(lines)


def _step_failure(path: Path, step: StepResult) -> list[str]:
    lines = [f"  turn {step.index + 1} ({path}:{step.line}) {step.description}"]
    if step.error is not None:
        lines.append(f"    error: {step.error}")
    for miss in step.misses:
        lines.append(f"    expected {miss.expectation}: {miss.expected}")
        actual = miss.actual.replace("\n", "\n      ")
        lines.append(f"      instead: {actual}")
    observed = step.observation
    if observed is not None:
        reply = "(no reply)" if observed.reply is None else repr(observed.reply[:300])
        lines.append(f"    reply: {reply}")
        lines.append(f"    trace: {summarise_trace(observed.trace)}")
    return lines


def summary(outcomes: list[Outcome], repeat: int, live: bool) -> str:
    runs = [run for outcome in outcomes for run in outcome.runs]
    passed = sum(run.passed for run in runs)
    text = f"{passed}/{len(runs)} runs passed, {len(outcomes)} conversations"
    if repeat > 1 or live:
        lines = [text]
        for outcome in outcomes:
            scores = _scores(outcome.pass_at, repeat)
            lines.append(
                f"  {outcome.loaded.name}: {scores} ({outcome.successes}/{len(outcome.runs)})"
            )
        lines.append(f"overall: {_scores(lambda k: overall(outcomes, k), repeat)}")
        return "\n".join(lines)
    return text


def _scores(pass_at: Callable[[int], float], repeat: int) -> str:
    ks = (1, repeat) if repeat > 1 else (1,)
    return ", ".join(f"pass^{k} {pass_at(k):.2f}" for k in ks)


def overall(outcomes: list[Outcome], k: int) -> float:
    return sum(o.pass_at(k) for o in outcomes) / len(outcomes) if outcomes else 0.0


def results_data(outcomes: list[Outcome], repeat: int) -> dict[str, Any]:
    """The machine-readable result (``--json``): per run, per step, what was observed."""
    return {
        "conversations": [
            {
                "name": o.loaded.name,
                "file": str(o.loaded.path),
                "pass^1": o.pass_at(1),
                f"pass^{repeat}": o.pass_at(repeat),
                "runs": [
                    {
                        "passed": run.passed,
                        "steps": [
                            {
                                "passed": step.passed,
                                "observed": step.observation.to_data()
                                if step.observation
                                else None,
                            }
                            for step in run.steps
                        ],
                    }
                    for run in o.runs
                ],
            }
            for o in outcomes
        ],
        "pass^1": overall(outcomes, 1),
        f"pass^{repeat}": overall(outcomes, repeat),
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", "utf-8")


def write_cassette(run: Run) -> Path:
    """The model's answers of a live run, as the conversation's cassette."""
    path = run.loaded.cassette_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "conversation": run.loaded.name,
        "turns": [[_answer_data(a) for a in answers] for answers in run.recorded],
    }
    header = (
        f"# Recorded by `deskhand replay --record` for {run.loaded.name}: the model's answers,\n"
        "# each keyed by the request it answered (kept below it, for diffs).\n"
    )
    text = yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    path.write_text(header + text, "utf-8")
    return path


def _answer_data(answer: CassetteAnswer) -> dict[str, Any]:
    data = answer.model_dump(exclude_defaults=True)
    request = data.pop("request", None)
    return {"key": data.pop("key", None), **data, "request": request}


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as ``|`` blocks, so a recorded prompt reads like the prompt."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)
