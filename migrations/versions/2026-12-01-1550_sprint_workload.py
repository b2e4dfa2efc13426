"""Sprint workload, frozen at completion.

Revision ID: d1ce0006f075
Revises: d1ce0005ca74
Create Date: 2026-12-01 15:50:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'd1ce0006f075'
down_revision: str | None = 'd1ce0005ca74'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'sprints', sa.Column('workload', postgresql.JSONB(astext_type=sa.Text()), nullable=True)
    )


def downgrade() -> None:
    op.drop_column('sprints', 'workload')
