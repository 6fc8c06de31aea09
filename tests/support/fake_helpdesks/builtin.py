"""The built-in ticket store under the contract suite: no fake, a SQLite file in tmp_path."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from tests.support.fake_helpdesks import BackendUnderTest
from tools.ticketing.builtin import BuiltinTicketStore


@asynccontextmanager
async def open_backend(tmp_path: Path) -> AsyncIterator[BackendUnderTest]:
    store = await BuiltinTicketStore.open(tmp_path / "tickets.sqlite3")
    try:
        yield BackendUnderTest(store, None)
    finally:
        await store.aclose()
