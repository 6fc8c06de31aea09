"""Sticky routing: each model request carries a digest of its conversation key in a header,
over real HTTP to the scripted model server (the proxy in deploy/proxy/ hashes on it)."""

import pytest

from agent.config.settings import Settings
from agent.errors import ConfigError
from agent.llm.config import LLMConfig
from agent.llm.routing import routing_value
from agent.llm.stub import Quirks, ScriptedModelServer, ScriptedResponse
from agent.llm.types import ChatMessage, ChatOptions
from tests.unit.llm.conftest import MakeClient

HELLO = [ChatMessage(role="user", content="hello")]


def routing_headers(stub: ScriptedModelServer, name: str = "x-session-id") -> list[str | None]:
    return [
        entry.headers.get(name) for entry in stub.recorded if entry.path == "/v1/chat/completions"
    ]


async def test_one_conversation_sends_one_opaque_value(
    stub: ScriptedModelServer, make_client: MakeClient
) -> None:
    stub.set_script([ScriptedResponse(content="ok", repeat=3)])
    client = make_client()
    for key in ("acme:zendesk:123", "acme:zendesk:123", "acme:zendesk:124"):
        await client.chat(HELLO, options=ChatOptions(routing_key=key))

    first, again, other = routing_headers(stub)
    assert first == again == routing_value("acme:zendesk:123")
    assert other == routing_value("acme:zendesk:124") != first
    assert first is not None and len(first) == 32 and "acme" not in first
    assert "routing_key" not in stub.requests[0]  # a header, never part of the body


async def test_retries_keep_the_header(stub: ScriptedModelServer, make_client: MakeClient) -> None:
    stub.set_script([ScriptedResponse(quirks=Quirks(status=503)), ScriptedResponse(content="ok")])
    client = make_client()
    await client.chat(HELLO, options=ChatOptions(routing_key="acme:zendesk:9"))

    assert routing_headers(stub) == [routing_value("acme:zendesk:9")] * 2


async def test_streamed_requests_carry_it_too(
    stub: ScriptedModelServer, make_client: MakeClient
) -> None:
    stub.set_script([ScriptedResponse(content="streamed")])
    client = make_client(stream=True)
    result = await client.chat(HELLO, options=ChatOptions(routing_key="acme:chatwoot:7"))

    assert result.content == "streamed"
    assert routing_headers(stub) == [routing_value("acme:chatwoot:7")]


async def test_header_name_is_configurable_and_can_be_off(
    stub: ScriptedModelServer, make_client: MakeClient
) -> None:
    stub.set_script([ScriptedResponse(content="ok", repeat=3)])
    options = ChatOptions(routing_key="acme:front:1")
    await make_client(routing_header="x-conversation-id").chat(HELLO, options=options)
    await make_client(routing_header=None).chat(HELLO, options=options)
    await make_client().chat(HELLO)  # no conversation: no header

    assert routing_headers(stub, "x-conversation-id") == [routing_value("acme:front:1"), None, None]
    assert routing_headers(stub) == [None, None, None]


def test_settings_choose_the_header() -> None:
    base = {"llm_base_url": "http://127.0.0.1:8000"}
    assert LLMConfig.from_settings(Settings(**base)).routing_header == "X-Session-Id"
    off = Settings(**base, llm_routing_header="")
    assert LLMConfig.from_settings(off).routing_header is None
    with pytest.raises(ConfigError, match="DESKHAND_LLM_ROUTING_HEADER"):
        LLMConfig.from_settings(Settings(**base, llm_routing_header="X Session"))
