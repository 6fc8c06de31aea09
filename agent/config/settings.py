"""Process-wide settings, read once at start-up from ``DESKHAND_*`` variables and ``.env``.

Nothing below the CLI and the app factory reads the environment: they receive a
``Settings`` object (or a smaller config derived from it).
"""

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.config.errors import describe_validation_error
from agent.errors import ConfigError

DEMO_TENANTS_DIR = Path(__file__).resolve().parent.parent / "demo" / "tenants"
ENV_PREFIX = "DESKHAND_"


class Settings(BaseSettings):
    """Every knob of a deskhand process. Defaults are the embedded mode of ``make run``."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", frozen=True
    )

    # Web server
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=1, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    admin_token: SecretStr | None = None  # bearer token of /admin/v1 (unset: admin API off)
    webhook_tolerance_s: int = Field(default=300, ge=1)
    console_cookie_secure: bool = True  # false only behind plain HTTP on a trusted network
    console_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)

    # Where state lives
    data_dir: Path = Path(".deskhand")
    tenants_dir: Path = DEMO_TENANTS_DIR
    redis_url: str | None = None
    redis_prefix: str = "deskhand:"
    redis_timeout_s: float = Field(default=5.0, gt=0)
    redis_pool_size: int = Field(default=50, ge=2, le=10_000)
    redis_cluster: bool = False  # redis_url names one node of a Redis Cluster
    redis_sentinels: str | None = None  # "host:port,host:port"; redis_url then gives db/auth
    redis_sentinel_master: str = "mymaster"
    redis_tls_ca_file: Path | None = None
    redis_tls_cert_file: Path | None = None
    redis_tls_key_file: Path | None = None
    redis_tls_verify: bool = True
    dedupe_ttl_s: int = Field(default=86_400, ge=60)

    # Conversations: mailboxes, leases, retention
    coalesce_window_s: float = Field(default=1.0, ge=0, le=60)
    lease_s: float = Field(default=30.0, ge=1)  # a dead worker's turn is retried after this
    max_message_age_s: float = Field(default=120.0, gt=0)  # then a holding reply, not silence
    retention_days: float = Field(default=30.0, gt=0)
    checkpoint_keep: int = Field(default=20, ge=1)  # checkpoints kept per conversation
    # A checkpoint after every step: a dead worker's turn resumes where it stopped (about
    # twice the CPU per turn on Redis); off: one per turn, and such a turn starts over.
    checkpoint_every_step: bool = False

    # Knowledge base
    chroma_url: str | None = None
    embedding_model: str | None = None
    embedding_device: str = "cpu"
    # auto: ONNX on the CPU for the packaged model (or a local one of its architecture),
    # torch otherwise; ONNX costs about 40 % of torch's CPU per query, for the same vectors.
    embedding_backend: Literal["auto", "torch", "onnx", "onnx-int8"] = "auto"
    embedding_models_dir: Path | None = None  # ONNX exports; unset: <data dir>/models
    reranker_model: str | None = None
    # Folders the admin API may ingest from by path, comma-separated (uploads need none);
    # <data dir>/kb-imports is always allowed
    kb_import_dirs: str = ""

    # Model endpoint (any OpenAI-compatible server; vLLM in production)
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_model: str = "qwen3.5-9b"
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_connect_timeout_s: float = Field(default=5.0, gt=0)
    llm_max_retries: int = Field(default=2, ge=0, le=10)
    llm_backoff_base_s: float = Field(default=0.5, ge=0)
    llm_backoff_max_s: float = Field(default=8.0, ge=0)
    llm_circuit_failures: int = Field(default=5, ge=1)
    llm_circuit_reset_s: float = Field(default=30.0, gt=0)
    llm_stream: bool = False
    # Header carrying a digest of the conversation key on every model request, for sticky
    # routing across vLLM replicas (deploy/k8s/proxy/); empty: none sent.
    llm_routing_header: str = "X-Session-Id"
    # `deskhand worker --processes N`: the workers call the model through a gateway process
    # of the supervisor, which finishes a call whose worker died and keeps its answer for
    # the retried turn (docs/runtime.md); ignored with --no-supervise
    model_gateway: bool = True
    model_gateway_cache_s: float = Field(default=120.0, ge=0, le=3600)
    model_gateway_cache_entries: int = Field(default=10_000, ge=1)
    model_gateway_cache_mb: float = Field(default=64.0, gt=0)
    model_gateway_port: int = Field(default=0, ge=0, le=65535)  # on 127.0.0.1; 0: any free

    # Workers and outbound delivery
    worker_concurrency: int = Field(default=4, ge=1, le=256)  # turns at once per process
    # `deskhand worker` serves Prometheus /metrics on this port (bound to DESKHAND_HOST);
    # unset: none (the API process serves its own at /metrics)
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)
    turn_timeout_s: float = Field(default=120.0, gt=0)
    callback_timeout_s: float = Field(default=10.0, gt=0)
    callback_max_retries: int = Field(default=3, ge=0, le=10)

    # Demo
    demo_shop: bool = False  # serve the sample shop's API under /demo-shop (`make run` does)

    # Logging
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True

    @field_validator("llm_base_url", "chroma_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @property
    def mode(self) -> Literal["embedded", "redis"]:
        """Embedded (one process, SQLite and in-process queue) unless Redis is configured."""
        return "redis" if self.redis_url else "embedded"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        """Where models exported for a faster backend (ONNX) are kept."""
        return self.embedding_models_dir or self.data_dir / "models"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "deskhand.sqlite3"


def load_settings(env_file: Path | None = Path(".env")) -> Settings:
    """Read the settings, or raise ConfigError naming each invalid variable."""
    try:
        return Settings(_env_file=env_file)  # type: ignore[call-arg]
    except ValidationError as error:
        source = "the environment" + (f" or {env_file}" if env_file else "")
        raise ConfigError(
            describe_validation_error(error, source, field_prefix=ENV_PREFIX, upper=True)
        ) from None
