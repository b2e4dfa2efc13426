"""Retrospectives and their phases."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, Index, String, Text, UniqueConstraint, text
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


class RetroFormat(StrEnum):
    """The board layouts a retro can use; `custom` names its own columns."""

    START_STOP_CONTINUE = "start_stop_continue"
    MAD_SAD_GLAD = "mad_sad_glad"
    FOUR_LS = "four_ls"
    WENT_WELL_TO_IMPROVE = "went_well_to_improve"
    CUSTOM = "custom"


# The columns each fixed format has, in board order.
FORMAT_COLUMNS: dict[RetroFormat, tuple[str, ...]] = {
    RetroFormat.START_STOP_CONTINUE: ("Start", "Stop", "Continue"),
    RetroFormat.MAD_SAD_GLAD: ("Mad", "Sad", "Glad"),
    RetroFormat.FOUR_LS: ("Liked", "Learned", "Lacked", "Longed for"),
    RetroFormat.WENT_WELL_TO_IMPROVE: ("Went well", "To improve"),
}


class RetroPhase(StrEnum):
    """Where a retro is: each phase allows its own kind of change, `closed` allows none."""

    COLLECTING = "collecting"
    GROUPING = "grouping"
    VOTING = "voting"
    DISCUSSING = "discussing"
    CLOSED = "closed"

    @property
    def position(self) -> int:
        """Position in the order the phases run in."""
        return PHASE_ORDER.index(self)

    @property
    def next(self) -> "RetroPhase | None":
        """The phase after this one (None after `closed`)."""
        later = PHASE_ORDER[self.position + 1 :]
        return later[0] if later else None

    @property
    def previous(self) -> "RetroPhase | None":
        """The phase before this one (None before `collecting`)."""
        return PHASE_ORDER[self.position - 1] if self.position > 0 else None


PHASE_ORDER: tuple[RetroPhase, ...] = tuple(RetroPhase)


class Retro(SQLModel, table=True):
    """A retrospective of a project, numbered per project; at most one per sprint."""

    __tablename__ = "retros"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_retros_project_id_number"),
        CheckConstraint(
            "format IN ('start_stop_continue', 'mad_sad_glad', 'four_ls', "
            "'went_well_to_improve', 'custom')",
            name="format_valid",
        ),
        CheckConstraint(
            "phase IN ('collecting', 'grouping', 'voting', 'discussing', 'closed')",
            name="phase_valid",
        ),
        CheckConstraint("vote_budget BETWEEN 1 AND 100", name="vote_budget_range"),
        CheckConstraint(
            "max_votes_per_card IS NULL OR max_votes_per_card BETWEEN 1 AND vote_budget",
            name="max_votes_per_card_range",
        ),
        CheckConstraint("cardinality(columns) BETWEEN 1 AND 6", name="columns_count"),
        # One retro per sprint, enforced by the database itself.
        Index(
            "uq_retros_sprint_id",
            "sprint_id",
            unique=True,
            postgresql_where=text("sprint_id IS NOT NULL"),
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    number: int
    # Null for a project-level retro (a release, a post-mortem).
    sprint_id: int | None = fk_field("sprints.id", nullable=True)
    title: str = Field(sa_type=String(120))
    format: RetroFormat = enum_field(RetroFormat, None, 24)
    # The board's column names, in order (a fixed format's, or the custom ones).
    columns: list[str] = Field(sa_column=Column(ARRAY(String(60)), nullable=False))
    vote_budget: int = Field(default=5, sa_column_kwargs={"server_default": "5"})
    max_votes_per_card: int | None = Field(default=None)
    anonymous: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    phase: RetroPhase = enum_field(RetroPhase, RetroPhase.COLLECTING, 12)
    # Who runs it (with the project's owners): its creator, unless handed over.
    facilitator_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    notes: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    closed_at: datetime | None = timestamp_field()
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


# Caps on what members can create without bound, and on text lengths.
CARD_TEXT_MAX = 2000
GROUP_NAME_MAX = 120
COLUMN_NAME_MAX = 60
MAX_CARDS_PER_MEMBER = 100
MAX_GROUPS_PER_RETRO = 200
MAX_CARDS_PER_GROUP = 200


class RetroGroup(SQLModel, table=True):
    """A named group of a retro's cards, made in the grouping phase (no author is kept)."""

    __tablename__ = "retro_groups"
    __table_args__ = (Index("ix_retro_groups_retro_id_id", "retro_id", "id"),)

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    retro_id: int = fk_field("retros.id")
    name: str = Field(sa_type=String(GROUP_NAME_MAX))
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RetroCard(SQLModel, table=True):
    """A card on a retro's board; its author is stored (to let them edit it), never shown when
    the retro is anonymous."""

    __tablename__ = "retro_cards"
    __table_args__ = (
        Index("ix_retro_cards_retro_id_id", "retro_id", "id"),
        Index("ix_retro_cards_retro_id_author_id", "retro_id", "author_id"),
        Index("ix_retro_cards_group_id", "group_id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    retro_id: int = fk_field("retros.id")
    column: str = Field(sa_type=String(COLUMN_NAME_MAX))
    text: str = Field(sa_type=String(CARD_TEXT_MAX))
    author_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    group_id: int | None = fk_field("retro_groups.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class RetroVote(SQLModel, table=True):
    """One vote of a member on a card or a group (a member may put several on one)."""

    __tablename__ = "retro_votes"
    __table_args__ = (
        CheckConstraint("(card_id IS NULL) <> (group_id IS NULL)", name="one_target"),
        Index("ix_retro_votes_retro_id_user_id", "retro_id", "user_id"),
        Index("ix_retro_votes_card_id", "card_id"),
        Index("ix_retro_votes_group_id", "group_id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    retro_id: int = fk_field("retros.id")
    user_id: int = fk_field("users.id")
    card_id: int | None = fk_field("retro_cards.id", nullable=True)
    group_id: int | None = fk_field("retro_groups.id", nullable=True)
    created_at: datetime = created_at_field()
