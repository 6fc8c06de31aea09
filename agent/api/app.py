"""The FastAPI application and its lifespan: components, workers and model warm-up."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from agent import __version__
from agent.api import (
    admin,
    admin_audit,
    admin_config,
    admin_conversations,
    admin_knowledge,
    admin_me,
    admin_stats,
    admin_tokens,
    api_docs,
    conversations,
    health,
    webhooks,
)
from agent.api.errors import install_error_handlers
from agent.api.openapi import install_openapi
from agent.api.webhook_fast_path import WebhookFastPath
from agent.components import Components
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from agent.console import routes as console
from agent.llm.errors import LLMError
from agent.webhook_rejections import flush_forever
from tools.demo_shop import DemoShop, create_demo_shop_app

log = logging.getLogger(__name__)


def create_app(settings: Settings, run_workers_in_process: bool = True) -> FastAPI:
    """The web app. Workers run inside it unless ``run_workers_in_process`` is False."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        parts = await Components.open(settings)
        app.state.components = parts
        app.state.embedder_ready = False
        stop = asyncio.Event()
        background = [asyncio.create_task(_warm_up(app, parts))]
        background.append(
            asyncio.create_task(flush_forever(parts.rejections, parts.runtime.stats, stop))
        )
        if run_workers_in_process:
            background.append(asyncio.create_task(parts.work(stop)))
        else:  # the workers follow bot-file reloads themselves; this process too
            background.append(asyncio.create_task(parts.follow_reloads(stop)))
        await _report_model(parts)
        try:
            yield
        finally:
            stop.set()
            await _finish(background, timeout_s=settings.turn_timeout_s)
            await admin_knowledge.close_knowledge_jobs(app)
            await parts.close()

    app = FastAPI(
        title="deskhand", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(WebhookFastPath)
    app.include_router(health.router)
    app.include_router(api_docs.router)
    app.include_router(webhooks.router)
    app.include_router(conversations.router)
    app.include_router(admin.router)
    app.include_router(admin_conversations.router)
    app.include_router(admin_stats.router)
    app.include_router(admin_tokens.router)
    app.include_router(admin_audit.router)
    app.include_router(admin_knowledge.router)
    app.include_router(admin_config.router)
    app.include_router(admin_me.router)
    app.include_router(console.router)
    if settings.demo_shop:
        _mount_demo_shop(app)
    elif settings.tenants_dir.resolve() == DEMO_TENANTS_DIR.resolve():
        app.mount("/demo-shop", _demo_shop_off)
    return app


def _mount_demo_shop(app: FastAPI) -> None:
    """The sample shop's API under /demo-shop, for the demo tenant's HTTP tools to call.

    It is a separate app (its own bearer token, its own errors) that happens to share the
    port; ``app.state.demo_shop`` gives replays its ``snapshot()`` and ``seed()``.
    """
    shop = DemoShop.load()
    app.state.demo_shop = shop
    app.mount("/demo-shop", create_demo_shop_app(shop))
    log.info("demo shop served under /demo-shop")


async def _demo_shop_off(scope: Scope, receive: Receive, send: Send) -> None:
    """503 rather than 404: the demo tools then fail as a system failure (a person takes
    over) instead of telling the customer that their order does not exist."""
    detail = "the demo shop is not served; set DESKHAND_DEMO_SHOP=true (make run does)"
    await JSONResponse({"detail": detail}, status_code=503)(scope, receive, send)


async def _warm_up(app: FastAPI, parts: Components) -> None:
    """Load the embedding model in the background so the first question is fast."""
    try:
        await asyncio.to_thread(parts.retriever.warm_up)
    except Exception:
        log.exception("could not load the embedding model")
        return
    app.state.embedder_ready = True
    # Everything loaded so far (the model, its libraries) lives as long as the process:
    # out of the garbage collector's full passes, which would stall requests for as long
    # as they take to walk millions of objects.
    gc.freeze()
    log.info("embedding model loaded")


async def _report_model(parts: Components) -> None:
    if parts.llm is None:
        log.warning("no model endpoint configured (DESKHAND_LLM_BASE_URL): degraded answers only")
        return
    try:
        models = await parts.llm.list_models()
    except LLMError as error:
        log.error("model endpoint unreachable at start-up; serving degraded: %s", error)
        return
    log.info("model endpoint ready", extra={"models": models})


async def _finish(tasks: list["asyncio.Task[None]"], timeout_s: float) -> None:
    _done, pending = await asyncio.wait(tasks, timeout=timeout_s)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
