"""The bot file's channels section: secrets, rotation, fallbacks, and the helpdesk it needs."""

from pathlib import Path
from typing import Any

import pytest

from agent.config import load_bot_file
from agent.config.botfile import BotConfig
from agent.errors import ConfigError
from tests.unit.config.test_botfile import minimal, write_bot

CHATWOOT = {"platform": "chatwoot", "base_url": "https://cw.example", "account_id": 3,
            "access_token": "cw-token"}  # fmt: skip
TOKEN = "t" * 24


def load(tmp_path: Path, **extra: Any) -> BotConfig:
    return load_bot_file(write_bot(tmp_path, minimal(**extra)))


def test_a_helpdesk_channel_needs_that_helpdesk(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"set helpdesk.platform: chatwoot \(it is builtin\)"):
        load(tmp_path, channels={"chatwoot": {"secrets": ["s3cret"]}})
    bot = load(tmp_path, channels={"chatwoot": {"secrets": ["s3cret"]}}, helpdesk=CHATWOOT)
    assert bot.channels.chatwoot is not None
    assert bot.channels.chatwoot.secret_values() == ("s3cret",)
    assert bot.channels.reply_mode == "autonomous"


def test_a_channel_without_any_authentication_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="give secrets"):
        load(tmp_path, channels={"chatwoot": {}}, helpdesk=CHATWOOT)
    bot = load(tmp_path, channels={"chatwoot": {"url_tokens": [TOKEN]}}, helpdesk=CHATWOOT)
    assert bot.channels.chatwoot is not None and bot.channels.chatwoot.url_token_values() == (
        TOKEN,
    )


def test_rotation_takes_two_secrets_not_three(tmp_path: Path) -> None:
    two = {"chatwoot": {"secrets": ["old", "new"]}}
    assert load(tmp_path, channels=two, helpdesk=CHATWOOT).channels.chatwoot is not None
    with pytest.raises(ConfigError, match="secrets"):
        load(tmp_path, channels={"chatwoot": {"secrets": ["a", "b", "c"]}}, helpdesk=CHATWOOT)


def test_shared_tokens_must_be_long_and_secrets_not_blank(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load(tmp_path, channels={"chatwoot": {"url_tokens": ["short"]}}, helpdesk=CHATWOOT)
    with pytest.raises(ConfigError, match="must not be empty"):
        load(tmp_path, channels={"chatwoot": {"secrets": ["  "]}}, helpdesk=CHATWOOT)


def test_reply_mode_and_loop_guard_are_validated(tmp_path: Path) -> None:
    bot = load(tmp_path, channels={"reply_mode": "draft", "loop_guard": {"max_bot_turns": 5}})
    assert bot.channels.reply_mode == "draft" and bot.channels.loop_guard.max_bot_turns == 5
    with pytest.raises(ConfigError, match="reply_mode"):
        load(tmp_path, channels={"reply_mode": "shadow"})
