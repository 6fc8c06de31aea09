"""A message that lands while the embedded runtime releases its conversation keeps its
arrival on the waiting list (the Redis twin: tests/integration/runtime/test_redis_specifics.py)."""

from agent.runtime.models import Author, InboundMessage, OutboxItem, TranscriptEntry, TurnCommit
from tests.unit.runtime.conftest import Runtime
from tools.context import Customer

KEY = "demo:generic:c-1"


def message(message_id: str) -> InboundMessage:
    return InboundMessage("demo", "generic", "c-1", message_id, "hi", Customer("cust_1"))


async def test_a_message_landing_during_the_release_stays_on_the_waiting_list(
    runtime: Runtime,
) -> None:
    boxes = runtime.mailboxes
    await boxes.append(message("m-1"), delay_s=0)
    claim = await boxes.claim(30, limit=5)
    assert claim is not None
    await boxes.commit(claim, TurnCommit(1, (TranscriptEntry(Author.BOT, "hello", "r-1"),)))
    landed: list[InboundMessage] = []
    undelivered = boxes.undelivered

    async def message_lands_meanwhile(conversation_key: str) -> list[OutboxItem]:
        if not landed:  # the customer answers the reply at once
            landed.append(message("m-2"))
            await boxes.append(landed[0], delay_s=0)
        return await undelivered(conversation_key)

    boxes.undelivered = message_lands_meanwhile  # type: ignore[method-assign]
    await boxes.release(claim)
    assert landed and await boxes.overdue(0.0) == [KEY]
    assert await boxes.depth() == 1
    again = await boxes.claim(30, limit=5)
    assert again is not None and [m.message_id for m in again.messages] == ["m-2"]
