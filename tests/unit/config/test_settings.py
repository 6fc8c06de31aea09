from pathlib import Path

import pytest

from agent.config.settings import Settings, load_settings
from agent.errors import ConfigError


def test_defaults_are_the_embedded_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKHAND_REDIS_URL", raising=False)
    settings = load_settings(env_file=None)
    assert settings.mode == "embedded"
    assert settings.llm_base_url is None
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.sqlite_path == settings.data_dir / "deskhand.sqlite3"


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKHAND_REDIS_URL", "redis://localhost:6379/3")
    monkeypatch.setenv("DESKHAND_LLM_BASE_URL", "http://gpu-box:8000/")
    monkeypatch.setenv("DESKHAND_PORT", "9001")
    settings = load_settings(env_file=None)
    assert settings.mode == "redis"
    assert settings.llm_base_url == "http://gpu-box:8000"
    assert settings.port == 9001


def test_env_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DESKHAND_LLM_MODEL=my-adapter\nDESKHAND_WORKER_CONCURRENCY=3\n")
    settings = load_settings(env_file=env_file)
    assert (settings.llm_model, settings.worker_concurrency) == ("my-adapter", 3)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DESKHAND_PORT", "eighty", "DESKHAND_PORT"),
        ("DESKHAND_PORT", "70000", "DESKHAND_PORT"),
        ("DESKHAND_REDIS_URL", "localhost:6379", "DESKHAND_REDIS_URL"),
        ("DESKHAND_LLM_BASE_URL", "gpu-box:8000", "DESKHAND_LLM_BASE_URL"),
        ("DESKHAND_LOG_LEVEL", "LOUD", "DESKHAND_LOG_LEVEL"),
    ],
)
def test_invalid_values_name_the_variable_and_the_source(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        load_settings(env_file=Path("some.env"))
    message = str(raised.value)
    assert expected in message
    assert "the environment or some.env" in message


def test_settings_are_immutable() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        settings.port = 1  # type: ignore[misc]
