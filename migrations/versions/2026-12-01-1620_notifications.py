"""Notifications, preferences and item watchers.

Revision ID: e7e1000300c3
Revises: e7e1000200b2
Create Date: 2026-12-01 16:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'e7e1000300c3'
down_revision: str | None = 'e7e1000200b2'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


KINDS = (
    "kind IN ('assigned', 'mentioned', 'status_changed', 'sprint_started', 'sprint_completed', "
    "'action_due', 'action_overdue')"
)


def upgrade() -> None:
    op.create_table(
        'notifications',
        sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('actor_id', sa.BigInteger(), nullable=True),
        sa.Column('event_seq', sa.BigInteger(), nullable=True),
        sa.Column('item_number', sa.Integer(), nullable=True),
        sa.Column('sprint_number', sa.Integer(), nullable=True),
        sa.Column('retro_number', sa.Integer(), nullable=True),
        sa.Column('action_number', sa.Integer(), nullable=True),
        sa.Column('due_date', sa.Date(), nullable=True),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(KINDS, name=op.f('ck_notifications_kind_valid')),
        sa.ForeignKeyConstraint(
            ['actor_id'], ['users.id'], name=op.f('fk_notifications_actor_id_users'),
            ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'], name=op.f('fk_notifications_project_id_projects'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications')),
    )
    op.create_index('ix_notifications_user_id_id', 'notifications', ['user_id', 'id'])
    op.create_index(
        'ix_notifications_unread_user_id_id',
        'notifications',
        ['user_id', 'id'],
        postgresql_where=sa.text('read_at IS NULL'),
    )
    op.create_index(
        'uq_notifications_reminder',
        'notifications',
        ['project_id', 'action_number', 'due_date', 'kind', 'user_id'],
        unique=True,
        postgresql_where=sa.text("kind IN ('action_due', 'action_overdue')"),
    )
    op.create_table(
        'notification_preferences',
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.CheckConstraint(KINDS, name=op.f('ck_notification_preferences_kind_valid')),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_notification_preferences_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('user_id', 'kind', name=op.f('pk_notification_preferences')),
    )
    op.create_table(
        'item_watchers',
        sa.Column('item_id', sa.BigInteger(), nullable=False),
        sa.Column('user_id', sa.BigInteger(), nullable=False),
        sa.Column('project_id', sa.BigInteger(), nullable=False),
        sa.Column(
            'created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ['item_id'], ['items.id'], name=op.f('fk_item_watchers_item_id_items'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'], name=op.f('fk_item_watchers_project_id_projects'),
            ondelete='CASCADE',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'], name=op.f('fk_item_watchers_user_id_users'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('item_id', 'user_id', name=op.f('pk_item_watchers')),
    )
    op.create_index(
        'ix_item_watchers_project_id_user_id', 'item_watchers', ['project_id', 'user_id']
    )


def downgrade() -> None:
    op.drop_index('ix_item_watchers_project_id_user_id', table_name='item_watchers')
    op.drop_table('item_watchers')
    op.drop_table('notification_preferences')
    op.drop_index('uq_notifications_reminder', table_name='notifications')
    op.drop_index('ix_notifications_unread_user_id_id', table_name='notifications')
    op.drop_index('ix_notifications_user_id_id', table_name='notifications')
    op.drop_table('notifications')
