"""first-contact resolution (即时办) and the operators' knowledge base: a case closed on the call is marked; the
office's answers, the searchable answers (entries and published replies, masked) and their bigram index

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('case') as batch:
        batch.add_column(sa.Column('closed_on_call', sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        'knowledgeentry',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('created_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_knowledgeentry_status', 'knowledgeentry', ['status'], unique=False)
    op.create_index('ix_knowledgeentry_created_at', 'knowledgeentry', ['created_at'], unique=False)
    op.create_index('ix_knowledgeentry_updated_at', 'knowledgeentry', ['updated_at'], unique=False)
    op.create_table(
        'knowledgeanswer',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column('source_id', sa.Integer(), nullable=False),
        sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('text', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('category', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column('case_number', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column('digest', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('source', 'source_id', name='uq_knowledgeanswer_source'),
    )
    op.create_index('ix_knowledgeanswer_digest', 'knowledgeanswer', ['digest'], unique=False)
    op.create_index('ix_knowledgeanswer_updated_at', 'knowledgeanswer', ['updated_at'], unique=False)
    op.create_table(
        'knowledgegram',
        sa.Column('gram', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('answer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.PrimaryKeyConstraint('gram', 'answer_id'),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table('knowledgegram')
    op.drop_index('ix_knowledgeanswer_updated_at', table_name='knowledgeanswer')
    op.drop_index('ix_knowledgeanswer_digest', table_name='knowledgeanswer')
    op.drop_table('knowledgeanswer')
    op.drop_index('ix_knowledgeentry_updated_at', table_name='knowledgeentry')
    op.drop_index('ix_knowledgeentry_created_at', table_name='knowledgeentry')
    op.drop_index('ix_knowledgeentry_status', table_name='knowledgeentry')
    op.drop_table('knowledgeentry')
    with op.batch_alter_table('case') as batch:
        batch.drop_column('closed_on_call')
