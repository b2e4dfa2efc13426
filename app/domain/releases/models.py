"""Releases and milestones: the project's roadmap."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Date, Index, String, Text, UniqueConstraint, text
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

NAME_MAX = 120
DESCRIPTION_MAX = 10_000


class ReleaseKind(StrEnum):
    """A release ships; a milestone is a checkpoint on the roadmap that ships nothing."""

    RELEASE = "release"
    MILESTONE = "milestone"


class ReleaseState(StrEnum):
    """Where a release stands."""

    PLANNED = "planned"
    RELEASED = "released"
    ARCHIVED = "archived"

    @property
    def is_open(self) -> bool:
        """Whether work may still join it (only a planned release takes items)."""
        return self == ReleaseState.PLANNED


class Release(SQLModel, table=True):
    """A release or milestone of a project, numbered per project."""

    __tablename__ = "releases"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_releases_project_id_number"),
        CheckConstraint("kind IN ('release', 'milestone')", name="kind_valid"),
        CheckConstraint("state IN ('planned', 'released', 'archived')", name="state_valid"),
        CheckConstraint(
            "start_date IS NULL OR target_date IS NULL OR target_date >= start_date",
            name="dates_ordered",
        ),
        # Names are unique per project whatever their case, as Jira's versions are.
        Index("uq_releases_project_id_name", "project_id", text("lower(name)"), unique=True),
        # A planned release has no release date, a released one has; archiving keeps it.
        CheckConstraint(
            "(state <> 'released' OR released_on IS NOT NULL) "
            "AND (state <> 'planned' OR released_on IS NULL) "
            "AND ((released_on IS NULL) = (released_at IS NULL))",
            name="released_on_when_released",
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    number: int
    kind: ReleaseKind = enum_field(ReleaseKind, ReleaseKind.RELEASE, 10)
    name: str = Field(sa_type=String(NAME_MAX))
    description: str = Field(default="", sa_type=Text)
    start_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    target_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    state: ReleaseState = enum_field(ReleaseState, ReleaseState.PLANNED, 10)
    # The day it shipped (POST .../release), in the project's time zone, and when it was recorded.
    released_on: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    released_at: datetime | None = timestamp_field()
    created_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
