"""The model a replay talks to: the scripted server answering from the turn's cassette, or
(``--live``) passing each request on to the real endpoint and recording what it answered.

Requests are keyed like ``request_key``, with today's date masked (the prompt's context
block names it), so a cassette recorded today still matches next month. A keyed answer
given a different request is a mismatch: the replay fails and shows the difference.
"""

import difflib
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from agent.llm.config import normalise_base_url
from agent.llm.stub import (
    Quirks,
    ResponderError,
    ScriptedResponse,
    ScriptedToolCall,
    canonical_request,
)
from agent.replay.format import CassetteAnswer

_TODAY = re.compile(r"Today: \w+ (\d{4}-\d{2}-\d{2}) \(UTC\)")
MASKED_TODAY = "Today: <today> (UTC)"
UNAVAILABLE = "replay: the model is unavailable (condition model: unavailable)"
MAX_DIFF_LINES = 40


def replay_request(body: dict[str, Any], clock_offset_s: float = 0.0) -> dict[str, Any]:
    """The request as cassettes keep it: canonical, today's date masked (``<today>``; the
    date a step's ``pause_days`` moved the clock to, as ``<today+3d>``)."""
    shifted = (datetime.now(UTC) + timedelta(seconds=clock_offset_s)).date()
    masked: dict[str, Any] = _mask(canonical_request(body), shifted)
    return masked


def replay_key(body: dict[str, Any], clock_offset_s: float = 0.0) -> str:
    text = json.dumps(replay_request(body, clock_offset_s), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _mask(value: Any, shifted: date) -> Any:
    if isinstance(value, str):
        return _TODAY.sub(lambda match: _masked_today(match, shifted), value)
    if isinstance(value, list):
        return [_mask(item, shifted) for item in value]
    if isinstance(value, dict):
        return {key: _mask(item, shifted) for key, item in value.items()}
    return value


def _masked_today(match: re.Match[str], shifted: date) -> str:
    """Any date is ``<today>``, except the one a pause moved the clock to: the cassette
    then shows that the graph read the moved clock (``<today+3d>``)."""
    days = (shifted - datetime.now(UTC).date()).days
    if days == 0 or match.group(1) != shifted.isoformat():
        return MASKED_TODAY
    return MASKED_TODAY.replace("<today>", f"<today{days:+d}d>")


@dataclass(frozen=True)
class Mismatch:
    """A keyed answer was asked by a request other than the one it was recorded for."""

    index: int
    expected_key: str
    actual_key: str
    diff: tuple[str, ...]


@dataclass
class ModelStep:
    """What the model saw and answered during one step."""

    requests: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # the requests' last messages
    leftover: int = 0
    recorded: list[CassetteAnswer] = field(default_factory=list)


class Upstream:
    """A real OpenAI-compatible endpoint (``--live``), asked without streaming."""

    def __init__(self, base_url: str, api_key: str | None, timeout_s: float) -> None:
        headers = {"authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = normalise_base_url(base_url)
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def answer(self, body: dict[str, Any]) -> ScriptedResponse:
        sent = {k: v for k, v in body.items() if k not in ("stream", "stream_options")}
        try:
            response = self._http.post("/v1/chat/completions", json=sent)
        except httpx.HTTPError as error:
            return _error(503, f"upstream unreachable: {type(error).__name__}: {error}")
        if response.status_code >= 400:
            return _error(response.status_code, response.text[:500])
        try:
            return scripted(response.json())
        except (ValueError, KeyError, IndexError, TypeError) as error:
            return _error(502, f"upstream answer unreadable: {error!r}")


def scripted(completion: dict[str, Any]) -> ScriptedResponse:
    """A chat completion as the scripted answer that reproduces it."""
    choice = completion["choices"][0]
    message = choice["message"]
    calls = [
        ScriptedToolCall(name=call["function"]["name"], arguments=_arguments(call["function"]))
        for call in message.get("tool_calls") or []
    ]
    return ScriptedResponse(
        content=message.get("content") or "",
        reasoning=message.get("reasoning") or message.get("reasoning_content"),
        tool_calls=calls,
        finish_reason=choice.get("finish_reason"),
    )


def _arguments(function: dict[str, Any]) -> dict[str, Any] | str:
    raw = function.get("arguments")
    try:
        decoded = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return str(raw)  # replayed verbatim: the bad JSON is the point
    return decoded if isinstance(decoded, dict) else str(raw)


def _error(status: int, message: str) -> ScriptedResponse:
    return ScriptedResponse(quirks=Quirks(status=status, error_message=message))


class ReplayModel:
    """The scripted server's responder for a whole replay run, one step at a time."""

    def __init__(self, upstream: Upstream | None = None) -> None:
        self._upstream = upstream
        self._lock = threading.Lock()
        self._answers: list[CassetteAnswer] = []
        self._next = 0
        self._unavailable = False
        self._step = ModelStep()
        self.clock_offset_s = 0.0  # the graph's clock ahead of real time (pause_days)

    @property
    def live(self) -> bool:
        return self._upstream is not None

    def begin(self, answers: list[CassetteAnswer] | None, unavailable: bool) -> None:
        expanded = [a for a in answers or [] for _ in range(a.repeat)]
        with self._lock:
            self._answers, self._next = expanded, 0
            self._unavailable = unavailable
            self._step = ModelStep()

    def end(self) -> ModelStep:
        with self._lock:
            step, self._step = self._step, ModelStep()
            if not self.live:
                step.leftover = len(self._answers) - self._next
            self._answers, self._next = [], 0
            return step

    def __call__(self, body: dict[str, Any]) -> ScriptedResponse:
        with self._lock:
            self._step.requests += 1
            if self._unavailable:
                return _error(503, UNAVAILABLE)
            if self._upstream is not None:
                return self._proxied(self._upstream, body)
            return self._from_cassette(body)

    def _proxied(self, upstream: Upstream, body: dict[str, Any]) -> ScriptedResponse:
        response = upstream.answer(body)
        answer = CassetteAnswer.model_validate(
            {
                "key": replay_key(body, self.clock_offset_s),
                "request": replay_request(body, self.clock_offset_s),
                **response.model_dump(exclude_defaults=True),
            }
        )
        self._step.recorded.append(answer)
        return response

    def _from_cassette(self, body: dict[str, Any]) -> ScriptedResponse:
        if self._next >= len(self._answers):
            self._step.unanswered.append(_last_message(body))
            raise ResponderError(
                f"replay cassette: no answer left for this turn ({self._next} used)"
            )
        answer = self._answers[self._next]
        self._next += 1
        if answer.key is not None:
            actual = replay_key(body, self.clock_offset_s)
            if actual != answer.key:
                diff = request_diff(answer.request, replay_request(body, self.clock_offset_s))
                self._step.mismatches.append(Mismatch(self._next, answer.key, actual, diff))
        return answer.response()


def request_diff(recorded: dict[str, Any] | None, sent: dict[str, Any]) -> tuple[str, ...]:
    """A unified diff of the request as recorded and as sent, message by message."""
    after = render_request(sent)
    if recorded is None:
        return ("(the cassette did not record the request; what the agent sent ends with:)",
                *after[-12:])  # fmt: skip
    lines = difflib.unified_diff(
        render_request(recorded), after, "recorded", "sent", n=2, lineterm=""
    )
    diff = list(lines)
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"... {len(diff) - MAX_DIFF_LINES} more lines"]
    return tuple(diff)


def render_request(request: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for tool in request.get("tools") or []:
        lines.append("tool " + json.dumps(tool, sort_keys=True, ensure_ascii=False))
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        lines.append(f"[{message.get('role')}]")
        lines += str(message.get("content") or "").splitlines()
        for call in message.get("tool_calls") or []:
            lines.append("tool_call " + json.dumps(call, sort_keys=True, ensure_ascii=False))
    return lines


def _last_message(body: dict[str, Any]) -> str:
    messages = body.get("messages") or [{}]
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    return f"[{last.get('role')}] {str(last.get('content') or '')[:200]}"
