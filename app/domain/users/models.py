"""Users and their API tokens."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, String, text
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    timestamp_field,
    updated_at_field,
    version_field,
)


class User(SQLModel, table=True):
    """A person who can sign in; email is stored lower-cased so uniqueness ignores case."""

    __tablename__ = "users"

    id: int | None = id_field()
    email: str = Field(sa_type=String(320), unique=True)
    display_name: str = Field(sa_type=String(120))
    password_hash: str = Field(sa_type=String(255))
    is_admin: bool = Field(default=False)
    is_active: bool = Field(default=True)
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class TokenKind(StrEnum):
    """Login tokens expire; personal access tokens are named and live until revoked."""

    LOGIN = "login"
    PERSONAL = "personal"


class ApiToken(SQLModel, table=True):
    """An opaque bearer token, stored only as its SHA-256 hash."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_user_id_kind", "user_id", "kind"),
        Index("ix_api_tokens_expires_at", "expires_at", postgresql_where=text("kind = 'login'")),
    )

    id: int | None = id_field()
    user_id: int = fk_field("users.id")
    kind: TokenKind = enum_field(TokenKind, None, 16)
    name: str | None = Field(default=None, sa_type=String(100))
    token_hash: str = Field(sa_type=String(64), unique=True)
    prefix: str = Field(sa_type=String(16))
    created_at: datetime = created_at_field()
    expires_at: datetime | None = timestamp_field()
    last_used_at: datetime | None = timestamp_field()
    revoked_at: datetime | None = timestamp_field()
