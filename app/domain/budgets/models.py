"""A project's budget and its members' hourly rates (owners only)."""

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, Date, Numeric, String
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import created_at_field, fk_field, updated_at_field, version_field

# Upper bounds that keep every figure inside its Numeric column.
HOURS_BUDGET_MAX = Decimal("100000000")
AMOUNT_MAX = Decimal("1000000000000")
RATE_MAX = Decimal("1000000")


class Budget(SQLModel, table=True):
    """What a project may spend: hours, and optionally money at hourly rates in one currency."""

    __tablename__ = "budgets"
    __table_args__ = (
        CheckConstraint("hours IS NULL OR hours >= 0", name="hours_non_negative"),
        CheckConstraint("amount IS NULL OR amount >= 0", name="amount_non_negative"),
        CheckConstraint(
            "default_rate IS NULL OR default_rate >= 0", name="default_rate_non_negative"
        ),
        CheckConstraint("currency IS NULL OR currency ~ '^[A-Z]{3}$'", name="currency_format"),
        # Money needs a currency to be money.
        CheckConstraint(
            "currency IS NOT NULL OR (amount IS NULL AND default_rate IS NULL)",
            name="money_has_currency",
        ),
    )

    project_id: int = fk_field("projects.id", primary_key=True)
    hours: Decimal | None = Field(default=None, sa_column=Column(Numeric(11, 2), nullable=True))
    amount: Decimal | None = Field(default=None, sa_column=Column(Numeric(15, 2), nullable=True))
    currency: str | None = Field(default=None, sa_type=String(3))
    default_rate: Decimal | None = Field(
        default=None, sa_column=Column(Numeric(9, 2), nullable=True)
    )
    planned_end_date: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class MemberRate(SQLModel, table=True):
    """One member's hourly rate in a project, in the budget's currency."""

    __tablename__ = "member_rates"
    __table_args__ = (CheckConstraint("rate >= 0", name="rate_non_negative"),)

    project_id: int = fk_field("projects.id", primary_key=True)
    # A user, not a membership: a rate keeps pricing the hours of someone who left.
    user_id: int = fk_field("users.id", primary_key=True)
    rate: Decimal = Field(sa_column=Column(Numeric(9, 2), nullable=False))
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
