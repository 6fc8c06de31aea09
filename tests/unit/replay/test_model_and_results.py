"""The replay's model (keys with the date masked, mismatches with a diff, live recording),
the end-state check, pass^k and the JUnit XML."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.llm.stub import ResponderError
from agent.replay.end_state import check_end_state, shop_seed
from agent.replay.expectations import Miss
from agent.replay.format import CassetteAnswer, EndState, ShopFixture
from agent.replay.junit import junit_xml
from agent.replay.loader import load_file
from agent.replay.model import ReplayModel, replay_key, replay_request, scripted
from agent.replay.runner import Outcome, Run, StepResult


def body(question: str, day: str = "Sunday 2026-11-29") -> dict[str, Any]:
    context = f"{question}\n\n<context>\nToday: {day} (UTC)\n</context>"
    return {
        "model": "m",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": context},
        ],
        "tools": [{"type": "function", "function": {"name": "lookup_order"}}],
    }


def test_the_key_ignores_the_date_but_not_the_words() -> None:
    assert replay_key(body("hi")) == replay_key(body("hi", "Monday 2027-01-04"))
    assert replay_key(body("hi")) != replay_key(body("hello"))


def test_a_paused_clock_shows_in_the_key() -> None:
    """After ``pause_days: 3`` the date three days on is masked as such: a graph that did
    not read the moved clock sends another request."""
    three_days = 3 * 86_400
    later = (datetime.now(UTC) + timedelta(days=3)).date()
    moved = body("hi", f"{later.strftime('%A')} {later.isoformat()}")
    assert "Today: <today+3d> (UTC)" in str(replay_request(moved, three_days))
    assert replay_key(moved, three_days) != replay_key(body("hi"), three_days)
    assert replay_key(moved) == replay_key(body("hi"))  # no pause: any date is <today>


def test_answers_come_in_order_and_a_changed_request_shows_its_diff() -> None:
    model = ReplayModel()
    recorded = CassetteAnswer(content="a", key=replay_key(body("hi")), request=_request("hi"))
    model.begin([recorded, CassetteAnswer(content="b")], unavailable=False)
    assert model(body("hello")).content == "a"  # answered anyway; judged below
    assert model(body("whatever")).content == "b"  # an unkeyed answer fits any request
    step = model.end()
    (mismatch,) = step.mismatches
    assert mismatch.index == 1 and mismatch.expected_key == recorded.key
    assert "-hi" in mismatch.diff and "+hello" in mismatch.diff
    assert step.requests == 2 and step.leftover == 0 and not step.unanswered


def test_too_many_and_too_few_requests() -> None:
    model = ReplayModel()
    model.begin([CassetteAnswer(content="a")], unavailable=False)
    model(body("one"))
    with pytest.raises(ResponderError):
        model(body("two"))
    assert model.end().unanswered == [
        "[user] two\n\n<context>\nToday: Sunday 2026-11-29 (UTC)\n</context>"
    ]
    model.begin([CassetteAnswer(content="a", repeat=2)], unavailable=False)
    model(body("one"))
    assert model.end().leftover == 1


def test_an_unavailable_model_answers_503() -> None:
    model = ReplayModel()
    model.begin([CassetteAnswer(content="a")], unavailable=True)
    assert model(body("hi")).quirks.status == 503
    assert model.end().leftover == 1


def test_a_live_answer_is_recorded_as_a_cassette_answer() -> None:
    completion = {
        "choices": [
            {
                "message": {
                    "content": None,
                    "reasoning": "think",
                    "tool_calls": [
                        {"function": {"name": "lookup_order", "arguments": '{"order_id": "BL-1"}'}}
                    ],
                },
                "finish_reason": "tool_calls",
            }
        ]
    }
    answer = scripted(completion)
    assert answer.tool_calls[0].arguments == {"order_id": "BL-1"} and answer.reasoning == "think"
    broken = {
        "choices": [{"message": {"tool_calls": [{"function": {"name": "x", "arguments": "{bad"}}]}}]
    }
    assert scripted(broken).tool_calls[0].arguments == "{bad"  # replayed as sent


def _request(question: str) -> dict[str, Any]:
    from agent.replay.model import replay_request

    return replay_request(body(question))


def test_end_state_compares_named_collections_and_keeps_the_rest_unchanged() -> None:
    seeded = shop_seed(ShopFixture())
    after = {name: [dict(r) for r in records] for name, records in seeded.items()}
    refund = {
        "id": "RF-5003",
        "order_id": "BL-10217",
        "amount": 89.0,
        "currency": "EUR",
        "reason": "r",
        "status": "requested",
    }
    after["refunds"].append(refund)
    expected = EndState.model_validate(
        {
            "shop": {
                "refunds": [{"id": "RF-5001"}, {"id": "RF-5002"}, {"id": "RF-5003", "amount": 89.0}]
            }
        }
    )
    assert check_end_state(expected, seeded, after) == []
    (miss,) = check_end_state(EndState(), seeded, after)
    assert miss == Miss("end_state.shop.refunds", "unchanged", "added ['RF-5003']")
    wrong = EndState.model_validate(
        {
            "shop": {
                "refunds": [{"id": "RF-5001"}, {"id": "RF-5002"}, {"id": "RF-5003", "amount": 9.0}]
            }
        }
    )
    (miss,) = check_end_state(wrong, seeded, after)
    assert (
        miss.expected == "RF-5003 with {'amount': 9.0}"
        and miss.actual == "RF-5003 with {'amount': 89.0}"
    )


def test_fixtures_upsert_records_onto_the_demo_data() -> None:
    order = shop_seed(ShopFixture())["orders"][0] | {"status": "delivered"}
    seeded = shop_seed(ShopFixture.model_validate({"orders": [order]}))
    assert [o["status"] for o in seeded["orders"] if o["id"] == order["id"]] == ["delivered"]
    assert shop_seed(ShopFixture(base="empty"))["orders"] == []


def _outcome(tmp_path: Path, results: list[bool]) -> Outcome:
    path = tmp_path / "c.yaml"
    path.write_text("name: c\nturns: [{customer: hi}]\n")
    (loaded,) = load_file(path)
    outcome = Outcome(loaded)
    for attempt, passed in enumerate(results, start=1):
        step = StepResult(0, 1, "customer: 'hi'")
        if not passed:
            step.misses = [Miss("reply_matches", "/x/", "reply 'y' & <z>")]
        outcome.runs.append(Run(loaded, attempt, f"c-{attempt}", steps=[step]))
    return outcome


def test_pass_at_k(tmp_path: Path) -> None:
    outcome = _outcome(tmp_path, [True, True, False, True])
    assert outcome.pass_at(1) == 0.75
    assert outcome.pass_at(2) == pytest.approx(3 / 6)
    assert outcome.pass_at(4) == 0.0
    assert _outcome(tmp_path, [True] * 3).pass_at(3) == 1.0


def test_junit_xml_is_valid_and_carries_the_failure(tmp_path: Path) -> None:
    xml = junit_xml([_outcome(tmp_path, [True, False])], repeat=2)
    root = ET.fromstring(xml)  # noqa: S314 (our own output)
    suite = root.find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = suite.findall("testcase")
    assert [c.get("name") for c in cases] == ["c [1/2]", "c [2/2]"]
    failure = cases[1].find("failure")
    assert failure is not None and failure.get("message") == "turn 1: customer: 'hi'"
    assert "expected reply_matches: /x/" in (failure.text or "")
    assert "reply 'y' & <z>" in (failure.text or "")
