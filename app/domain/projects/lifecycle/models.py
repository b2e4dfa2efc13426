"""A project's phases, the gates into them (approvers and sign-offs), and its closings."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Index,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    StrEnumType,
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    timestamp_field,
)
from app.domain.projects.models import PHASE_ORDER, PHASE_VALUES, ProjectPhase

COMMENT_MAX = 2000
MAX_APPROVERS = 20
GATED_VALUES = ", ".join(f"'{phase.value}'" for phase in PHASE_ORDER if phase.has_gate)


class Decision(StrEnum):
    """An approver's decision on a gate."""

    APPROVED = "approved"
    REJECTED = "rejected"


class ChangeKind(StrEnum):
    """How a project came to a phase."""

    ADVANCE = "advance"  # one step forward, through the gate
    BACK = "back"  # one step back between open phases
    REOPEN = "reopen"  # from a closed phase back to execution


def _phase_column(*, nullable: bool = False, primary_key: bool = False) -> Any:
    return Field(
        default=None if nullable else ...,
        sa_column=Column(StrEnumType(ProjectPhase, 12), nullable=nullable, primary_key=primary_key),
    )


class GateApprover(SQLModel, table=True):
    """A member the owner named to sign off the gate into a phase."""

    __tablename__ = "phase_gate_approvers"
    __table_args__ = (CheckConstraint(f"phase IN ({GATED_VALUES})", name="phase_valid"),)

    project_id: int = fk_field("projects.id", primary_key=True)
    phase: ProjectPhase = _phase_column(primary_key=True)
    user_id: int = fk_field("users.id", primary_key=True)
    created_at: datetime = created_at_field()


class PhaseSignoff(SQLModel, table=True):
    """One approver's decision on a gate; append-only, the latest per approver counts."""

    __tablename__ = "phase_signoffs"
    __table_args__ = (
        CheckConstraint(f"phase IN ({GATED_VALUES})", name="phase_valid"),
        CheckConstraint("decision IN ('approved', 'rejected')", name="decision_valid"),
        Index("ix_phase_signoffs_project_id_phase_id", "project_id", "phase", "id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    phase: ProjectPhase = _phase_column()
    # The phase change that opened this round of the gate (0: none yet, the project's start).
    # Sign-offs count only while the project has not changed phase since: a gate passed, or
    # left by a step back, needs new ones.
    round: int = Field(sa_column=Column(BigInteger, nullable=False))
    user_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    decision: Decision = enum_field(Decision, None, 8)
    comment: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    created_at: datetime = created_at_field()


class PhaseChange(SQLModel, table=True):
    """One move of a project between phases; append-only."""

    __tablename__ = "phase_changes"
    __table_args__ = (
        CheckConstraint(f"from_phase IN ({PHASE_VALUES})", name="from_phase_valid"),
        CheckConstraint(f"to_phase IN ({PHASE_VALUES})", name="to_phase_valid"),
        CheckConstraint("kind IN ('advance', 'back', 'reopen')", name="kind_valid"),
        Index("ix_phase_changes_project_id_id", "project_id", "id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    from_phase: ProjectPhase = _phase_column()
    to_phase: ProjectPhase = _phase_column()
    kind: ChangeKind = enum_field(ChangeKind, None, 8)
    actor_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    occurred_at: datetime = created_at_field()


class ProjectClosing(SQLModel, table=True):
    """One closing of a project and the summary kept at that moment."""

    __tablename__ = "project_closings"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_project_closings_project_id_number"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    # 1 for the first closing, 2 after a reopening and a second one...
    number: int
    closed_at: datetime = created_at_field()
    closed_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    reopened_at: datetime | None = timestamp_field()
    reopened_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    # The post-mortem retro opened by this closing (its number; retro numbers are never reused).
    retro_number: int | None = Field(default=None)
    # `ClosingFigures`, as JSON: the figures as they were at the close.
    summary: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
