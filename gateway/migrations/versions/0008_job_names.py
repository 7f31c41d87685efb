"""job names: outbox rows name their job by the registry's short name (gateway.jobs), not a module path

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Frozen here as they were stored before the registry (gateway.jobs.LEGACY may grow; this revision does not).
RENAMED = {
    "gateway.jobs.dispatch_case": "dispatch_case",
    "gateway.jobs.sweep_outbox": "sweep_outbox",
    "gateway.notify.deliver": "deliver",
    "gateway.replies.send_reply": "send_reply",
    "gateway.supervision.sweep": "sweep_supervision",
    "gateway.followup.sweep": "sweep_followups",
    "gateway.reports.make_report": "make_report",
}


def upgrade() -> None:
    outbox = sa.table("outbox", sa.column("func", sa.String))
    for old, new in RENAMED.items():
        op.execute(outbox.update().where(outbox.c.func == old).values(func=new))


def downgrade() -> None:
    outbox = sa.table("outbox", sa.column("func", sa.String))
    for old, new in RENAMED.items():
        op.execute(outbox.update().where(outbox.c.func == new).values(func=old))
