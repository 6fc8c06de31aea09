"""The bot file's helpdesk section: each platform, errors naming file and field, secrets kept."""

from pathlib import Path
from typing import Any, get_args

import pytest
import yaml

from agent.config import load_bot_file
from agent.config.helpdesk import BuiltinHelpdesk, HelpdeskConfig
from agent.errors import ConfigError
from tools.ticketing.factory import PLATFORMS

ENV = {
    "ZD_TOKEN": "zd-secret-token",
    "FD_KEY": "fd-secret-key",
    "CW_TOKEN": "cw-secret-token",
    "IC_TOKEN": "ic-secret-token",
    "HS_ID": "hs-client-id",
    "HS_SECRET": "hs-secret",
    "FRONT_TOKEN": "front-secret-token",
}

SECTIONS: dict[str, dict[str, Any]] = {
    "builtin": {"platform": "builtin"},
    "zendesk": {
        "platform": "zendesk",
        "subdomain": "acme",
        "email": "bot@acme.example",
        "api_token": "${ZD_TOKEN}",
        "bot_agent_id": 501,
        "retry": {"max_retries": 1},
    },
    "freshdesk": {
        "platform": "freshdesk",
        "base_url": "https://acme.freshdesk.com",
        "api_key": "${FD_KEY}",
        "human_group_id": 7,
    },
    "chatwoot": {
        "platform": "chatwoot",
        "base_url": "https://chat.acme.example",
        "account_id": 1,
        "access_token": "${CW_TOKEN}",
        "inbox_id": 3,
    },
    "intercom": {"platform": "intercom", "access_token": "${IC_TOKEN}", "admin_id": 814860},
    "helpscout": {
        "platform": "helpscout",
        "client_id": "${HS_ID}",
        "client_secret": "${HS_SECRET}",
        "mailbox_id": "12345",
    },
    "front": {"platform": "front", "api_token": "${FRONT_TOKEN}", "teammate_id": "tea_bot"},
}


def write_bot(directory: Path, helpdesk: dict[str, Any] | None) -> Path:
    data: dict[str, Any] = {"tenant": "acme", "company": "Acme", "persona": "You help."}
    if helpdesk is not None:
        data["helpdesk"] = helpdesk
    path = directory / "acme.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def error_of(path: Path, environ: dict[str, str] = ENV) -> str:
    with pytest.raises(ConfigError) as raised:
        load_bot_file(path, environ=environ)
    return str(raised.value)


def test_without_a_section_the_tenant_uses_the_builtin_store(tmp_path: Path) -> None:
    bot = load_bot_file(write_bot(tmp_path, None), environ={})
    assert bot.helpdesk == BuiltinHelpdesk()
    assert bot.helpdesk.tool_timeout_s == 10.0


@pytest.mark.parametrize("platform", sorted(SECTIONS))
def test_each_platforms_section_validates_and_keeps_its_secrets(
    tmp_path: Path, platform: str
) -> None:
    bot = load_bot_file(write_bot(tmp_path, SECTIONS[platform]), environ=ENV)
    assert bot.helpdesk.platform == platform
    shown = repr(bot) + str(bot.model_dump())
    for secret in ENV.values():
        assert secret not in shown
    revealed = bot.helpdesk.options()
    assert "platform" not in revealed and "tool_timeout_s" not in revealed
    for field in ("api_token", "api_key", "access_token", "client_secret"):
        if field in revealed:
            assert revealed[field] in ENV.values()


def test_numbers_may_be_written_as_numbers_for_string_ids(tmp_path: Path) -> None:
    bot = load_bot_file(write_bot(tmp_path, SECTIONS["zendesk"]), environ=ENV)
    options = bot.helpdesk.options()
    assert options["bot_agent_id"] == "501"
    assert options["retry"] == {"max_retries": 1, "backoff_base_s": 0.5, "backoff_max_s": 4.0}


@pytest.mark.parametrize(
    ("platform", "drop", "field"),
    [
        ("freshdesk", "api_key", "helpdesk.freshdesk.api_key"),
        ("chatwoot", "access_token", "helpdesk.chatwoot.access_token"),
        ("intercom", "access_token", "helpdesk.intercom.access_token"),
        ("helpscout", "client_secret", "helpdesk.helpscout.client_secret"),
        ("front", "api_token", "helpdesk.front.api_token"),
    ],
)
def test_a_missing_credential_names_the_field_and_the_file(
    tmp_path: Path, platform: str, drop: str, field: str
) -> None:
    section = {k: v for k, v in SECTIONS[platform].items() if k != drop}
    path = write_bot(tmp_path, section)
    message = error_of(path)
    assert str(path) in message
    assert f"{field}: Field required" in message


def test_zendesk_without_a_token_says_which_credentials_it_needs(tmp_path: Path) -> None:
    section = {k: v for k, v in SECTIONS["zendesk"].items() if k != "api_token"}
    path = write_bot(tmp_path, section)
    message = error_of(path)
    assert str(path) in message and "helpdesk.zendesk" in message
    assert "give email and api_token, or oauth_token" in message


def test_an_unset_variable_names_the_field_and_the_variable(tmp_path: Path) -> None:
    path = write_bot(tmp_path, SECTIONS["zendesk"])
    message = error_of(path, environ={})
    assert str(path) in message
    assert "helpdesk.api_token: environment variable ZD_TOKEN is not set" in message


def test_an_empty_secret_is_refused(tmp_path: Path) -> None:
    path = write_bot(tmp_path, {**SECTIONS["freshdesk"], "api_key": "${FD_KEY:-}"})
    message = error_of(path, environ={})
    assert "helpdesk.freshdesk.api_key" in message and "must not be empty" in message


def test_an_unknown_platform_is_named_with_the_known_ones(tmp_path: Path) -> None:
    path = write_bot(tmp_path, {"platform": "zenddesk", "subdomain": "acme"})
    message = error_of(path)
    assert str(path) in message and "helpdesk" in message
    assert "unknown platform 'zenddesk'; give platform: one of builtin, zendesk," in message


def test_a_section_without_platform_says_so(tmp_path: Path) -> None:
    message = error_of(write_bot(tmp_path, {"subdomain": "acme"}))
    assert "helpdesk: Value error, no platform; give platform: one of builtin" in message


def test_the_sections_cover_every_platform_the_factory_builds() -> None:
    union = get_args(HelpdeskConfig)[0]
    models = get_args(union)
    assert {get_args(m.model_fields["platform"].annotation)[0] for m in models} == set(PLATFORMS)
    assert set(SECTIONS) == set(PLATFORMS)


def test_an_unknown_key_in_the_section_is_an_error(tmp_path: Path) -> None:
    path = write_bot(tmp_path, {**SECTIONS["zendesk"], "api_tokn": "x"})
    message = error_of(path)
    assert "helpdesk.zendesk.api_tokn: Extra inputs are not permitted" in message


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"base_url": "acme.freshdesk.com"}, "must start with http:// or https://"),
        ({"timeout_s": 0}, "helpdesk.freshdesk.timeout_s"),
        ({"retry": {"max_retries": 9}}, "helpdesk.freshdesk.retry.max_retries"),
    ],
)
def test_invalid_values_are_named(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    path = write_bot(tmp_path, {**SECTIONS["freshdesk"], **changes})
    assert message in error_of(path)


def test_zendesk_ids_must_be_numeric(tmp_path: Path) -> None:
    path = write_bot(tmp_path, {**SECTIONS["zendesk"], "handoff_group_id": "escalations"})
    assert "helpdesk.zendesk.handoff_group_id" in error_of(path)
