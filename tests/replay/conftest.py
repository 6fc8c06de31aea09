"""The YAML conversations under tests/replay are pytest items: one per conversation, all
played against one deskhand started for the session (the embedding model loads once)."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.config.settings import DEMO_TENANTS_DIR, Settings
from agent.replay.harness import Harness, HarnessConfig
from agent.replay.loader import LoadedConversation, is_conversation_file, load_file
from agent.replay.report import failure_text
from agent.replay.runner import Runner, RunOptions

_HARNESS = pytest.StashKey[Harness]()


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.File | None:
    if is_conversation_file(file_path) and "cassettes" not in file_path.parts:
        return ReplayFile.from_parent(parent, path=file_path)
    return None


def pytest_sessionfinish(session: pytest.Session) -> None:
    harness = session.config.stash.get(_HARNESS, None)
    if harness is not None:
        harness.close()


class ReplayFailed(AssertionError):
    """The conversation did not go as its file says; the message is the readable report."""


class ReplayFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        for loaded in load_file(self.path):
            item = ReplayItem.from_parent(self, name=loaded.name, loaded=loaded)
            item.add_marker(pytest.mark.slow)  # deskhand loads the embedding model
            yield item


class ReplayItem(pytest.Item):
    def __init__(self, *, loaded: LoadedConversation, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded

    def runtest(self) -> None:
        run = Runner(_harness(self.config), RunOptions()).run(self.loaded)
        if not run.passed:
            raise ReplayFailed(failure_text(run))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, ReplayFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.loaded.line - 1, f"replay: {self.loaded.name}"


def _harness(config: pytest.Config) -> Harness:
    harness = config.stash.get(_HARNESS, None)
    if harness is None:
        settings = Settings(_env_file=None, tenants_dir=DEMO_TENANTS_DIR, redis_url=None)  # type: ignore[call-arg]
        harness = Harness(HarnessConfig(settings)).__enter__()
        config.stash[_HARNESS] = harness
    return harness
