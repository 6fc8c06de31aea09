"""The demo shop on a real port for the tools tests (reset before each test)."""

from collections.abc import Iterator

import pytest

from tests.support.demo_shop import RunningShop, serve_demo_shop


@pytest.fixture(scope="module")
def _running_shop() -> Iterator[RunningShop]:
    with serve_demo_shop() as running:
        yield running


@pytest.fixture
def demo_shop(_running_shop: RunningShop) -> RunningShop:
    _running_shop.reset()
    return _running_shop
