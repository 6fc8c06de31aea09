"""One example delivery per channel, for the OpenAPI document of ``POST /webhooks/...``.

The shapes follow each platform's documented payload (the helpdesk webhook reference;
Freshdesk's is the body of the template in docs/channels/freshdesk.md, since Freshdesk
posts what the automation rule says); ids and texts are illustrative. Each is what the
platform POSTs for "a customer wrote".
"""

from typing import Any

GENERIC: dict[str, Any] = {
    "type": "message.created",
    "conversation": {"id": "c-1"},
    "message": {"id": "m-1", "text": "Where is my order?"},
    "customer": {"id": "cust_1001", "email": "alex@example.com", "name": "Alex", "locale": "en"},
}

CHATWOOT: dict[str, Any] = {
    "event": "message_created",
    "id": 118,
    "content": "Where is my order?",
    "created_at": "2026-07-23T18:02:48.000Z",
    "message_type": "incoming",
    "content_type": "text",
    "private": False,
    "content_attributes": {},
    "source_id": None,
    "sender": {"id": 14, "name": "Alex", "avatar": "", "type": "contact"},
    "inbox": {"id": 1, "name": "Acme Support"},
    "conversation": {
        "id": 10,
        "inbox_id": 1,
        "channel": "Channel::WebWidget",
        "status": "pending",
        "can_reply": True,
        "meta": {
            "sender": {"id": 14, "name": "Alex", "email": "alex@example.com", "type": "contact"},
            "assignee": None,
        },
    },
    "account": {"id": 1, "name": "Acme Inc"},
}

ZENDESK: dict[str, Any] = {
    "type": "zen:event-type:ticket.comment_added",
    "id": "d4f5c389-8f4a-4c2e-a1b9-8e4f39c71d52",
    "time": "2026-01-08T14:25:30.123456789Z",
    "account_id": 22129848,
    "zendesk_event_version": "2022-11-06",
    "subject": "zen:ticket:5158",
    "detail": {
        "id": "5158",
        "requester_id": "8447388090494",
        "assignee_id": None,
        "group_id": None,
        "status": "OPEN",
        "subject": "Where is my order?",
        "via": {"channel": "web"},
    },
    "event": {
        "comment": {
            "id": "9876543210",
            "body": "Where is my order?",
            "is_public": True,
            "author": {"id": "8447388090494", "is_staff": False, "name": "Alex"},
        }
    },
}

SUNSHINE: dict[str, Any] = {
    "app": {"id": "5ebee0975ac5304b664a12fa"},
    "webhook": {"id": "5f4eaef81e3dcc117c7ba48a", "version": "v2"},
    "events": [
        {
            "id": "5f74a0d52b5315fc007e798a",
            "createdAt": "2026-09-30T15:14:29.834Z",
            "type": "conversation:message",
            "payload": {
                "conversation": {"id": "f52b01137aa6c250bc7251fa", "type": "personal"},
                "message": {
                    "id": "5f74c7d84a146f3abd72af1d",
                    "received": "2026-09-30T18:00:56.820Z",
                    "author": {
                        "userId": "26508c10541a4b0ff472e5e2",
                        "displayName": "Alex",
                        "type": "user",
                    },
                    "content": {"type": "text", "text": "Where is my order?"},
                    "source": {"type": "web"},
                },
            },
        }
    ],
}

INTERCOM: dict[str, Any] = {
    "type": "notification_event",
    "id": "notif_9cc0ef6e-3dfd-47a9-a715-be6cf19a273a",
    "topic": "conversation.user.replied",
    "app_id": "vne310wv",
    "created_at": 1692131388,
    "data": {
        "type": "notification_event_data",
        "item": {
            "type": "conversation",
            "id": "123",
            "state": "open",
            "admin_assignee_id": None,
            "team_assignee_id": None,
            "source": {
                "type": "conversation",
                "id": "269650473",
                "delivered_as": "customer_initiated",
                "author": {"type": "user", "id": "5bc8f7ae2d96695c18a"},
                "body": "<p>Hi</p>",
            },
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": "5bc8"}]},
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [
                    {
                        "type": "conversation_part",
                        "id": "2202737122",
                        "part_type": "comment",
                        "author": {"type": "user", "id": "5bc8f7ae2d96695c18a"},
                        "body": "<p>Where is my order?</p>",
                        "created_at": 1692131388,
                    }
                ],
            },
        },
    },
}

FRESHDESK: dict[str, Any] = {  # the body deskhand's automation-rule template renders to
    "event": "customer_reply",
    "ticket_id": "4242",
    "subject": "Where is my order?",
    "status": "Open",
    "source": "Email",
    "requester_id": "5001",
    "requester_email": "alex@example.com",
    "requester_name": "Alex",
    "agent_email": "",
    "latest_public_comment": "Where is my order?",
}

HELPSCOUT: dict[str, Any] = {
    "id": 2391938111,
    "number": 349,
    "type": "email",
    "status": "active",
    "state": "published",
    "subject": "Where is my order?",
    "mailboxId": 85,
    "primaryCustomer": {"id": 401, "email": "alex@example.com", "first": "Alex"},
    "assignee": None,
    "tags": [],
    "_embedded": {
        "threads": [
            {
                "id": 88771,
                "type": "customer",
                "status": "active",
                "body": "<p>Where is my order?</p>",
                "createdBy": {"id": 401, "type": "customer", "email": "alex@example.com"},
                "createdAt": "2026-05-01T10:00:00Z",
            }
        ]
    },
}

FRONT: dict[str, Any] = {
    "type": "inbound_received",
    "authorization": {"id": "cmp_4thp0"},
    "payload": {
        "id": "evt_3s78kxhw",
        "type": "inbound",
        "emitted_at": 1694046470.93,
        "conversation": {
            "id": "cnv_1042nr10",
            "subject": "Where is my order?",
            "status": "unassigned",
            "assignee": None,
            "recipient": {"name": "Alex", "handle": "alex@example.com", "role": "from"},
        },
        "target": {
            "_meta": {"type": "message"},
            "data": {
                "id": "msg_1sagx9sk",
                "type": "email",
                "is_inbound": True,
                "author": None,
                "subject": "Where is my order?",
                "text": "Where is my order?",
                "body": "Where is my order?",
                "recipients": [
                    {"name": "Alex", "handle": "alex@example.com", "role": "from"},
                    {"name": None, "handle": "support@acme.example", "role": "to"},
                ],
            },
        },
    },
}

FRONT_SYNC: dict[str, Any] = {"type": "sync", "authorization": {"id": "cmp_4thp0"}}

EXAMPLES: dict[str, dict[str, Any]] = {
    "generic": GENERIC,
    "chatwoot": CHATWOOT,
    "zendesk": ZENDESK,
    "sunshine": SUNSHINE,
    "intercom": INTERCOM,
    "freshdesk": FRESHDESK,
    "helpscout": HELPSCOUT,
    "front": FRONT,
}
