"""Backlog items, their append-only event log, and comments."""

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Computed,
    Float,
    ForeignKey,
    Index,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
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

# English stemming for backlog text; the generated column and the queries must agree on it.
SEARCH_CONFIG = "english"


class ItemType(StrEnum):
    """What kind of backlog item this is."""

    STORY = "story"
    BUG = "bug"
    TASK = "task"
    SPIKE = "spike"
    EPIC = "epic"


class Priority(IntEnum):
    """Priorities, stored as numbers so that sorting by priority can use an index."""

    HIGHEST = 1
    HIGH = 2
    MEDIUM = 3
    LOW = 4
    LOWEST = 5


PRIORITY_NAMES = {p: p.name.lower() for p in Priority}
PRIORITY_BY_NAME = {name: p for p, name in PRIORITY_NAMES.items()}


class Item(SQLModel, table=True):
    """A backlog item; its tracked fields change only through the event-logging write path."""

    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("project_id", "number", name="uq_items_project_id_number"),
        # Deferrable so a rebalance can rewrite every rank of a project in one statement.
        UniqueConstraint(
            "project_id",
            "rank",
            name="uq_items_project_id_rank",
            deferrable=True,
            initially="IMMEDIATE",
        ),
        UniqueConstraint("project_id", "external_id", name="uq_items_project_id_external_id"),
        CheckConstraint("type IN ('story', 'bug', 'task', 'spike', 'epic')", name="type_valid"),
        CheckConstraint("priority BETWEEN 1 AND 5", name="priority_valid"),
        CheckConstraint("points IS NULL OR points >= 0", name="points_non_negative"),
        CheckConstraint(
            "original_estimate_hours IS NULL OR original_estimate_hours BETWEEN 0 AND 10000",
            name="original_estimate_hours_range",
        ),
        CheckConstraint(
            "remaining_hours IS NULL OR remaining_hours BETWEEN 0 AND 10000",
            name="remaining_hours_range",
        ),
        Index("ix_items_project_id_status_id", "project_id", "status_id"),
        Index("ix_items_project_id_assignee_id", "project_id", "assignee_id"),
        Index("ix_items_project_id_parent_id", "project_id", "parent_id"),
        Index("ix_items_project_id_sprint_id_rank", "project_id", "sprint_id", "rank"),
        Index("ix_items_project_id_release_id", "project_id", "release_id"),
        Index("ix_items_project_id_created_at_id", "project_id", "created_at", "id"),
        Index("ix_items_project_id_updated_at_id", "project_id", "updated_at", "id"),
        Index("ix_items_project_id_priority_rank", "project_id", "priority", "rank"),
        Index("ix_items_labels", "labels", postgresql_using="gin"),
        Index("ix_items_search", "search", postgresql_using="gin"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    number: int
    type: ItemType = enum_field(ItemType, None, 8)
    title: str = Field(sa_type=String(255))
    description: str = Field(default="", sa_type=Text)
    points: float | None = Field(default=None, sa_type=Float)
    # Hour estimates beside the points, exact to the hundredth (read as floats: they go to JSON).
    original_estimate_hours: float | None = Field(
        default=None, sa_type=Numeric(7, 2, asdecimal=False)
    )
    remaining_hours: float | None = Field(default=None, sa_type=Numeric(7, 2, asdecimal=False))
    priority: int = Field(default=Priority.MEDIUM.value, sa_type=SmallInteger)
    labels: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(50)), nullable=False, server_default="{}"),
    )
    assignee_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    # No ON DELETE action: children are detached through the event-logging write path first.
    parent_id: int | None = fk_field("items.id", nullable=True, ondelete=None)
    status_id: int = fk_field("statuses.id", ondelete="RESTRICT")
    # No ON DELETE action: a planned sprint sends its items back through the write path first.
    sprint_id: int | None = fk_field("sprints.id", nullable=True, ondelete=None)
    # No ON DELETE action: deleting a release takes its items out through the write path first.
    release_id: int | None = fk_field("releases.id", nullable=True, ondelete=None)
    external_id: str | None = Field(default=None, sa_type=String(255))
    rank: str = Field(sa_column=Column(String(255, collation="C"), nullable=False))
    done_at: datetime | None = timestamp_field()
    created_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    search: Any = Field(
        default=None,
        sa_column=Column(
            TSVECTOR,
            Computed(
                f"setweight(to_tsvector('{SEARCH_CONFIG}', title), 'A') || "
                f"setweight(to_tsvector('{SEARCH_CONFIG}', description), 'B')",
                persisted=True,
            ),
        ),
    )


class EventKind(StrEnum):
    """What happened to an item."""

    CREATED = "created"
    UPDATED = "updated"
    MOVED = "moved"
    DELETED = "deleted"


class ItemEvent(SQLModel, table=True):
    """One change to one item; append-only, written in the same transaction as the change."""

    __tablename__ = "item_events"
    __table_args__ = (
        Index("ix_item_events_project_id_occurred_at_id", "project_id", "occurred_at", "id"),
        # A sprint's window of the log is an id range of its project (reports, burn charts).
        Index("ix_item_events_project_id_id", "project_id", "id"),
        Index("ix_item_events_item_id_id", "item_id", "id"),
        Index("ix_item_events_project_id_field_occurred_at", "project_id", "field", "occurred_at"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    # No foreign key: an item's history outlives the item.
    item_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    item_number: int
    actor_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    occurred_at: datetime = created_at_field()
    kind: EventKind = enum_field(EventKind, None, 10)
    field: str | None = Field(default=None, sa_type=String(20))
    old_value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    new_value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))


class Comment(SQLModel, table=True):
    """A markdown comment on an item (kept as text; never rendered server-side)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comments_item_id_id", "item_id", "id"),)

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    item_id: int = Field(
        sa_column=Column(BigInteger, ForeignKey("items.id", ondelete="CASCADE"), nullable=False)
    )
    author_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    body: str = Field(sa_type=Text)
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
