"""The async client of an OpenAI-compatible chat endpoint (vLLM serving Qwen3.5 in production).

One ``chat()`` call = the circuit check, up to ``max_retries + 1`` HTTP attempts with jittered
backoff, then the Qwen clean-up of the answer (see ``completion.to_chat_result``).
"""

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self

import httpx

from agent.llm.circuit import CircuitBreaker
from agent.llm.completion import RawCompletion, completion_from_json, to_chat_result
from agent.llm.config import LLMConfig
from agent.llm.errors import (
    ModelRequestRejected,
    ModelResponseInvalid,
    ModelUnavailable,
)
from agent.llm.request import build_request_body
from agent.llm.retry import (
    RETRYABLE_STATUS,
    RetryPolicy,
    TransientFailure,
    error_text,
    parse_retry_after,
)
from agent.llm.routing import routing_value
from agent.llm.stream import StreamAssembler
from agent.llm.types import ChatMessage, ChatOptions, ChatResult, ToolSpec
from agent.metrics import MODEL_SECONDS
from tools.tls import default_tls_context

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"

Sleep = Callable[[float], Awaitable[None]]

logger = logging.getLogger(__name__)


class ChatClient:
    """Talks to ``{config.base_url}/v1/...``; use ``async with`` or call ``aclose()``.

    ``sleep``, ``rng`` and ``circuit`` are injectable so tests run without waiting;
    ``transport`` lets a test swap the HTTP layer. ``circuit.state`` feeds readiness.
    """

    def __init__(
        self,
        config: LLMConfig,
        *,
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        circuit: CircuitBreaker | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.circuit = circuit or CircuitBreaker(config.circuit_failures, config.circuit_reset_s)
        self._policy = RetryPolicy(config.max_retries, config.backoff_base_s, config.backoff_max_s)
        self._sleep = sleep
        self._rng = rng or random.Random()
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self._http = httpx.AsyncClient(
            base_url=config.base_url,
            headers=headers,
            timeout=httpx.Timeout(config.timeout_s, connect=config.connect_timeout_s),
            transport=transport,
            verify=default_tls_context(),
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def chat(
        self,
        messages: Sequence[ChatMessage],
        tools: Sequence[ToolSpec] = (),
        options: ChatOptions = ChatOptions(),  # noqa: B008 - frozen dataclass, safe default
    ) -> ChatResult:
        """One completion. Raises CircuitOpen, ModelUnavailable, ModelRequestRejected or
        ModelResponseInvalid; an answer that reached us always closes the circuit."""
        self.circuit.before_call()
        body = build_request_body(
            messages, tools, options, default_model=self.config.model, stream=self.config.stream
        )
        headers = self._routing_headers(options.routing_key)
        started = time.perf_counter()
        try:
            raw, attempts = await self._with_retries(body, headers)
        except ModelUnavailable:
            self.circuit.record_failure()
            _observe(started, "unavailable")
            raise
        except (ModelRequestRejected, ModelResponseInvalid) as error:
            self.circuit.record_success()  # the endpoint is up; the request or answer is bad
            _observe(started, "rejected" if isinstance(error, ModelRequestRejected) else "invalid")
            raise
        except BaseException:
            self.circuit.release()
            raise
        self.circuit.record_success()
        if not raw.model:
            raw.model = str(body["model"])
        latency = _observe(started, "ok")
        return to_chat_result(raw, tools, latency_s=latency, attempts=attempts)

    async def list_models(self, timeout_s: float | None = None) -> list[str]:
        """The served model names (``GET /v1/models``); the readiness probe of vLLM."""
        deadline = timeout_s or self.config.connect_timeout_s + self.config.timeout_s
        try:
            async with asyncio.timeout(deadline):
                response = await self._http.get(MODELS_PATH)
        except (httpx.HTTPError, TimeoutError) as error:
            raise ModelUnavailable(f"GET {MODELS_PATH} failed: {_describe(error)}") from None
        if response.status_code in RETRYABLE_STATUS or response.status_code >= 500:
            raise ModelUnavailable(f"GET {MODELS_PATH} answered {response.status_code}")
        if response.status_code >= 400:
            raise ModelRequestRejected(response.status_code, error_text(response.content))
        return _model_ids(response)

    def _routing_headers(self, routing_key: str | None) -> dict[str, str]:
        """The sticky-routing header (``deploy/k8s/proxy/``), when configured and keyed."""
        if self.config.routing_header is None or not routing_key:
            return {}
        return {self.config.routing_header: routing_value(routing_key)}

    async def _with_retries(
        self, body: dict[str, Any], headers: dict[str, str]
    ) -> tuple[RawCompletion, int]:
        total = self.config.max_retries + 1
        attempt = 1
        while True:
            try:
                return await self._attempt(body, headers), attempt
            except TransientFailure as failure:
                if attempt >= total:
                    raise ModelUnavailable(
                        f"model endpoint unavailable after {attempt} attempt(s): "
                        f"{failure.description}"
                    ) from None
                delay = self._policy.delay_s(attempt - 1, self._rng, failure.retry_after_s)
                logger.warning(
                    "model call failed, retrying",
                    extra={"attempt": attempt, "error": failure.description, "delay_s": delay},
                )
                await self._sleep(delay)
                attempt += 1

    async def _attempt(self, body: dict[str, Any], headers: dict[str, str]) -> RawCompletion:
        try:
            if self.config.stream:
                return await self._stream(body, headers)
            return await self._post(body, headers)
        except (httpx.TransportError, TimeoutError) as error:
            raise TransientFailure(_describe(error)) from None

    async def _post(self, body: dict[str, Any], headers: dict[str, str]) -> RawCompletion:
        async with asyncio.timeout(self.config.connect_timeout_s + self.config.timeout_s):
            response = await self._http.post(CHAT_PATH, json=body, headers=headers)
        _check_status(response)
        return completion_from_json(_json(response))

    async def _stream(self, body: dict[str, Any], headers: dict[str, str]) -> RawCompletion:
        assembler = StreamAssembler()
        async with self._http.stream("POST", CHAT_PATH, json=body, headers=headers) as response:
            if not response.is_success:
                await response.aread()
                _check_status(response)
            if response.headers.get("content-type", "").startswith("application/json"):
                await response.aread()  # the server ignored "stream": take the whole answer
                return completion_from_json(_json(response))
            async for line in response.aiter_lines():
                assembler.feed_line(line)
                if assembler.done:
                    break
        if not assembler.complete:
            raise TransientFailure(
                f"stream ended after {assembler.chunks} chunk(s) without a finish reason"
            )
        return assembler.completion()


def _observe(started: float, result: str) -> float:
    """Record one chat() call's duration (retries included) by result; returns it."""
    elapsed = time.perf_counter() - started
    MODEL_SECONDS.labels(result=result).observe(elapsed)
    return elapsed


def _check_status(response: httpx.Response) -> None:
    status = response.status_code
    if response.is_success:
        return
    message = error_text(response.content)
    if status in RETRYABLE_STATUS:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        raise TransientFailure(f"HTTP {status}: {message}", retry_after)
    if status >= 500:
        raise ModelUnavailable(f"model endpoint answered HTTP {status}: {message}")
    raise ModelRequestRejected(status, message)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise ModelResponseInvalid(
            f"model endpoint answered {response.status_code} with a body that is not JSON"
        ) from None


def _model_ids(response: httpx.Response) -> list[str]:
    data = _json(response)
    entries = data.get("data") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise ModelResponseInvalid(f"GET {MODELS_PATH}: no 'data' list in the answer")
    return [str(entry["id"]) for entry in entries if isinstance(entry, dict) and "id" in entry]


def _describe(error: BaseException) -> str:
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return f"timed out ({type(error).__name__})"
    detail = str(error)
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__
