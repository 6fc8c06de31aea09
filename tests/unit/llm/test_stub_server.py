"""The scripted model server over real HTTP: scripts, cassettes, recording, quirks, files."""

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from agent.llm.stub import (
    Cassette,
    ResponderError,
    Script,
    ScriptedModelServer,
    ScriptedResponse,
    ScriptFileError,
    load_cassette,
    load_script,
    request_key,
)

CHAT = "/v1/chat/completions"


def chat_body(text: str = "hi", **extra: Any) -> dict[str, Any]:
    return {"model": "qwen3.5-9b", "messages": [{"role": "user", "content": text}], **extra}


@pytest.fixture
def http(stub: ScriptedModelServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stub.base_url, timeout=5.0) as client:
        yield client


def sse_events(response: httpx.Response) -> list[str]:
    return [
        line[len("data: ") :] for line in response.text.splitlines() if line.startswith("data:")
    ]


def test_answers_in_order_then_500_when_the_script_is_exhausted(
    stub: ScriptedModelServer, http: httpx.Client
) -> None:
    stub.set_script([{"content": "first"}, {"content": "again", "repeat": 2}])
    answers = [http.post(CHAT, json=chat_body()).json() for _ in range(3)]
    assert [a["choices"][0]["message"]["content"] for a in answers] == ["first", "again", "again"]
    assert answers[0]["id"].startswith("chatcmpl-")
    assert answers[0]["object"] == "chat.completion"
    exhausted = http.post(CHAT, json=chat_body())
    assert exhausted.status_code == 500
    message = exhausted.json()["error"]["message"]
    assert message == "scripted model: no response left (received 4 requests)"


def test_tool_calls_are_sent_with_json_string_arguments(
    stub: ScriptedModelServer, http: httpx.Client
) -> None:
    stub.set_script([{"tool_calls": [{"name": "f", "arguments": {"a": 1}}]}])
    choice = http.post(CHAT, json=chat_body()).json()["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    [call] = choice["message"]["tool_calls"]
    assert call["id"].startswith("call_") and call["type"] == "function"
    assert call["function"] == {"name": "f", "arguments": '{"a": 1}'}
    assert choice["message"]["content"] is None


def test_xml_quirk_puts_the_call_in_content(stub: ScriptedModelServer, http: httpx.Client) -> None:
    stub.set_script(
        [
            {
                "content": "One moment.",
                "tool_calls": [{"name": "get_order", "arguments": {"order_id": "A-1", "n": 2}}],
                "quirks": {"xml_tool_calls": True},
            }
        ]
    )
    choice = http.post(CHAT, json=chat_body()).json()["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["tool_calls"] == []
    assert choice["message"]["content"] == (
        "One moment.\n\n<tool_call>\n<function=get_order>\n<parameter=order_id>\nA-1\n"
        "</parameter>\n<parameter=n>\n2\n</parameter>\n</function>\n</tool_call>"
    )


@pytest.mark.parametrize("where", ["reasoning", "reasoning_content"])
def test_reasoning_field_quirk(stub: ScriptedModelServer, http: httpx.Client, where: str) -> None:
    stub.set_script([{"content": "Hi", "reasoning": "hmm", "quirks": {"reasoning_as": where}}])
    message = http.post(CHAT, json=chat_body()).json()["choices"][0]["message"]
    assert message[where] == "hmm"
    assert message["content"] == "Hi"


def test_think_tags_quirk(stub: ScriptedModelServer, http: httpx.Client) -> None:
    stub.set_script(
        [{"content": "Hi", "reasoning": "hmm", "quirks": {"reasoning_as": "think_tags"}}]
    )
    message = http.post(CHAT, json=chat_body()).json()["choices"][0]["message"]
    assert message["content"] == "<think>\nhmm\n</think>\n\nHi"
    assert "reasoning" not in message


def test_error_quirk_with_retry_after(stub: ScriptedModelServer, http: httpx.Client) -> None:
    stub.set_script([{"quirks": {"status": 429, "retry_after": 2, "error_message": "slow down"}}])
    response = http.post(CHAT, json=chat_body())
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"
    assert response.json()["error"] == {
        "message": "slow down",
        "type": "RateLimitError",
        "param": None,
        "code": 429,
    }


def test_stream_ends_with_done_and_carries_usage(
    stub: ScriptedModelServer, http: httpx.Client
) -> None:
    stub.set_script([{"content": "two words", "reasoning": "r"}])
    body = chat_body(stream=True, stream_options={"include_usage": True})
    response = http.post(CHAT, json=body)
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse_events(response)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "two words"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == 3


def test_dropped_stream_has_no_done(stub: ScriptedModelServer, http: httpx.Client) -> None:
    stub.set_script([{"content": "a b c d e", "quirks": {"drop_stream_after": 2}}])
    events = sse_events(http.post(CHAT, json=chat_body(stream=True)))
    assert len(events) == 2
    assert "[DONE]" not in events


def test_cassette_hit_and_miss(stub: ScriptedModelServer, http: httpx.Client) -> None:
    cassette = Cassette()
    key = cassette.record(chat_body("hello"), ScriptedResponse(content="recorded answer"))
    stub.set_responder(cassette)
    hit = http.post(CHAT, json=chat_body("hello", temperature=0.3))
    assert hit.json()["choices"][0]["message"]["content"] == "recorded answer"
    miss = http.post(CHAT, json=chat_body("something else"))
    assert miss.status_code == 500
    assert request_key(chat_body("something else")) in miss.json()["error"]["message"]
    assert key != request_key(chat_body("something else"))


def test_request_key_ignores_tool_call_ids_and_argument_formatting() -> None:
    def conversation(call_id: str, arguments: str) -> dict[str, Any]:
        call = {
            "id": call_id,
            "type": "function",
            "function": {"name": "f", "arguments": arguments},
        }
        return {
            "model": "any",
            "messages": [
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "content": "ok", "tool_call_id": call_id},
            ],
        }

    first = conversation("call_abc", '{"a": 1, "b": 2}')
    assert request_key(first) == request_key(conversation("call_xyz", '{"b":2,"a":1}'))
    assert request_key(first) != request_key(conversation("call_abc", '{"a": 2, "b": 2}'))
    with_tools = {**first, "tools": [{"type": "function", "function": {"name": "f"}}]}
    assert request_key(first) != request_key(with_tools)


def test_requests_are_recorded_without_the_authorization_value(
    stub: ScriptedModelServer, http: httpx.Client
) -> None:
    stub.set_script([{"content": "ok"}])
    http.post(CHAT, json=chat_body("recorded"), headers={"Authorization": "Bearer sk-abc"})
    http.get("/health")
    [chat, health] = http.get("/_stub/requests").json()
    assert (chat["method"], chat["path"]) == ("POST", CHAT)
    assert chat["body"]["messages"][0]["content"] == "recorded"
    assert chat["headers"]["authorization"] == "Bearer <redacted>"
    assert health["path"] == "/health"
    assert stub.requests == [chat["body"]]
    assert http.delete("/_stub/requests").json() == {"cleared": 2}
    assert stub.recorded == []


def test_models_and_health(http: httpx.Client) -> None:
    models = http.get("/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["qwen3.5-9b"]
    assert http.get("/health").status_code == 200


def test_invalid_replayed_tool_arguments_get_400_like_vllm(
    stub: ScriptedModelServer, http: httpx.Client
) -> None:
    stub.set_script([{"content": "never"}])
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"a": "x'}}
    body = chat_body()
    body["messages"].append({"role": "assistant", "content": None, "tool_calls": [call]})
    response = http.post(CHAT, json=body)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "BadRequestError"
    assert "Unterminated string" in error["message"]


def test_argument_check_can_be_switched_off() -> None:
    call = {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{bad"}}
    body = chat_body()
    body["messages"].append({"role": "assistant", "content": None, "tool_calls": [call]})
    with ScriptedModelServer([{"content": "fine"}], check_tool_arguments=False) as server:
        response = httpx.post(server.base_url + CHAT, json=body, timeout=5)
    assert response.json()["choices"][0]["message"]["content"] == "fine"


def test_body_that_is_not_json_gets_400(http: httpx.Client) -> None:
    response = http.post(CHAT, content=b"{nope", headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert "not JSON" in response.json()["error"]["message"]


def test_put_script_replaces_the_responder(stub: ScriptedModelServer, http: httpx.Client) -> None:
    assert http.put("/_stub/script", json=[{"content": "from PUT"}]).json() == {"responses": 1}
    answer = http.post(CHAT, json=chat_body()).json()
    assert answer["choices"][0]["message"]["content"] == "from PUT"
    invalid = http.put("/_stub/script", json={"responses": [{"contnet": "typo"}]})
    assert invalid.status_code == 400
    assert "contnet" in invalid.json()["error"]["message"]


def test_responder_bug_is_a_readable_500(stub: ScriptedModelServer, http: httpx.Client) -> None:
    def broken(body: dict[str, Any]) -> ScriptedResponse:
        raise KeyError("tenant")

    stub.set_responder(broken)
    response = http.post(CHAT, json=chat_body())
    assert response.status_code == 500
    assert "responder failed: KeyError('tenant')" in response.json()["error"]["message"]


def test_default_latency_delays_answers() -> None:
    with ScriptedModelServer([{"content": "slow"}], default_latency_s=0.2) as server:
        response = httpx.post(server.base_url + CHAT, json=chat_body(), timeout=5)
    assert response.elapsed.total_seconds() >= 0.2


def test_stop_releases_the_port_and_the_thread() -> None:
    server = ScriptedModelServer([{"content": "x"}]).start()
    host, port = server.address
    thread = server._thread
    server.stop()
    assert thread is not None and not thread.is_alive()
    with pytest.raises(OSError), socket.create_connection((host, port), timeout=1):
        pass
    server.stop()  # idempotent


def test_script_counts_requests_and_raises_when_empty() -> None:
    script = Script([{"content": "only"}])
    assert script({}).content == "only"
    with pytest.raises(ResponderError, match=r"received 2 requests"):
        script({})
    assert script.remaining == 0


def test_load_script_from_yaml_and_json(tmp_path: Path) -> None:
    yaml_file = tmp_path / "script.yaml"
    yaml_file.write_text(
        "responses:\n  - content: hello\n    quirks: {status: 503}\n  - content: bye\n"
    )
    json_file = tmp_path / "script.json"
    json_file.write_text(json.dumps([{"tool_calls": [{"name": "f", "arguments": "{bad"}]}]))
    script = load_script(yaml_file)
    assert script.remaining == 2
    assert script({}).quirks.status == 503
    assert load_script(json_file)({}).tool_calls[0].arguments == "{bad"


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("responses: [ {content: 1", "not valid YAML"),
        ("- {content: hi, unknown_field: 1}", "invalid scripted response"),
        ("just a string", "expected a list"),
    ],
)
def test_bad_script_files_are_named_in_the_error(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScriptFileError, match=match) as caught:
        load_script(path)
    assert str(path) in str(caught.value)


def test_missing_script_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ScriptFileError, match="cannot read"):
        load_script(tmp_path / "absent.yaml")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_cassette_round_trip_through_a_file(tmp_path: Path, suffix: str) -> None:
    cassette = Cassette()
    cassette.record(chat_body("a"), ScriptedResponse(content="answer a"))
    path = tmp_path / f"cassette{suffix}"
    cassette.save(path)
    loaded = load_cassette(path)
    assert len(loaded) == 1
    assert loaded(chat_body("a")).content == "answer a"
    with pytest.raises(ResponderError, match="no cassette entry"):
        loaded(chat_body("b"))
