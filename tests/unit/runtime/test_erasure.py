"""Erasing one customer: conversations, checkpoints and built-in tickets go; others stay."""

from pathlib import Path

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from agent.erasure import erase_customer
from agent.runtime.checkpoint.factory import open_sqlite_checkpointer
from agent.runtime.directory import ConversationSummary
from agent.runtime.models import InboundMessage
from agent.runtime.sqlite import SqliteDatabase, SqliteTranscripts
from agent.runtime.sqlite_directory import SqliteDirectory
from agent.runtime.sqlite_mailboxes import SqliteMailboxes
from tools.context import Customer
from tools.ticketing.base import NewTicket
from tools.ticketing.builtin import BuiltinTicketStore

GONE = Customer("cust_9", "gone@example.com", "Gone")
STAYS = Customer("cust_1", "stays@example.com", "Stays")


class Counter(TypedDict):
    count: int


def _graph(checkpointer: object) -> object:
    graph = StateGraph(Counter)
    graph.add_node("bump", lambda state: {"count": state.get("count", 0) + 1})
    graph.add_edge(START, "bump")
    graph.add_edge("bump", END)
    return graph.compile(checkpointer=checkpointer)


async def test_erasure_removes_only_that_customers_data(tmp_path: Path) -> None:
    database = await SqliteDatabase.open(tmp_path / "runtime.sqlite3")
    boxes = await SqliteMailboxes.open(database)
    transcripts = SqliteTranscripts(database)
    directory = await SqliteDirectory.open(database)
    tickets = await BuiltinTicketStore.open(tmp_path / "tickets.sqlite3")
    try:
        for customer, conversation in ((GONE, "a"), (GONE, "b"), (STAYS, "c")):
            message = InboundMessage("demo", "generic", conversation, "m-1", "hi", customer)
            await boxes.append(message, delay_s=0)
            await directory.put(ConversationSummary.empty(message.conversation_key, 1.0))
            await tickets.create_ticket(NewTicket("Help", "hi", customer), f"t-{conversation}")
        async with open_sqlite_checkpointer(tmp_path / "checkpoints.sqlite3") as saver:
            graph = _graph(saver)
            for conversation in ("a", "b", "c"):
                config = {"configurable": {"thread_id": f"demo:generic:{conversation}"}}
                await graph.ainvoke({"count": 0}, config)  # type: ignore[attr-defined]

            erasure = await erase_customer(
                "demo", "cust_9", boxes, tickets, saver.adelete_thread, directory
            )

            assert erasure.conversations == ["demo:generic:a", "demo:generic:b"]
            assert erasure.tickets == 2 and not erasure.tickets_elsewhere
            for conversation, kept in (("a", False), ("b", False), ("c", True)):
                config = {"configurable": {"thread_id": f"demo:generic:{conversation}"}}
                assert (await saver.aget_tuple(config) is not None) is kept
                assert bool(await transcripts.entries(f"demo:generic:{conversation}")) is kept
                assert (await directory.get(f"demo:generic:{conversation}") is not None) is kept
        assert await boxes.customer_conversations("demo", "cust_9") == []
        assert len(await tickets.list_customer_tickets(STAYS)) == 1
        assert await tickets.list_customer_tickets(GONE) == []
    finally:
        await tickets.aclose()
        await database.close()
