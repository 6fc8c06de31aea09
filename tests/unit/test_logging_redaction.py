"""The process's logs never carry a customer's card, e-mail or phone number."""

import json
import logging

import pytest

from agent.logs import configure_logging


def test_json_logs_are_redacted(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_lines=True)
    try:
        logging.getLogger("deskhand.test").warning(
            "customer %s wrote", "alex@example.com", extra={"text": "card 4111 1111 1111 1111"}
        )
    finally:
        logging.getLogger().handlers.clear()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["msg"] == "customer [email] wrote"
    assert line["text"] == "card [card]"
