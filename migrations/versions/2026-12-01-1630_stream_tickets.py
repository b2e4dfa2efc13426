"""Single-use tickets for the live streams.

Revision ID: e7e1000400d4
Revises: e7e1000300c3
Create Date: 2026-12-01 16:30:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e7e1000400d4'
down_revision: str | None = 'e7e1000300c3'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'stream_tickets',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('api_token_id', sa.BigInteger(), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=True),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_stream_tickets_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['api_token_id'], ['api_tokens.id'],
            name=op.f('fk_stream_tickets_api_token_id_api_tokens'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'], name=op.f('fk_stream_tickets_project_id_projects'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stream_tickets')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_stream_tickets_token_hash')),
    )
    op.create_index('ix_stream_tickets_expires_at', 'stream_tickets', ['expires_at'])


def downgrade() -> None:
    op.drop_table('stream_tickets')
