"""`hotline demo`: every channel into the running gateway with secrets of its own run, and what became of it."""

from __future__ import annotations

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

from twilio.request_validator import RequestValidator

from bench.common import free_port
from gateway import create_app
from gateway.cli.demo import DEMO_MAILS, DEMO_OPEN311, DEMO_TEXTS, DEMO_TICKETS, demo_app, demo_mail
from tests.conftest import PATIENCE, ROOT, subprocess_env


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=5) as resp:
            return resp.status == 200
    except (OSError, urllib.error.HTTPError):
        return False


def test_on_a_fresh_data_folder_the_demo_ends_with_every_case_assigned_and_cases_merged_across_channels(
        config: dict[str, Any], tmp_path: Path) -> None:
    """`hotline run` on a new data folder and a free port, answering /readyz; then `hotline demo` with its default
    wait, in its own process, as a new user runs them (`./dev run`, `./dev hotline demo`)."""
    env = subprocess_env(config)
    assert not Path(config["DATA_DIR"]).exists()  # fresh
    if not os.environ.get("TEST_DATABASE_URL"):
        env.pop("DATABASE_URL")  # the default: SQLite in the data folder, as `./dev run` has it
    if not os.environ.get("REDIS_URL"):
        env.pop("REDIS_URL")  # the default: the embedded Redis in the data folder
    port = free_port()
    run = subprocess.Popen([sys.executable, "-m", "gateway.cli", "run", "--port", str(port)], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + PATIENCE
        while not _ready(base):
            assert run.poll() is None and time.monotonic() < deadline, "hotline run never answered /readyz"
            time.sleep(0.5)
        demo = subprocess.run([sys.executable, "-m", "gateway.cli", "demo"], env=env, capture_output=True, text=True,
                              timeout=PATIENCE)
    finally:
        run.send_signal(signal.SIGTERM)
        run_log, _ = run.communicate(timeout=PATIENCE)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    out = demo.stdout
    sent = [line for line in out.splitlines() if re.match(r"^(web|sms|email|board|push|desk|311)\s+\d{3} -> ", line)]
    assert {line.split()[0] for line in sent} == {"web", "sms", "email", "board", "push", "desk", "311"}
    assert all(line.split()[1] in ("200", "201") for line in sent), sent
    cases = [line for line in out.splitlines() if re.match(r"^[A-Z]{2}\d{8}-\d+ ", line)]
    assert cases and all("not dispatched" not in line and "(lead)" in line for line in cases), cases
    across = out.split("merged across channels:")[1].split("where to look")[0]
    spans = [set(line.split(" by ")[1].split(";")[0].split(", ")) for line in across.strip().splitlines()]
    assert any({"sms", "email", "board", "hotline"} <= span for span in spans), across
    assert "/console/cases/" in out and "/board/lookup" in out
    assert "Traceback" not in run_log, run_log[-5000:]  # nothing the demo does makes the gateway fail


def test_the_demos_secrets_work_in_its_own_app_and_are_refused_by_the_gateway(config, monkeypatch) -> None:
    """The secrets are minted for one run and live in the demo's own app: the gateway (another app on the same
    database, as `hotline run` is) refuses every one of them."""
    for key, value in subprocess_env(config).items():
        monkeypatch.setenv(key, value)
    demo, minted = demo_app()
    gateway = create_app(config)
    assert demo.extensions["hotline"].settings.twilio_auth_token == minted.twilio_token
    sms = DEMO_TEXTS[0]
    signature = RequestValidator(minted.twilio_token).compute_signature("http://localhost/webhooks/twilio/sms", sms)
    mail = demo_mail(**{**{k: v for k, v in DEMO_MAILS[1].items() if k != "photo"}, "photo": None})
    tries = {
        "sms": lambda c: c.post("/webhooks/twilio/sms", data=sms, headers={"X-Twilio-Signature": signature}),
        "mail": lambda c: c.post("/webhooks/email", data=mail, content_type="message/rfc822",
                                 headers={"X-Hotline-Secret": minted.mail_secret}),
        "push": lambda c: c.post("/api/v1/hotline/tickets", json=DEMO_TICKETS[1],
                                 headers={"Authorization": f"Bearer {minted.system_token}"}),
        "open311": lambda c: c.post("/open311/v2/requests.json", data={"api_key": minted.open311_key, **DEMO_OPEN311}),
    }
    refused = {name: send(gateway.test_client()).status_code for name, send in tries.items()}
    assert refused == {"sms": 403, "mail": 403, "push": 403, "open311": 403}
    accepted = {name: send(demo.test_client()).status_code for name, send in tries.items()}
    assert accepted == {"sms": 200, "mail": 201, "push": 201, "open311": 200}
    again = demo_app()[1]  # a second run mints new ones: the first run's are worth nothing
    assert not set(vars(again).values()) & set(vars(minted).values())
    for app in (demo, gateway):
        app.extensions["hotline"].engine.dispose()


def test_a_unit_whose_system_is_unreachable_fails_with_one_line_and_no_traceback(config, tmp_path):
    """The bundled profile delivers in-app; a unit given an unreachable webhook (a profile of this test's own) logs
    its failed delivery as one line per attempt, not RQ's traceback."""
    from gateway.config import BUNDLED_PROFILE

    bundled = BUNDLED_PROFILE.read_text(encoding="utf-8")
    light = bundled.index('code = "WH-LIGHT"')
    inapp = bundled.index('delivery = "inapp"', light)
    profile = tmp_path / "city.toml"
    profile.write_text(bundled[:inapp] + 'delivery = "webhook"\nwebhook = "http://127.0.0.1:9/light-dispatch"  #' +
                       bundled[inapp + len('delivery = "inapp"'):], encoding="utf-8")
    config = {**config, "PROFILE_PATH": str(profile)}
    app = create_app(config)
    resp = app.test_client().post("/api/v1/reports", json={"text": "江岸区中山大道888号路灯不亮", "phone": "13800138001"})
    assert resp.status_code == 201
    app.extensions["hotline"].engine.dispose()
    done = subprocess.run([sys.executable, "worker.py", "-n", "1", "--burst"], cwd=ROOT, capture_output=True, text=True,
                          env={**subprocess_env(config), "HOTLINE_PROFILE": str(profile)}, timeout=PATIENCE)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert re.search(r"WARNING gateway\.failures: job \S+ failed \(DeliveryError: webhook unreachable", log), log[-3000:]
    assert "Traceback" not in log, log[-3000:]


def test_the_bundled_profile_delivers_every_unit_in_app_or_by_mail(rt):
    """No unit of the bundled demo profile points at a system that does not exist."""
    assert all(d.get("delivery", "inapp") in ("inapp", "email") for d in rt.profile.departments), \
        [d["code"] for d in rt.profile.departments if d.get("delivery") == "webhook"]
