"""Stand-up entries: one per member and working day of a sprint."""

from datetime import date, datetime

from sqlalchemy import Column, Date, Index, Integer, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    fk_field,
    id_field,
    updated_at_field,
    version_field,
)


class StandupEntry(SQLModel, table=True):
    """What a member did yesterday, will do today, and what blocks them, on one day."""

    __tablename__ = "standup_entries"
    __table_args__ = (
        UniqueConstraint(
            "project_id", "user_id", "day", name="uq_standup_entries_project_id_user_id_day"
        ),
        Index("ix_standup_entries_project_id_day_id", "project_id", "day", "id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    sprint_id: int = fk_field("sprints.id")
    user_id: int = fk_field("users.id")
    day: date = Field(sa_column=Column(Date, nullable=False))
    yesterday: str = Field(default="", sa_type=Text)
    today: str = Field(default="", sa_type=Text)
    blockers: str = Field(default="", sa_type=Text)
    # Numbers of the project's items the member is blocked on.
    blocked_items: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Integer), nullable=False, server_default="{}"),
    )
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
