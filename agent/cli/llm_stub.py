"""``deskhand llm-stub``: serve the scripted model server until interrupted."""

import importlib
from pathlib import Path
from typing import Annotated, cast

import typer
import uvicorn

from agent.llm.stub import (
    Responder,
    ScriptFileError,
    create_stub_app,
    load_cassette,
    load_script,
)

DEMO_RESPONDER_MODULE = "agent.llm.stub.demo"


def llm_stub(
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8001,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    script: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON list of responses, answered in order.", dir_okay=False),
    ] = None,
    cassette: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON cassette: responses keyed by the request.", dir_okay=False),
    ] = None,
    latency: Annotated[
        float, typer.Option(help="Seconds to wait before each answer.", min=0.0)
    ] = 0.0,
    model: Annotated[str, typer.Option(help="Model name served at /v1/models.")] = "qwen3.5-9b",
) -> None:
    """Serve a scripted, OpenAI-compatible stand-in for vLLM (Ctrl+C to stop).

    It answers POST /v1/chat/completions from a --script (responses in order) or a
    --cassette (responses keyed by the conversation); with neither, from the demo
    responder. Point DESKHAND_LLM_BASE_URL at http://HOST:PORT to use it. Recorded
    requests: GET /_stub/requests.
    """
    responder = _responder(script, cassette)
    app = create_stub_app(responder, model_name=model, default_latency_s=latency)
    typer.echo(f"scripted model {model!r} listening on http://{host}:{port}/v1", err=True)
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="off")


def _responder(script: Path | None, cassette: Path | None) -> Responder:
    if script is not None and cassette is not None:
        raise typer.BadParameter("give either --script or --cassette, not both")
    try:
        if script is not None:
            return load_script(script)
        if cassette is not None:
            return load_cassette(cassette)
    except ScriptFileError as error:
        raise typer.BadParameter(str(error)) from None
    demo = importlib.import_module(DEMO_RESPONDER_MODULE)  # written separately; loaded lazily
    return cast(Responder, demo.DemoResponder())
