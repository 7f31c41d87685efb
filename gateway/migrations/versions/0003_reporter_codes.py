"""reporter codes: each report carries its reporter's own retrieval code; the case's single code goes

The code a case had was sent to its first reporter (and, before this revision, to everyone whose report
joined the case: the leak this revision closes). It stays valid for the reports of that first reporter's
contact (or the first report, when it had no contact); every other report gets a code of its own.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import secrets
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # gateway.intake.ingest.new_retrieval_code's: frozen here as it was


def _code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(6))


def upgrade() -> None:
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retrieval_code', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_report_retrieval_code'), ['retrieval_code'], unique=False)
    bind = op.get_bind()
    report = sa.table('report', sa.column('id', sa.Integer), sa.column('case_id', sa.Integer),
                      sa.column('contact_id', sa.Integer), sa.column('retrieval_code', sa.String))
    case = sa.table('case', sa.column('id', sa.Integer), sa.column('retrieval_code', sa.String))
    codes = dict(bind.execute(sa.select(case.c.id, case.c.retrieval_code)).all())
    first: dict[int, tuple[int, int | None]] = {}  # case id -> (first report id, its contact)
    rows = bind.execute(sa.select(report.c.id, report.c.case_id, report.c.contact_id).order_by(report.c.id)).all()
    for report_id, case_id, contact_id in rows:
        if case_id is not None:
            first.setdefault(case_id, (report_id, contact_id))
    for report_id, case_id, contact_id in rows:
        owner = first.get(case_id) if case_id is not None else None
        keeps = owner is not None and (report_id == owner[0] or (contact_id is not None and contact_id == owner[1]))
        code = codes.get(case_id) if keeps else None
        bind.execute(report.update().where(report.c.id == report_id).values(retrieval_code=code or _code()))
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.drop_column('retrieval_code')


def downgrade() -> None:
    with op.batch_alter_table('case', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retrieval_code', sa.String(length=16), nullable=False, server_default=''))
    with op.batch_alter_table('report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_retrieval_code'))
        batch_op.drop_column('retrieval_code')
