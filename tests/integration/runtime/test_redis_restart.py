"""A Redis restart in the middle of a run loses no acknowledged message (AOF, fsync always).

The test starts its own redis-server on a free port and kills it with SIGKILL while turns
are in flight and messages wait in their mailboxes; the shared Redis is never touched.
"""

import time
import uuid
from pathlib import Path

import pytest

from agent.cli.client import ClientError, DemoCustomer, DeskhandClient
from agent.llm.stub import ScriptedModelServer
from agent.llm.stub.demo import DemoResponder
from tests.integration.conftest import StartDeskhand
from tests.support.redis_server import RedisProcess

pytestmark = [pytest.mark.redis, pytest.mark.slow]


def _send_until_accepted(client: DeskhandClient, conversation: str, text: str) -> str:
    """What a helpdesk does: retry the delivery until deskhand answers 200."""
    deadline = time.monotonic() + 30
    while True:
        try:
            return client.send(conversation, text, DemoCustomer())
        except ClientError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_a_redis_restart_mid_run_loses_no_acknowledged_message(
    start_deskhand: StartDeskhand, tmp_path: Path
) -> None:
    conversations = [f"restart-{uuid.uuid4().hex[:8]}" for _ in range(4)]
    accepted: list[tuple[str, str]] = []
    with (
        RedisProcess(tmp_path / "redis", appendfsync="always") as redis_server,
        ScriptedModelServer(DemoResponder(), default_latency_s=0.5) as model,
        start_deskhand(
            redis_url=redis_server.url,
            llm_base_url=model.base_url,
            lease_s=3,
            coalesce_window_s=0.5,
        ) as deskhand,
    ):
        client = deskhand.client()
        for round_ in range(3):
            for conversation in conversations:
                text = f"Where is my order BL-10234? ({round_})"
                accepted.append((conversation, _send_until_accepted(client, conversation, text)))
            if round_ == 0:
                time.sleep(0.6)  # turns are running, later messages wait in their mailboxes
                redis_server.restart()
        for conversation, message_id in accepted:
            reply = client.wait_reply(conversation, message_id, timeout_s=60)
            assert reply.text, (conversation, message_id)
        transcripts = {
            conversation: deskhand.http.get(
                f"/v1/conversations/demo:generic:{conversation}",
                headers={"authorization": "Bearer demo-api-token-not-for-production"},
            ).json()["entries"]
            for conversation in conversations
        }
    for conversation in conversations:
        sent = [m for c, m in accepted if c == conversation]
        recorded = [e["message_id"] for e in transcripts[conversation] if e["author"] == "customer"]
        assert recorded == sent  # each accepted message once, in order
        answered = [
            m for e in transcripts[conversation] if e["author"] == "bot" for m in e["answers"]
        ]
        assert sorted(answered) == sorted(sent)  # each answered exactly once
