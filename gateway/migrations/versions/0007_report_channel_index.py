"""report channel index: the console's channel filter matches any report of a case

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from typing import Sequence, Union

from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_report_channel_case', 'report', ['channel', 'case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_report_channel_case', table_name='report')
