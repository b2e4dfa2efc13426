"""Stream tickets, stored only as hashes."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Index, String
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import created_at_field, fk_field, id_field, timestamp_field


class StreamTicket(SQLModel, table=True):
    """A single-use credential for one live stream, bound to a user, the bearer token that
    asked for it and (for a project's stream) the project; valid for about a minute."""

    __tablename__ = "stream_tickets"
    __table_args__ = (Index("ix_stream_tickets_expires_at", "expires_at"),)

    id: int | None = id_field()
    token_hash: str = Field(sa_type=String(64), unique=True)
    user_id: int = fk_field("users.id")
    # Revoking the token that asked for a ticket ends the streams opened with it.
    api_token_id: int = fk_field("api_tokens.id")
    # None: a ticket for the caller's own stream (/me/events).
    project_id: int | None = fk_field("projects.id", nullable=True, ondelete="CASCADE")
    created_at: datetime = created_at_field()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    used_at: datetime | None = timestamp_field()
