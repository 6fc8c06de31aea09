"""How the model client reaches its endpoint: URL, credentials, timeouts, retries, circuit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.errors import ConfigError
from agent.llm.routing import DEFAULT_ROUTING_HEADER, is_header_name

if TYPE_CHECKING:
    from agent.config.settings import Settings


@dataclass(frozen=True)
class LLMConfig:
    """Connection settings of one OpenAI-compatible endpoint.

    ``base_url`` is the server root (``http://127.0.0.1:8000``); a URL ending in ``/v1``
    is accepted and normalised to the root. The client appends ``/v1/...`` itself.
    ``timeout_s`` bounds a whole non-streaming response, and each chunk of a stream.
    ``routing_header`` names the header that carries a conversation's routing key (sticky
    routing across model replicas); None sends none.
    """

    base_url: str
    model: str = "qwen3.5-9b"
    api_key: str | None = field(default=None, repr=False)
    timeout_s: float = 60.0
    connect_timeout_s: float = 5.0
    max_retries: int = 2
    backoff_base_s: float = 0.5
    backoff_max_s: float = 8.0
    circuit_failures: int = 5
    circuit_reset_s: float = 30.0
    stream: bool = False
    routing_header: str | None = DEFAULT_ROUTING_HEADER

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", normalise_base_url(self.base_url))
        if self.timeout_s <= 0 or self.connect_timeout_s <= 0:
            raise ConfigError("LLMConfig: timeouts must be positive")
        if self.max_retries < 0:
            raise ConfigError("LLMConfig: max_retries must be 0 or more")
        if self.backoff_base_s < 0 or self.backoff_max_s < 0:
            raise ConfigError("LLMConfig: backoff times must be 0 or more")
        if self.circuit_failures < 1 or self.circuit_reset_s <= 0:
            raise ConfigError("LLMConfig: circuit_failures must be >= 1, circuit_reset_s > 0")
        if self.routing_header is not None and not is_header_name(self.routing_header):
            raise ConfigError(
                f"LLMConfig: routing header {self.routing_header!r} (DESKHAND_LLM_ROUTING_HEADER) "
                "is not an HTTP header name"
            )

    def url(self, path: str) -> str:
        """The absolute URL of an API path such as ``/v1/chat/completions``."""
        return self.base_url + path

    @classmethod
    def from_settings(cls, settings: Settings) -> LLMConfig:
        """Build the config from the process settings (``DESKHAND_LLM_*``)."""
        if not settings.llm_base_url:
            raise ConfigError("DESKHAND_LLM_BASE_URL is not set: no model endpoint configured")
        api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=api_key or None,
            timeout_s=settings.llm_timeout_s,
            connect_timeout_s=settings.llm_connect_timeout_s,
            max_retries=settings.llm_max_retries,
            backoff_base_s=settings.llm_backoff_base_s,
            backoff_max_s=settings.llm_backoff_max_s,
            circuit_failures=settings.llm_circuit_failures,
            circuit_reset_s=settings.llm_circuit_reset_s,
            stream=settings.llm_stream,
            routing_header=settings.llm_routing_header or None,
        )


def normalise_base_url(url: str) -> str:
    """``http://host:8000/v1/`` → ``http://host:8000``; rejects non-HTTP URLs."""
    value = url.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ConfigError(f"model base URL must start with http:// or https://, got {url!r}")
    if value.endswith("/v1"):
        value = value[: -len("/v1")]
    return value
