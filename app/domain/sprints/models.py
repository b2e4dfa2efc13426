"""Sprints and what they froze: the commitment at start."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    Float,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    optional_enum_field,
    timestamp_field,
    updated_at_field,
    version_field,
)


class GoalOutcome(StrEnum):
    """How well the sprint met its goal, as the team judged at completion."""

    MET = "met"
    PARTIALLY_MET = "partially_met"
    NOT_MET = "not_met"


class SprintState(StrEnum):
    """Where a sprint is in its life."""

    PLANNED = "planned"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"

    @property
    def is_open(self) -> bool:
        """Planned or active: items may still join or leave it."""
        return self in (SprintState.PLANNED, SprintState.ACTIVE)

    @property
    def is_final(self) -> bool:
        """Completed or cancelled: nothing about it changes any more."""
        return not self.is_open


class Sprint(SQLModel, table=True):
    """A time-box of a project, numbered per project."""

    __tablename__ = "sprints"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_sprints_project_id_number"),
        CheckConstraint(
            "state IN ('planned', 'active', 'completed', 'cancelled')", name="state_valid"
        ),
        CheckConstraint("end_date >= start_date", name="dates_ordered"),
        # At most one active sprint per project, enforced by the database itself.
        Index(
            "uq_sprints_one_active",
            "project_id",
            unique=True,
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    number: int
    name: str = Field(sa_type=String(120))
    goal: str = Field(default="", sa_type=Text)
    start_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    end_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    state: SprintState = enum_field(SprintState, SprintState.PLANNED, 10)
    started_at: datetime | None = timestamp_field()
    # Event-log positions taken under the sprint's lock: events after start_event_id (and up to
    # close_event_id) happened during the sprint. Ids, not times: they follow commit order here.
    start_event_id: int | None = Field(default=None, sa_type=BigInteger)
    close_event_id: int | None = Field(default=None, sa_type=BigInteger)
    committed_points: float | None = Field(default=None, sa_type=Float)
    committed_items: int | None = Field(default=None)
    completed_at: datetime | None = timestamp_field()
    completed_points: float | None = Field(default=None, sa_type=Float)
    completed_items: int | None = Field(default=None)
    goal_outcome: GoalOutcome | None = optional_enum_field(GoalOutcome, 14)
    review_notes: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    # Where unfinished items went at completion: a sprint number, or null for the backlog.
    carried_over_to: int | None = Field(default=None)
    # Frozen at completion, so that velocity and burn charts of a closed sprint never move:
    # its capacity in person-days (when recorded) and which statuses counted as done.
    person_days: float | None = Field(default=None, sa_type=Float)
    done_status_ids: list[int] | None = Field(
        default=None, sa_column=Column(ARRAY(BigInteger), nullable=True)
    )
    # The sprint report as computed at completion, kept verbatim so it never changes later.
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # Who carried what (the workload) as computed at completion, kept verbatim likewise.
    workload: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class SprintCommitment(SQLModel, table=True):
    """One item as it stood when its sprint started (frozen; never updated)."""

    __tablename__ = "sprint_commitments"

    sprint_id: int = fk_field("sprints.id", primary_key=True)
    # No foreign key: the commitment outlives the item.
    item_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    project_id: int = fk_field("projects.id")
    item_number: int
    points: float | None = Field(default=None, sa_type=Float)


class SprintOutcome(SQLModel, table=True):
    """One item in a sprint when it completed: done or not, its estimate then (frozen)."""

    __tablename__ = "sprint_outcomes"

    sprint_id: int = fk_field("sprints.id", primary_key=True)
    # No foreign key: the outcome outlives the item.
    item_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    project_id: int = fk_field("projects.id")
    item_number: int
    points: float | None = Field(default=None, sa_type=Float)
    done: bool
    status_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # For unfinished items: the sprint number they went to, or null for the backlog.
    carried_to: int | None = Field(default=None)


class SprintCapacity(SQLModel, table=True):
    """One member's availability for a sprint: a share of their time and their days off."""

    __tablename__ = "sprint_capacity"
    __table_args__ = (
        CheckConstraint("availability BETWEEN 0 AND 100", name="availability_percent"),
    )

    sprint_id: int = fk_field("sprints.id", primary_key=True)
    user_id: int = fk_field("users.id", primary_key=True)
    project_id: int = fk_field("projects.id")
    availability: int = Field(sa_column=Column(Integer, nullable=False))
    days_off: list[date] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(Date), nullable=False, server_default="{}"),
    )
