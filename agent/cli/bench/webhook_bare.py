"""The baseline of ``deskhand bench webhook``: a FastAPI endpoint that only answers 200.

Run as ``python -m agent.cli.bench.webhook_bare`` with the same ``DESKHAND_*`` environment
as the measured server (its own ``DESKHAND_PORT``): uvicorn serves it with the options
``deskhand serve`` uses, so the ratio of the two measures the webhook path's own cost.
"""

from typing import Any

from fastapi import FastAPI


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.post("/webhooks/{tenant}/{channel}")
    async def receive(tenant: str, channel: str) -> dict[str, Any]:
        return {"status": "ok"}

    return app


def main() -> None:
    import uvicorn

    from agent.cli.serve import uvicorn_options
    from agent.config.settings import Settings

    settings = Settings()
    uvicorn.run(bare_app(), **uvicorn_options(settings))


if __name__ == "__main__":
    main()
