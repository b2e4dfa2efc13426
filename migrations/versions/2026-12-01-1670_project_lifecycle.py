"""Project lifecycle: phases, gate approvers, sign-offs and closing summaries.

Revision ID: e7e1000800b8
Revises: e7e1000700a7
Create Date: 2026-12-01 16:70:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "e7e1000800b8"
down_revision: str | None = "e7e1000700a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PHASES = "'kickoff', 'planning', 'execution', 'closing', 'post_mortem'"
GATED = "'planning', 'execution', 'closing', 'post_mortem'"


def _created_at(name: str = "created_at") -> sa.Column[sa.DateTime]:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
    )


def upgrade() -> None:
    # Projects that exist already are running projects: they start in `execution`. New ones
    # start in `kickoff` (the model's default; no server default is kept).
    op.add_column(
        "projects",
        sa.Column("phase", sa.String(length=12), server_default="execution", nullable=False),
    )
    op.alter_column("projects", "phase", server_default=None)
    op.create_check_constraint(op.f("ck_projects_phase_valid"), "projects", f"phase IN ({PHASES})")
    op.create_table(
        "phase_changes",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("from_phase", sa.String(length=12), nullable=False),
        sa.Column("to_phase", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=True),
        _created_at("occurred_at"),
        sa.CheckConstraint(
            f"from_phase IN ({PHASES})", name=op.f("ck_phase_changes_from_phase_valid")
        ),
        sa.CheckConstraint(f"to_phase IN ({PHASES})", name=op.f("ck_phase_changes_to_phase_valid")),
        sa.CheckConstraint(
            "kind IN ('advance', 'back', 'reopen')", name=op.f("ck_phase_changes_kind_valid")
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["users.id"],
            name=op.f("fk_phase_changes_actor_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_phase_changes_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_changes")),
    )
    op.create_index(
        "ix_phase_changes_project_id_id", "phase_changes", ["project_id", "id"], unique=False
    )
    op.create_table(
        "phase_gate_approvers",
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(length=12), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        _created_at(),
        sa.CheckConstraint(f"phase IN ({GATED})", name=op.f("ck_phase_gate_approvers_phase_valid")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_phase_gate_approvers_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_phase_gate_approvers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "phase", "user_id", name=op.f("pk_phase_gate_approvers")
        ),
    )
    op.create_table(
        "phase_signoffs",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("phase", sa.String(length=12), nullable=False),
        sa.Column("round", sa.BigInteger(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        _created_at(),
        sa.CheckConstraint(
            "decision IN ('approved', 'rejected')", name=op.f("ck_phase_signoffs_decision_valid")
        ),
        sa.CheckConstraint(f"phase IN ({GATED})", name=op.f("ck_phase_signoffs_phase_valid")),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_phase_signoffs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_phase_signoffs_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_phase_signoffs")),
    )
    op.create_index(
        "ix_phase_signoffs_project_id_phase_id",
        "phase_signoffs",
        ["project_id", "phase", "id"],
        unique=False,
    )
    op.create_table(
        "project_closings",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _created_at("closed_at"),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reopened_by", sa.BigInteger(), nullable=True),
        sa.Column("retro_number", sa.Integer(), nullable=True),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["closed_by"],
            ["users.id"],
            name=op.f("fk_project_closings_closed_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_project_closings_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reopened_by"],
            ["users.id"],
            name=op.f("fk_project_closings_reopened_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_closings")),
        sa.UniqueConstraint("project_id", "number", name="uq_project_closings_project_id_number"),
    )


def downgrade() -> None:
    op.drop_table("project_closings")
    op.drop_index("ix_phase_signoffs_project_id_phase_id", table_name="phase_signoffs")
    op.drop_table("phase_signoffs")
    op.drop_table("phase_gate_approvers")
    op.drop_index("ix_phase_changes_project_id_id", table_name="phase_changes")
    op.drop_table("phase_changes")
    op.drop_constraint(op.f("ck_projects_phase_valid"), "projects", type_="check")
    op.drop_column("projects", "phase")
