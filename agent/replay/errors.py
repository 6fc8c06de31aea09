"""The replay package's errors: one root, and the file-format error that names its place."""

from pathlib import Path

from agent.errors import ConfigError, DeskhandError


class ReplayError(DeskhandError):
    """A replay cannot run (no deskhand, no model endpoint for --live, a cassette unreadable)."""


class ReplayFormatError(ReplayError, ConfigError):
    """A conversation file is malformed: ``file:line: key: problem``."""

    def __init__(self, path: Path, line: int | None, key: str | None, problem: str) -> None:
        self.path, self.line, self.key, self.problem = path, line, key, problem
        place = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{place}: {key}: {problem}" if key else f"{place}: {problem}")
