"""Public project events and their per-project sequence.

Revision ID: e7e1000100a1
Revises: d1ce0006f075
Create Date: 2026-12-01 16:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e7e1000100a1'
down_revision: str | None = 'd1ce0006f075'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'project_events',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('type', sa.String(length=40), nullable=False),
        sa.Column('version', sa.SmallInteger(), nullable=False),
        sa.Column('actor_id', sa.BigInteger(), nullable=True),
        sa.Column('item_number', sa.Integer(), nullable=True),
        sa.Column('sprint_number', sa.Integer(), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('payload', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            'occurred_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'], name=op.f('fk_project_events_actor_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'], name=op.f('fk_project_events_project_id_projects'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_project_events')),
        sa.UniqueConstraint('project_id', 'seq', name='uq_project_events_project_id_seq'),
    )
    op.create_index(
        'ix_project_events_project_id_type_seq', 'project_events', ['project_id', 'type', 'seq']
    )
    op.create_index(
        'ix_project_events_project_id_item_number_seq',
        'project_events',
        ['project_id', 'item_number', 'seq'],
    )
    op.create_index(
        'ix_project_events_project_id_sprint_number_seq',
        'project_events',
        ['project_id', 'sprint_number', 'seq'],
    )
    op.create_index(
        'ix_project_events_project_id_actor_id_seq',
        'project_events',
        ['project_id', 'actor_id', 'seq'],
    )
    op.create_table(
        'project_event_sequences',
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column('last_seq', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'],
            name=op.f('fk_project_event_sequences_project_id_projects'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_project_event_sequences')),
    )


def downgrade() -> None:
    op.drop_table('project_event_sequences')
    op.drop_table('project_events')
