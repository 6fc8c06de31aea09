"""JUnit XML: one test case per run, the readable failure as its text."""

import xml.etree.ElementTree as ET
from pathlib import Path

from agent.replay.report import failure_text
from agent.replay.runner import Outcome


def junit_xml(outcomes: list[Outcome], repeat: int, suite: str = "deskhand replay") -> bytes:
    runs = [run for outcome in outcomes for run in outcome.runs]
    failures = sum(not run.passed for run in runs)
    total_s = sum(run.duration_s for run in runs)
    root = ET.Element(
        "testsuites", tests=str(len(runs)), failures=str(failures), time=f"{total_s:.3f}"
    )
    node = ET.SubElement(
        root, "testsuite", name=suite, tests=str(len(runs)), failures=str(failures),
        errors="0", skipped="0", time=f"{total_s:.3f}",
    )  # fmt: skip
    for run in runs:
        name = run.loaded.name + (f" [{run.attempt}/{repeat}]" if repeat > 1 else "")
        case = ET.SubElement(
            node, "testcase", classname=str(run.loaded.path), name=name,
            file=str(run.loaded.path), line=str(run.loaded.line), time=f"{run.duration_s:.3f}",
        )  # fmt: skip
        if not run.passed:
            first = next((s for s in run.steps if not s.passed), None)
            message = f"turn {first.index + 1}: {first.description}" if first else "end state"
            failure = ET.SubElement(case, "failure", message=message, type="ReplayFailure")
            failure.text = failure_text(run)
    ET.indent(root)
    text: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return text


def write_junit(path: Path, outcomes: list[Outcome], repeat: int) -> None:
    path.write_bytes(junit_xml(outcomes, repeat) + b"\n")
