"""The HTTP tools file, as written: a typed, strict model of the YAML.

```yaml
version: 1
backends:
  shop:
    base_url: https://orders.acme.example/api
    auth: {bearer: "${ACME_ORDERS_TOKEN}"}
tools:
  lookup_order:
    description: Look up one of the customer's orders.
    method: GET
    path: /orders/{order_id}
    parameters:
      order_id: {type: string, max_length: 40}
    customer_scope: {param: email, from: email}
    response: [id, status, items[*].name]
```
Cross-field rules (placeholders, hosts, limits) are checked by the loader.
"""

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from tools.registry import SideEffect

TOOL_NAME = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
PARAM_NAME = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
SCOPE_NAME = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

ParamName = Annotated[str, Field(pattern=PARAM_NAME)]
Scalar = str | int | float | bool
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ParamSpec(_Strict):
    """One argument the model fills in."""

    type: Literal["string", "integer", "number", "boolean"] = "string"
    description: str = ""
    required: bool = True
    default: Scalar | None = None
    enum: list[str | int | float] | None = Field(default=None, min_length=1)
    location: Literal["path", "query", "body"] | None = Field(default=None, alias="in")
    min_length: int | None = Field(default=None, ge=0)
    max_length: int | None = Field(default=None, ge=1)
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None

    @field_validator("pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"not a regular expression: {error}") from None
        return value


class ScopeSpec(_Strict):
    """The argument filled from the verified customer; the model never sees it."""

    param: str = Field(pattern=SCOPE_NAME, description="Its name (a header name when in: header).")
    source: Literal["id", "email"] = Field(alias="from")
    location: Literal["path", "query", "body", "header"] = Field(default="query", alias="in")


class HeaderAuth(_Strict):
    name: str
    value: SecretStr

    @field_validator("name")
    @classmethod
    def _header(cls, value: str) -> str:
        if not HEADER_NAME.match(value):
            raise ValueError("not a valid HTTP header name")
        return value


class BasicAuth(_Strict):
    username: str
    password: SecretStr


class AuthSpec(_Strict):
    """Exactly one of: a bearer token, an API-key header, basic credentials."""

    bearer: SecretStr | None = None
    header: HeaderAuth | None = None
    basic: BasicAuth | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "AuthSpec":
        given = [k for k in ("bearer", "header", "basic") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of bearer, header, basic")
        return self


class RetrySpec(_Strict):
    max_retries: int = Field(default=2, ge=0, le=5)
    backoff_base_s: float = Field(default=0.2, ge=0)
    backoff_max_s: float = Field(default=2.0, ge=0, le=30)


class BackendSpec(_Strict):
    """One API the tools call: where, as whom, and within which bounds."""

    base_url: str
    auth: AuthSpec | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = Field(default=10.0, gt=0, le=120)
    max_response_bytes: int = Field(default=1_000_000, ge=1, le=50_000_000)
    retry: RetrySpec = Field(default_factory=RetrySpec)
    idempotency_header: str = "Idempotency-Key"
    openapi: str | None = Field(
        default=None, description="An OpenAPI document (path relative to the tools file)."
    )

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str]) -> dict[str, str]:
        for name in headers:
            if not HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
        return headers


class ApprovalAboveSpec(_Strict):
    """Approval needed when ``param`` is above ``above`` (a number, or a bot-file limit name)."""

    param: ParamName
    above: float | str


class ToolSpec(_Strict):
    """One tool: an HTTP operation (method + path, or an OpenAPI operationId)."""

    backend: str | None = None
    description: str | None = Field(default=None, min_length=1)
    method: Method | None = None
    path: str | None = None
    operation: str | None = None
    parameters: dict[ParamName, ParamSpec] = Field(default_factory=dict)
    customer_scope: ScopeSpec | None = None
    response: list[str] | None = None
    side_effect: SideEffect | None = None
    approval: Literal["always", "never"] | ApprovalAboveSpec | None = None
    idempotency_params: list[str] | None = None
    timeout_s: float | None = Field(default=None, gt=0, le=120)

    @field_validator("method", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value


class ToolsFile(_Strict):
    version: Literal[1] = 1
    backends: dict[str, BackendSpec] = Field(min_length=1)
    tools: dict[Annotated[str, Field(pattern=TOOL_NAME)], ToolSpec] = Field(default_factory=dict)
