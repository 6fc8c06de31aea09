"""The operator's console in headless Chromium: log in, find an escalated conversation,
read its trace, take over, reply, hand back, approve a pending refund. Each page's
screenshot is kept (DESKHAND_SCREENSHOTS_DIR, else the test's temporary folder)."""

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.config.settings import DEMO_TENANTS_DIR, Settings
from agent.replay.harness import Harness, HarnessConfig
from agent.replay.loader import load_file
from agent.replay.runner import Runner, RunOptions
from tests.integration.console.browser import chromium, chromium_missing

SCENARIOS = Path(__file__).parent / "scenarios"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(chromium_missing() is not None, reason=str(chromium_missing())),
]


@pytest.fixture(scope="module")
def harness() -> Iterator[Harness]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, tenants_dir=DEMO_TENANTS_DIR, redis_url=None
    )
    with Harness(HarnessConfig(settings)) as running:
        yield running


def play(harness: Harness, scenario: str) -> str:
    """Play a scenario's turns; the conversation's key."""
    (loaded,) = load_file(SCENARIOS / scenario)
    run = Runner(harness, RunOptions()).run(loaded)
    assert run.passed, [step for step in run.steps if not step.passed]
    return f"demo:generic:{run.conversation_id}"


@pytest.fixture
def shots(tmp_path: Path) -> Callable[..., Path]:
    folder = Path(os.environ.get("DESKHAND_SCREENSHOTS_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)

    def shoot(driver: "object", name: str) -> Path:
        path = folder / f"{name}.png"
        assert driver.save_screenshot(str(path)), f"no screenshot of {name}"  # type: ignore[attr-defined]
        return path

    return shoot


def test_an_operator_handles_an_escalation_and_a_refund(
    harness: Harness, shots: Callable[..., Path], tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.ui import Select, WebDriverWait

    escalated = play(harness, "escalated.yaml")
    refund = play(harness, "refund-pending.yaml")
    base = str(harness.http.base_url).rstrip("/")

    with chromium(tmp_path / "profile") as driver:
        wait = WebDriverWait(driver, 30)

        def text_of(css: str) -> str:
            return str(wait.until(shown.presence_of_element_located((By.CSS_SELECTOR, css))).text)

        # Log in: a wrong token is refused, the run's admin token gets in.
        driver.get(f"{base}/admin/conversations")
        wait.until(shown.url_contains("/admin/login"))
        driver.find_element(By.ID, "token").send_keys("not-a-token")
        driver.find_element(By.ID, "login").click()
        assert "Login refused" in text_of("#login-error")
        driver.find_element(By.ID, "token").send_keys(harness.admin_token)
        driver.find_element(By.ID, "login").click()
        wait.until(shown.url_contains("/admin/conversations"))
        assert "admin" in text_of("#whoami")
        shots(driver, "01-conversations")

        # Find the escalated conversation through the filter.
        Select(driver.find_element(By.ID, "filter-status")).select_by_value("escalated")
        driver.find_element(By.ID, "apply-filters").click()
        wait.until(shown.url_contains("status=escalated"))
        rows = driver.find_elements(By.CSS_SELECTOR, "#conversations tr.conversation")
        assert rows and {row.get_attribute("data-status") for row in rows} == {"escalated"}
        shots(driver, "02-escalated")
        link = driver.find_element(By.LINK_TEXT, escalated.split(":", 2)[2])
        link.click()

        # Its trace: the escalation and its reason; the customer's script never ran.
        wait.until(shown.presence_of_element_located((By.ID, "trace")))
        assert "sensitive_topic" in text_of("#escalation-reason")
        assert "Escalated: sensitive_topic" in text_of("#trace")
        assert "<script>window.__pwned = true</script>" in text_of("#transcript")
        assert driver.execute_script("return window.__pwned === undefined") is True
        shots(driver, "03-conversation-escalated")

        # Take over (the escalation left it manual: hand back, then take over again).
        driver.find_element(By.ID, "hand-back").click()
        assert "Handed back" in text_of("#flash")
        wait_for_mode(harness, escalated, "auto")
        driver.refresh()
        driver.find_element(By.ID, "take-over").click()
        assert "Taken over" in text_of("#flash")
        wait_for_mode(harness, escalated, "manual")

        # Reply as the operator: it reaches the transcript.
        driver.get(driver.current_url)
        driver.find_element(By.ID, "reply-text").send_keys("Hello, this is Ana from support.")
        driver.find_element(By.ID, "send-reply").click()
        assert "queued" in text_of("#flash")
        wait_for_entry(harness, escalated, "operator", "Ana from support")
        driver.refresh()
        assert "Ana from support" in text_of("#transcript")
        shots(driver, "04-conversation-replied")

        # Hand it back.
        driver.find_element(By.ID, "hand-back").click()
        assert "Handed back" in text_of("#flash")
        wait_for_mode(harness, escalated, "auto")

        # The pending refund: approve it.
        driver.get(f"{base}/admin/conversations?status=awaiting_approval")
        driver.find_element(By.LINK_TEXT, refund.split(":", 2)[2]).click()
        assert "request_refund" in text_of(".approval")
        shots(driver, "05-refund-pending")
        driver.find_element(By.CSS_SELECTOR, ".approval button.approve").click()
        assert "Approved" in text_of("#flash")
        assert harness.pending_approvals(refund) == []
        shots(driver, "06-refund-approved")

        # The knowledge base: upload a document through the form, then find it.
        driver.get(f"{base}/admin/knowledge?tenant=demo")
        document = tmp_path / "gift-wrapping.md"
        document.write_text("# Gift wrapping\n\nWe wrap any order in recycled paper for 3 euros.\n")
        driver.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(document))
        driver.find_element(By.ID, "kb-upload").click()
        assert "Upload received" in text_of("#flash")
        wait_for_job(harness, "gift-wrapping.md")
        driver.get(f"{base}/admin/knowledge?tenant=demo&q=Do+you+gift+wrap+orders%3F")
        assert "gift-wrapping.md" in text_of("#kb-results")
        assert "gift-wrapping.md" in text_of("#kb-sources")
        shots(driver, "07-knowledge")
        driver.get(f"{base}/admin/dashboard")
        assert int(text_of("#stat-turns")) >= 1
        shots(driver, "08-dashboard")


def wait_for_mode(harness: Harness, key: str, mode: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if harness.conversation(key).get("mode") == mode:
            return
        time.sleep(0.2)
    raise AssertionError(f"{key} is not {mode}: {harness.conversation(key)}")


def wait_for_entry(harness: Harness, key: str, author: str, text: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        entries = harness.conversation(key).get("entries", [])
        if any(e["author"] == author and text in e["text"] for e in entries):
            return
        time.sleep(0.2)
    raise AssertionError(f"no {author} entry with {text!r} in {key}")


def wait_for_job(harness: Harness, source: str) -> None:
    headers = {"authorization": f"Bearer {harness.admin_token}"}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        jobs = harness.http.get("/admin/v1/knowledge/jobs", headers=headers).json()["items"]
        states = [job["state"] for job in jobs if source in str(job)]
        if "succeeded" in states:
            return
        assert "failed" not in states, jobs
        time.sleep(0.3)
    raise AssertionError(f"the ingest of {source} did not finish")
