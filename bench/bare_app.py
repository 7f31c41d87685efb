"""The baseline: a minimal Flask app whose one route inserts one row through SQLAlchemy, served like `hotline run`.

It uses the gateway's own engine settings (gateway.db.make_engine: WAL and BEGIN IMMEDIATE on
SQLite, the pool and search_path on PostgreSQL) and waitress with the same thread count and processes, so the
difference to the real endpoints is what our pipeline costs. Not part of the product.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy import Column, DateTime, Integer, LargeBinary, MetaData, String, Table, insert

from gateway.cli import webserver
from gateway.cli.supervisor import Supervisor
from gateway.clock import utcnow
from gateway.config import Settings
from gateway.db import make_engine

metadata = MetaData()
bare = Table(
    "bench_bare",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("path", String(200), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def bare_engine() -> Any:
    settings = Settings.from_environment()
    return make_engine(settings.database_url, settings.data_dir, settings.database_schema)


def create_bare_app(enqueue: bool = False) -> Flask:
    """One POST route on any path: insert the body as one row, answer 201 with its id.

    ``enqueue``: then put one empty job (bench.noop.noop) on the installation's default queue with
    RQ's own ``Queue.enqueue``: the least a report that has follow-up work can cost with this stack.
    """
    engine = bare_engine()
    metadata.create_all(engine)
    app = Flask(__name__)
    queue = None
    if enqueue:
        from redis import Redis
        from rq import Queue

        redis = Redis.from_url(os.environ["REDIS_URL"])
        queue = Queue(f"{Settings.from_environment().queue_prefix}-default", connection=redis)

    @app.post("/", defaults={"path": ""})
    @app.post("/<path:path>")
    def store(path: str):  # type: ignore[no-untyped-def]
        """Insert the request body as one row."""
        with engine.begin() as conn:
            row_id = conn.execute(
                insert(bare).values(path=path[:200], body=request.get_data(), created_at=utcnow()).returning(bare.c.id)
            ).scalar_one()
        if queue is not None:
            queue.enqueue("bench.noop.noop")
        return jsonify({"id": row_id}), 201

    @app.get("/readyz")
    def ready():  # type: ignore[no-untyped-def]
        return jsonify({"status": "ok"})

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.bare_app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (as `hotline run --threads`)")
    parser.add_argument("--processes", type=int, default=1, help="web processes (as `hotline run --web-processes`)")
    parser.add_argument("--enqueue", action="store_true", help="also enqueue one empty RQ job per request")
    parser.add_argument("--fd", type=int, default=None, help=argparse.SUPPRESS)  # a child of --processes N
    args = parser.parse_args(argv)
    if args.processes > 1 and args.fd is None:
        engine = bare_engine()
        metadata.create_all(engine)  # once, before the children (concurrent CREATE TABLEs collide on PostgreSQL)
        engine.dispose()
        sock = webserver.listen(args.host, args.port)
        command = [sys.executable, "-m", "bench.bare_app", "--threads", str(args.threads)]
        command += ["--enqueue"] if args.enqueue else []
        children = Supervisor(lambda line: print(f"bare_app: {line}", file=sys.stderr))
        try:
            webserver.serve_processes(children, command, sock, args.processes)
        finally:
            children.stop()
            sock.close()
        return
    webserver.serve(create_bare_app(args.enqueue), threads=args.threads, host=args.host, port=args.port, fd=args.fd)


if __name__ == "__main__":
    main()
