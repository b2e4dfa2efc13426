"""Risk register: risks, their links and their history.

Revision ID: e7e1000600f6
Revises: e7e1000500e5
Create Date: 2026-12-01 16:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e7e1000600f6"
down_revision: str | None = "e7e1000500e5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "risks",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("category", sa.String(length=10), nullable=False),
        sa.Column("probability", sa.SmallInteger(), nullable=False),
        sa.Column("impact", sa.SmallInteger(), nullable=False),
        sa.Column(
            "exposure",
            sa.SmallInteger(),
            sa.Computed("probability * impact", persisted=True),
            nullable=False,
        ),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("mitigation_plan", sa.Text(), server_default="", nullable=False),
        sa.Column("contingency_plan", sa.Text(), server_default="", nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.CheckConstraint(
            "category IN ('technical', 'schedule', 'budget', 'scope', 'resource', 'external', "
            "'other')",
            name=op.f("ck_risks_category_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'mitigating', 'occurred', 'closed')",
            name=op.f("ck_risks_status_valid"),
        ),
        sa.CheckConstraint("probability BETWEEN 1 AND 5", name=op.f("ck_risks_probability_range")),
        sa.CheckConstraint("impact BETWEEN 1 AND 5", name=op.f("ck_risks_impact_range")),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_risks_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_risks_owner_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_risks_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risks")),
        sa.UniqueConstraint("project_id", "number", name="uq_risks_project_id_number"),
    )
    op.create_table(
        "risk_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("risk_id", sa.BigInteger(), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        _timestamp("occurred_at"),
        sa.Column("field", sa.String(length=20), nullable=False),
        sa.Column("old_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_value", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_risk_events_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_risk_events_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["risks.id"], name=op.f("fk_risk_events_risk_id_risks"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_events")),
    )
    op.create_index(
        "ix_risk_events_project_id_occurred_at_id",
        "risk_events",
        ["project_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index("ix_risk_events_risk_id_id", "risk_events", ["risk_id", "id"], unique=False)
    op.create_table(
        "risk_links",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("risk_id", sa.BigInteger(), nullable=False),
        sa.Column("item_id", sa.BigInteger(), nullable=True),
        sa.Column("sprint_id", sa.BigInteger(), nullable=True),
        sa.Column("release_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "num_nonnulls(item_id, sprint_id, release_id) = 1",
            name=op.f("ck_risk_links_one_target"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_risk_links_item_id_items"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_risk_links_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["release_id"],
            ["releases.id"],
            name=op.f("fk_risk_links_release_id_releases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["risk_id"], ["risks.id"], name=op.f("fk_risk_links_risk_id_risks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["sprint_id"],
            ["sprints.id"],
            name=op.f("fk_risk_links_sprint_id_sprints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_links")),
        sa.UniqueConstraint("risk_id", "item_id", name="uq_risk_links_risk_id_item_id"),
        sa.UniqueConstraint("risk_id", "release_id", name="uq_risk_links_risk_id_release_id"),
        sa.UniqueConstraint("risk_id", "sprint_id", name="uq_risk_links_risk_id_sprint_id"),
    )
    for target in ("item_id", "release_id", "sprint_id"):
        op.create_index(
            f"ix_risk_links_project_id_{target}", "risk_links", ["project_id", target], unique=False
        )


def downgrade() -> None:
    op.drop_table("risk_links")
    op.drop_table("risk_events")
    op.drop_table("risks")
