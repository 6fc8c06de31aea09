"""``POST /webhooks/{tenant}/{channel}`` served ahead of FastAPI's routing.

Helpdesks call this route far more often than any other, and some hand the conversation
to people when the answer is slow (Chatwoot after 5 s). FastAPI's route matching and
dependency solving cost more per request than verifying and queueing a delivery, so this
ASGI middleware answers webhook deliveries itself with the same handler
(``agent.api.webhooks.handle_webhook``) and the same error answers; every other request
goes on to FastAPI. The FastAPI route stays: it documents the endpoint in the OpenAPI spec.
"""

import re

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from agent.api.errors import error_response, unexpected_response
from agent.api.webhooks import handle_webhook
from agent.errors import DeskhandError

_WEBHOOK_PATH = re.compile(r"^/webhooks/(?P<tenant>[^/]+)/(?P<channel>[^/]+)$")


class WebhookFastPath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _webhook(scope)
        if match is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        try:
            response = await handle_webhook(request, match["tenant"], match["channel"])
        except DeskhandError as error:
            response = error_response(scope["path"], error)
        except Exception:  # never a traceback to the sender; logged with the path
            response = unexpected_response(scope["path"])
        await response(scope, receive, send)


def _webhook(scope: Scope) -> re.Match[str] | None:
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    return _WEBHOOK_PATH.match(scope["path"])
