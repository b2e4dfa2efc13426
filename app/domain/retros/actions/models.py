"""Action items and their history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import CheckConstraint, Column, Date, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
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

TITLE_MAX = 200
NOTES_MAX = 10_000


class ActionStatus(StrEnum):
    """Where an action item is: open until done or dropped (either may be reopened)."""

    OPEN = "open"
    DONE = "done"
    DROPPED = "dropped"

    @property
    def is_open(self) -> bool:
        """Whether the action still needs doing."""
        return self == ActionStatus.OPEN


class ActionItem(SQLModel, table=True):
    """A follow-up from a retro (or created directly), numbered per project."""

    __tablename__ = "action_items"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_action_items_project_id_number"),
        CheckConstraint("status IN ('open', 'done', 'dropped')", name="status_valid"),
        CheckConstraint("(status = 'done') = (done_at IS NOT NULL)", name="done_at_when_done"),
        CheckConstraint("(status = 'open') = (closed_at IS NULL)", name="closed_at_when_closed"),
        Index("ix_action_items_project_id_status_number", "project_id", "status", "number"),
        Index("ix_action_items_project_id_owner_id_number", "project_id", "owner_id", "number"),
        Index("ix_action_items_project_id_retro_id_number", "project_id", "retro_id", "number"),
        # One action per backlog item: to-item links a new item, and finishing it finds this.
        Index(
            "uq_action_items_item_id",
            "item_id",
            unique=True,
            postgresql_where=text("item_id IS NOT NULL"),
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    number: int
    title: str = Field(sa_type=String(TITLE_MAX))
    notes: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    owner_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    due_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    status: ActionStatus = enum_field(ActionStatus, ActionStatus.OPEN, 8)
    # SET NULL, not CASCADE: an action is a commitment that outlives the meeting it came from
    # (and may be linked to backlog work); deleting a retro must not silently delete it.
    retro_id: int | None = fk_field("retros.id", nullable=True, ondelete="SET NULL")
    # The backlog item made from it (to-item); finishing that item finishes the action.
    item_id: int | None = fk_field("items.id", nullable=True, ondelete="SET NULL")
    created_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    done_at: datetime | None = timestamp_field()
    # When it was last done or dropped; null while open.
    closed_at: datetime | None = timestamp_field()
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ActionEvent(SQLModel, table=True):
    """One change to one action item; append-only, written in the same transaction."""

    __tablename__ = "action_events"
    __table_args__ = (Index("ix_action_events_action_id_id", "action_id", "id"),)

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    action_id: int = fk_field("action_items.id")
    actor_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    occurred_at: datetime = created_at_field()
    # created, title, notes, owner, due_date, status or item.
    field: str = Field(sa_type=String(20))
    old_value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    new_value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    # What made the change when it was not a direct edit, e.g. `item WEB-12` (its completion).
    via: str | None = Field(default=None, sa_type=String(40))
