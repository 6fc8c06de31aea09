"""Fixtures every helpdesk client's tests share."""

import pytest

from tests.support.sleeps import Sleeps


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()
