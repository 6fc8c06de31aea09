"""No console page renders customer text unescaped."""

from agent.console.render import _env

SCRIPT = "<script>alert('x')</script>"


def test_a_script_in_a_message_is_shown_as_text() -> None:
    detail = {
        "state": {"mode": "auto"},
        "approvals": [],
        "entries": [{"author": "customer", "text": SCRIPT, "at": 0, "meta": {}, "citations": []}],
        "next_cursor": None,
    }
    summary = {"conversation_id": SCRIPT, "status": "auto", "last_message": None}
    html = _env.get_template("conversation.html").render(
        csrf="t",
        flash=None,
        me={"name": SCRIPT, "role": "operator", "tenant": None},
        section="conversations",
        key=SCRIPT,
        detail=detail,
        summary=summary,
        turns=[],
        url="/admin/conversations/x",
    )
    assert SCRIPT not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_the_list_escapes_previews_and_filters() -> None:
    item = {
        "key": "demo:generic:1",
        "conversation_id": SCRIPT,
        "tenant": "demo",
        "channel": "generic",
        "status": "auto",
        "escalation_reason": None,
        "customer_id": SCRIPT,
        "updated_at": 0,
        "last_message": {"author": "customer", "text": SCRIPT},
    }
    filters = dict.fromkeys(("status", "channel", "tenant", "reason", "q", "since", "until"), "")
    filters["q"] = SCRIPT
    html = _env.get_template("conversations.html").render(
        csrf="t",
        flash=None,
        me={"name": "n", "role": "viewer", "tenant": None},
        section="conversations",
        items=[item],
        next_cursor=None,
        filters=filters,
        next_filters={},
        statuses=("auto",),
        url=lambda key: f"/admin/conversations/{key}",
    )
    assert SCRIPT not in html
    assert html.count("&lt;script&gt;") >= 4
