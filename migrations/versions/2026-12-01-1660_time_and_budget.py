"""Time and budget: hour estimates, work logs, budgets and rates.

Revision ID: e7e1000700a7
Revises: e7e1000600f6
Create Date: 2026-12-01 16:60:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7e1000700a7"
down_revision: str | None = "e7e1000600f6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.add_column(
        "items",
        sa.Column(
            "original_estimate_hours",
            sa.Numeric(precision=7, scale=2, asdecimal=False),
            nullable=True,
        ),
    )
    op.add_column(
        "items",
        sa.Column(
            "remaining_hours", sa.Numeric(precision=7, scale=2, asdecimal=False), nullable=True
        ),
    )
    op.create_check_constraint(
        op.f("ck_items_original_estimate_hours_range"),
        "items",
        "original_estimate_hours IS NULL OR original_estimate_hours BETWEEN 0 AND 10000",
    )
    op.create_check_constraint(
        op.f("ck_items_remaining_hours_range"),
        "items",
        "remaining_hours IS NULL OR remaining_hours BETWEEN 0 AND 10000",
    )
    op.create_table(
        "worklogs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("work_date", sa.Date(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=4, scale=2), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "hours >= 0.25 AND hours <= 24 AND mod(hours * 4, 1) = 0",
            name=op.f("ck_worklogs_hours_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_worklogs_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_worklogs_item_id_items"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_worklogs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_worklogs_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worklogs")),
    )
    op.create_index(
        "ix_worklogs_project_id_item_id_id", "worklogs", ["project_id", "item_id", "id"]
    )
    op.create_index(
        "ix_worklogs_project_id_user_id_work_date",
        "worklogs",
        ["project_id", "user_id", "work_date"],
    )
    op.create_index("ix_worklogs_project_id_work_date", "worklogs", ["project_id", "work_date"])
    op.create_table(
        "budgets",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("hours", sa.Numeric(precision=11, scale=2), nullable=True),
        sa.Column("amount", sa.Numeric(precision=15, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("default_rate", sa.Numeric(precision=9, scale=2), nullable=True),
        sa.Column("planned_end_date", sa.Date(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "hours IS NULL OR hours >= 0", name=op.f("ck_budgets_hours_non_negative")
        ),
        sa.CheckConstraint(
            "amount IS NULL OR amount >= 0", name=op.f("ck_budgets_amount_non_negative")
        ),
        sa.CheckConstraint(
            "default_rate IS NULL OR default_rate >= 0",
            name=op.f("ck_budgets_default_rate_non_negative"),
        ),
        sa.CheckConstraint(
            "currency IS NULL OR currency ~ '^[A-Z]{3}$'", name=op.f("ck_budgets_currency_format")
        ),
        sa.CheckConstraint(
            "currency IS NOT NULL OR (amount IS NULL AND default_rate IS NULL)",
            name=op.f("ck_budgets_money_has_currency"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_budgets_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_budgets")),
    )
    op.create_table(
        "member_rates",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("rate", sa.Numeric(precision=9, scale=2), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint("rate >= 0", name=op.f("ck_member_rates_rate_non_negative")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_member_rates_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_member_rates_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_member_rates")),
    )


def downgrade() -> None:
    op.drop_table("member_rates")
    op.drop_table("budgets")
    op.drop_index("ix_worklogs_project_id_work_date", table_name="worklogs")
    op.drop_index("ix_worklogs_project_id_user_id_work_date", table_name="worklogs")
    op.drop_index("ix_worklogs_project_id_item_id_id", table_name="worklogs")
    op.drop_table("worklogs")
    op.drop_constraint(op.f("ck_items_remaining_hours_range"), "items", type_="check")
    op.drop_constraint(op.f("ck_items_original_estimate_hours_range"), "items", type_="check")
    op.drop_column("items", "remaining_hours")
    op.drop_column("items", "original_estimate_hours")
