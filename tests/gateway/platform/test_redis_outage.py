"""Nothing stalls silently (trust issue, 9): `hotline run` rides out Redis killed and restarted empty, and
readiness says what is missing meanwhile. Waits on conditions (every case dispatched), never on a clock."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from bench import chaos
from bench.common import free_port
from gateway.config import BUNDLED_PROFILE
from tests.conftest import PATIENCE, subprocess_env


def wait_for(what: str, condition: Any, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"still waiting for {what} after {PATIENCE} s")


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return 0, {}


def post(base: str, i: int) -> int:
    body = json.dumps({"text": f"江岸区中山大道{100 + i}号路灯不亮", "phone": f"138{i:08d}", "external_id": f"OUT-{i}"}).encode()
    request = urllib.request.Request(f"{base}/api/v1/reports", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as resp:
        return resp.status


def test_hotline_run_dispatches_every_report_across_a_redis_restart_that_empties_it(config, tmp_path: Path):
    profile = tmp_path / "city.toml"  # the bundled city, with the outbox swept every 2 s
    profile.write_text(re.sub(r"outbox_sweep_seconds = \d+", "outbox_sweep_seconds = 2",
                              BUNDLED_PROFILE.read_text(encoding="utf-8")), encoding="utf-8")
    env = {**subprocess_env(config), "HOTLINE_PROFILE": str(profile), "HOTLINE_OUTBOX_LOST_SECONDS": "5",
           "HOTLINE_HEARTBEAT_MAX_AGE": "60"}
    figures = chaos.redis_restart(30, rate=10, outage=3, env=env, database_url=config["DATABASE_URL"],
                                  schema=config.get("DATABASE_SCHEMA"), patience=PATIENCE, workers=1)
    assert figures["accepted"] == 30 and figures["report_rows"] == 30  # accepted while Redis was down too
    assert figures["undispatched"] == 0 and figures["dispatched_twice"] == 0
    assert figures["run_exit"] == 0


def test_a_dead_child_is_restarted_and_stopping_run_ends_its_whole_group(config, tmp_path: Path):
    web = free_port()
    env = subprocess_env(config)
    run = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--port", str(web), "--workers", "1"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    groups: set[int] = set()
    try:
        wait_for("the web server", lambda: get(f"http://127.0.0.1:{web}/healthz")[0] == 200)

        def cron_pid() -> int | None:
            out = subprocess.run(["pgrep", "-f", "worker.py --cron"], capture_output=True, text=True).stdout.split()
            # a listed process may be gone by the time it is looked at (the one just killed, another test's)
            mine = [int(p) for p in out if _parent_is(int(p), run.pid) and _group(int(p)) not in (None, os.getpgid(0))]
            return mine[0] if mine else None

        first = wait_for("the cron scheduler", cron_pid)
        os.kill(first, signal.SIGKILL)
        second = wait_for("a new cron scheduler", lambda: (lambda p: p if p and p != first else None)(cron_pid()))
        assert second != first
        groups = child_groups(run.pid)
    finally:
        run.send_signal(signal.SIGTERM)
        output, _ = run.communicate(timeout=PATIENCE)
    assert run.returncode == 0 and "cron exited with" in output and "cron restarted" in output
    # the new scheduler and the worker pool, with their children, end (a child may still be exiting as run ends)
    wait_for("the scheduler and the pool to end with run", lambda: alive_in(groups) == [])


def child_groups(parent: int) -> set[int]:
    """The process groups of `hotline run`'s children (each child leads its own)."""
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    return {g for g in (_group(int(p)) for p in out) if g is not None}


def alive_in(groups: set[int]) -> list[str]:
    """Processes still running in these process groups (a zombie waiting to be reaped runs no more)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) in groups and fields[0] != "Z":
                found.append(f"{entry.name} {fields[0]}")
    return found


def _group(pid: int) -> int | None:
    """The process group of `pid`, or None once it is gone (pgrep's list is older than the look)."""
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def _parent_is(pid: int, parent: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1]) == parent
    except (OSError, ValueError, IndexError):
        return False


def test_a_killed_run_takes_its_children_with_it(config):
    web = free_port()
    run = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--port", str(web), "--workers", "1"],
                           env=subprocess_env(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    try:
        wait_for("the web server", lambda: get(f"http://127.0.0.1:{web}/healthz")[0] == 200)
        groups = wait_for("both children", lambda: (lambda g: g if len(g) == 2 else None)(child_groups(run.pid)))
    finally:
        run.kill()  # SIGKILL: `run` cannot stop anything itself
        run.wait()
    wait_for("the worker pool and the scheduler to stop with it", lambda: alive_in(groups) == [])
