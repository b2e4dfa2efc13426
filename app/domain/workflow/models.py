"""Workflow statuses: a project's ordered board columns."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    version_field,
)


class StatusCategory(StrEnum):
    """What a status means for reports: not started, under way, or finished."""

    TODO = "todo"
    IN_PROGRESS = "in_progress"
    DONE = "done"


class Status(SQLModel, table=True):
    """A workflow column with an optional WIP limit."""

    __tablename__ = "statuses"
    __table_args__ = (
        CheckConstraint("category IN ('todo', 'in_progress', 'done')", name="category_valid"),
        CheckConstraint("wip_limit IS NULL OR wip_limit > 0", name="wip_limit_positive"),
        UniqueConstraint("project_id", "name", name="uq_statuses_project_id_name"),
        Index("ix_statuses_project_id_position", "project_id", "position"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    name: str = Field(sa_type=String(60))
    category: StatusCategory = enum_field(StatusCategory, None, 12)
    position: int
    wip_limit: int | None = Field(default=None)
    version: int = version_field()
    created_at: datetime = created_at_field()


DEFAULT_STATUSES: tuple[tuple[str, StatusCategory], ...] = (
    ("To Do", StatusCategory.TODO),
    ("In Progress", StatusCategory.IN_PROGRESS),
    ("In Review", StatusCategory.IN_PROGRESS),
    ("Done", StatusCategory.DONE),
)
