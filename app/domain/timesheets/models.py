"""Work logs: hours a member spent on an item on one day."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, CheckConstraint, Column, Date, ForeignKey, Index, Numeric, Text
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    fk_field,
    id_field,
    updated_at_field,
    version_field,
)

# Hours per log, in quarter hours.
HOURS_MIN = Decimal("0.25")
HOURS_MAX = Decimal("24")
HOURS_STEP = Decimal("0.25")
# What one member may log for one day over all items of a project.
DAY_MAX_HOURS = Decimal("24")
NOTE_MAX = 2000


class Worklog(SQLModel, table=True):
    """Time one member logged on one item of a project for one calendar day."""

    __tablename__ = "worklogs"
    __table_args__ = (
        CheckConstraint(
            "hours >= 0.25 AND hours <= 24 AND mod(hours * 4, 1) = 0", name="hours_valid"
        ),
        Index("ix_worklogs_project_id_item_id_id", "project_id", "item_id", "id"),
        Index("ix_worklogs_project_id_work_date", "project_id", "work_date"),
        Index("ix_worklogs_project_id_user_id_work_date", "project_id", "user_id", "work_date"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    # SET NULL: time spent stays spent (and in the budget) when its item is deleted.
    item_id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger, ForeignKey("items.id", ondelete="SET NULL"), nullable=True),
    )
    user_id: int = fk_field("users.id")
    work_date: date = Field(sa_column=Column(Date, nullable=False))
    hours: Decimal = Field(sa_column=Column(Numeric(4, 2), nullable=False))
    note: str = Field(default="", sa_type=Text, sa_column_kwargs={"server_default": ""})
    created_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
