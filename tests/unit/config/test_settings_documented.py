"""Every setting is in docs/configuration.md, under its environment variable."""

from pathlib import Path

from agent.config.settings import ENV_PREFIX, Settings

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        name for name in Settings.model_fields if f"`{ENV_PREFIX}{name.upper()}`" not in text
    ]
    assert missing == []
