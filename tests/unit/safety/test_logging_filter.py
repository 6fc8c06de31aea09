"""The logging filter redacts the message and the extras that JsonFormatter writes."""

import io
import json
import logging
from collections.abc import Iterator

import pytest

from agent.logs import JsonFormatter
from agent.safety.logging_filter import PiiRedactingFilter


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(PiiRedactingFilter())
    logger = logging.getLogger("deskhand-test-safety")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    yield logger, stream
    logger.handlers.clear()


def test_message_and_args_are_redacted(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    logger.info("customer %s wrote from %s", "jane@example.com", "+44 20 7946 0958")
    entry = json.loads(stream.getvalue())
    assert entry["msg"] == "customer [email] wrote from [phone]"


def test_extras_are_redacted_and_the_callers_objects_kept(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    payload = {"text": "card 4111 1111 1111 1111", "turns": 3, "parts": ["DNI 12345678Z"]}
    logger.info(
        "turn done",
        extra={"message_text": "IBAN DE89 3704 0044 0532 0130 00", "payload": payload, "n": 7},
    )
    entry = json.loads(stream.getvalue())
    assert entry["msg"] == "turn done"
    assert entry["message_text"] == "IBAN [iban]"
    assert entry["payload"] == {"text": "card [card]", "turns": 3, "parts": ["DNI [national_id]"]}
    assert entry["n"] == 7
    assert payload["text"] == "card 4111 1111 1111 1111"  # the caller's dict is untouched


def test_plain_text_and_bad_formats_pass_through(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = captured
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "order %s of %d", ("BL-1",), None)
    assert PiiRedactingFilter().filter(record)  # never drops a record
    assert record.msg == "order %s of %d"  # a bad format is left for the handler to report
    logger.info("order BL-10234 shipped on 12/05/2024 for €89.90")
    assert json.loads(stream.getvalue())["msg"] == "order BL-10234 shipped on 12/05/2024 for €89.90"
