"""Keep the ``deskhand_queue_depth`` gauge current: read at each /metrics scrape (API
process) and every few seconds by the workers (whose metrics port has no event loop to
ask the store from). The depth is the shared queue's, so every process reports the same
value: aggregate it with ``max``, not ``sum``."""

import asyncio
import logging

from agent.metrics import QUEUE_DEPTH
from agent.runtime.stores import Mailboxes

log = logging.getLogger(__name__)

READ_TIMEOUT_S = 1.0
REFRESH_EVERY_S = 5.0


async def refresh_queue_depth(mailboxes: Mailboxes, timeout_s: float = READ_TIMEOUT_S) -> bool:
    """Set the gauge from the store; on a slow or failing store leave the last value (a
    scrape must not hang on, nor fail for, a store outage). True when it was read."""
    try:
        async with asyncio.timeout(timeout_s):
            depth = await mailboxes.depth()
    except Exception as error:  # TimeoutError, RuntimeStoreError: the gauge keeps its value
        log.warning("queue depth not read", extra={"error": str(error) or type(error).__name__})
        return False
    QUEUE_DEPTH.set(depth)
    return True


async def refresh_forever(
    mailboxes: Mailboxes, stop: asyncio.Event, every_s: float = REFRESH_EVERY_S
) -> None:
    while not stop.is_set():
        await refresh_queue_depth(mailboxes)
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            continue
