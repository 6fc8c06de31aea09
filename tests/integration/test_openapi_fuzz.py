"""Schemathesis over /openapi.json against a real deskhand (HTTP, Redis): no 5xx, ever.

One tenant per channel (each helpdesk channel with its own platform's helpdesk section).
A schema hook rewrites each generated webhook case: the path gets the tenant configured
for the generated channel, and the body is serialized once and signed with that channel's
secret (tests/support/signers.py), so most cases pass verification and reach the parser;
the rest go unsigned, signed with a wrong secret, or to a random tenant. Some bodies are
a channel's documented example with random fields deleted or replaced
(tests/support/json_fuzz.py). Tenant and admin routes get a valid bearer token in half
the cases.

The counts (cases, cases that passed verification, status histogram) are printed
(``pytest -s``) and are in the assertion message; docs/api.md records a run.
"""

import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode, HookContext
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent.api.app import create_app
from agent.api.webhook_examples import EXAMPLES, FRONT_SYNC
from agent.background_server import BackgroundServer
from agent.config.settings import DEMO_TENANTS_DIR, Settings
from tests.support.demo_shop import DEMO_TOOLS_FILE
from tests.support.json_fuzz import mutated
from tests.support.redis_server import free_port
from tests.support.signers import sign
from tools.signing.standard_webhooks import generate_secret

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # 3,000 cases: 40 s to 2 min

WEBHOOK = "/webhooks/{tenant}/{channel}"
API_TOKEN = "fuzz-api-token-0123456789"
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
URL_TOKEN = "fuzz-url-token-0123456789abcdef"
MODE_HEADER = "x-fuzz-mode"
# Examples per operation and generation mode; the whole run stays under ~2 minutes.
WEBHOOK_EXAMPLES = {GenerationMode.POSITIVE: 800, GenerationMode.NEGATIVE: 200}
OTHER_EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 25}
VERIFIED_MODES = ("signed", "example", "url_token")
WEBHOOK_MODES = (*VERIFIED_MODES, "signed", "example", "unsigned", "wrong_secret", "any_tenant")


def secret_of(channel: str) -> str:
    if channel == "generic":
        return "whsec_ZnV6ei1nZW5lcmljLXNpZ25pbmcta2V5LTAwMDAwMDAx"
    return f"fuzz-{channel}-secret-0123456789"[:40]


UNUSED = f"http://127.0.0.1:{free_port()}"  # the helpdesks' APIs: never called (no workers)
CHANNELS: dict[str, dict[str, Any]] = {
    "generic": {"signing_secrets": [secret_of("generic")], "callback_url": None},
    "chatwoot": {"secrets": [secret_of("chatwoot")], "url_tokens": [URL_TOKEN]},
    "zendesk": {"signing_secrets": [secret_of("zendesk")]},
    "sunshine": {
        "api_keys": [secret_of("sunshine")],
        "app_id": "app_fuzz",
        "key_id": "key_fuzz",
        "key_secret": "key-secret-fuzz",
        "base_url": UNUSED,
    },
    "intercom": {"client_secrets": [secret_of("intercom")]},
    "freshdesk": {"tokens": [secret_of("freshdesk")], "url_tokens": [URL_TOKEN]},
    "helpscout": {"secrets": [secret_of("helpscout")]},
    "front": {"signing_keys": [secret_of("front")]},
}
HELPDESKS: dict[str, dict[str, Any]] = {
    "chatwoot": {"base_url": UNUSED, "account_id": 1, "access_token": "x-token"},
    "zendesk": {"base_url": UNUSED, "email": "bot@example.com", "api_token": "x-token"},
    "intercom": {"base_url": UNUSED, "access_token": "x-token", "admin_id": "991"},
    "freshdesk": {"base_url": UNUSED, "api_key": "x-key"},
    "helpscout": {
        "base_url": UNUSED,
        "client_id": "x-id",
        "client_secret": "x-secret",
        "mailbox_id": "85",
    },
    "front": {"base_url": UNUSED, "api_token": "x-token", "teammate_id": "tea_1"},
}


def tenant_of(channel: str) -> str:
    return f"fuzz-{channel}"


def write_tenants(directory: Path) -> None:
    demo = yaml.safe_load((DEMO_TENANTS_DIR / "demo.yaml").read_text())
    for channel, config in CHANNELS.items():
        helpdesk = {"platform": channel, **HELPDESKS[channel]} if channel in HELPDESKS else None
        bot = {
            **demo,
            "tenant": tenant_of(channel),
            "tools_file": str(DEMO_TOOLS_FILE),
            "api_tokens": [API_TOKEN],
            "helpdesk": helpdesk or {"platform": "builtin"},
            "channels": {channel: config},
        }
        (directory / f"{tenant_of(channel)}.yaml").write_text(yaml.safe_dump(bot))


@pytest.fixture
def deskhand(data_dir: Path, tmp_path: Path, redis_url: str, redis_prefix: str) -> Iterator[str]:
    tenants = tmp_path / "tenants"
    tenants.mkdir()
    write_tenants(tenants)
    config = Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=data_dir,
        tenants_dir=tenants,
        redis_url=redis_url,
        redis_prefix=redis_prefix,
        admin_token=ADMIN_TOKEN,
        port=free_port(),
    )
    app = create_app(config, run_workers_in_process=False)
    with BackgroundServer(app, port=config.port, lifespan="on", name="deskhand-fuzz") as server:
        wait_ready(server.base_url)
        yield server.base_url


def wait_ready(base_url: str, timeout_s: float = 60) -> None:
    """Until the embedding model is loaded (before that, /readyz is a documented 503)."""
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base_url, timeout=10) as http:
        while time.monotonic() < deadline:
            if http.get("/readyz").status_code == 200:
                return
            time.sleep(0.1)
        raise AssertionError(f"deskhand not ready: {http.get('/readyz').text}")


# ---- the hook: what each generated case becomes before it is sent ----


def body_bytes(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return json.dumps(body, ensure_ascii=False).encode()


def webhook_case(case: Case, mode: str, example: Any) -> Case:
    channel = case.path_parameters.get("channel")
    if channel not in CHANNELS:  # a negative case: an unknown channel
        return marked(case, mode)
    if mode != "any_tenant":
        case.path_parameters["tenant"] = tenant_of(channel)
    if mode == "example":
        case.body = example
    body = body_bytes(case.body)
    case.body = body
    case.media_type = "application/json"
    if mode in ("signed", "example"):
        case.headers.update(sign(channel, secret_of(channel), body))
    elif mode == "wrong_secret":
        wrong = generate_secret() if channel == "generic" else "not-the-secret-0123456789"
        case.headers.update(sign(channel, wrong, body))
    elif mode == "url_token":
        case.query["token"] = URL_TOKEN
    return marked(case, mode)


def authorized_case(case: Case, mode: str) -> Case:
    if "/admin/" in case.operation.path:
        token = ADMIN_TOKEN
    else:
        token = API_TOKEN
        key = str(case.path_parameters.get("key", ""))
        channel = "generic" if len(key) % 2 else "chatwoot"
        case.path_parameters["key"] = f"{tenant_of(channel)}:{channel}:{key}"
    if mode == "token":
        case.headers["Authorization"] = f"Bearer {token}"
    return marked(case, mode)


def marked(case: Case, mode: str) -> Case:
    case.headers[MODE_HEADER] = mode
    return case


def prepare(case: Case) -> st.SearchStrategy[Case]:
    """The hook's strategy: a way to send this case (signed, mis-signed...). Each draw
    changes a copy: Hypothesis may draw again for the same generated case."""
    path = case.operation.path
    if path == WEBHOOK:
        channel = case.path_parameters.get("channel")
        examples = mutated(EXAMPLES[channel]) if channel in EXAMPLES else st.none()
        return st.tuples(st.sampled_from(WEBHOOK_MODES), examples).map(
            lambda drawn: webhook_case(fresh(case), *drawn)
        )
    if path.startswith(("/admin/", "/v1/")):
        modes = st.sampled_from(("token", "as_generated"))
        return modes.map(lambda mode: authorized_case(fresh(case), mode))
    return st.just(marked(fresh(case), "as_generated"))


def fresh(case: Case) -> Case:
    return case.derive(keep_auth=True)


# ---- the run ----


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    by_mode: Counter[str] = field(default_factory=Counter)
    by_operation: Counter[str] = field(default_factory=Counter)
    webhook_cases: int = 0
    verified: int = 0
    verified_by_channel: Counter[str] = field(default_factory=Counter)
    server_errors: list[str] = field(default_factory=list)
    conformance: list[str] = field(default_factory=list)

    def record(self, case: Case, response: requests.Response) -> None:
        status = response.status_code
        self.statuses[status] += 1
        self.by_mode[f"{case.headers.get(MODE_HEADER)}:{status}"] += 1
        self.by_operation[f"{case.method} {case.operation.path}"] += 1
        if case.operation.path == WEBHOOK:
            self.webhook_cases += 1
            if status not in (401, 404):
                self.verified += 1
                self.verified_by_channel[str(case.path_parameters.get("channel"))] += 1
        if status >= 500:
            self.server_errors.append(
                f"{status} {case.method} {case.formatted_path} "
                f"mode={case.headers.get(MODE_HEADER)}: {response.text[:200]}"
            )

    def summary(self) -> str:
        histogram = dict(sorted(self.statuses.items()))
        return (
            f"cases={sum(self.statuses.values())} webhook_cases={self.webhook_cases} "
            f"verified={self.verified} verified_by_channel={dict(self.verified_by_channel)} "
            f"statuses={histogram} by_mode={dict(sorted(self.by_mode.items()))} "
            f"operations={dict(self.by_operation)} "
            f"server_errors={self.server_errors[:5]} conformance={self.conformance[:5]}"
        )


def check(case: Case, response: requests.Response, tally: Tally) -> None:
    try:
        case.validate_response(
            response,
            checks=[
                not_a_server_error,
                status_code_conformance,
                content_type_conformance,
                response_schema_conformance,
            ],
        )
    except FailureGroup as failure:
        tally.conformance.append(f"{case.method} {case.formatted_path}: {failure}"[:400])


def fuzz(schema: Any, base_url: str, tally: Tally) -> None:
    session = requests.Session()
    for result in schema.get_all_operations():
        operation = result.ok()
        budget = WEBHOOK_EXAMPLES if operation.path == WEBHOOK else OTHER_EXAMPLES
        for mode, examples in budget.items():

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: Case) -> None:
                response = case.call(base_url=base_url, session=session, timeout=10)
                tally.record(case, response)
                check(case, response, tally)

            try:
                send()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                assert mode == GenerationMode.NEGATIVE, operation.label


def sign_cases(context: HookContext, case: Case) -> st.SearchStrategy[Case]:
    """The schema's ``flatmap_case`` hook."""
    return prepare(case)


def test_no_5xx_for_any_generated_request(deskhand: str) -> None:
    schema = schemathesis.openapi.from_url(f"{deskhand}/openapi.json")
    schema.hook("flatmap_case")(sign_cases)
    tally = Tally()
    fuzz(schema, deskhand, tally)
    print("\nschemathesis:", tally.summary())
    assert tally.webhook_cases > 0 and not tally.server_errors, tally.summary()
    assert not tally.conformance, tally.summary()


def post_signed(http: httpx.Client, channel: str, document: Any, **extra: Any) -> httpx.Response:
    body = json.dumps(document).encode()
    headers = {
        "content-type": "application/json",
        **sign(channel, secret_of(channel), body, **extra),
    }
    return http.post(f"/webhooks/{tenant_of(channel)}/{channel}", content=body, headers=headers)


def test_the_documented_examples_are_accepted(deskhand: str) -> None:
    """Each channel's example in the document, signed, to its tenant: queued."""
    with httpx.Client(base_url=deskhand, timeout=10) as http:
        answers = {channel: post_signed(http, channel, body) for channel, body in EXAMPLES.items()}
        challenge = post_signed(http, "front", FRONT_SYNC, challenge="ch-123")
    statuses = {channel: (a.status_code, a.text[:160]) for channel, a in answers.items()}
    assert all(a.status_code == 200 for a in answers.values()), statuses
    assert {a.json()["status"] for a in answers.values()} == {"queued"}, statuses
    assert challenge.status_code == 200 and challenge.json() == {"challenge": "ch-123"}
