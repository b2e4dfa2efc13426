"""Webhooks and their deliveries.

Revision ID: e7e1000200b2
Revises: e7e1000100a1
Create Date: 2026-12-01 16:10:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'e7e1000200b2'
down_revision: str | None = 'e7e1000100a1'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'webhooks',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column('url', sa.String(length=2000), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column(
            'event_types', postgresql.ARRAY(sa.String(length=40)), server_default='{}',
            nullable=False,
        ),
        sa.Column('secret', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), server_default='true', nullable=False),
        sa.Column('description', sa.String(length=500), server_default='', nullable=False),
        sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('disabled_reason', sa.Text(), nullable=True),
        sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by', sa.BigInteger(), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.Column(
            'updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.CheckConstraint("kind IN ('standard', 'slack')", name=op.f('ck_webhooks_kind_valid')),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'], name=op.f('fk_webhooks_project_id_projects'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['created_by'], ['users.id'], name=op.f('fk_webhooks_created_by_users'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    )
    op.create_index('ix_webhooks_project_id_id', 'webhooks', ['project_id', 'id'])
    op.create_table(
        'webhook_deliveries',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column('webhook_id', sa.BigInteger(), nullable=False),
        sa.Column('event_id', sa.BigInteger(), nullable=True),
        sa.Column('seq', sa.BigInteger(), nullable=True),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.SmallInteger(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('response_code', sa.SmallInteger(), nullable=True),
        sa.Column('latency_ms', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'failed')",
            name=op.f('ck_webhook_deliveries_status_valid'),
        ),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'],
            name=op.f('fk_webhook_deliveries_project_id_projects'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['webhook_id'], ['webhooks.id'],
            name=op.f('fk_webhook_deliveries_webhook_id_webhooks'), ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['event_id'], ['project_events.id'],
            name=op.f('fk_webhook_deliveries_event_id_project_events'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    )
    op.create_index(
        'ix_webhook_deliveries_webhook_id_id', 'webhook_deliveries', ['webhook_id', 'id']
    )
    op.create_index('ix_webhook_deliveries_project_id', 'webhook_deliveries', ['project_id'])
    op.create_index('ix_webhook_deliveries_event_id', 'webhook_deliveries', ['event_id'])
    op.create_index(
        'ix_webhook_deliveries_next_attempt_at',
        'webhook_deliveries',
        ['next_attempt_at'],
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )
    op.create_index(
        'ix_webhook_deliveries_webhook_id_seq',
        'webhook_deliveries',
        ['webhook_id', 'seq'],
        postgresql_where=sa.text("status IN ('pending', 'sending')"),
    )


def downgrade() -> None:
    op.drop_table('webhook_deliveries')
    op.drop_table('webhooks')
