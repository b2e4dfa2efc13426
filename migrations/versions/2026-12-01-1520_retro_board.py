"""Retro boards: cards, groups and votes.

Revision ID: d1ce0003ca72
Revises: d1ce0002ac71
Create Date: 2026-12-01 15:20:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'd1ce0003ca72'
down_revision: str | None = 'd1ce0002ac71'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('retro_groups',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('project_id', sa.BigInteger(), nullable=False),
    sa.Column('retro_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_retro_groups_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['retro_id'], ['retros.id'], name=op.f('fk_retro_groups_retro_id_retros'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retro_groups'))
    )
    op.create_index('ix_retro_groups_retro_id_id', 'retro_groups', ['retro_id', 'id'], unique=False)
    op.create_table('retro_cards',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('project_id', sa.BigInteger(), nullable=False),
    sa.Column('retro_id', sa.BigInteger(), nullable=False),
    sa.Column('column', sa.String(length=60), nullable=False),
    sa.Column('text', sa.String(length=2000), nullable=False),
    sa.Column('author_id', sa.BigInteger(), nullable=True),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('version', sa.Integer(), server_default='1', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_retro_cards_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['retro_groups.id'], name=op.f('fk_retro_cards_group_id_retro_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_retro_cards_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['retro_id'], ['retros.id'], name=op.f('fk_retro_cards_retro_id_retros'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retro_cards'))
    )
    op.create_index('ix_retro_cards_group_id', 'retro_cards', ['group_id'], unique=False)
    op.create_index('ix_retro_cards_retro_id_author_id', 'retro_cards', ['retro_id', 'author_id'], unique=False)
    op.create_index('ix_retro_cards_retro_id_id', 'retro_cards', ['retro_id', 'id'], unique=False)
    op.create_table('retro_votes',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('project_id', sa.BigInteger(), nullable=False),
    sa.Column('retro_id', sa.BigInteger(), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('card_id', sa.BigInteger(), nullable=True),
    sa.Column('group_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('(card_id IS NULL) <> (group_id IS NULL)', name=op.f('ck_retro_votes_one_target')),
    sa.ForeignKeyConstraint(['card_id'], ['retro_cards.id'], name=op.f('fk_retro_votes_card_id_retro_cards'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['retro_groups.id'], name=op.f('fk_retro_votes_group_id_retro_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_retro_votes_project_id_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['retro_id'], ['retros.id'], name=op.f('fk_retro_votes_retro_id_retros'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_retro_votes_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retro_votes'))
    )
    op.create_index('ix_retro_votes_card_id', 'retro_votes', ['card_id'], unique=False)
    op.create_index('ix_retro_votes_group_id', 'retro_votes', ['group_id'], unique=False)
    op.create_index('ix_retro_votes_retro_id_user_id', 'retro_votes', ['retro_id', 'user_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_retro_votes_retro_id_user_id', table_name='retro_votes')
    op.drop_index('ix_retro_votes_group_id', table_name='retro_votes')
    op.drop_index('ix_retro_votes_card_id', table_name='retro_votes')
    op.drop_table('retro_votes')
    op.drop_index('ix_retro_cards_retro_id_id', table_name='retro_cards')
    op.drop_index('ix_retro_cards_retro_id_author_id', table_name='retro_cards')
    op.drop_index('ix_retro_cards_group_id', table_name='retro_cards')
    op.drop_table('retro_cards')
    op.drop_index('ix_retro_groups_retro_id_id', table_name='retro_groups')
    op.drop_table('retro_groups')
