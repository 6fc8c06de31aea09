"""The contract every runtime store implementation keeps (SQLite / in-process and Redis)."""

import asyncio

from agent.runtime.models import (
    Author,
    ConversationState,
    InboundMessage,
    Mode,
    TranscriptEntry,
)
from tools.context import Customer

KEY = "demo:generic:c-1"


def _message(
    conversation: str = "c-1", message_id: str = "m-1", text: str = "hi"
) -> InboundMessage:
    return InboundMessage(
        tenant="demo",
        channel="generic",
        conversation_id=conversation,
        message_id=message_id,
        text=text,
        customer=Customer("cust_1", "a@example.com", "A", "en"),
    )


class TestTranscripts:
    async def test_append_returns_positions_in_order(self, transcripts) -> None:
        first = await transcripts.append(KEY, TranscriptEntry(Author.CUSTOMER, "hello", "m-1"))
        second = await transcripts.append(KEY, TranscriptEntry(Author.BOT, "hi!", "m-1.reply"))
        assert (first, second) == (0, 1)
        entries = await transcripts.entries(KEY)
        assert [(e.author, e.text) for e in entries] == [
            (Author.CUSTOMER, "hello"),
            (Author.BOT, "hi!"),
        ]

    async def test_entries_after_a_position(self, transcripts) -> None:
        for i in range(3):
            await transcripts.append(KEY, TranscriptEntry(Author.CUSTOMER, f"m{i}", f"m-{i}"))
        assert [e.text for e in await transcripts.entries(KEY, after=0)] == ["m1", "m2"]
        assert await transcripts.entries(KEY, after=2) == []

    async def test_round_trips_citations_and_meta(self, transcripts) -> None:
        entry = TranscriptEntry(
            Author.BOT,
            "See [1]",
            "m-1.reply",
            at=1234.5,
            citations=({"title": "Refunds", "source": "refunds.md"},),
            meta={"in_reply_to": "m-1", "degraded": True},
        )
        await transcripts.append(KEY, entry)
        assert await transcripts.entries(KEY) == [entry]

    async def test_conversations_are_separate(self, transcripts) -> None:
        await transcripts.append(KEY, TranscriptEntry(Author.CUSTOMER, "one", "m-1"))
        assert await transcripts.entries("demo:generic:other") == []

    async def test_state_missing_then_saved_then_replaced(self, transcripts) -> None:
        assert await transcripts.state(KEY) is None
        await transcripts.save_state(ConversationState(KEY, Mode.AUTO, None, 1.0))
        await transcripts.save_state(ConversationState(KEY, Mode.MANUAL, "customer_request", 2.0))
        assert await transcripts.state(KEY) == ConversationState(
            KEY, Mode.MANUAL, "customer_request", 2.0
        )

    async def test_concurrent_appends_get_distinct_positions(self, transcripts) -> None:
        positions = await asyncio.gather(
            *(
                transcripts.append(KEY, TranscriptEntry(Author.CUSTOMER, str(i), f"m-{i}"))
                for i in range(10)
            )
        )
        assert sorted(positions) == list(range(10))
