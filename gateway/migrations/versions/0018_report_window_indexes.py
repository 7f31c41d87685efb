"""covering indexes for the reports page's window: a case's reports by person and time; reports by time and channel

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

from typing import Sequence, Union

from alembic import op

revision: str = '0018'
down_revision: Union[str, Sequence[str], None] = '0017'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_report_case_contact_received', 'report', ['case_id', 'contact_id', 'received_at'], unique=False)
    op.create_index('ix_report_received_channel', 'report', ['received_at', 'channel', 'link', 'case_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_report_received_channel', table_name='report')
    op.drop_index('ix_report_case_contact_received', table_name='report')
