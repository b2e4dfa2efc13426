"""Service configuration, read from TIMEBOX_* environment variables."""

from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
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
    db_pool_size: int = Field(default=10, ge=1, description="Connections kept per process.")
    db_max_overflow: int = Field(default=10, ge=0, description="Extra connections under load.")
    idempotency_ttl_hours: int = Field(
        default=24, ge=1, description="How long an Idempotency-Key response is replayed."
    )

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
