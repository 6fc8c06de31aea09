"""The ticketing factory: the right client per platform, its bounds passed on, no network."""

from pathlib import Path
from typing import Any

import httpx
import pytest

from tools.errors import HelpdeskConfigError, HelpdeskUnavailable
from tools.retry import RetryPolicy
from tools.ticketing.base import TicketingBackend
from tools.ticketing.builtin import BuiltinTicketStore
from tools.ticketing.chatwoot import ChatwootClient
from tools.ticketing.factory import PLATFORMS, open_ticketing_backend
from tools.ticketing.freshdesk import FreshdeskClient
from tools.ticketing.front import FrontClient
from tools.ticketing.helpscout import HelpScoutClient
from tools.ticketing.intercom import IntercomClient
from tools.ticketing.zendesk import ZendeskClient

OPTIONS: dict[str, tuple[dict[str, Any], type[TicketingBackend]]] = {
    "zendesk": (
        {"subdomain": "acme", "email": "bot@acme.example", "api_token": "t", "bot_agent_id": None},
        ZendeskClient,
    ),
    "freshdesk": ({"base_url": "https://acme.freshdesk.com", "api_key": "k"}, FreshdeskClient),
    "chatwoot": (
        {"base_url": "https://chat.acme.example", "account_id": 1, "access_token": "t"},
        ChatwootClient,
    ),
    "intercom": ({"access_token": "t", "admin_id": "814860"}, IntercomClient),
    "helpscout": (
        {"client_id": "i", "client_secret": "s", "mailbox_id": "12345"},
        HelpScoutClient,
    ),
    "front": ({"api_token": "t", "teammate_id": "tea_bot"}, FrontClient),
}
# get_ticket makes one GET on these (Help Scout first asks for an OAuth token).
SINGLE_GET = ["zendesk", "freshdesk", "chatwoot", "intercom", "front"]


@pytest.mark.parametrize("platform", sorted(OPTIONS))
async def test_each_platform_builds_its_client_without_calling_it(platform: str) -> None:
    calls: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(500)

    options, expected = OPTIONS[platform]
    backend = await open_ticketing_backend(
        platform,
        {**options, "timeout_s": 3, "retry": {"max_retries": 1}},
        transport=httpx.MockTransport(record),
    )
    try:
        assert type(backend) is expected
        assert backend.name == platform
    finally:
        await backend.aclose()
    assert calls == []


async def test_the_builtin_store_opens_its_file(tmp_path: Path) -> None:
    path = tmp_path / "tickets" / "acme.sqlite3"
    backend = await open_ticketing_backend("builtin", {"path": path, "handoff_group_id": None})
    try:
        assert isinstance(backend, BuiltinTicketStore)
    finally:
        await backend.aclose()
    assert path.is_file()


def test_every_platform_has_a_case_here() -> None:
    assert set(PLATFORMS) == {"builtin", *OPTIONS}


@pytest.mark.parametrize("platform", SINGLE_GET)
async def test_timeout_and_retries_reach_the_client(platform: str) -> None:
    attempts: list[httpx.Request] = []
    waits: list[float] = []

    def unavailable(request: httpx.Request) -> httpx.Response:
        attempts.append(request)
        return httpx.Response(503)

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    retry = RetryPolicy(max_retries=2, backoff_base_s=0.01, backoff_max_s=0.01)
    backend = await open_ticketing_backend(
        platform,
        {**OPTIONS[platform][0], "retry": retry},
        transport=httpx.MockTransport(unavailable),
        sleep=sleep,
    )
    try:
        with pytest.raises(HelpdeskUnavailable):
            await backend.get_ticket("123")
    finally:
        await backend.aclose()
    assert len(attempts) == 3 and len(waits) == 2


@pytest.mark.parametrize(
    ("platform", "options", "message"),
    [
        ("zenddesk", {}, "unknown helpdesk platform 'zenddesk'; use one of: builtin, zendesk"),
        (
            "freshdesk",
            {"base_url": "https://a.freshdesk.com"},
            "freshdesk: missing field(s) api_key",
        ),
        ("front", {"api_token": "t", "teammate_id": "x", "inbox": "i"}, "unknown field(s) inbox"),
        ("zendesk", {"subdomain": "acme", "api_token": "t"}, "give either email and api_token"),
        ("intercom", {"access_token": "t", "admin_id": "1", "timeout_s": 0}, "timeout_s must be"),
        ("chatwoot", {**OPTIONS["chatwoot"][0], "retry": {"tries": 2}}, "retry: unknown field"),
        ("builtin", {}, "builtin: missing field path"),
        ("builtin", {"path": "x", "api_token": "t"}, "builtin: unknown field(s) api_token"),
    ],
)
async def test_bad_options_name_the_field(
    platform: str, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(HelpdeskConfigError) as raised:
        await open_ticketing_backend(platform, options)
    assert message in str(raised.value)


async def test_a_secret_never_appears_in_an_error() -> None:
    options = {"subdomain": "acme", "api_token": "very-secret-token", "oauth_token": "other-one"}
    with pytest.raises(HelpdeskConfigError) as raised:
        await open_ticketing_backend("zendesk", {**options, "email": "bot@acme.example"})
    assert "very-secret-token" not in str(raised.value) and "other-one" not in str(raised.value)
