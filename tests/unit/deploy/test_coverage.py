"""Every file in deploy/ is checked: docs/deploy.md's validation table names each one with
its test (or command), and each test it names exists."""

import re

from tests.unit.deploy.support import DEPLOY, ROOT

GUIDE = ROOT / "docs" / "deploy.md"


def validation_table() -> list[tuple[str, str]]:
    """(files cell, check cell) of each row of docs/deploy.md's validation table."""
    section = GUIDE.read_text().split("## What was validated, and how", 1)[1]
    rows = [line.strip().strip("|") for line in section.splitlines() if line.startswith("| `")]
    return [(row.split("|", 1)[0], row.split("|", 1)[1]) for row in rows]


def test_every_deploy_file_has_a_check() -> None:
    covered: set[str] = set()
    for files, _check in validation_table():
        for name in re.findall(r"`([^`]+)`", files):
            if name.endswith("/*.yaml"):
                covered |= {str(p.relative_to(ROOT)) for p in (ROOT / name).parent.glob("*.yaml")}
            else:
                covered.add(name)
    present = {
        str(path.relative_to(ROOT))
        for path in DEPLOY.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert present - covered == set(), "add these to docs/deploy.md's validation table"
    assert covered - present == set(), "the table names files that do not exist"


def test_every_named_test_exists() -> None:
    for _files, check in validation_table():
        for test in re.findall(r"`(tests/[^`]+\.py)`", check):
            assert (ROOT / test).is_file(), test
