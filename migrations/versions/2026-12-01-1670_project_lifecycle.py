"""Project lifecycle: phases, gate approvers, sign-offs and closing summaries.

Revision ID: e7e1000800b8
Revises: e7e1000700a7
Create Date: 2026-12-01 16:70:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e7e1000800b8"
down_revision: str | None = "e7e1000700a7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
