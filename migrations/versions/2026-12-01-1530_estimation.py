"""Planning poker: estimation rounds, votes and sessions.

Revision ID: d1ce0004e573
Revises: d1ce0003ca72
Create Date: 2026-12-01 15:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd1ce0004e573'
down_revision: str | None = 'd1ce0003ca72'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
