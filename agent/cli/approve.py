"""deskhand approve: decide on an action a turn paused for, through the admin API."""

from typing import Annotated, Any

import httpx
import typer

from agent.cli.common import console, fail, local_url, settings_or_exit

UrlOption = typer.Option(help="deskhand's base URL (default: from DESKHAND_HOST/PORT).")


def approve(
    approval_id: Annotated[
        str | None, typer.Argument(help="The approval's id (omit with --list).")
    ] = None,
    deny: Annotated[bool, typer.Option("--deny", help="Decline instead of approving.")] = False,
    note: Annotated[str | None, typer.Option(help="Why; kept with the decision.")] = None,
    operator: Annotated[str, typer.Option(help="Who decides (for the record).")] = "operator",
    list_pending: Annotated[
        bool, typer.Option("--list", help="List the approvals waiting for a decision.")
    ] = False,
    url: Annotated[str | None, UrlOption] = None,
) -> None:
    """Approve (or --deny) an action a conversation paused for; --list shows what waits.

    Talks to a running deskhand with DESKHAND_ADMIN_TOKEN. The conversation's worker then
    resumes the paused turn: the action runs once, or the customer hears it was declined.
    """
    settings = settings_or_exit()
    if settings.admin_token is None:
        fail("set DESKHAND_ADMIN_TOKEN (the same as the server's) to use the admin API", code=2)
    base = url or local_url(settings)
    headers = {"authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
        if list_pending:
            _show_pending(_call(http, "GET", "/admin/v1/approvals"))
            return
        if approval_id is None:
            fail("give an approval id, or --list", code=2)
        body = {"decision": "deny" if deny else "approve", "note": note, "operator": operator}
        record = _call(http, "POST", f"/admin/v1/approvals/{approval_id}", body)["approval"]
        console.print(f"{record['id']}: {record['status']} by {record['decided_by']}")


def _call(http: httpx.Client, method: str, path: str, body: Any = None) -> dict[str, Any]:
    try:
        response = http.request(method, path, json=body)
    except httpx.HTTPError as error:
        fail(f"cannot reach deskhand at {http.base_url}: {type(error).__name__}")
    if response.status_code != 200:
        fail(f"{response.status_code}: {response.json().get('error', response.text)}")
    data: dict[str, Any] = response.json()
    return data


def _show_pending(data: dict[str, Any]) -> None:
    approvals = data["approvals"]
    if not approvals:
        console.print("no approval is waiting")
    for record in approvals:
        arguments = ", ".join(f"{k}={v!r}" for k, v in record["arguments"].items())
        console.print(
            f"{record['id']}  {record['conversation_key']}  {record['tool']}({arguments})"
            f"  — {record['reason']}",
            highlight=False,
            soft_wrap=True,
        )
