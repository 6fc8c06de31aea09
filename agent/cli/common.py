"""What every command shares: settings, logging and turning errors into one clear line."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from agent.config.settings import Settings, load_settings
from agent.errors import DeskhandError
from agent.logs import configure_logging
from knowledge.errors import KnowledgeError
from tools.errors import ToolsError

console = Console()
errors = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def warn(message: str) -> None:
    errors.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False, soft_wrap=True)


def local_url(settings: Settings) -> str:
    """Where this machine reaches the API the settings describe (a wildcard bind: loopback)."""
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::") else settings.host  # noqa: S104
    return f"http://{host}:{settings.port}"


def settings_or_exit(env_file: Path | None = Path(".env")) -> Settings:
    try:
        return load_settings(env_file)
    except DeskhandError as error:
        fail(str(error), code=2)


@contextmanager
def friendly_errors() -> Iterator[None]:
    """Turn the packages' own errors into a one-line message and exit status 1."""
    try:
        yield
    except (DeskhandError, KnowledgeError, ToolsError) as error:
        fail(str(error))


def setup_logging(settings: Settings, json_lines: bool | None = None) -> None:
    configure_logging(settings.log_level, settings.log_json if json_lines is None else json_lines)
