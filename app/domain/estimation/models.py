"""Planning poker: rounds on items, the members' votes, and sessions that walk many items."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, Index, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY
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
from app.domain.projects.models import EstimationScale


class RoundState(StrEnum):
    """Where a round is: votes are cast while voting, shown once revealed."""

    VOTING = "voting"
    REVEALED = "revealed"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class SessionState(StrEnum):
    """Whether a session still walks its items."""

    OPEN = "open"
    CLOSED = "closed"


class EstimationRound(SQLModel, table=True):
    """One round of planning poker on an item, numbered per item (1, 2, ...)."""

    __tablename__ = "estimation_rounds"
    __table_args__ = (
        UniqueConstraint("item_id", "number", name="uq_estimation_rounds_item_id_number"),
        CheckConstraint(
            "state IN ('voting', 'revealed', 'accepted', 'cancelled')", name="state_valid"
        ),
        # One open round per item (voting, or revealed and not yet re-voted or accepted),
        # enforced by the database itself.
        Index(
            "uq_estimation_rounds_open_item_id",
            "item_id",
            unique=True,
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_estimation_rounds_session_id", "session_id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    item_id: int = fk_field("items.id")
    number: int
    # The project's scale when the round opened: its votes are read on it for good.
    scale: EstimationScale = enum_field(EstimationScale, None, 20)
    state: RoundState = enum_field(RoundState, RoundState.VOTING, 10)
    # Who runs it (with the project's owners): its opener, or the session's facilitator.
    facilitator_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    session_id: int | None = fk_field("estimation_sessions.id", nullable=True, ondelete="SET NULL")
    accepted_value: str | None = Field(default=None, sa_type=String(10))
    revealed_at: datetime | None = timestamp_field()
    # Set when the round stops being the item's open one (re-voted, accepted or cancelled).
    closed_at: datetime | None = timestamp_field()
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class EstimationVote(SQLModel, table=True):
    """One member's vote in a round: a scale label, `?` or `coffee`."""

    __tablename__ = "estimation_votes"

    round_id: int = fk_field("estimation_rounds.id", primary_key=True)
    user_id: int = fk_field("users.id", primary_key=True)
    project_id: int = fk_field("projects.id")
    value: str = Field(sa_type=String(10))
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class EstimationSession(SQLModel, table=True):
    """A planning session: a list of items in rank order, estimated one after another."""

    __tablename__ = "estimation_sessions"
    __table_args__ = (
        CheckConstraint("state IN ('open', 'closed')", name="state_valid"),
        CheckConstraint("position >= 0", name="position_non_negative"),
        Index("ix_estimation_sessions_project_id_id", "project_id", "id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    facilitator_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    state: SessionState = enum_field(SessionState, SessionState.OPEN, 10)
    # Item ids in rank order as the session began (no foreign key: an item may go meanwhile).
    item_ids: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    skipped_ids: list[int] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(BigInteger), nullable=False, server_default="{}"),
    )
    # Index into item_ids of the current item; len(item_ids) once every item was walked.
    position: int = Field(default=0)
    closed_at: datetime | None = timestamp_field()
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
