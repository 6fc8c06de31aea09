"""The conversation file format: what a replay says and expects, validated strictly.

Every model forbids unknown keys, so a typo (``reply_matchs``) is an error naming its line,
never an expectation silently skipped. The loader maps pydantic's locations to lines.
"""

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from agent.llm.stub import ScriptedResponse
from tools.demo_shop.shop import Customer as ShopCustomer
from tools.demo_shop.shop import Order, Refund, Shipment

SHOP_COLLECTIONS = ("customers", "orders", "shipments", "refunds")
OperatorAction = Literal["approve", "deny", "take_over", "hand_back", "reply"]


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as error:
        raise ValueError(f"not a valid regular expression: {error}") from None
    return value


Regex = Annotated[str, AfterValidator(_regex)]
Texts = Regex | list[Regex]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerSpec(Strict):
    """The verified customer the tenant's integration names (the demo's Alex by default)."""

    id: str = Field(default="cust_1001", min_length=1, max_length=128)
    email: str | None = "alex@example.com"
    name: str | None = "Alex Morgan"
    locale: str | None = "en"


class ShopFixture(Strict):
    """Demo-shop records upserted by id onto the packaged data (``base: empty``: onto none)."""

    base: Literal["demo", "empty"] = "demo"
    customers: list[ShopCustomer] = Field(default_factory=list)
    orders: list[Order] = Field(default_factory=list)
    shipments: list[Shipment] = Field(default_factory=list)
    refunds: list[Refund] = Field(default_factory=list)


class Fixtures(Strict):
    shop: ShopFixture = Field(default_factory=ShopFixture)


class ConversationConditions(Strict):
    model: Literal["available", "unavailable"] = "available"
    tool_fails: list[str] = Field(default_factory=list, description="tools that fail as a system")


class StepConditions(Strict):
    model: Literal["available", "unavailable"] | None = None
    tool_fails: list[str] | None = None
    gap_s: float = Field(default=0.0, ge=0, le=600, description="wait before this step")
    pause_days: float = Field(
        default=0.0,
        ge=0,
        le=365,
        description="a pause simulated before this step: the graph's clock moves this many "
        "days forward (nothing is waited); it stays moved for the rest of the conversation",
    )


class ToolCallSpec(Strict):
    name: str
    arguments: dict[str, Any] | None = Field(default=None, description="exactly these")
    arguments_include: dict[str, Any] | None = Field(default=None, description="at least these")


class EscalationSpec(Strict):
    reason: str | None = None
    priority: Literal["low", "normal", "high", "urgent"] | None = None
    summary_matches: Regex | None = None


class ApprovalSpec(Strict):
    tool: str | None = None


class Expectations(Strict):
    """What must hold after a step. Absent keys are not checked."""

    replied: bool | None = Field(default=None, description="the bot answered this step")
    reply_matches: Texts | None = None
    reply_not_matches: Texts | None = None
    reply_cites: str | list[str] | None = Field(
        default=None, description="a source, title or URL among the reply's citations"
    )
    tool_called: str | ToolCallSpec | list[str | ToolCallSpec] | None = None
    no_tool_called: bool | list[str] | None = None
    tool_order: list[str] | None = None
    escalated: bool | EscalationSpec | None = None
    handed_off: bool | None = None
    approval_requested: bool | ApprovalSpec | None = None
    mode: Literal["auto", "manual"] | None = None
    state: dict[str, str] | None = Field(default=None, description="facts the agent holds")
    language: str | None = None
    grounded: bool | None = None
    degraded: bool | None = None
    coalesced: bool | None = Field(default=None, description="one reply answered every message")
    latency_s: float | None = Field(default=None, gt=0, description="reply within this budget")


class CassetteAnswer(ScriptedResponse):
    """One scripted model answer. ``key``: the request it answers (``request_key`` of what the
    agent sent, the date masked); a different request fails the replay and shows the diff
    against ``request`` when the cassette recorded it."""

    key: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")
    request: dict[str, Any] | None = None

    def response(self) -> ScriptedResponse:
        return ScriptedResponse.model_validate(
            self.model_dump(exclude={"key", "request"}, exclude_defaults=True)
        )


class Step(Strict):
    """A customer turn (``customer``: one message, or a list sent as a burst) or an
    operator's action (``operator``), with what must hold afterwards."""

    customer: str | list[str] | None = None
    operator: OperatorAction | None = None
    text: str | None = Field(default=None, description="the operator's reply, or a note")
    conditions: StepConditions = Field(default_factory=StepConditions)
    llm: list[CassetteAnswer] | None = None
    expect: Expectations = Field(default_factory=Expectations)

    @model_validator(mode="after")
    def _one_actor(self) -> "Step":
        if (self.customer is None) == (self.operator is None):
            raise ValueError("a turn has either 'customer' or 'operator', not both or neither")
        if isinstance(self.customer, list) and not self.customer:
            raise ValueError("'customer' as a list (a burst) needs at least one message")
        if self.operator == "reply" and not self.text:
            raise ValueError("'operator: reply' needs 'text'")
        if self.customer is not None and self.text is not None:
            raise ValueError("'text' goes with 'operator'; a customer's words go in 'customer'")
        return self

    @property
    def messages(self) -> list[str]:
        if self.customer is None:
            return []
        return [self.customer] if isinstance(self.customer, str) else list(self.customer)

    def describe(self) -> str:
        if self.operator is not None:
            return f"operator {self.operator}" + (f": {self.text!r}" if self.text else "")
        return "customer: " + " / ".join(repr(m) for m in self.messages)


class EndState(Strict):
    """The tool backends after the last turn. A named shop collection must hold exactly the
    listed records (matched by id, on the fields listed); unnamed ones must be unchanged."""

    shop: dict[Literal["customers", "orders", "shipments", "refunds"], list[dict[str, Any]]] = (
        Field(default_factory=dict)
    )


class Conversation(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")
    description: str | None = None
    tenant: str = "demo"
    channel: Literal["generic"] = "generic"
    customer: CustomerSpec = Field(default_factory=CustomerSpec)
    fixtures: Fixtures = Field(default_factory=Fixtures)
    conditions: ConversationConditions = Field(default_factory=ConversationConditions)
    cassette: str | None = Field(default=None, description="a recorded cassette, relative path")
    turns: list[Step] = Field(min_length=1)
    end_state: EndState | None = None

    @model_validator(mode="after")
    def _one_cassette(self) -> "Conversation":
        if self.cassette is not None and any(step.llm is not None for step in self.turns):
            raise ValueError("give the model's answers inline ('llm') or in 'cassette', not both")
        return self


def all_keys() -> set[str]:
    """Every key the format knows (for "did you mean" hints)."""
    models: list[type[BaseModel]] = [
        Conversation, Step, Expectations, StepConditions, ConversationConditions, Fixtures,
        ShopFixture, CustomerSpec, ToolCallSpec, EscalationSpec, ApprovalSpec, EndState,
        CassetteAnswer,
    ]  # fmt: skip
    return {name for model in models for name in model.model_fields}
