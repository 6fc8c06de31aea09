"""A circuit breaker for the model endpoint: stop calling a server that keeps failing.

closed ──N consecutive failures──▶ open ──cool-down──▶ half_open (one trial call)
half_open ──success──▶ closed;  half_open ──failure──▶ open (cool-down restarts)
"""

import threading
import time
from collections.abc import Callable
from typing import Literal

from agent.llm.errors import CircuitOpen

CircuitState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Counts consecutive failures; refuses calls while open. Thread-safe, no sleeping."""

    def __init__(
        self,
        failure_threshold: int,
        reset_after_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_after_s = reset_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> CircuitState:
        """``half_open`` as soon as the cool-down has passed, even before the trial starts."""
        with self._lock:
            return self._state()

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_in_s(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when not open)."""
        with self._lock:
            if self._opened_at is None:
                return 0.0
            return max(0.0, self._opened_at + self._reset_after_s - self._clock())

    def before_call(self) -> None:
        """Raise CircuitOpen unless a call may go out now; reserves the half-open trial."""
        with self._lock:
            state = self._state()
            if state == "closed":
                return
            if state == "half_open" and not self._trial_in_flight:
                self._trial_in_flight = True
                return
            wait = 0.0 if self._opened_at is None else self._opened_at + self._reset_after_s
            raise CircuitOpen(
                f"model endpoint circuit is open after {self._failures} consecutive failures; "
                f"next trial in {max(0.0, wait - self._clock()):.1f}s"
            )

    def record_success(self) -> None:
        """The endpoint answered: close the circuit and forget past failures."""
        with self._lock:
            self._failures = 0
            self._opened_at = None
            self._trial_in_flight = False

    def record_failure(self) -> None:
        """The endpoint was unavailable: open after the threshold, or re-open after a trial."""
        with self._lock:
            self._failures += 1
            was_trial = self._trial_in_flight
            self._trial_in_flight = False
            if was_trial or self._opened_at is not None or self._failures >= self._threshold:
                self._opened_at = self._clock()

    def release(self) -> None:
        """A call ended without a verdict (cancelled): free the half-open trial slot."""
        with self._lock:
            self._trial_in_flight = False

    def _state(self) -> CircuitState:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self._reset_after_s:
            return "half_open"
        return "open"
