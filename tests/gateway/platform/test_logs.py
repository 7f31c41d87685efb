"""Every process logs in UTC with the offset written, also the cron scheduler, which runs in the city's zone."""

from __future__ import annotations

import io
import logging
import os
import time
from datetime import datetime, timezone

from rq.logutils import setup_loghandlers

from gateway import logs


def test_a_log_line_carries_utc_with_its_offset_whatever_the_process_zone():
    stream = io.StringIO()
    before = os.environ.get("TZ")
    handler = logs.configure("INFO", stream)
    try:
        os.environ["TZ"] = "Asia/Shanghai"  # what the cron scheduler does for rq.cron
        time.tzset()
        record = logging.LogRecord("gateway.test", logging.WARNING, __file__, 1, "sent %s", ("x",), None)
        record.created = datetime(2026, 12, 7, 5, 7, 57, 123000, tzinfo=timezone.utc).timestamp()
        handler.handle(record)
        assert stream.getvalue() == "2026-12-07T05:07:57.123+00:00 WARNING gateway.test: sent x\n"
        assert logs.configure("DEBUG") is handler  # once per process
        rq_logger = logging.getLogger("rq.worker.logs-test")
        setup_loghandlers("INFO", name=rq_logger.name)  # RQ adds its own (local-time) handler only where none reaches
        assert rq_logger.handlers == []
    finally:
        logging.getLogger().removeHandler(handler)
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()
