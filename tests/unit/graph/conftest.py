"""Fixtures for the graph's tests: the demo bot and its HTTP tools (calling the demo shop
on a real port), fixed passages and the scripted model."""

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from agent.config.settings import DEMO_TENANTS_DIR
from agent.config.tenants import TenantRegistry
from agent.graph.build import build_graph
from agent.graph.deps import GraphDeps
from agent.graph.state import TurnState, turn_input
from agent.llm.client import ChatClient
from agent.llm.config import LLMConfig
from agent.llm.stub import ScriptedModelServer
from agent.llm.types import ChatMessage
from agent.tenant_tools import TenantTools
from knowledge.retriever import RetrievalResult
from knowledge.types import Passage
from tests.support.demo_shop import DEMO_TOOLS_FILE, RunningShop, serve_demo_shop
from tools.context import Customer
from tools.registry import ToolRegistry

REFUNDS = Passage(
    text="Refunds go back to the original payment method within 5–7 business days "
    "after we receive and inspect your return.",
    title="Refunds",
    heading_path=("How long a refund takes",),
    source="refunds.md",
    url="https://help.brightleaf.example/articles/refunds",
    score=0.71,
    chunk_id="c1",
)
SHIPPING = replace(
    REFUNDS,
    text="Standard shipping takes 3–5 business days in the EU.",
    title="Shipping times and costs",
    heading_path=(),
    source="shipping.md",
    url=None,
    score=0.52,
    chunk_id="c2",
)
ALEX = Customer("cust_1001", "alex@example.com", "Alex Morgan", "en")


def tenants_with(tmp_path: Path, **overrides: Any) -> TenantRegistry:
    data = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    data["tools_file"] = str(DEMO_TOOLS_FILE)  # the copy lives elsewhere
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            data.setdefault(section, {})[field] = value
        else:
            data[section] = value
    (tmp_path / "demo.yaml").write_text(yaml.safe_dump(data))
    return TenantRegistry.load(tmp_path)


def turn(message: str, history: list[Any] | None = None) -> TurnState:
    """A turn's input as the runtime gives it (per-turn fields reset)."""
    return turn_input("demo:generic:c-1", "demo", ALEX, history or [], message)


class Retrieval:
    """Returns fixed passages and remembers the queries (retrieval is tested elsewhere).

    Its confidence is the first passage's score, as the real retriever's is without a
    reranker when dense and BM25 search disagree.
    """

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self.queries: list[tuple[str, list[Any]]] = []

    async def __call__(
        self, tenant: str, query: str, k: int, history: Sequence[ChatMessage]
    ) -> RetrievalResult:
        self.queries.append((query, list(history)))
        found = self.passages[:k]
        return RetrievalResult(found, found[0].score if found else 0.0)


@pytest.fixture(scope="module")
def _model_server() -> Iterator[ScriptedModelServer]:
    with ScriptedModelServer() as server:
        yield server


@pytest.fixture
def model(_model_server: ScriptedModelServer) -> ScriptedModelServer:
    _model_server.set_script([])
    _model_server.clear_requests()
    return _model_server


@pytest.fixture
async def llm(model: ScriptedModelServer) -> AsyncIterator[ChatClient]:
    config = LLMConfig(
        base_url=model.base_url, timeout_s=2, max_retries=1, backoff_base_s=0.01, backoff_max_s=0.02
    )
    async with ChatClient(config) as client:
        yield client


@pytest.fixture(scope="module")
def _running_shop() -> Iterator[RunningShop]:
    with serve_demo_shop() as running:
        yield running


@pytest.fixture
def demo_shop(_running_shop: RunningShop) -> RunningShop:
    _running_shop.reset()
    return _running_shop


MakeGraph = Callable[..., Any]


@pytest.fixture
def make_graph(tmp_path: Path, demo_shop: RunningShop) -> MakeGraph:
    def make(
        llm: ChatClient | None = None,
        passages: list[Passage] | None = None,
        tools: ToolRegistry | None = None,
        checkpointer: Any = None,
        **bot: Any,
    ) -> Any:
        retrieval = Retrieval([REFUNDS, SHIPPING] if passages is None else passages)
        if tools is not None:  # a registry of the test's own: the bot enables all of it
            bot.setdefault("tools", sorted(tools.names))
        tenants = tenants_with(tmp_path, **bot)
        tenant_tools = TenantTools({"demo": tools}) if tools else demo_shop.tenant_tools(tenants)
        deps = GraphDeps(tenants, retrieval, tenant_tools, llm)
        graph = build_graph(deps, checkpointer)
        graph.retrieval = retrieval
        return graph

    return make
