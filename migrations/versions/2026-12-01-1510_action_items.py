"""Retro action items, numbered per project.

Revision ID: d1ce0002ac71
Revises: d1ce0001ae70
Create Date: 2026-12-01 15:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd1ce0002ac71'
down_revision: str | None = 'd1ce0001ae70'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
