"""`hotline run` brings up web server, worker pool and scheduler together, and stops them all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.common import children, cmdline, free_port
from tests.conftest import PATIENCE, http_login, subprocess_env


def _get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


@pytest.mark.parametrize("web_processes", [1, 2])
def test_hotline_run_serves_dispatches_and_stops_cleanly_on_sigterm(config, tmp_path: Path, web_processes: int):
    port = free_port()
    env = subprocess_env(config)
    if os.environ.get("HOTLINE_TEST_EMBEDDED_REDIS", "1") == "1" and not os.environ.get("REDIS_URL"):
        env.pop("REDIS_URL")  # exercise the embedded default when the suite itself runs on it
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--port", str(port), "--workers", "1",
                             "--web-processes", str(web_processes)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline:
            try:
                if _get(f"{base}/healthz")["status"] == "ok":
                    break
            except OSError:
                time.sleep(0.2)
        web = [pid for pid in children(proc.pid) if " web " in cmdline(pid)]
        assert len(web) == (web_processes if web_processes > 1 else 0)  # one process: `run` serves itself
        request = urllib.request.Request(f"{base}/api/v1/reports", method="POST", headers={"Content-Type": "application/json"},
                                         data=json.dumps({"text": "江岸区中山大道路灯不亮", "phone": "13800138001"}).encode())
        with urllib.request.urlopen(request, timeout=60) as resp:
            assert resp.status == 201
            number = json.loads(resp.read())["case"]["number"]
        made = subprocess.run([sys.executable, "-m", "gateway.cli", "user", "create", "--admin", "chief",
                               "--password-env", "CHIEF_PASSWORD"], env={**env, "CHIEF_PASSWORD": "s3cret-pass"},
                              capture_output=True, text=True, timeout=PATIENCE)
        assert made.returncode == 0, made.stderr[-2000:]
        opener = http_login(base, "chief", "s3cret-pass")
        assignments: list = []
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and not assignments:
            with opener.open(f"{base}/api/v1/cases/{number}", timeout=60) as resp:
                assignments = json.loads(resp.read())["assignments"]
            time.sleep(0.3)
        assert [a["department"] for a in assignments] == ["WH-LIGHT"]
    finally:
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=PATIENCE)
    assert proc.returncode == 0, output[-3000:]
    assert "stopped." in output
    leftovers = subprocess.run(["pgrep", "-s", str(proc.pid)], capture_output=True, text=True).stdout.split()
    assert leftovers == [], f"processes left behind: {leftovers}"
