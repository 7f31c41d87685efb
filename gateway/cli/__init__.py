"""The `hotline` command: run the gateway, its workers, imports, evaluations; each group lives in its own module."""

from __future__ import annotations

import click

from gateway.cli import admin, demo, mail, models, run


@click.group()
def main() -> None:
    """The city's unified intake gateway (12345 hotline, message board, SMS, email, Open311)."""


for _command in (run.run, run.worker, run.cron, run.web, demo.demo, admin.import_group, admin.user, admin.retention,
                 admin.db_group, admin.calendar_group, admin.knowledge_group, mail.smtp, mail.imap, mail.parse, models.router_group,
                 models.eval_group, models.dedupe_group, models.bench):
    main.add_command(_command)
