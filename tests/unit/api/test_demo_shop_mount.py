"""The demo shop rides on deskhand's port when DESKHAND_DEMO_SHOP is on (no lifespan needed)."""

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agent.api.app import create_app
from agent.config.settings import DEMO_TENANTS_DIR, Settings, load_settings
from tools.demo_shop import DEMO_SHOP_TOKEN


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_the_setting_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKHAND_DEMO_SHOP", raising=False)
    assert load_settings(env_file=None).demo_shop is False
    monkeypatch.setenv("DESKHAND_DEMO_SHOP", "true")
    assert load_settings(env_file=None).demo_shop is True


def test_served_under_demo_shop_when_enabled() -> None:
    app = create_app(settings(demo_shop=True))
    client = TestClient(app)  # no `with`: the lifespan (components, workers) is not started
    auth = {"authorization": f"Bearer {DEMO_SHOP_TOKEN}"}
    answer = client.get("/demo-shop/orders/BL-10234", params={"email": "alex@example.com"})
    assert answer.status_code == 401
    answer = client.get(
        "/demo-shop/orders/BL-10234", params={"email": "alex@example.com"}, headers=auth
    )
    assert answer.status_code == 200 and answer.json()["status"] == "shipped"
    assert app.state.demo_shop.order_for("BL-10234", "alex@example.com") is not None


def test_off_it_answers_503_for_the_demo_tenant_and_nothing_otherwise(tmp_path: Path) -> None:
    off = TestClient(create_app(settings(tenants_dir=DEMO_TENANTS_DIR)))
    answer = off.get("/demo-shop/orders/BL-10234")
    assert answer.status_code == 503 and "DESKHAND_DEMO_SHOP" in answer.json()["detail"]
    other = TestClient(create_app(settings(tenants_dir=tmp_path)))
    assert other.get("/demo-shop/orders/BL-10234").status_code == 404
