"""Scale-out as docs/DEPLOY.md describes it: two web-only nodes on their own ports, a separate worker pool and
one scheduler, all on one database and one Redis (PostgreSQL with TEST_DATABASE_URL; else one SQLite file in
WAL mode that every process opens)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from bench.common import children, cmdline, free_port
from tests.conftest import PATIENCE, http_login, subprocess_env

MATTER = {"title": "路灯不亮", "text": "江岸区中山大道888号附近路灯连续三晚不亮，夜里很黑。", "phone": "13800138001",
          "external_id": "web-both-nodes"}


def _ready(url: str, procs: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            assert proc.poll() is None, f"{name} exited: {proc.communicate()[0][-3000:]}"
        try:
            with urllib.request.urlopen(url, timeout=5) as resp:
                if resp.status == 200:
                    return
        except (OSError, urllib.error.HTTPError):
            time.sleep(0.3)
    raise AssertionError(f"{url} did not answer 200")


def _post(base: str) -> tuple[int, str]:
    request = urllib.request.Request(f"{base}/api/v1/reports", method="POST", data=json.dumps(MATTER).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=PATIENCE) as resp:
        return resp.status, json.loads(resp.read())["case"]["number"]


def test_two_web_nodes_a_worker_pool_and_one_scheduler_share_one_database_and_redis(app, config, tmp_path: Path):
    # `app` has made the schema, as `hotline db upgrade` does once before the nodes start (docs/DEPLOY.md)
    env = {**subprocess_env(config), "HOTLINE_SECRET_KEY": "shared-by-every-node", "HOTLINE_RATE_LIMITS": "0",
           "HOTLINE_DB_BUSY_MS": str(PATIENCE * 1000),  # eight writers at once on a busy machine: they queue
           "HOTLINE_HEARTBEAT_MAX_AGE": "600"}
    procs: dict[str, subprocess.Popen] = {}

    def start(name: str, *args: str, data: str) -> subprocess.Popen:
        node_env = {**env, "HOTLINE_DATA_DIR": str(tmp_path / data)} if config["DATABASE_SCHEMA"] else env
        procs[name] = subprocess.Popen([sys.executable, "-m", "gateway.cli", *args], env=node_env,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                       start_new_session=True)
        return procs[name]

    ports = [free_port(), free_port()]
    try:
        # On PostgreSQL each role gets a data folder of its own, as on separate machines; one SQLite file
        # is the shared database otherwise, so there they share the folder that holds it.
        start("worker", "worker", "-n", "1", data="worker")
        start("cron", "cron", data="cron")
        for n, port in enumerate(ports):
            start(f"web{n}", "run", "--web-only", "--port", str(port), "--threads", "4", data=f"web{n}")
        for n, port in enumerate(ports):
            # /readyz: the database, Redis, and the heartbeats of the worker pool and the scheduler
            _ready(f"http://127.0.0.1:{port}/readyz", procs)
        for n in range(2):  # web only: the node started neither a worker pool nor a scheduler
            assert not [p for p in children(procs[f"web{n}"].pid) if "worker.py" in cmdline(p)]

        # the same matter posted to both nodes at once, four times each
        gate = threading.Barrier(8)
        results: list[tuple[int, str]] = []

        def send(port: int) -> None:
            gate.wait()
            try:
                results.append(_post(f"http://127.0.0.1:{port}"))
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                results.append((0, repr(exc)))

        threads = [threading.Thread(target=send, args=(port,)) for port in ports * 4]
        for t in threads:
            t.start()
        for t in threads:
            t.join(PATIENCE)
        assert not any(t.is_alive() for t in threads) and sorted(code for code, _ in results) == [200] * 7 + [201], results
        numbers = {number for _, number in results}
        assert len(numbers) == 1
        number = numbers.pop()

        made = subprocess.run([sys.executable, "-m", "gateway.cli", "user", "create", "--admin", "chief",
                               "--password-env", "CHIEF_PASSWORD"], env={**env, "CHIEF_PASSWORD": "s3cret-pass"},
                              capture_output=True, text=True, timeout=PATIENCE)
        assert made.returncode == 0, made.stderr[-2000:]
        # logged in on one node, read on the other: the shared secret key signs the session for both
        opener = http_login(f"http://127.0.0.1:{ports[0]}", "chief", "s3cret-pass")
        case: dict = {}
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:  # the separate worker pool dispatches it
            with opener.open(f"http://127.0.0.1:{ports[1]}/api/v1/cases/{number}", timeout=PATIENCE) as resp:
                case = json.loads(resp.read())
            if case["assignments"]:
                break
            time.sleep(0.5)
        assert len(case["reports"]) == 1
        assert [a["department"] for a in case["assignments"]] == ["WH-LIGHT"]
    finally:
        for proc in procs.values():
            proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.communicate(timeout=PATIENCE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
