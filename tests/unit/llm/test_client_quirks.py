"""ChatClient against a real scripted model server over HTTP: vLLM/Qwen3.5 quirks."""

import json

import httpx
import pytest

from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.errors import (
    CircuitOpen,
    ModelRequestRejected,
    ModelResponseInvalid,
    ModelUnavailable,
    ToolArgumentsInvalid,
)
from agent.llm.stub import ScriptedModelServer, ScriptedResponse
from agent.llm.tooling import chat_with_valid_tool_calls, json_schema_validator
from agent.llm.types import ChatMessage, ChatOptions, ToolSpec

ORDER_TOOL = ToolSpec(
    name="get_order",
    description="Look up one of the customer's orders.",
    parameters={
        "type": "object",
        "properties": {"order_id": {"type": "string"}, "verbose": {"type": "boolean"}},
        "required": ["order_id"],
        "additionalProperties": False,
    },
)
USER = [ChatMessage(role="user", content="Where is my order A-1001?")]
GOOD_CALL = {"name": "get_order", "arguments": {"order_id": "A-1001"}}


def respond(**fields: object) -> ScriptedResponse:
    return ScriptedResponse.model_validate(fields)


def unavailable(status: int = 503, **quirks: object) -> ScriptedResponse:
    return respond(quirks={"status": status, **quirks})


# --- answers ----------------------------------------------------------------------------


async def test_plain_answer(stub: ScriptedModelServer, make_client) -> None:
    stub.set_script([respond(content="It shipped yesterday.")])
    result = await make_client().chat(USER)
    assert result.content == "It shipped yesterday."
    assert result.tool_calls == ()
    assert result.finish_reason == "stop"
    assert result.model == "qwen3.5-9b"
    assert result.attempts == 1
    assert result.usage.prompt_tokens > 0 and result.usage.completion_tokens == 3
    [body] = stub.requests
    assert body["model"] == "qwen3.5-9b"
    assert body["messages"] == [{"role": "user", "content": "Where is my order A-1001?"}]
    assert "tools" not in body and "stream" not in body


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("where", ["reasoning", "reasoning_content", "think_tags"])
async def test_reasoning_never_lands_in_content(
    stub: ScriptedModelServer, make_client, where: str, stream: bool
) -> None:
    stub.set_script(
        [respond(content="Hello!", reasoning="Greet back.", quirks={"reasoning_as": where})]
    )
    result = await make_client(stream=stream).chat(USER)
    assert result.content == "Hello!"
    assert result.reasoning == "Greet back."
    assert "think" not in result.content


async def test_xml_tool_call_in_content_is_recovered(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script(
        [
            respond(
                content="Let me look that up.",
                tool_calls=[{"name": "get_order", "arguments": {"order_id": "1001"}}],
                quirks={"xml_tool_calls": True},
            )
        ]
    )
    result = await make_client().chat(USER, [ORDER_TOOL])
    assert result.tool_calls_recovered_from_content
    [call] = result.tool_calls
    # typed by the schema: "1001" stays a string although it looks like a number
    assert (call.name, call.arguments) == ("get_order", {"order_id": "1001"})
    assert result.content == "Let me look that up."
    assert stub.recorded[-1].body["tool_choice"] == "auto"


async def test_structured_tool_call_is_not_flagged_as_recovered(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script([respond(tool_calls=[GOOD_CALL])])
    result = await make_client().chat(USER, [ORDER_TOOL])
    assert [c.arguments for c in result.tool_calls] == [{"order_id": "A-1001"}]
    assert result.finish_reason == "tool_calls"
    assert not result.tool_calls_recovered_from_content


async def test_finish_reason_tool_calls_without_calls_keeps_the_content(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script([respond(content="Anything else?", quirks={"empty_tool_calls_finish": True})])
    result = await make_client().chat(USER, [ORDER_TOOL])
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls == ()
    assert result.content == "Anything else?"


# --- thinking switch ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tools", "enable_thinking", "expected"),
    [
        ([ORDER_TOOL], None, {"enable_thinking": False}),
        ([ORDER_TOOL], True, {"enable_thinking": True}),
        ([], None, None),
        ([], False, {"enable_thinking": False}),
    ],
    ids=["tools-default-off", "tools-explicit-on", "no-tools-omitted", "no-tools-explicit"],
)
async def test_enable_thinking_choice(
    stub: ScriptedModelServer, make_client, tools, enable_thinking, expected
) -> None:
    stub.set_script([respond(content="ok")])
    await make_client().chat(USER, tools, ChatOptions(enable_thinking=enable_thinking))
    [body] = stub.requests
    assert body.get("chat_template_kwargs") == expected


async def test_sampling_options_and_model_override_are_sent(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script([respond(content="ok")])
    options = ChatOptions(temperature=0.7, top_p=0.8, top_k=20, max_tokens=64, model="tenant-a")
    result = await make_client().chat(USER, options=options)
    [body] = stub.requests
    assert {k: body[k] for k in ("temperature", "top_p", "top_k", "max_tokens", "model")} == {
        "temperature": 0.7,
        "top_p": 0.8,
        "top_k": 20,
        "max_tokens": 64,
        "model": "tenant-a",
    }
    assert "presence_penalty" not in body
    assert result.model == "tenant-a"


# --- streaming ------------------------------------------------------------------------------


async def test_streaming_assembles_content_reasoning_and_tool_calls(
    stub: ScriptedModelServer, make_client
) -> None:
    calls = [GOOD_CALL, {"name": "get_order", "arguments": {"order_id": "B-2", "verbose": True}}]
    stub.set_script(
        [respond(content="Checking both orders now.", reasoning="Two orders.", tool_calls=calls)]
    )
    result = await make_client(stream=True).chat(USER, [ORDER_TOOL])
    assert result.content == "Checking both orders now."
    assert result.reasoning == "Two orders."
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("get_order", {"order_id": "A-1001"}),
        ("get_order", {"order_id": "B-2", "verbose": True}),
    ]
    assert all(c.id.startswith("call_") for c in result.tool_calls)
    assert result.finish_reason == "tool_calls"
    assert result.usage.completion_tokens > 0
    [body] = stub.requests
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}


async def test_streamed_xml_tool_call_is_recovered(stub: ScriptedModelServer, make_client) -> None:
    stub.set_script([respond(tool_calls=[GOOD_CALL], quirks={"xml_tool_calls": True})])
    result = await make_client(stream=True).chat(USER, [ORDER_TOOL])
    assert result.tool_calls_recovered_from_content
    assert [c.arguments for c in result.tool_calls] == [{"order_id": "A-1001"}]
    assert result.content == ""


# --- retries --------------------------------------------------------------------------------


async def test_503_then_success_is_retried(stub: ScriptedModelServer, make_client, sleeps) -> None:
    stub.set_script([unavailable(503), respond(content="Back.")])
    result = await make_client().chat(USER)
    assert result.content == "Back."
    assert result.attempts == 2
    assert len(stub.requests) == 2
    [delay] = sleeps.delays
    assert 0.0 <= delay <= 0.01  # full jitter within base * 2**0


async def test_retry_after_is_honoured_and_capped(
    stub: ScriptedModelServer, make_client, sleeps
) -> None:
    stub.set_script(
        [
            unavailable(429, retry_after=3),
            unavailable(429, retry_after=120),
            respond(content="ok"),
        ]
    )
    result = await make_client(backoff_max_s=5.0).chat(USER)
    assert result.attempts == 3
    assert sleeps.delays == [3.0, 5.0]


async def test_backoff_grows_exponentially_within_its_cap(
    stub: ScriptedModelServer, make_client, sleeps
) -> None:
    stub.set_script([unavailable(502)] * 4 + [respond(content="ok")])
    await make_client(max_retries=4, backoff_base_s=1.0, backoff_max_s=3.0).chat(USER)
    ceilings = [1.0, 2.0, 3.0, 3.0]
    assert len(sleeps.delays) == 4
    assert all(0 <= d <= c for d, c in zip(sleeps.delays, ceilings, strict=True))


async def test_unavailable_after_the_last_retry(
    stub: ScriptedModelServer, make_client, sleeps
) -> None:
    stub.set_script([unavailable(503, error_message="queue full")] * 3)
    with pytest.raises(ModelUnavailable, match=r"after 3 attempt\(s\): HTTP 503: queue full"):
        await make_client().chat(USER)
    assert len(stub.requests) == 3
    assert len(sleeps.delays) == 2


async def test_dropped_stream_is_retried(stub: ScriptedModelServer, make_client) -> None:
    stub.set_script(
        [
            respond(content="one two three four five", quirks={"drop_stream_after": 3}),
            respond(content="complete answer"),
        ]
    )
    result = await make_client(stream=True).chat(USER)
    assert result.content == "complete answer"
    assert result.attempts == 2


async def test_stream_that_always_drops_is_unavailable(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script([respond(content="a b c", quirks={"drop_stream_after": 2}, repeat=2)])
    with pytest.raises(ModelUnavailable, match="without a finish reason"):
        await make_client(stream=True, max_retries=1).chat(USER)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
async def test_slow_first_token_times_out_and_is_retried(
    stub: ScriptedModelServer, make_client, stream: bool
) -> None:
    stub.set_script(
        [respond(content="late", quirks={"first_token_delay_s": 0.6}), respond(content="fast")]
    )
    result = await make_client(stream=stream, timeout_s=0.15, connect_timeout_s=0.1).chat(USER)
    assert result.content == "fast"
    assert result.attempts == 2


async def test_always_slow_ends_in_model_unavailable(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script([respond(content="late", quirks={"first_token_delay_s": 0.6})] * 2)
    client = make_client(stream=True, timeout_s=0.1, max_retries=1)
    with pytest.raises(ModelUnavailable, match="timed out"):
        await client.chat(USER)


async def test_connection_refused_is_unavailable(make_client, closed_port_url, sleeps) -> None:
    client = make_client(base_url=closed_port_url)
    with pytest.raises(ModelUnavailable, match=r"after 3 attempt\(s\): ConnectError"):
        await client.chat(USER)
    assert len(sleeps.delays) == 2


async def test_400_is_rejected_without_retry(
    stub: ScriptedModelServer, make_client, sleeps
) -> None:
    stub.set_script([respond(quirks={"status": 400, "error_message": "prompt too long"})])
    client = make_client()
    with pytest.raises(ModelRequestRejected, match="prompt too long") as caught:
        await client.chat(USER)
    assert caught.value.status_code == 400
    assert len(stub.requests) == 1
    assert sleeps.delays == []
    assert client.circuit.consecutive_failures == 0


# --- circuit --------------------------------------------------------------------------------


async def test_circuit_opens_and_then_no_request_reaches_the_server(
    stub: ScriptedModelServer, make_client, clock
) -> None:
    stub.set_script([unavailable(503)] * 2 + [respond(content="recovered")])
    client = make_client(max_retries=0, circuit_failures=2, circuit_reset_s=30.0)
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            await client.chat(USER)
    assert client.circuit.state == "open"
    with pytest.raises(CircuitOpen):
        await client.chat(USER)
    assert len(stub.requests) == 2

    clock.advance(30.0)
    assert client.circuit.state == "half_open"
    result = await client.chat(USER)
    assert result.content == "recovered"
    assert client.circuit.state == "closed"


async def test_a_rejected_request_does_not_count_against_the_circuit(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script([unavailable(503), respond(quirks={"status": 422}), unavailable(503)])
    client = make_client(max_retries=0, circuit_failures=2)
    with pytest.raises(ModelUnavailable):
        await client.chat(USER)
    with pytest.raises(ModelRequestRejected):
        await client.chat(USER)
    with pytest.raises(ModelUnavailable):
        await client.chat(USER)
    assert client.circuit.state == "closed"


# --- history replay -------------------------------------------------------------------------


async def test_recovered_call_replays_as_json_string_arguments(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script(
        [
            respond(tool_calls=[GOOD_CALL], quirks={"xml_tool_calls": True}),
            respond(content="Your order A-1001 shipped."),
        ]
    )
    client = make_client()
    first = await client.chat(USER, [ORDER_TOOL])
    history = [
        *USER,
        first.as_message(),
        ChatMessage(
            role="tool", content='{"status": "shipped"}', tool_call_id=first.tool_calls[0].id
        ),
    ]
    second = await client.chat(history, [ORDER_TOOL])
    assert second.content == "Your order A-1001 shipped."
    replayed = stub.requests[1]["messages"][1]["tool_calls"][0]
    assert isinstance(replayed["function"]["arguments"], str)
    assert json.loads(replayed["function"]["arguments"]) == {"order_id": "A-1001"}
    assert stub.requests[1]["messages"][2]["tool_call_id"] == replayed["id"]


async def test_invalid_json_arguments_still_replay_as_valid_json(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script(
        [
            respond(tool_calls=[{"name": "get_order", "arguments": '{"order_id": "A-1'}]),
            respond(content="ok"),
        ]
    )
    client = make_client()
    first = await client.chat(USER, [ORDER_TOOL])
    [call] = first.tool_calls
    assert call.raw_arguments == '{"order_id": "A-1'
    second = await client.chat([*USER, first.as_message()], [ORDER_TOOL])
    assert second.content == "ok"  # the stub would answer 400 to invalid JSON arguments
    arguments = stub.requests[1]["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert isinstance(json.loads(arguments), dict)


# --- corrective re-prompt ------------------------------------------------------------------


async def test_invalid_arguments_are_corrected_by_one_reprompt(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script(
        [
            respond(tool_calls=[{"name": "get_order", "arguments": {"order": "A-1001"}}]),
            respond(tool_calls=[GOOD_CALL]),
        ]
    )
    validate = json_schema_validator([ORDER_TOOL])
    result, extra = await chat_with_valid_tool_calls(make_client(), USER, [ORDER_TOOL], validate)
    assert [c.arguments for c in result.tool_calls] == [{"order_id": "A-1001"}]
    assert len(stub.requests) == 2
    assert [m.role for m in extra] == ["assistant", "tool"]
    correction = stub.requests[1]["messages"][-1]
    assert correction["role"] == "tool"
    assert "missing required argument 'order_id'" in correction["content"]
    assert "unexpected argument 'order'" in correction["content"]
    assert correction["tool_call_id"] == stub.requests[1]["messages"][-2]["tool_calls"][0]["id"]


async def test_arguments_invalid_twice_raise(stub: ScriptedModelServer, make_client) -> None:
    bad = respond(tool_calls=[{"name": "get_order", "arguments": "not json"}])
    stub.set_script([bad, bad])
    validate = json_schema_validator([ORDER_TOOL])
    with pytest.raises(ToolArgumentsInvalid, match="not a valid JSON object") as caught:
        await chat_with_valid_tool_calls(make_client(), USER, [ORDER_TOOL], validate)
    assert len(stub.requests) == 2
    assert len(caught.value.errors) == 1


async def test_unknown_tool_is_rejected_even_if_the_validator_accepts(
    stub: ScriptedModelServer, make_client
) -> None:
    stub.set_script(
        [
            respond(tool_calls=[{"name": "delete_everything", "arguments": {}}]),
            respond(content="ok"),
        ]
    )
    result, extra = await chat_with_valid_tool_calls(
        make_client(), USER, [ORDER_TOOL], lambda call: None
    )
    assert result.content == "ok"
    assert "no tool named 'delete_everything'" in (extra[1].content or "")


# --- endpoint, auth, config -----------------------------------------------------------------


async def test_api_key_is_sent_as_bearer_and_not_recorded(sleeps) -> None:
    with ScriptedModelServer([respond(content="ok")], api_key="sk-secret") as server:
        config = LLMConfig(base_url=server.base_url, api_key="sk-secret", max_retries=0)
        async with ChatClient(config, sleep=sleeps) as client:
            result = await client.chat(USER)
        assert result.content == "ok"
        assert server.recorded[0].headers["authorization"] == "Bearer <redacted>"
        assert "sk-secret" not in repr(config)


async def test_wrong_api_key_is_rejected(sleeps) -> None:
    with ScriptedModelServer([respond(content="ok")], api_key="sk-right") as server:
        config = LLMConfig(base_url=server.base_url, api_key="sk-wrong")
        async with ChatClient(config, sleep=sleeps) as client:
            with pytest.raises(ModelRequestRejected) as caught:
                await client.chat(USER)
    assert caught.value.status_code == 401
    assert "sk-wrong" not in str(caught.value)


async def test_list_models(stub: ScriptedModelServer, make_client) -> None:
    assert await make_client().list_models() == ["qwen3.5-9b"]
    assert stub.recorded[-1].path == "/v1/models"


async def test_list_models_unreachable(make_client, closed_port_url) -> None:
    with pytest.raises(ModelUnavailable, match="ConnectError"):
        await make_client(base_url=closed_port_url).list_models()


@pytest.mark.parametrize(
    "url", ["http://h:8000", "http://h:8000/", "http://h:8000/v1", "http://h:8000/v1/"]
)
def test_base_url_is_normalised_to_the_root(url: str) -> None:
    assert LLMConfig(base_url=url).url("/v1/models") == "http://h:8000/v1/models"


async def test_tool_call_written_inside_reasoning_is_recovered(
    stub: ScriptedModelServer, make_client
) -> None:
    # vLLM #39056: the call lands in the reasoning field and tool_calls stays empty
    reasoning = (
        "I need the order.\n<tool_call>\n<function=get_order>\n<parameter=order_id>\nA-1001\n"
        "</parameter>\n</function>\n</tool_call>"
    )
    stub.set_script([respond(reasoning=reasoning)])
    result = await make_client().chat(USER, [ORDER_TOOL], ChatOptions(enable_thinking=True))
    assert [(c.name, c.arguments) for c in result.tool_calls] == [
        ("get_order", {"order_id": "A-1001"})
    ]
    assert result.tool_calls_recovered_from_content
    assert result.reasoning == "I need the order."


def test_config_from_settings_keeps_the_key_out_of_repr() -> None:
    from agent.config.settings import Settings

    settings = Settings(
        _env_file=None, llm_base_url="http://vllm:8000/v1", llm_api_key="sk-x", llm_stream=True
    )
    config = LLMConfig.from_settings(settings)
    assert (config.base_url, config.api_key, config.stream) == ("http://vllm:8000", "sk-x", True)
    assert "sk-x" not in repr(config)


# --- transport-level oddities (no server needed) --------------------------------------------


def mock_client(handler, sleeps, **overrides) -> ChatClient:
    config = LLMConfig(base_url="http://model.test", max_retries=1, **overrides)
    return ChatClient(config, sleep=sleeps, transport=httpx.MockTransport(handler))


async def test_a_2xx_body_that_is_not_a_completion_is_invalid(sleeps) -> None:
    async with mock_client(lambda request: httpx.Response(200, text="<html>"), sleeps) as client:
        with pytest.raises(ModelResponseInvalid, match="not JSON"):
            await client.chat(USER)
        assert client.circuit.state == "closed"
        assert sleeps.delays == []


async def test_stream_request_answered_with_plain_json_is_accepted(sleeps) -> None:
    completion = {
        "model": "m",
        "choices": [{"message": {"content": "whole"}, "finish_reason": "stop"}],
    }
    handler = lambda request: httpx.Response(200, json=completion)  # noqa: E731
    async with mock_client(handler, sleeps, stream=True) as client:
        result = await client.chat(USER)
    assert result.content == "whole"


async def test_error_event_inside_a_stream_is_retried(sleeps) -> None:
    bodies = iter(
        [
            'data: {"error": {"message": "engine died"}}\n\n',
            'data: {"choices": [{"delta": {"content": "ok"}, "finish_reason": "stop"}]}\n\n'
            "data: [DONE]\n\n",
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "text/event-stream"}
        return httpx.Response(200, text=next(bodies), headers=headers)

    async with mock_client(handler, sleeps, stream=True) as client:
        result = await client.chat(USER)
    assert (result.content, result.attempts) == ("ok", 2)
