"""Retention: erase conversations idle for longer than DESKHAND_RETENTION_DAYS.

Redis expires a conversation's keys by itself (the directory's indexes drop what expired);
the embedded store is swept here, once at start-up and then every hour, checkpoints and
directory summaries included.
"""

import asyncio
import logging

from agent.erasure import ForgetThread
from agent.runtime.directory import ConversationDirectory
from agent.runtime.stores import Mailboxes

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 3600.0


async def sweep(
    mailboxes: Mailboxes,
    forget_thread: ForgetThread,
    idle_s: float,
    directory: ConversationDirectory | None = None,
) -> int:
    """Erase every expired conversation; returns how many."""
    expired = await mailboxes.expired(idle_s)
    for key in expired:
        await forget_thread(key)
        await mailboxes.erase(key)
        if directory is not None:
            await directory.erase(key)
    if expired:
        log.info("expired conversations erased", extra={"count": len(expired)})
    return len(expired)


async def sweep_forever(
    mailboxes: Mailboxes,
    forget_thread: ForgetThread,
    idle_s: float,
    stop: asyncio.Event,
    every_s: float = SWEEP_EVERY_S,
    directory: ConversationDirectory | None = None,
) -> None:
    while not stop.is_set():
        try:
            await sweep(mailboxes, forget_thread, idle_s, directory)
        except Exception:
            log.exception("the retention sweep failed; trying again later")
        try:
            await asyncio.wait_for(stop.wait(), every_s)
        except TimeoutError:
            continue
