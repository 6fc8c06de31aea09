"""The scripted model server: an OpenAI-compatible HTTP app answering from a responder.

Endpoints: ``POST /v1/chat/completions`` (plain and streamed), ``GET /v1/models``,
``GET /health``; for tests and operators ``GET``/``DELETE /_stub/requests`` (the recorded
requests) and ``PUT /_stub/script`` (replace the responder with a Script).
``ScriptedModelServer`` runs the app on a free local port in a background thread.
"""

import asyncio
import json
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent.background_server import BackgroundServer
from agent.llm.stub.render import (
    Envelope,
    completion_body,
    new_completion_id,
    stream_chunks,
    word_usage,
)
from agent.llm.stub.script import Responder, ResponderError, Script, ScriptedResponse

_ERROR_TYPES = {
    400: "BadRequestError",
    401: "AuthenticationError",
    404: "NotFoundError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}
_DEFAULT_ERROR_MESSAGES = {
    429: "Too many requests",
    503: "The server is overloaded: the request queue is full",
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stub received it (the Authorization value is never kept)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class StubState:
    """The mutable side of the app: responder, recorded requests. Shared with the test thread."""

    def __init__(
        self,
        responder: Responder,
        model_name: str,
        default_latency_s: float,
        check_tool_arguments: bool,
        api_key: str | None,
    ) -> None:
        self.responder = responder
        self.model_name = model_name
        self.default_latency_s = default_latency_s
        self.check_tool_arguments = check_tool_arguments
        self.api_key = api_key
        self._records: list[RecordedRequest] = []
        self._lock = threading.Lock()

    def record(self, request: Request, body: Any) -> None:
        headers = {key.lower(): value for key, value in request.headers.items()}
        if "authorization" in headers:
            scheme = headers["authorization"].split(" ", 1)[0]
            headers["authorization"] = f"{scheme} <redacted>"
        entry = RecordedRequest(request.method, request.url.path, headers, body)
        with self._lock:
            self._records.append(entry)

    def records(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def clear(self) -> int:
        with self._lock:
            count = len(self._records)
            self._records.clear()
            return count


def create_stub_app(
    responder: Responder,
    model_name: str = "qwen3.5-9b",
    default_latency_s: float = 0.0,
    check_tool_arguments: bool = True,
    api_key: str | None = None,
) -> Starlette:
    """The app. ``api_key`` set: requests need ``Authorization: Bearer <api_key>`` (as vLLM's
    ``--api-key``). ``check_tool_arguments``: reject replayed tool-call arguments that are not
    a JSON object string with 400, as vLLM does (vLLM #47761)."""
    app = Starlette(
        routes=[
            Route("/v1/chat/completions", _chat_completions, methods=["POST"]),
            Route("/v1/models", _models, methods=["GET"]),
            Route("/health", _health, methods=["GET"]),
            Route("/_stub/requests", _list_requests, methods=["GET"]),
            Route("/_stub/requests", _clear_requests, methods=["DELETE"]),
            Route("/_stub/script", _put_script, methods=["PUT"]),
        ]
    )
    app.state.stub = StubState(
        responder, model_name, default_latency_s, check_tool_arguments, api_key
    )
    return app


def error_response(status: int, message: str, retry_after_s: float | None = None) -> JSONResponse:
    """An OpenAI-style error body, as vLLM sends it."""
    body = {
        "error": {
            "message": message,
            "type": _ERROR_TYPES.get(status, "APIError"),
            "param": None,
            "code": status,
        }
    }
    headers = {"Retry-After": f"{retry_after_s:g}"} if retry_after_s is not None else None
    return JSONResponse(body, status_code=status, headers=headers)


def invalid_tool_arguments(body: dict[str, Any]) -> str | None:
    """vLLM ``json.loads``-es every replayed ``tool_calls[].function.arguments``."""
    for message in body.get("messages") or []:
        if not isinstance(message, dict) or message.get("role") != "assistant":
            continue
        for call in message.get("tool_calls") or []:
            function = call.get("function") if isinstance(call, dict) else None
            arguments = function.get("arguments") if isinstance(function, dict) else None
            if not isinstance(arguments, str):
                return "tool_calls[].function.arguments must be a JSON string"
            try:
                decoded = json.loads(arguments)
            except ValueError as error:
                return str(error)
            if not isinstance(decoded, dict):
                return "tool_calls[].function.arguments must encode a JSON object"
    return None


def _state(request: Request) -> StubState:
    state: StubState = request.app.state.stub
    return state


async def _chat_completions(request: Request) -> Response:
    state = _state(request)
    raw = await request.body()
    try:
        body = json.loads(raw)
    except ValueError as error:
        state.record(request, raw.decode("utf-8", "replace"))
        return error_response(400, f"request body is not JSON: {error}")
    state.record(request, body)
    refusal = _refusal(state, request, body)
    if refusal is not None:
        return refusal
    try:
        response = state.responder(body)
    except ResponderError as error:
        return error_response(500, str(error))
    except Exception as error:  # a responder bug must reach the test as a readable 500
        return error_response(500, f"scripted model: responder failed: {error!r}")
    return await _answer(state, body, response)


def _refusal(state: StubState, request: Request, body: Any) -> Response | None:
    expected = f"Bearer {state.api_key}"
    if state.api_key and request.headers.get("authorization") != expected:
        return error_response(401, "Unauthorized")
    if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
        return error_response(400, "'messages' is required and must be a list")
    problem = invalid_tool_arguments(body) if state.check_tool_arguments else None
    return error_response(400, problem) if problem else None


async def _answer(state: StubState, body: dict[str, Any], response: ScriptedResponse) -> Response:
    quirks = response.quirks
    latency = quirks.latency_s if quirks.latency_s is not None else state.default_latency_s
    if latency:
        await asyncio.sleep(latency)
    if quirks.status is not None:
        message = quirks.error_message or _DEFAULT_ERROR_MESSAGES.get(quirks.status, "error")
        return error_response(quirks.status, message, quirks.retry_after)
    model = str(body.get("model") or state.model_name)
    envelope = Envelope(new_completion_id(), int(time.time()), model)
    usage = word_usage(body, response)
    if body.get("stream"):
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        chunks = stream_chunks(response, envelope, usage if include_usage else None)
        return StreamingResponse(_events(chunks, response), media_type="text/event-stream")
    if quirks.first_token_delay_s:
        await asyncio.sleep(quirks.first_token_delay_s)
    return JSONResponse(completion_body(response, envelope, usage))


async def _events(
    chunks: Sequence[dict[str, Any]], response: ScriptedResponse
) -> AsyncIterator[str]:
    quirks = response.quirks
    if quirks.first_token_delay_s:
        await asyncio.sleep(quirks.first_token_delay_s)
    limit = quirks.drop_stream_after
    for sent, chunk in enumerate(chunks):
        if limit is not None and sent >= limit:
            return  # the connection ends without [DONE]
        yield f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"


async def _models(request: Request) -> Response:
    state = _state(request)
    state.record(request, None)
    model = {"id": state.model_name, "object": "model", "created": 0, "owned_by": "deskhand"}
    return JSONResponse({"object": "list", "data": [model]})


async def _health(request: Request) -> Response:
    _state(request).record(request, None)
    return Response(status_code=200)


async def _list_requests(request: Request) -> Response:
    return JSONResponse([asdict(entry) for entry in _state(request).records()])


async def _clear_requests(request: Request) -> Response:
    return JSONResponse({"cleared": _state(request).clear()})


async def _put_script(request: Request) -> Response:
    try:
        data = json.loads(await request.body())
        items = data.get("responses") if isinstance(data, dict) else data
        if not isinstance(items, list):
            return error_response(400, "expected a list of responses or {'responses': [...]}")
        script = Script(items)
    except (ValueError, ValidationError) as error:
        return error_response(400, f"invalid script: {error}")
    _state(request).responder = script
    return JSONResponse({"responses": script.remaining})


class ScriptedModelServer(BackgroundServer):
    """Runs the stub on ``127.0.0.1:<free port>`` in a background thread (real HTTP).

    Use as a context manager from sync or async tests::

        with ScriptedModelServer([ScriptedResponse(content="Hi")]) as server:
            client = ChatClient(LLMConfig(base_url=server.base_url))
    """

    def __init__(
        self,
        responder: Responder | Sequence[ScriptedResponse | dict[str, Any]] = (),
        *,
        model_name: str = "qwen3.5-9b",
        default_latency_s: float = 0.0,
        check_tool_arguments: bool = True,
        api_key: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout_s: float = 10.0,
    ) -> None:
        app = create_stub_app(
            _as_responder(responder), model_name, default_latency_s, check_tool_arguments, api_key
        )
        super().__init__(
            app, host=host, port=port, startup_timeout_s=startup_timeout_s, name="scripted-model"
        )
        self._state: StubState = app.state.stub

    @property
    def recorded(self) -> list[RecordedRequest]:
        """Every request received, in order (chat, models, health)."""
        return self._state.records()

    @property
    def requests(self) -> list[dict[str, Any]]:
        """The JSON bodies of the chat-completion requests received, in order."""
        return [
            entry.body
            for entry in self._state.records()
            if entry.path == "/v1/chat/completions" and isinstance(entry.body, dict)
        ]

    def clear_requests(self) -> None:
        self._state.clear()

    def set_responder(self, responder: Responder) -> None:
        self._state.responder = responder

    def set_script(self, responses: Sequence[ScriptedResponse | dict[str, Any]]) -> Script:
        script = Script(responses)
        self._state.responder = script
        return script


def _as_responder(value: Responder | Sequence[ScriptedResponse | dict[str, Any]]) -> Responder:
    if callable(value):
        return value
    return Script(value)
