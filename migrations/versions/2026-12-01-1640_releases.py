"""Releases and milestones, and the item field that assigns work to one.

Revision ID: e7e1000500e5
Revises: e7e1000400d4
Create Date: 2026-12-01 16:40:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "e7e1000500e5"
down_revision: str | None = "e7e1000400d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("released_on", sa.Date(), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
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
        sa.CheckConstraint("kind IN ('release', 'milestone')", name=op.f("ck_releases_kind_valid")),
        sa.CheckConstraint(
            "state IN ('planned', 'released', 'archived')", name=op.f("ck_releases_state_valid")
        ),
        sa.CheckConstraint(
            "start_date IS NULL OR target_date IS NULL OR target_date >= start_date",
            name=op.f("ck_releases_dates_ordered"),
        ),
        sa.CheckConstraint(
            "(state <> 'released' OR released_on IS NOT NULL) "
            "AND (state <> 'planned' OR released_on IS NULL) "
            "AND ((released_on IS NULL) = (released_at IS NULL))",
            name=op.f("ck_releases_released_on_when_released"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_releases_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_releases_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
        sa.UniqueConstraint("project_id", "number", name="uq_releases_project_id_number"),
    )
    op.create_index(
        "uq_releases_project_id_name",
        "releases",
        ["project_id", sa.text("lower(name)")],
        unique=True,
    )
    op.add_column("items", sa.Column("release_id", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_items_project_id_release_id", "items", ["project_id", "release_id"], unique=False
    )
    op.create_foreign_key(
        op.f("fk_items_release_id_releases"), "items", "releases", ["release_id"], ["id"]
    )
    op.add_column(
        "projects",
        sa.Column("next_release_number", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column(
        "projects", sa.Column("next_risk_number", sa.Integer(), server_default="0", nullable=False)
    )


def downgrade() -> None:
    op.drop_column("projects", "next_risk_number")
    op.drop_column("projects", "next_release_number")
    op.drop_constraint(op.f("fk_items_release_id_releases"), "items", type_="foreignkey")
    op.drop_index("ix_items_project_id_release_id", table_name="items")
    op.drop_column("items", "release_id")
    op.drop_index("uq_releases_project_id_name", table_name="releases")
    op.drop_table("releases")
