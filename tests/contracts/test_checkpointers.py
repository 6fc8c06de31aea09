"""The contract of the checkpointers (in-memory, SQLite, Redis, Redis Cluster).

LangGraph's own conformance suite (``langgraph-checkpoint-conformance``) runs first, then
our own checks of the semantics the graph relies on, then a real compiled graph that
interrupts and resumes on each saver.
"""

import operator
import uuid
from typing import Annotated, Any, TypedDict

import pytest
from langgraph.checkpoint.base import BaseCheckpointSaver, Checkpoint, empty_checkpoint
from langgraph.checkpoint.base.id import uuid6
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.capabilities import BASE_CAPABILITIES, Capability
from langgraph.checkpoint.serde.types import ERROR, INTERRUPT, TASKS
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, Send, interrupt

from tests.contracts.checkpointer_fixtures import (  # noqa: F401  (fixtures)
    SaverFactory,
    saver_factory_fixture,
    saver_fixture,
    thread_config,
)

Saver = BaseCheckpointSaver[Any]
ALL_CAPABILITIES = {c.value for c in Capability}
# InMemorySaver implements only the base capabilities; ours implement the extended ones too
EXPECTED_CAPABILITIES = {
    "memory": {c.value for c in BASE_CAPABILITIES},
    "sqlite": ALL_CAPABILITIES,
    "redis": ALL_CAPABILITIES,
    "redis-cluster": ALL_CAPABILITIES,
}


async def test_langgraph_conformance_suite_passes(saver_factory: SaverFactory) -> None:
    @checkpointer_test(name=f"deskhand-{saver_factory.kind}")
    async def registered() -> Any:
        async with saver_factory.open() as opened:
            yield opened

    report = await validate(registered)
    report.print_report()
    results = report.results
    counts = {
        name: (r.tests_passed, r.tests_failed, r.tests_skipped) for name, r in results.items()
    }
    print(f"conformance {saver_factory.kind} (passed, failed, skipped): {counts}")
    failures = {name: r.failures for name, r in results.items() if r.detected and not r.passed}
    assert failures == {}
    detected = {name for name, r in results.items() if r.detected}
    assert detected == EXPECTED_CAPABILITIES[saver_factory.kind]
    assert report.passed_all_base()


def _checkpoint(values: dict[str, Any] | None = None, **versions: Any) -> Checkpoint:
    checkpoint = empty_checkpoint()
    checkpoint["id"] = str(uuid6(clock_seq=-1))
    checkpoint["v"] = 1
    checkpoint["channel_values"] = dict(values or {})
    checkpoint["channel_versions"] = dict(versions)
    return checkpoint


async def _put_chain(
    saver: Saver, thread_id: str, count: int, ns: str = "", **metadata: Any
) -> list[dict[str, Any]]:
    """``count`` checkpoints, each the child of the previous; their stored configs."""
    stored: list[dict[str, Any]] = []
    for step in range(count):
        config = thread_config(thread_id, ns)
        if stored:
            config["configurable"]["checkpoint_id"] = stored[-1]["configurable"]["checkpoint_id"]
        checkpoint = _checkpoint({"n": step}, n=saver.get_next_version(None, None))
        source = "input" if step % 2 == 0 else "loop"
        meta = {"source": source, "step": step, "parents": {}, **metadata}
        new_versions = dict(checkpoint["channel_versions"])
        stored.append(await saver.aput(config, checkpoint, meta, new_versions))
    return stored


def _ids(configs: list[dict[str, Any]]) -> list[str]:
    return [c["configurable"]["checkpoint_id"] for c in configs]


async def _list(saver: Saver, config: Any, **options: Any) -> list[Any]:
    return [found async for found in saver.alist(config, **options)]


async def test_put_and_get_tuple_round_trip_values_versions_metadata_and_parent(
    saver: Saver,
) -> None:
    thread_id = uuid.uuid4().hex
    first = await saver.aput(
        thread_config(thread_id),
        _checkpoint({"a": [1, "x"], "b": {"k": b"bytes"}}, a=1, b=1),
        {"source": "input", "step": -1, "parents": {}, "score": 4.5},
        {"a": 1, "b": 1},
    )
    child_config = thread_config(thread_id, checkpoint_id=first["configurable"]["checkpoint_id"])
    second = await saver.aput(
        child_config,
        _checkpoint({"a": "new", "b": {"k": b"bytes"}}, a=2, b=1),
        {"step": 0},
        {"a": 2},
    )

    latest = await saver.aget_tuple(thread_config(thread_id))
    assert latest is not None
    assert latest.config["configurable"] == second["configurable"]
    assert latest.checkpoint["channel_values"] == {"a": "new", "b": {"k": b"bytes"}}
    assert latest.parent_config is not None
    assert latest.parent_config["configurable"]["checkpoint_id"] == _ids([first])[0]
    assert latest.pending_writes == []

    older = await saver.aget_tuple(first)
    assert older is not None
    assert older.checkpoint["channel_values"] == {"a": [1, "x"], "b": {"k": b"bytes"}}
    assert older.metadata["score"] == 4.5
    assert older.parent_config is None
    missing = thread_config(thread_id, checkpoint_id=str(uuid6(clock_seq=-1)))
    assert await saver.aget_tuple(missing) is None
    assert await saver.aget_tuple(thread_config()) is None


async def test_list_is_newest_first_with_before_limit_and_metadata_filter(saver: Saver) -> None:
    thread_id = uuid.uuid4().hex
    ids = _ids(await _put_chain(saver, thread_id, 5))
    config = thread_config(thread_id)

    assert [t.checkpoint["id"] for t in await _list(saver, config)] == ids[::-1]
    assert [t.checkpoint["id"] for t in await _list(saver, config, limit=2)] == ids[::-1][:2]
    before = thread_config(thread_id, checkpoint_id=ids[3])
    assert [t.checkpoint["id"] for t in await _list(saver, config, before=before)] == [
        ids[2],
        ids[1],
        ids[0],
    ]
    paged = await _list(saver, config, before=before, limit=1)
    assert [t.checkpoint["id"] for t in paged] == [ids[2]]
    inputs = await _list(saver, config, filter={"source": "input"})
    assert [t.metadata["step"] for t in inputs] == [4, 2, 0]
    assert [t.metadata["step"] for t in await _list(saver, config, filter={"step": 3})] == [3]
    assert await _list(saver, config, filter={"source": "input"}, limit=0) == []


async def test_list_covers_every_namespace_or_only_the_one_asked_for(saver: Saver) -> None:
    thread_id = uuid.uuid4().hex
    root = _ids(await _put_chain(saver, thread_id, 2))
    child = _ids(await _put_chain(saver, thread_id, 2, ns="agent:1"))

    everything = await _list(saver, {"configurable": {"thread_id": thread_id}})
    assert sorted(t.checkpoint["id"] for t in everything) == sorted(root + child)
    in_child = await _list(saver, thread_config(thread_id, "agent:1"))
    assert [t.checkpoint["id"] for t in in_child] == child[::-1]
    assert {t.config["configurable"]["checkpoint_ns"] for t in in_child} == {"agent:1"}
    across_threads = await _list(saver, None, filter={"step": 1})
    assert {t.checkpoint["id"] for t in across_threads} >= {root[1], child[1]}


async def test_pending_writes_keep_the_first_regular_write_and_the_last_special_one(
    saver: Saver,
) -> None:
    stored = (await _put_chain(saver, uuid.uuid4().hex, 1))[0]
    await saver.aput_writes(stored, [("b", "first"), ("a", 1)], "task-2", "~b")
    await saver.aput_writes(stored, [("b", "retried")], "task-2", "~b")
    await saver.aput_writes(stored, [(ERROR, "boom")], "task-1", "~a")
    await saver.aput_writes(stored, [(ERROR, "boom again"), (INTERRUPT, {"q": 1})], "task-1", "~a")

    found = await saver.aget_tuple(stored)
    assert found is not None
    assert found.pending_writes == [
        ("task-1", INTERRUPT, {"q": 1}),  # special channels: negative idx, replaced
        ("task-1", ERROR, "boom again"),
        ("task-2", "b", "first"),  # a retried task does not replace its writes
        ("task-2", "a", 1),
    ]


async def test_pending_sends_are_stored_as_task_writes_of_the_parent(saver: Saver) -> None:
    parent = (await _put_chain(saver, uuid.uuid4().hex, 1))[0]
    sends = [Send("worker", {"item": 1}), Send("worker", {"item": 2})]
    await saver.aput_writes(parent, [(TASKS, send) for send in sends], "task-s")

    found = await saver.aget_tuple(parent)
    assert found is not None
    assert [w[2] for w in found.pending_writes or [] if w[1] == TASKS] == sends


async def test_delete_thread_removes_it_and_nothing_else(saver: Saver) -> None:
    doomed, kept = uuid.uuid4().hex, uuid.uuid4().hex
    stored = await _put_chain(saver, doomed, 2)
    await _put_chain(saver, doomed, 1, ns="agent:1")
    await saver.aput_writes(stored[-1], [("a", 1)], "task")
    await _put_chain(saver, kept, 1)

    await saver.adelete_thread(doomed)

    assert await _list(saver, {"configurable": {"thread_id": doomed}}) == []
    assert await saver.aget_tuple(thread_config(doomed, "agent:1")) is None
    assert await saver.aget_tuple(thread_config(kept)) is not None
    await saver.adelete_thread(uuid.uuid4().hex)  # unknown: nothing to do


async def test_retention_keeps_the_newest_checkpoints_with_their_writes(
    saver_factory: SaverFactory,
) -> None:
    if saver_factory.kind == "memory":
        pytest.skip("InMemorySaver has no retention")
    async with saver_factory.open(keep_last=2) as saver:
        thread_id = uuid.uuid4().hex
        stored = await _put_chain(saver, thread_id, 4)
        await saver.aput_writes(stored[-1], [("a", "kept")], "task")

        listed = await _list(saver, thread_config(thread_id))
        assert [t.checkpoint["id"] for t in listed] == _ids(stored)[:1:-1]
        assert listed[0].pending_writes == [("task", "a", "kept")]
        assert listed[-1].checkpoint["channel_values"] == {"n": 2}


# A real graph: two turns on one thread, then an interrupt and its resumption


class Conversation(TypedDict):
    messages: Annotated[list[str], operator.add]


def _answer(state: Conversation) -> dict[str, list[str]]:
    return {"messages": [f"bot: {state['messages'][-1]}"]}


def _approval(state: Conversation) -> dict[str, list[str]]:
    if "refund" not in state["messages"][-2]:
        return {}
    decision = interrupt({"action": "refund", "ask": "approve?"})
    return {"messages": [f"refund {decision}"]}


def _graph(saver: Saver) -> Any:
    builder = StateGraph(Conversation)
    builder.add_node("answer", _answer)
    builder.add_node("approval", _approval)
    builder.add_edge(START, "answer")
    builder.add_edge("answer", "approval")
    builder.add_edge("approval", END)
    return builder.compile(checkpointer=saver)


async def test_a_compiled_graph_keeps_state_across_turns_and_resumes_after_an_interrupt(
    saver: Saver,
) -> None:
    config = {"configurable": {"thread_id": f"demo:generic:{uuid.uuid4().hex}"}}
    graph = _graph(saver)

    first = await graph.ainvoke({"messages": ["hi"]}, config)
    assert first["messages"] == ["hi", "bot: hi"]
    paused = await graph.ainvoke({"messages": ["refund please"]}, config)
    assert paused["__interrupt__"][0].value == {"action": "refund", "ask": "approve?"}
    state = await graph.aget_state(config)
    assert state.next == ("approval",)

    resumed = await _graph(saver).ainvoke(Command(resume="approved"), config)  # another worker
    assert resumed["messages"] == [
        "hi",
        "bot: hi",
        "refund please",
        "bot: refund please",
        "refund approved",
    ]
    assert (await graph.aget_state(config)).next == ()
    history = [snapshot async for snapshot in graph.aget_state_history(config)]
    assert len(history) >= 6
