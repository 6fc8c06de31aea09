"""The circuit breaker's states, driven by a fake clock."""

import pytest

from agent.llm.circuit import CircuitBreaker
from agent.llm.errors import CircuitOpen, ModelUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, reset_after_s=10.0, clock=clock)


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        breaker.before_call()
        breaker.record_failure()


def test_stays_closed_below_the_threshold(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    assert breaker.state == "closed"
    breaker.before_call()  # does not raise
    assert breaker.consecutive_failures == 2


def test_success_resets_the_count(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    breaker.record_success()
    fail(breaker, 2)
    assert breaker.state == "closed"


def test_opens_after_threshold_and_refuses_calls(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    assert breaker.state == "open"
    clock.now += 4
    with pytest.raises(CircuitOpen, match="3 consecutive failures") as caught:
        breaker.before_call()
    assert isinstance(caught.value, ModelUnavailable)  # the degraded path catches both
    assert breaker.retry_in_s() == pytest.approx(6.0)


def test_half_open_lets_exactly_one_trial_through(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 10
    assert breaker.state == "half_open"
    breaker.before_call()
    with pytest.raises(CircuitOpen):
        breaker.before_call()


def test_trial_success_closes(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 10
    breaker.before_call()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 0
    breaker.before_call()


def test_trial_failure_reopens_for_a_full_cool_down(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 10
    breaker.before_call()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now += 9.9
    assert breaker.state == "open"
    clock.now += 0.1
    assert breaker.state == "half_open"


def test_released_trial_lets_the_next_call_try(breaker: CircuitBreaker, clock: Clock) -> None:
    fail(breaker, 3)
    clock.now += 10
    breaker.before_call()
    breaker.release()  # e.g. the trial call was cancelled
    breaker.before_call()
    assert breaker.state == "half_open"


def test_threshold_must_be_positive(clock: Clock) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CircuitBreaker(0, 1.0, clock=clock)
