"""A turn's outbox items through Sunshine Conversations (Zendesk messaging).

A reply is a business message (marked as the AI's when ``ai_disclaimer``); a hand-off is
``passControl`` to ``handoff_target`` with the reason, priority and summary as metadata (the
agent workspace shows them; SunCo has no internal notes, tags or priorities); an approval
request is logged only. Draft mode needs internal notes, which messaging does not have:
replies are then logged and not sent (draft review needs a Zendesk Support channel).
"""

import logging

import httpx

from agent.config.channels import SunshineChannelConfig
from agent.config.tenants import TenantRegistry
from agent.delivery import APPROVAL, HANDOFF, OPERATOR_REPLY, REPLY
from agent.runtime.models import OutboxItem
from tools.messaging.sunshine import SunshineClient
from tools.retry import RetryPolicy

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS = 700


class SunshineDelivery:
    def __init__(
        self, tenants: TenantRegistry, http: httpx.AsyncClient, retry: RetryPolicy | None = None
    ) -> None:
        self._tenants = tenants
        self._http = http
        self._retry = retry or RetryPolicy()

    async def deliver(self, conversation_key: str, item: OutboxItem) -> None:
        tenant, _channel, conversation_id = conversation_key.split(":", 2)
        bot = self._tenants.get(tenant)
        config = bot.channels.sunshine
        if config is None:
            log.error("no sunshine channel for this tenant", extra={"tenant": tenant})
            return
        client = self.client(config)
        if item.kind == REPLY and bot.channels.reply_mode == "draft":
            log.warning(
                "draft mode: Sunshine Conversations has no internal notes, reply not sent",
                extra={"conversation": conversation_key, "item": item.key},
            )
        elif item.kind == REPLY:
            text = str(item.payload["text"])
            await client.reply(conversation_id, text, item.key, config.ai_disclaimer)
        elif item.kind == OPERATOR_REPLY:  # a person's words: no AI disclaimer
            await client.reply(conversation_id, str(item.payload["text"]), item.key, False)
        elif item.kind == HANDOFF:
            metadata = handoff_metadata(item)
            await client.pass_control(conversation_id, config.handoff_target, metadata, item.key)
        elif item.kind == APPROVAL:
            log.info(
                "approval requested (Sunshine Conversations has no internal notes)",
                extra={"conversation": conversation_key, "item": item.key},
            )

    def client(self, config: SunshineChannelConfig) -> SunshineClient:
        return SunshineClient(
            self._http,
            config.base_url,
            config.app_id,
            config.key_id,
            config.key_secret.get_secret_value(),
            timeout_s=config.timeout_s,
            retry=self._retry,
        )


def handoff_metadata(item: OutboxItem) -> dict[str, str]:
    payload = item.payload
    summary = str(payload.get("summary", ""))
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = summary[: MAX_SUMMARY_CHARS - 1] + "…"
    return {
        "reason": str(payload.get("reason", "")),
        "priority": str(payload.get("priority", "")),
        "summary": summary,
    }
