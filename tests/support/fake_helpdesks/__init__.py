"""Fake helpdesks for the ticketing contract suite and the clients' failure tests.

Each platform module ``tests/support/fake_helpdesks/<platform>.py`` defines
``open_backend(tmp_path) -> AsyncContextManager[BackendUnderTest]``: the real client (or
the built-in store), connected to that platform's fake over real HTTP, with fast retries.
"""

import importlib
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.fake_helpdesks.base import FakeHelpdesk
from tools.ticketing.base import TicketingBackend

PLATFORMS = ("builtin", "zendesk", "freshdesk", "chatwoot", "intercom", "helpscout", "front")


@dataclass
class BackendUnderTest:
    backend: TicketingBackend
    fake: FakeHelpdesk | None  # None for the built-in store


def open_backend(platform: str, tmp_path: Path) -> AbstractAsyncContextManager[BackendUnderTest]:
    module = importlib.import_module(f"tests.support.fake_helpdesks.{platform}")
    opener: Any = module.open_backend
    result: AbstractAsyncContextManager[BackendUnderTest] = opener(tmp_path)
    return result


__all__ = ["PLATFORMS", "BackendUnderTest", "FakeHelpdesk", "open_backend"]
