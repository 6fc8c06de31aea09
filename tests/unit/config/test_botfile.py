from pathlib import Path

import pytest
import yaml

from agent.config import TenantRegistry, UnknownTenant, load_bot_file
from agent.config.settings import DEMO_TENANTS_DIR
from agent.errors import ConfigError
from agent.tenant_tools import TenantTools

SECRET = "whsec_ZGVza2hhbmQtdGVzdC1zaWduaW5nLWtleS0wMDAwMDE="


def write_bot(directory: Path, data: dict[str, object], name: str = "acme") -> Path:
    path = directory / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def minimal(**extra: object) -> dict[str, object]:
    return {"tenant": "acme", "company": "Acme", "persona": "You are Acme's assistant.", **extra}


def test_the_demo_bot_file_is_valid() -> None:
    registry = TenantRegistry.load(DEMO_TENANTS_DIR)
    bot = registry.get("demo")
    assert bot.company == "Brightleaf Home"
    assert "lookup_order" in bot.tools and "request_refund" in bot.tools
    assert bot.tools_file == DEMO_TENANTS_DIR / "tools" / "demo-shop.yaml"
    assert bot.approvals == {"refund_threshold_eur": 50.0}
    assert bot.channels.generic is not None
    tools = TenantTools.load(registry, {"DESKHAND_PORT": "8080"}).get("demo")
    assert tools.names == set(bot.tools)


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    bot = load_bot_file(write_bot(tmp_path, minimal()))
    assert bot.retrieval.top_k == 4
    assert "talk to a human" in bot.escalation.all_phrases()
    assert "hablar con una persona" in bot.escalation.all_phrases()
    assert bot.model.enable_thinking_with_tools is False


def test_invalid_value_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = write_bot(tmp_path, minimal(retrieval={"min_score": 3}))
    with pytest.raises(ConfigError) as raised:
        load_bot_file(path)
    assert str(path) in str(raised.value)
    assert "retrieval.min_score" in str(raised.value)


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    path = write_bot(tmp_path, minimal(retreival={"top_k": 2}))
    with pytest.raises(ConfigError, match="retreival"):
        load_bot_file(path)


def test_tenant_must_match_file_name(tmp_path: Path) -> None:
    path = write_bot(tmp_path, minimal(), name="other")
    with pytest.raises(ConfigError, match=r"other\.yaml"):
        load_bot_file(path)


def test_unknown_tool_is_named(tmp_path: Path) -> None:
    path = write_bot(tmp_path, minimal(tools=["lookup_order", "refund_everything"]))
    with pytest.raises(ConfigError, match="refund_everything"):
        load_bot_file(path, known_tools={"lookup_order"})


def test_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "acme.yaml"
    path.write_text("tenant: acme\ncompany: [unclosed\n")
    with pytest.raises(ConfigError, match=r"acme\.yaml is not valid YAML"):
        load_bot_file(path)


def test_environment_references_are_expanded(tmp_path: Path) -> None:
    data = minimal(channels={"generic": {"signing_secrets": ["${ACME_SECRET}"]}})
    bot = load_bot_file(write_bot(tmp_path, data), environ={"ACME_SECRET": SECRET})
    assert bot.channels.generic is not None
    assert bot.channels.generic.signing_secrets[0].get_secret_value() == SECRET


def test_missing_environment_variable_names_field_and_file(tmp_path: Path) -> None:
    data = minimal(channels={"generic": {"signing_secrets": ["${ACME_SECRET}"]}})
    path = write_bot(tmp_path, data)
    with pytest.raises(ConfigError) as raised:
        load_bot_file(path, environ={})
    message = str(raised.value)
    assert "ACME_SECRET" in message and "channels.generic.signing_secrets.0" in message
    assert str(path) in message


def test_signing_secret_must_be_standard_webhooks(tmp_path: Path) -> None:
    path = write_bot(tmp_path, minimal(channels={"generic": {"signing_secrets": ["hunter2"]}}))
    with pytest.raises(ConfigError, match="whsec_"):
        load_bot_file(path)


def test_secrets_do_not_appear_in_the_repr(tmp_path: Path) -> None:
    data = minimal(channels={"generic": {"signing_secrets": [SECRET]}}, api_tokens=["tok-123"])
    bot = load_bot_file(write_bot(tmp_path, data))
    assert SECRET not in repr(bot) and "tok-123" not in repr(bot)


def test_registry_unknown_tenant(tmp_path: Path) -> None:
    write_bot(tmp_path, minimal())
    registry = TenantRegistry.load(tmp_path)
    assert registry.tenants == ["acme"]
    with pytest.raises(UnknownTenant):
        registry.get("nobody")


def test_registry_needs_a_directory_with_bot_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="holds no"):
        TenantRegistry.load(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        TenantRegistry.load(tmp_path / "missing")


def test_environment_references_may_have_a_default(tmp_path: Path) -> None:
    data = minimal(persona="Port ${DEMO_PORT:-8080}, host ${DEMO_HOST:-}.")
    bot = load_bot_file(write_bot(tmp_path, data), environ={"DEMO_HOST": "shop"})
    assert bot.persona == "Port 8080, host shop."
