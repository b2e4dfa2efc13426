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


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
