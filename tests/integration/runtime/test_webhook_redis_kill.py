"""Redis killed (SIGKILL) in the middle of a webhook load: nothing acknowledged is lost.

deskhand (no workers: the mailboxes keep what was accepted) runs on a redis-server of the
test's own (AOF, appendfsync always). Threads post signed deliveries, each with its own
delivery and message id, while the server is killed and, a moment later, started again
on the same port and data. Afterwards every delivery answered 200 is in its mailbox;
those sent while Redis was down got 503 (so the helpdesk retries) and no other status; and
each 503'd delivery, sent again, is accepted and then in its mailbox. One sent while Redis
was down is queued by the retry, never taken for a duplicate of itself (no claim was left
behind). One in flight at the kill may have been written with its answer lost: its retry
may be a duplicate, but its message must be there.
"""

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import redis
import yaml

from agent.api.app import create_app
from agent.background_server import BackgroundServer
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from tests.integration.conftest import DEMO_SECRET
from tests.support.demo_shop import DEMO_TOOLS_FILE
from tests.support.redis_server import RedisProcess, free_port
from tools.signing.standard_webhooks import signed_headers

pytestmark = [pytest.mark.redis, pytest.mark.slow]

SENDERS = 8
URL = "/webhooks/demo/generic"


@dataclass
class Sent:
    conversation: str
    message_id: str
    body: bytes
    started: float
    finished: float
    status: int  # 0: no answer (connection error)


def delivery(run: str, n: int) -> tuple[str, str, bytes]:
    conversation = f"{run}-c{n % 20}"
    message_id = f"{run}-m{n}"
    body = json.dumps(
        {
            "type": "message.created",
            "conversation": {"id": conversation},
            "message": {"id": message_id, "text": f"Where is my order? ({n})"},
            "customer": {"id": f"cust-{n % 7}"},
        }
    ).encode()
    return conversation, message_id, body


def post(http: httpx.Client, body: bytes, webhook_id: str) -> int:
    headers = signed_headers(DEMO_SECRET, body, webhook_id=webhook_id).as_dict()
    headers["content-type"] = "application/json"
    try:
        return http.post(URL, content=body, headers=headers).status_code
    except httpx.HTTPError:
        return 0


def stored(client: "redis.Redis[bytes]", conversation: str) -> set[str]:
    raw = client.lrange(f"deskhand:conv:{{demo:generic:{conversation}}}:mailbox", 0, -1)
    return {json.loads(item)["message_id"] for item in raw}


def test_acknowledged_deliveries_survive_a_redis_kill(tmp_path: Path) -> None:
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    bot = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    bot["tools_file"] = str(DEMO_TOOLS_FILE)
    (tenants / "demo.yaml").write_text(yaml.safe_dump(bot))
    run = uuid.uuid4().hex[:8]
    sent: list[Sent] = []
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(10**9))
    with RedisProcess(tmp_path / "redis", appendfsync="always") as server:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            data_dir=tmp_path / "data",
            tenants_dir=tenants,
            redis_url=server.url,
            redis_timeout_s=2,
            port=free_port(),
        )
        app = create_app(settings, run_workers_in_process=False)
        with BackgroundServer(app, port=settings.port, lifespan="on", name="deskhand") as api:
            base = api.base_url

            def sender() -> None:
                with httpx.Client(base_url=base, timeout=30) as http:
                    while not stop.is_set():
                        with lock:
                            n = next(counter)
                        conversation, message_id, body = delivery(run, n)
                        started = time.monotonic()
                        status = post(http, body, f"{run}-d{n}")
                        item = Sent(
                            conversation, message_id, body, started, time.monotonic(), status
                        )
                        with lock:
                            sent.append(item)

            _wait_healthy(base)
            threads = [threading.Thread(target=sender, daemon=True) for _ in range(SENDERS)]
            for thread in threads:
                thread.start()
            time.sleep(1.5)
            server.kill()  # returns once the process is gone (reaped)
            killed_at = time.monotonic()  # after: a request begun before it may have landed
            time.sleep(1.5)
            restarted_at = time.monotonic()
            server.start()
            time.sleep(1.5)
            stop.set()
            for thread in threads:
                thread.join(timeout=60)

            answered = [s for s in sent if s.status == 200]
            before_kill = [s for s in answered if s.finished < killed_at]
            during = [s for s in sent if s.started > killed_at and s.finished < restarted_at]
            assert len(before_kill) > 20, f"too little load before the kill: {len(before_kill)}"
            assert during, "no delivery was sent while Redis was down"
            assert {s.status for s in during} == {503}
            assert {s.status for s in sent} <= {200, 503}
            after = [s for s in answered if s.started > restarted_at]
            assert after, "nothing was accepted after the restart"

            client = redis.Redis.from_url(server.url)
            try:
                lost = [s for s in answered if s.message_id not in stored(client, s.conversation)]
                assert not lost, f"{len(lost)} of {len(answered)} acknowledged deliveries lost"
                # The helpdesk retries what got 503: accepted now (no claim was left behind).
                refused = [s for s in sent if s.status == 503]
                with httpx.Client(base_url=base, timeout=30) as http:
                    for item in refused:
                        n = int(item.message_id.rsplit("-m", 1)[1])
                        headers = signed_headers(DEMO_SECRET, item.body, webhook_id=f"{run}-d{n}")
                        answer = http.post(
                            URL,
                            content=item.body,
                            headers={**headers.as_dict(), "content-type": "application/json"},
                        )
                        assert answer.status_code == 200, answer.text
                        if item in during:  # Redis was down: nothing can have been written
                            assert answer.json()["status"] == "queued", answer.text
                missing = [s for s in refused if s.message_id not in stored(client, s.conversation)]
                assert not missing
            finally:
                client.close()


def _wait_healthy(base: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base, timeout=5) as http:
        while time.monotonic() < deadline:
            try:
                if http.get("/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise AssertionError("deskhand did not start")
