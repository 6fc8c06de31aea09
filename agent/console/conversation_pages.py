"""The conversations list, one conversation (transcript and trace side by side), and the
operator's controls on it."""

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from agent.console.bridge import AdminApi, ConsoleApiError
from agent.console.plumbing import act, form_field, show
from agent.console.render import page

router = APIRouter()

STATUSES = ("auto", "manual", "awaiting_approval", "escalated", "resolved")
FILTERS = ("status", "channel", "tenant", "reason", "q", "since", "until", "cursor")
_ACTIONS = {
    "takeover": ("takeover", "Taken over: the bot stays silent until you hand it back."),
    "handback": ("handback", "Handed back to the bot."),
    "resolve": ("resolve", "Resolved."),
    "draft-discard": ("draft/discard", "Draft discarded."),
}


def conversation_url(key: str) -> str:
    return f"/admin/conversations/{quote(key, safe=':')}"


@router.get("/conversations")
async def conversations_page(request: Request) -> Response:
    filters = {name: request.query_params.get(name, "") for name in FILTERS}

    async def render(api: AdminApi, context: dict[str, Any]) -> Response:
        listed = await api.get("/admin/v1/conversations", {**filters, "limit": 50})
        next_filters = {k: v for k, v in filters.items() if v and k != "cursor"}
        return page(
            request,
            "conversations.html",
            context["session"],
            me=context["me"],
            section=context["section"],
            items=listed["items"],
            next_cursor=listed["next_cursor"],
            filters=filters,
            next_filters=next_filters,
            statuses=STATUSES,
            url=conversation_url,
        )

    return await show(request, render, "conversations")


@router.get("/conversations/{key:path}")
async def conversation_page(key: str, request: Request) -> Response:
    after = request.query_params.get("cursor", "")

    async def render(api: AdminApi, context: dict[str, Any]) -> Response:
        path = f"/admin/v1/conversations/{quote(key, safe=':')}"
        detail = await api.get(path, {"cursor": after, "limit": 200})
        turns = await api.get(f"{path}/turns", {"limit": 200})
        return page(
            request,
            "conversation.html",
            context["session"],
            me=context["me"],
            section=context["section"],
            key=key,
            detail=detail,
            summary=detail["summary"] or {},
            turns=turns["items"],
            url=conversation_url(key),
        )

    return await show(request, render, "conversations")


@router.post("/conversations/{key:path}/do/{action}")
async def conversation_action(key: str, action: str, request: Request) -> Response:
    async def call(api: AdminApi, form: FormData) -> str:
        base = f"/admin/v1/conversations/{quote(key, safe=':')}"
        if action == "message":
            await api.post(f"{base}/messages", {"text": form_field(form, "text") or ""})
            return "Message queued for the customer."
        if action == "draft-send":
            edited = (form_field(form, "text") or "").strip() or None
            await api.post(f"{base}/draft/send", {"text": edited})
            return "Draft sent."
        if action in _ACTIONS:
            path, done = _ACTIONS[action]
            await api.post(f"{base}/{path}")
            return done
        raise ConsoleApiError(404, f"no conversation action {action!r}")

    return await act(request, conversation_url(key), call)


@router.post("/conversations/{key:path}/approvals/{approval_id}/{decision}")
async def approval_action(key: str, approval_id: str, decision: str, request: Request) -> Response:
    async def call(api: AdminApi, form: FormData) -> str:
        if decision not in ("approve", "deny"):
            raise ConsoleApiError(404, f"no decision {decision!r}: approve or deny")
        body = {"decision": decision, "note": form_field(form, "note") or None}
        path = f"/admin/v1/conversations/{quote(key, safe=':')}/approvals/{approval_id}"
        await api.post(path, body)
        return "Approved: the bot resumes the action." if decision == "approve" else "Denied."

    return await act(request, conversation_url(key), call)
