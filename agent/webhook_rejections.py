"""Refused webhook deliveries, counted by cause: a Prometheus counter at once, and a tally
added to the stats store every few seconds (one write for all of them), so that a flood of
bad requests costs a dictionary increment each, never a store round trip.

Labels stay bounded: a channel that does not exist is ``unknown``; a tenant that does not
exist is counted under ``UNKNOWN_TENANT``.
"""

import asyncio
import logging
import time

from agent.channels import CHANNELS
from agent.metrics import WEBHOOK_REJECTIONS, WEBHOOKS
from agent.runtime.stats_records import REJECTION, StatsRow, bucket_of
from agent.runtime.stats_store import StatsStore
from agent.runtime.stores import RuntimeStoreError

log = logging.getLogger(__name__)

FLUSH_EVERY_S = 2.0
UNKNOWN_TENANT = "_unknown"
CAUSES = {
    400: "bad_request",  # not JSON, not the channel's shape
    401: "bad_signature",  # missing, wrong or stale signature
    404: "not_found",  # unknown channel or tenant
    413: "too_large",
    422: "invalid",  # parsed, but a field is missing or wrong
    503: "unavailable",  # the queue could not confirm the delivery
}


def cause_of(status: int) -> str:
    return CAUSES.get(status, "error" if status >= 500 else "other")


class RejectionTally:
    """Rejections per tenant, minute and cause, waiting to be added to the stats store."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int, str], int] = {}

    def add(self, tenant: str, status: int, at: float | None = None) -> None:
        key = (tenant, bucket_of(time.time() if at is None else at), cause_of(status))
        self._counts[key] = self._counts.get(key, 0) + 1

    async def flush(self, store: StatsStore) -> None:
        """Add what was tallied to the store; kept for the next flush if that fails."""
        taken, self._counts = self._counts, {}
        if not taken:
            return
        rows = [
            StatsRow(tenant, bucket, {REJECTION + cause: count})
            for (tenant, bucket, cause), count in taken.items()
        ]
        try:
            await store.add(rows)
        except BaseException:
            for key, count in taken.items():
                self._counts[key] = self._counts.get(key, 0) + count
            raise


def count_rejection(tally: RejectionTally, tenant: str, channel: str, status: int) -> None:
    """Count one refused delivery; ``tenant`` is already checked to exist (or not)."""
    known = channel if channel in CHANNELS else "unknown"
    WEBHOOKS.labels(channel=known, result=f"rejected_{status}").inc()
    WEBHOOK_REJECTIONS.labels(channel=known, cause=cause_of(status), status=str(status)).inc()
    tally.add(tenant, status)


async def flush_forever(
    tally: RejectionTally, store: StatsStore, stop: asyncio.Event, every_s: float = FLUSH_EVERY_S
) -> None:
    """Flush the tally every ``every_s`` until ``stop``, then once more."""
    while True:
        stopping = stop.is_set()
        try:
            await tally.flush(store)
        except RuntimeStoreError as error:
            log.warning("webhook rejections not counted yet", extra={"error": str(error)})
        if stopping:
            return
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            continue
