"""Notifications, their per-user preferences, and who watches which item."""

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, Index, Text, text
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    StrEnumType,
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    timestamp_field,
)


class NotificationKind(StrEnum):
    """Why a member is notified; preferences switch each kind on or off."""

    ASSIGNED = "assigned"
    MENTIONED = "mentioned"
    STATUS_CHANGED = "status_changed"
    SPRINT_STARTED = "sprint_started"
    SPRINT_COMPLETED = "sprint_completed"
    ACTION_DUE = "action_due"
    ACTION_OVERDUE = "action_overdue"

    @property
    def is_reminder(self) -> bool:
        """Made by the periodic scan (once per action, due date and owner), not by an event."""
        return self in (NotificationKind.ACTION_DUE, NotificationKind.ACTION_OVERDUE)


_KINDS = ", ".join(f"'{kind.value}'" for kind in NotificationKind)
_REMINDERS = ", ".join(f"'{kind.value}'" for kind in NotificationKind if kind.is_reminder)


class Notification(SQLModel, table=True):
    """One notice to one user about one thing in a project; unread until `read_at`."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(f"kind IN ({_KINDS})", name="kind_valid"),
        # The inbox (newest first) and the personal stream (after an id) read by user and id.
        Index("ix_notifications_user_id_id", "user_id", "id"),
        # Unread counts and `?unread=true` touch the unread rows only.
        Index(
            "ix_notifications_unread_user_id_id",
            "user_id",
            "id",
            postgresql_where=text("read_at IS NULL"),
        ),
        # A due or overdue reminder is made once per action, due date and owner, whichever
        # process runs the scan (ON CONFLICT DO NOTHING against this index).
        Index(
            "uq_notifications_reminder",
            "project_id",
            "action_number",
            "due_date",
            "kind",
            "user_id",
            unique=True,
            postgresql_where=text(f"kind IN ({_REMINDERS})"),
        ),
    )

    id: int | None = id_field()
    user_id: int = fk_field("users.id")
    project_id: int = fk_field("projects.id")
    kind: NotificationKind = enum_field(NotificationKind, None, 20)
    summary: str = Field(sa_type=Text)
    # Who caused it: null for the system (reminders) and for anonymous retro cards.
    actor_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    # The project event it came from (its `seq`), when it came from one.
    event_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    item_number: int | None = Field(default=None)
    sprint_number: int | None = Field(default=None)
    retro_number: int | None = Field(default=None)
    action_number: int | None = Field(default=None)
    # The due date a reminder was about (a moved due date earns a new reminder).
    due_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    created_at: datetime = created_at_field()
    read_at: datetime | None = timestamp_field()


class NotificationPreference(SQLModel, table=True):
    """A user's choice for one kind; a kind without a row is on (the default)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (CheckConstraint(f"kind IN ({_KINDS})", name="kind_valid"),)

    user_id: int = fk_field("users.id", primary_key=True)
    kind: NotificationKind = Field(
        sa_column=Column(StrEnumType(NotificationKind, 20), primary_key=True)
    )
    enabled: bool


class ItemWatcher(SQLModel, table=True):
    """A user who hears when an item's status changes (only while a member of its project)."""

    __tablename__ = "item_watchers"
    __table_args__ = (Index("ix_item_watchers_project_id_user_id", "project_id", "user_id"),)

    item_id: int = fk_field("items.id", primary_key=True)
    user_id: int = fk_field("users.id", primary_key=True)
    project_id: int = fk_field("projects.id")
    created_at: datetime = created_at_field()
