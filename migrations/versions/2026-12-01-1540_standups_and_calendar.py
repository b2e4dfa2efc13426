"""Stand-ups and the ceremony calendar.

Revision ID: d1ce0005ca74
Revises: d1ce0004e573
Create Date: 2026-12-01 15:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "d1ce0005ca74"
down_revision: str | None = "d1ce0004e573"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "meeting_schedules",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("planning_time", sa.Time(), server_default="10:00:00", nullable=False),
        sa.Column("planning_minutes", sa.Integer(), server_default="120", nullable=False),
        sa.Column("standup_time", sa.Time(), server_default="09:30:00", nullable=False),
        sa.Column("standup_minutes", sa.Integer(), server_default="15", nullable=False),
        sa.Column("review_time", sa.Time(), server_default="14:00:00", nullable=False),
        sa.Column("review_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.Column("retro_time", sa.Time(), server_default="15:30:00", nullable=False),
        sa.Column("retro_minutes", sa.Integer(), server_default="60", nullable=False),
        sa.Column("feed_token_hash", sa.String(length=64), nullable=True),
        sa.Column("feed_token_prefix", sa.String(length=16), nullable=True),
        sa.Column("feed_token_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "planning_minutes BETWEEN 5 AND 480",
            name=op.f("ck_meeting_schedules_planning_minutes_range"),
        ),
        sa.CheckConstraint(
            "retro_minutes BETWEEN 5 AND 480", name=op.f("ck_meeting_schedules_retro_minutes_range")
        ),
        sa.CheckConstraint(
            "review_minutes BETWEEN 5 AND 480",
            name=op.f("ck_meeting_schedules_review_minutes_range"),
        ),
        sa.CheckConstraint(
            "standup_minutes BETWEEN 5 AND 480",
            name=op.f("ck_meeting_schedules_standup_minutes_range"),
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_meeting_schedules_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", name=op.f("pk_meeting_schedules")),
    )
    op.create_index(
        "uq_meeting_schedules_feed_token_hash",
        "meeting_schedules",
        ["feed_token_hash"],
        unique=True,
        postgresql_where=sa.text("feed_token_hash IS NOT NULL"),
    )
    op.create_table(
        "standup_entries",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("sprint_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("yesterday", sa.Text(), nullable=False),
        sa.Column("today", sa.Text(), nullable=False),
        sa.Column("blockers", sa.Text(), nullable=False),
        sa.Column(
            "blocked_items", postgresql.ARRAY(sa.Integer()), server_default="{}", nullable=False
        ),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_standup_entries_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["sprint_id"],
            ["sprints.id"],
            name=op.f("fk_standup_entries_sprint_id_sprints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_standup_entries_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_standup_entries")),
        sa.UniqueConstraint(
            "project_id", "user_id", "day", name="uq_standup_entries_project_id_user_id_day"
        ),
    )
    op.create_index(
        "ix_standup_entries_project_id_day_id",
        "standup_entries",
        ["project_id", "day", "id"],
        unique=False,
    )
    op.create_table(
        "item_blockers",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "raised_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.Column("standup_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cleared_by"],
            ["users.id"],
            name=op.f("fk_item_blockers_cleared_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.id"],
            name=op.f("fk_item_blockers_item_id_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_item_blockers_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raised_by"],
            ["users.id"],
            name=op.f("fk_item_blockers_raised_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["standup_entry_id"],
            ["standup_entries.id"],
            name=op.f("fk_item_blockers_standup_entry_id_standup_entries"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item_blockers")),
    )
    op.create_index(
        "ix_item_blockers_open",
        "item_blockers",
        ["project_id", "item_id"],
        unique=False,
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index(
        "ix_item_blockers_project_id_item_id_id",
        "item_blockers",
        ["project_id", "item_id", "id"],
        unique=False,
    )
    op.create_index(
        "uq_item_blockers_open_standup",
        "item_blockers",
        ["item_id", "raised_by"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL AND standup_entry_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index(
        "uq_item_blockers_open_standup",
        table_name="item_blockers",
        postgresql_where=sa.text("cleared_at IS NULL AND standup_entry_id IS NOT NULL"),
    )
    op.drop_index("ix_item_blockers_project_id_item_id_id", table_name="item_blockers")
    op.drop_index(
        "ix_item_blockers_open",
        table_name="item_blockers",
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.drop_table("item_blockers")
    op.drop_index("ix_standup_entries_project_id_day_id", table_name="standup_entries")
    op.drop_table("standup_entries")
    op.drop_index(
        "uq_meeting_schedules_feed_token_hash",
        table_name="meeting_schedules",
        postgresql_where=sa.text("feed_token_hash IS NOT NULL"),
    )
    op.drop_table("meeting_schedules")
