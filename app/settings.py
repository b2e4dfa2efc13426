"""Service configuration, read from TIMEBOX_* environment variables."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Registration(StrEnum):
    """Whether anyone may register an account."""

    OPEN = "open"
    CLOSED = "closed"


class LogFormat(StrEnum):
    """How log lines are written."""

    TEXT = "text"
    JSON = "json"


class Settings(BaseSettings):
    """Every TIMEBOX_ setting with its default; the README's configuration table mirrors it."""

    model_config = SettingsConfigDict(env_prefix="TIMEBOX_", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL; when unset, a private embedded PostgreSQL is started.",
    )
    data_dir: Path = Field(
        default=Path(".timebox"), description="Where the embedded PostgreSQL keeps its data."
    )
    host: str = Field(default="127.0.0.1", description="Address `timebox serve` binds to.")
    port: int = Field(default=8000, description="Port `timebox serve` listens on.")
    registration: Registration = Field(
        default=Registration.OPEN, description="`open`: anyone may register; `closed`: admins only."
    )
    token_ttl_minutes: int = Field(
        default=60 * 24, ge=1, description="Lifetime of login tokens from /auth/token."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS (SPAs)."
    )
    log_format: LogFormat = Field(default=LogFormat.TEXT, description="`text` or `json` logs.")
    log_level: str = Field(default="INFO", description="Python log level.")
    max_body_bytes: int = Field(
        default=1_048_576, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_import_bytes: int = Field(
        default=50 * 1_048_576,
        ge=1024,
        description="Largest project archive `POST /projects/import` accepts (413 above).",
    )
    imports_per_user_per_hour: int = Field(
        default=10, ge=1, description="Project archives one account may import per hour."
    )
    db_pool_size: int = Field(default=10, ge=1, description="Connections kept per process.")
    db_max_overflow: int = Field(default=10, ge=0, description="Extra connections under load.")
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, description="How long an Idempotency-Key response is replayed."
    )
    db_pool_timeout_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Longest wait for a pooled connection before answering 503 (Retry-After).",
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest wait to open a database connection."
    )
    db_statement_timeout_ms: int = Field(
        default=10_000,
        ge=0,
        description="PostgreSQL statement_timeout per statement (0: none); a 503 past it.",
    )
    db_lock_timeout_ms: int = Field(
        default=5_000,
        ge=0,
        description="PostgreSQL lock_timeout: longest wait for a row or table lock (0: none).",
    )
    db_idle_in_transaction_timeout_ms: int = Field(
        default=60_000,
        ge=0,
        description="PostgreSQL idle_in_transaction_session_timeout: ends a stuck transaction.",
    )
    retry_after_seconds: int = Field(
        default=5, ge=1, description="Retry-After sent with a 503 while the database is away."
    )
    login_throttle_window_minutes: int = Field(
        default=15, ge=1, description="The window the failed-login limits below count in."
    )
    login_failures_per_account_address: int = Field(
        default=5, ge=1, description="Failed logins per account from one address per window."
    )
    login_failures_per_account: int = Field(
        default=20, ge=1, description="Failed logins per account from all addresses per window."
    )
    login_failures_per_address: int = Field(
        default=100, ge=1, description="Failed logins from one address, all accounts, per window."
    )
    registrations_per_address_per_hour: int = Field(
        default=20, ge=1, description="Accounts one client address may register per hour."
    )
    password_hash_concurrency: int = Field(
        default=1,
        ge=1,
        description="Password hashes (argon2) computed at once per process; the rest queue.",
    )
    password_hash_queue: int = Field(
        default=16,
        ge=0,
        description="Password checks allowed to wait per process; beyond it, 503 (Retry-After).",
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0,
        gt=0,
        description="Seconds between heartbeat comments on a live stream (SSE); each also "
        "re-checks the caller's token and membership.",
    )
    stream_queue_size: int = Field(
        default=1000,
        ge=1,
        description="Events a live-stream client may fall behind by before it is disconnected "
        "(it reconnects with Last-Event-ID and replays).",
    )
    notification_scan_seconds: float = Field(
        default=300.0,
        gt=0,
        description="How often a server process looks for action items that became due or "
        "overdue, to remind their owners (each reminder is made once, whichever process).",
    )
    metrics_token: SecretStr | None = Field(
        default=None,
        description="Bearer token that /metrics requires; unset: /metrics is off (404).",
    )
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics to anyone (only on a private network); overrides the token.",
    )

    public_url: str | None = Field(
        default=None,
        description="The service's public base URL (`https://timebox.example.com`), for links "
        "in chat webhook messages; unset: no links.",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhooks target loopback, private, link-local and metadata addresses "
        "(development and tests only: it lifts the SSRF guard).",
    )
    webhook_dispatcher: bool = Field(
        default=True, description="Run the webhook dispatcher in this server process."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a webhook receiver has to answer an attempt."
    )
    webhook_max_attempts: int = Field(
        default=8, ge=1, le=20, description="Attempts per delivery before it is marked failed."
    )
    webhook_retry_base_seconds: float = Field(
        default=80.0,
        gt=0,
        description="First retry delay; each next one is 3x longer, +-25 % jitter (8 attempts: "
        "about a day).",
    )
    webhook_disable_after_failures: int = Field(
        default=3, ge=1, description="Failed deliveries in a row that disable a webhook."
    )
    webhook_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the dispatcher looks for due retries (new work wakes it at once).",
    )
    webhook_concurrency: int = Field(
        default=32, ge=1, description="Deliveries one process sends at once (to different hooks)."
    )

    @field_validator("metrics_token", mode="before")
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        """An empty TIMEBOX_METRICS_TOKEN (an unset variable passed on) keeps /metrics off."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        """Accept a comma-separated string as well as a list."""
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
