"""The worker supervisor's parts: take-over of a reaped worker, restart back-off, fork-safety.

Supervisors that fork run in processes of their own (a subprocess), never in pytest's.
"""

import os
import signal
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from agent.runtime.models import InboundMessage
from agent.runtime.supervisor import Supervisor, SupervisorError, run_in_child
from agent.runtime.worker import declare_dead, holder_name
from tests.unit.runtime.conftest import Runtime
from tools.context import Customer


def message(message_id: str) -> InboundMessage:
    return InboundMessage("demo", "generic", "c-1", message_id, "hello", Customer("cust-1"))


async def test_a_worker_declared_dead_loses_its_conversation_at_once(runtime: Runtime) -> None:
    boxes = runtime.mailboxes
    await boxes.heartbeat("dead", 3600)  # its heartbeat would vouch for it for an hour
    await boxes.append(message("m-1"), delay_s=0)
    held = await boxes.claim(3600, limit=5, holder="dead")
    assert held is not None
    await boxes.heartbeat("survivor", 3600)
    assert await boxes.claim(3600, limit=5, holder="survivor") is None  # still held
    await declare_dead(boxes, "dead")
    taken = await boxes.claim(3600, limit=5, holder="survivor")
    assert taken is not None and taken.fence > held.fence
    assert taken.crashes == 1 and [m.message_id for m in taken.messages] == ["m-1"]


def test_a_holder_name_carries_the_pid_and_the_nonce() -> None:
    assert holder_name(4242, "abc").endswith(":4242:abc")
    assert holder_name(4242) != holder_name(4242)  # a fresh random part without a nonce


def test_the_supervisor_refuses_to_fork_while_threads_run() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="busy-thread")
    thread.start()
    try:
        with pytest.raises(SupervisorError, match="busy-thread"):
            Supervisor(1, lambda start: 0, stop_grace_s=1).run()
    finally:
        release.set()
        thread.join()


def test_run_in_child_returns_the_child_exit_status() -> None:
    assert run_in_child(lambda: None) == 0
    assert run_in_child(lambda: sys.exit(3)) == 3
    assert run_in_child(lambda: 1 / 0) == 1  # an exception: status 1, traceback on stderr


CRASH_LOOP = textwrap.dedent(
    """
    import sys
    from agent.runtime.supervisor import Supervisor
    sys.exit(Supervisor(1, lambda start: 3, stop_grace_s=1, min_backoff_s=0.2,
                        announce=lambda line: print(line, flush=True)).run())
    """
)


def test_a_child_failing_at_start_is_replaced_after_a_growing_pause() -> None:
    proc = subprocess.Popen([sys.executable, "-c", CRASH_LOOP], stdout=subprocess.PIPE, text=True)
    # exits at 0, 0.2, 0.6 and 1.4 s after start-up: four announced
    out = _announced_until(proc, lambda lines: _count(lines, "exited with status 3") >= 4)
    assert proc.returncode == 0
    pauses = [
        line.rsplit(" in ", 1)[1] for line in out.splitlines() if "exited with status 3" in line
    ]
    assert pauses[:4] == ["0.2 s", "0.4 s", "0.8 s", "1.6 s"], out


FROZEN_PARENT = textwrap.dedent(
    """
    import gc, sys
    from agent.runtime.supervisor import Supervisor
    loaded = [{"object": i} for i in range(10_000)]  # what the parent preloaded
    def child(start):
        # 0 when the parent's objects are out of the collector's reach in the child
        return 0 if gc.get_freeze_count() >= len(loaded) else 4
    sys.exit(Supervisor(1, child, stop_grace_s=1, min_backoff_s=0.2,
                        announce=lambda line: print(line, flush=True)).run())
    """
)


def test_the_children_share_the_parents_objects_frozen() -> None:
    """A child's full garbage collection must not walk (and so copy) the parent's pages."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FROZEN_PARENT], stdout=subprocess.PIPE, text=True
    )
    out = _announced_until(proc, lambda lines: _count(lines, "exited with status") >= 1)
    assert "exited with status 0" in out and "status 4" not in out, out


def _count(lines: list[str], text: str) -> int:
    return sum(text in line for line in lines)


def _announced_until(
    proc: "subprocess.Popen[str]", enough: Callable[[list[str]], bool], timeout_s: float = 60
) -> str:
    """What the supervisor in ``proc`` printed: read until ``enough`` holds of its lines
    (however slowly it starts), then stopped with SIGTERM and read to its end."""
    assert proc.stdout is not None
    killer = threading.Timer(timeout_s, proc.kill)  # a supervisor that never gets there
    killer.start()
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if enough(lines):
                break
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=15)
    finally:
        killer.cancel()
    return "".join(lines) + rest


PRELOADED_FORK = textwrap.dedent(
    """
    import os, sys
    from agent.config.settings import Settings
    from agent.runtime.preload import preload
    from agent.runtime.supervisor import run_in_child
    from knowledge.embeddings import SentenceTransformerEmbeddings
    from agent.config.derived import knowledge_config

    settings = Settings(_env_file=None)
    config = knowledge_config(settings)
    assert config.backend == os.environ["EXPECTED_BACKEND"], config.backend
    assert preload(settings) is True  # the model is in the parent's memory
    embeddings = SentenceTransformerEmbeddings.from_config(config)

    def embed_twice():
        if config.backend == "torch":
            import torch
            assert torch.get_num_threads() == 1  # a query is too small to share out
        else:
            assert "torch" not in sys.modules  # the export was made in another process
        for text in ("where is my order", "how long does a refund take"):
            assert len(embeddings.embed([text])[0]) == 384
        assert embeddings.is_loaded

    sys.exit(10 + run_in_child(embed_twice) + run_in_child(embed_twice))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(("backend", "expected"), [("auto", "onnx"), ("torch", "torch")])
def test_forked_children_embed_with_the_preloaded_model(
    tmp_path: Path, backend: str, expected: str
) -> None:
    """A used OpenMP pool in the parent makes a forked child hang: preloading must not."""
    env = {"DESKHAND_EMBEDDING_BACKEND": backend, "EXPECTED_BACKEND": expected}
    done = _run_script(PRELOADED_FORK, tmp_path, env)
    assert done.returncode == 10, done.stderr[-3000:]


def _run_script(
    script: str, tmp_path: Path, env: dict[str, str] | None = None
) -> "subprocess.CompletedProcess[str]":
    """``script`` in a fresh interpreter, its data dir and home in ``tmp_path`` (the ONNX
    exports shared with the rest of the run)."""
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "DESKHAND_DATA_DIR": str(tmp_path),
            "HOME": str(tmp_path),
            "DESKHAND_EMBEDDING_MODELS_DIR": os.environ["DESKHAND_EMBEDDING_MODELS_DIR"],
            **(env or {}),
        },
    )


FIRST_USE_AFTER_PRELOAD = textwrap.dedent(
    """
    import asyncio, sys, tempfile
    import httpx
    from agent.config.settings import Settings
    from agent.runtime.preload import preload
    from knowledge import bm25

    settings = Settings(_env_file=None)
    preload(settings)
    before = set(sys.modules)

    # What a worker's first turn does with these libraries.
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    client = chromadb.PersistentClient(
        path=tempfile.mkdtemp(), settings=ChromaSettings(anonymized_telemetry=False)
    )
    collection = client.get_or_create_collection("first-use", embedding_function=None)
    collection.add(ids=["a"], embeddings=[[0.1, 0.2]], documents=["refunds"])
    collection.query(query_embeddings=[[0.1, 0.2]], n_results=1)
    assert bm25.tokenize("Where is my order?") == ["where", "is", "my", "order"]

    async def request():
        async with httpx.AsyncClient(timeout=2) as http:
            try:
                await http.get("http://127.0.0.1:9/")
            except httpx.HTTPError:
                pass

    asyncio.run(request())
    heavy = ("anyio", "httpcore", "trio", "chromadb", "bm25s", "scipy")
    late = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in heavy)
    print("imported after preload:", late)
    sys.exit(0 if not late else 3)
    """
)


@pytest.mark.slow
def test_after_preload_a_first_turn_imports_none_of_the_heavy_modules(tmp_path: Path) -> None:
    """Each forked worker would otherwise import them again at its first turn."""
    done = _run_script(FIRST_USE_AFTER_PRELOAD, tmp_path)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def test_the_tokenizer_pattern_is_built_by_prepare() -> None:
    from knowledge import bm25

    bm25._word_pattern.cache_clear()
    bm25.prepare()
    assert bm25._word_pattern.cache_info().currsize == 1
