"""A blocker on an item: open while `cleared_at` is null."""

from datetime import datetime

from sqlalchemy import Index, Text, text
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import created_at_field, fk_field, id_field, timestamp_field


class ItemBlocker(SQLModel, table=True):
    """Something that blocks an item, raised by a stand-up entry or by hand, until cleared."""

    __tablename__ = "item_blockers"
    __table_args__ = (
        Index("ix_item_blockers_project_id_item_id_id", "project_id", "item_id", "id"),
        # The board reads the open blockers of its items.
        Index(
            "ix_item_blockers_open",
            "project_id",
            "item_id",
            postgresql_where=text("cleared_at IS NULL"),
        ),
        # One open stand-up blocker per item and member: a later entry naming the item again
        # keeps the one it has (and its age) rather than raising another.
        Index(
            "uq_item_blockers_open_standup",
            "item_id",
            "raised_by",
            unique=True,
            postgresql_where=text("cleared_at IS NULL AND standup_entry_id IS NOT NULL"),
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    item_id: int = fk_field("items.id")
    reason: str = Field(sa_type=Text)
    raised_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    raised_at: datetime = created_at_field()
    # The stand-up entry that named the item; null for a blocker raised by hand.
    standup_entry_id: int | None = fk_field(
        "standup_entries.id", nullable=True, ondelete="SET NULL"
    )
    cleared_at: datetime | None = timestamp_field()
    cleared_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
