"""The public event log of a project and its sequence counter."""

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, Index, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import created_at_field, fk_field, id_field


class ProjectEvent(SQLModel, table=True):
    """One public event of a project; append-only, written in the same transaction as the change.

    `seq` counts a project's events from 1 in commit order, with no gaps: the counter row is
    locked from the moment a transaction takes numbers until it commits.
    """

    __tablename__ = "project_events"
    __table_args__ = (
        UniqueConstraint("project_id", "seq", name="uq_project_events_project_id_seq"),
        Index("ix_project_events_project_id_type_seq", "project_id", "type", "seq"),
        Index("ix_project_events_project_id_item_number_seq", "project_id", "item_number", "seq"),
        Index(
            "ix_project_events_project_id_sprint_number_seq", "project_id", "sprint_number", "seq"
        ),
        Index("ix_project_events_project_id_actor_id_seq", "project_id", "actor_id", "seq"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    type: str = Field(sa_type=String(40))
    # The payload's schema version (docs/events.md); a breaking change bumps it.
    version: int = Field(default=1, sa_column=Column(SmallInteger, nullable=False))
    actor_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    item_number: int | None = Field(default=None)
    sprint_number: int | None = Field(default=None)
    summary: str = Field(sa_type=Text)
    payload: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    occurred_at: datetime = created_at_field()


class EventSequence(SQLModel, table=True):
    """The last event number taken in a project (one row per project, made on first use)."""

    __tablename__ = "project_event_sequences"

    project_id: int = fk_field("projects.id", primary_key=True)
    last_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
