"""/admin/v1/conversations: list and filter, transcript, per-turn trace, and the operator's
actions. Thin routes: the logic is in agent.admin.conversations and
agent.admin.conversation_actions (the web console calls the same functions)."""

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from agent.admin import conversation_actions as actions
from agent.admin.conversations import (
    ConversationNotFound,
    InvalidCursor,
    conversation_detail,
    conversation_turns,
    list_conversations,
)
from agent.api.admin_paging import Cursor, Limit, Moment, epoch_seconds
from agent.api.auth import Principal, Role, audit, require_role
from agent.api.deps import components
from agent.api.errors import ApiError
from agent.api.schemas import ADMIN_TOKEN, error_responses, secured_by
from agent.approvals import ApprovalNotFound
from agent.runtime.directory import DirectoryQuery, Status
from agent.runtime.factory import Runtime
from agent.runtime.stores import ApprovalNotPending

router = APIRouter(prefix="/admin/v1")
Name = Annotated[str | None, Query(min_length=1, max_length=200)]
NOT_FOUND = {404: "No such conversation (or one of another tenant, for a tenant-scoped token)."}
READ = {"tags": ["admin"], "response_model": None, "openapi_extra": secured_by(ADMIN_TOKEN)}
ACT = {**READ, "status_code": 202}
READ_ERRORS = error_responses(401, 403, 404, 422, 503, meanings=NOT_FOUND)
ACT_ERRORS = error_responses(401, 403, 404, 409, 422, 503, meanings=NOT_FOUND)
BODY_ERRORS = error_responses(400, 401, 403, 404, 409, 422, 503, meanings=NOT_FOUND)


class Queued(BaseModel):
    queued: bool = Field(description="True: the conversation's worker applies it, in order.")
    action: str
    id: str = Field(description="The queued message's id (an operator message's id).")


class MessageBody(BaseModel):
    text: str = Field(min_length=1, max_length=20_000, description="What the customer reads.")


class DraftBody(BaseModel):
    text: str | None = Field(
        default=None, min_length=1, max_length=20_000, description="An edit of the draft."
    )


class DecisionBody(BaseModel):
    decision: Literal["approve", "deny"]
    note: str | None = Field(default=None, max_length=2000)


@router.get(
    "/conversations",
    summary="List and filter conversations",
    responses={**error_responses(401, 403, 422, 503)},
    **READ,  # type: ignore[arg-type]
)
async def list_route(
    request: Request,
    status: Annotated[Status | None, Query(description="Where it stands.")] = None,
    channel: Name = None,
    tenant: Name = None,
    reason: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Escalation reason.")
    ] = None,
    since: Moment = None,
    until: Moment = None,
    q: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Text in the transcript.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Conversations, most recently updated first: ``{"items": [summary...], "next_cursor"}``.
    ``since``/``until`` bound the last update (inclusive). ``q`` searches the transcripts
    (case-insensitive, not indexed: each call reads at most 200 candidates' transcripts, so
    a page may be short and still have a cursor). A tenant-scoped token sees its tenant."""
    principal = await require_role(request, Role.VIEWER)
    if principal.tenant is not None and tenant not in (None, principal.tenant):
        return {"items": [], "next_cursor": None}
    query = DirectoryQuery(
        tenant=principal.tenant or tenant,
        status=status,
        channel=channel,
        escalation_reason=reason,
        updated_since=epoch_seconds(since),
        updated_until=epoch_seconds(until),
    )
    try:
        page = await list_conversations(_runtime(request), query, limit, cursor, q)
    except InvalidCursor as error:
        raise ApiError(422, f"cursor: {error}") from None
    return page.to_dict()


@router.get(
    "/conversations/{key:path}/turns",
    summary="A conversation's turns, with their traces",
    responses=READ_ERRORS,
    **READ,  # type: ignore[arg-type]
)
async def turns_route(
    key: str, request: Request, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The bot's turns, oldest first: nodes visited and their times, retrieved passages
    (source, title, url, score), model calls (latency, tokens), tool calls (arguments,
    results, held for approval), escalation (reason, priority, summary), approval."""
    await _visible(request, key, Role.VIEWER)
    try:
        page = await conversation_turns(_runtime(request), key, limit, cursor)
    except InvalidCursor as error:
        raise ApiError(422, f"cursor: {error}") from None
    except ConversationNotFound as error:
        raise ApiError(404, str(error)) from None
    return page.to_dict()


@router.get(
    "/conversations/{key:path}",
    summary="A conversation: summary, state, approvals and transcript",
    responses=READ_ERRORS,
    **READ,  # type: ignore[arg-type]
)
async def detail_route(
    key: str, request: Request, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    """The conversation's summary and state, its approvals, and a page of transcript
    entries, oldest first (``next_cursor`` for the next ones). Traces: ``.../turns``."""
    await _visible(request, key, Role.VIEWER)
    try:
        return await conversation_detail(_runtime(request), key, limit, cursor)
    except InvalidCursor as error:
        raise ApiError(422, f"cursor: {error}") from None
    except ConversationNotFound as error:
        raise ApiError(404, str(error)) from None


@router.post(
    "/conversations/{key:path}/takeover",
    summary="Take the conversation over (the bot stops answering)",
    responses={202: {"model": Queued}, **ACT_ERRORS},
    **ACT,  # type: ignore[arg-type]
)
async def take_over_route(key: str, request: Request) -> dict[str, Any]:
    """Manual mode: the customer's messages are recorded and the bot stays silent until
    the conversation is handed back. Applied by the worker, in order. Operator role."""
    return await _act(request, key, "takeover", lambda r, by: actions.take_over(r, key, by))


@router.post(
    "/conversations/{key:path}/handback",
    summary="Hand the conversation back to the bot",
    responses={202: {"model": Queued}, **ACT_ERRORS},
    **ACT,  # type: ignore[arg-type]
)
async def hand_back_route(key: str, request: Request) -> dict[str, Any]:
    """The bot answers again from the next customer message. Operator role."""
    return await _act(request, key, "handback", lambda r, by: actions.hand_back(r, key, by))


@router.post(
    "/conversations/{key:path}/messages",
    summary="Send a message to the customer as the operator",
    responses={202: {"model": Queued}, **BODY_ERRORS},
    **ACT,  # type: ignore[arg-type]
)
async def message_route(key: str, body: MessageBody, request: Request) -> dict[str, Any]:
    """Delivered once through the conversation's channel; in the transcript as the operator."""
    return await _act(
        request, key, "message", lambda r, by: actions.send_message(r, key, body.text, by)
    )


@router.post(
    "/conversations/{key:path}/draft/send",
    summary="Send the bot's draft reply (draft mode), as is or edited",
    responses={202: {"model": Queued}, **BODY_ERRORS},
    **ACT,  # type: ignore[arg-type]
)
async def draft_send_route(key: str, body: DraftBody, request: Request) -> dict[str, Any]:
    """409 when no draft waits, or it was sent or discarded already."""
    return await _act(
        request, key, "draft.send", lambda r, by: actions.send_draft(r, key, by, body.text)
    )


@router.post(
    "/conversations/{key:path}/draft/discard",
    summary="Discard the bot's draft reply (draft mode)",
    responses={202: {"model": Queued}, **ACT_ERRORS},
    **ACT,  # type: ignore[arg-type]
)
async def draft_discard_route(key: str, request: Request) -> dict[str, Any]:
    """The draft is dropped; nothing reaches the customer. 409 when none waits."""
    return await _act(
        request, key, "draft.discard", lambda r, by: actions.discard_draft(r, key, by)
    )


@router.post(
    "/conversations/{key:path}/resolve",
    summary="Resolve the conversation",
    responses={202: {"model": Queued}, **ACT_ERRORS},
    **ACT,  # type: ignore[arg-type]
)
async def resolve_route(key: str, request: Request) -> dict[str, Any]:
    """Listed as resolved until the customer writes again; the bot answers then."""
    return await _act(request, key, "resolve", lambda r, by: actions.resolve(r, key, by))


@router.post(
    "/conversations/{key:path}/approvals/{approval_id}",
    summary="Approve or deny the conversation's paused action",
    responses=BODY_ERRORS,
    **READ,  # type: ignore[arg-type]
)
async def decide_route(
    key: str, approval_id: str, body: DecisionBody, request: Request
) -> dict[str, Any]:
    """Recorded at once (a second decision: 409); the worker resumes the turn."""
    principal = await _visible(request, key, Role.OPERATOR)
    approve = body.decision == "approve"
    try:
        record = await actions.decide_approval(
            _runtime(request), key, approval_id, approve, principal.name, body.note
        )
    except ApprovalNotFound as error:
        raise ApiError(404, str(error)) from None
    except ApprovalNotPending as error:
        raise ApiError(409, f"{error}; nothing changed") from None
    await audit(request, principal, "approval.decide", approval_id, {"decision": body.decision})
    data = record.to_dict()
    data.pop("v", None)
    data.pop("checkpoint_id", None)
    return {"approval": data, "queued": True}


async def _act(
    request: Request,
    key: str,
    action: str,
    run: Callable[[Runtime, str], Awaitable[str]],
) -> dict[str, Any]:
    principal = await _visible(request, key, Role.OPERATOR)
    try:
        queued = await run(_runtime(request), principal.name)
    except ConversationNotFound as error:
        raise ApiError(404, str(error)) from None
    except actions.ActionConflict as error:
        raise ApiError(409, str(error)) from None
    await audit(request, principal, f"conversation.{action}", key, {"id": queued})
    return {"queued": True, "action": action, "id": queued}


async def _visible(request: Request, key: str, role: Role) -> Principal:
    """The caller, when their role suffices and they may see the conversation (else 404,
    as for an unknown one)."""
    principal = await require_role(request, role)
    if key.count(":") < 2 or not principal.can_see(key.split(":", 1)[0]):
        raise ApiError(404, f"no conversation {key!r}")
    return principal


def _runtime(request: Request) -> Runtime:
    return components(request).runtime
