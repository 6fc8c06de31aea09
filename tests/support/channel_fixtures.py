"""The channels' payload fixtures (tests/fixtures/channels/<channel>/<name>.json)."""

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[1] / "fixtures" / "channels"


def channel_fixture(channel: str, name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / channel / f"{name}.json").read_text())
    return data
