"""Every channel's full-path test runs deskhand on a Redis runtime of its own (a key prefix
per test): the fake helpdesks' ids repeat in every test, and the embedded SQLite runtime
under the session's data directory is shared by the whole session."""

import functools

import pytest

from tests.integration.conftest import StartDeskhand


@pytest.fixture
def start_deskhand(
    start_deskhand: StartDeskhand, redis_url: str, redis_prefix: str
) -> StartDeskhand:
    return functools.partial(start_deskhand, redis_url=redis_url, redis_prefix=redis_prefix)
