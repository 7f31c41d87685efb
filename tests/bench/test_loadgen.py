"""The closed-loop load generators against a live loopback server (bench.bare_app, which stores each body)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import pytest
from sqlalchemy import create_engine, text

from bench import common, intake, loadgen
from bench.corpus import Corpus, Load, Request, Secrets


@pytest.fixture
def wrk() -> str:
    """Debian's wrk. CI installs it and must run these; elsewhere they wait for it."""
    found = loadgen.wrk_path()
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must run the wrk load generator's tests: install Debian's wrk package (.ci/run does)")
        pytest.skip("the wrk load generator needs Debian's wrk package (apt-get install wrk); CI runs these")
    return found


@pytest.fixture
def bare(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """The bare app on a free port, storing into its own SQLite file: (port, database URL)."""
    url = f"sqlite:///{tmp_path / 'bare.db'}"
    env = {**os.environ, "DATABASE_URL": url, "HOTLINE_DATA_DIR": str(tmp_path),
           "PYTHONPATH": str(common.ROOT)}
    port = common.free_port()
    with open(tmp_path / "bare.log", "wb") as log:
        proc = intake.start([sys.executable, "-m", "bench.bare_app", "--port", str(port), "--threads", "4"],
                            env, port, log)
        try:
            yield port, url
        finally:
            intake.stop(proc)


def stored_bodies(url: str) -> list[bytes]:
    engine = create_engine(url)
    with engine.connect() as conn:
        bodies = [bytes(b) for (b,) in conn.execute(text("SELECT body FROM bench_bare ORDER BY id"))]
    engine.dispose()
    return bodies


def requests(n: int) -> list[Request]:
    return Load(Corpus(seed=5), 50, Secrets(), seed=5).requests(n)


def test_wrk_sends_each_request_once_in_order_and_counts_what_was_measured(wrk, bare):
    port, url = bare
    reqs = requests(4000)
    result = loadgen.run("127.0.0.1", port, reqs, concurrency=4, duration=1, warmup=1, path="/bare", wrk=True)
    assert result["loadgen"] == "wrk" and not result["exhausted"]
    assert result["ok"] == result["requests"] > 0 and result["statuses"] == {"201": result["ok"]}
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"]
    first, nxt = result["sent"]
    assert 0 < first < nxt <= len(reqs)  # the warm-up sent requests[:first], the measured run the next ones
    assert sum(result["by_channel"].values()) == nxt - first
    assert set(result["by_channel"]) == {"board", "hotline", "sms", "email"}
    bodies = stored_bodies(url)
    assert len(bodies) == len(set(bodies))  # none sent twice
    assert set(bodies) <= {r.body for r in reqs[:nxt]}
    assert len(bodies) >= first + result["ok"] - 4  # the warm-up's last answers may be cut off with its connections


def test_wrk_says_when_the_requests_ran_out_and_cycles_when_asked(wrk, bare):
    port, url = bare
    reqs = requests(30)
    # 3 s: enough to go past 30 requests on a busy machine
    ran_out = loadgen.run("127.0.0.1", port, reqs, concurrency=2, duration=3, warmup=0, path="/bare", wrk=True)
    assert ran_out["exhausted"] and ran_out["ok"] > 30
    cycled = loadgen.run("127.0.0.1", port, reqs, concurrency=2, duration=3, warmup=0, path="/bare", cycle=True,
                         wrk=True)
    assert not cycled["exhausted"] and cycled["ok"] > 30 and cycled["sent"] is None
    assert set(stored_bodies(url)) == {r.body for r in reqs}


def test_the_replay_file_refuses_a_header_it_cannot_carry(tmp_path):
    bad = Request("board", "POST", "/x", b"{}", {"X-Note": "two\nlines"})
    with open(tmp_path / "f.bin", "wb") as out, pytest.raises(ValueError, match="X-Note"):
        loadgen.write_requests([bad], out)


def test_the_python_generator_answers_in_the_same_shape(bare):
    port, url = bare
    reqs = requests(300)
    # No time window: the run ends when all 300 are answered, however busy the machine is.
    result = loadgen.run("127.0.0.1", port, reqs, concurrency=2, duration=None, warmup=0, path="/bare")
    assert result["loadgen"] == "python" and result["exhausted"]
    assert result["requests"] == result["ok"] == 300 and result["statuses"] == {"201": 300}
    assert 0 < result["p50_ms"] <= result["p99_ms"] <= result["max_ms"] and result["per_s"] > 0
    assert sum(result["by_channel"].values()) == 300
    bodies = stored_bodies(url)
    assert sorted(bodies) == sorted(r.body for r in reqs)  # each sent once


def test_a_run_without_a_duration_cannot_cycle_nor_run_on_wrk():
    with pytest.raises(ValueError, match="cannot cycle"):
        loadgen.run("127.0.0.1", 9, requests(3), duration=None, cycle=True)
    with pytest.raises(ValueError, match="duration"):
        loadgen.run("127.0.0.1", 9, requests(3), duration=None, wrk=True)


def test_the_intake_benchmark_refuses_wrk_when_there_is_none(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no wrk here
    with pytest.raises(SystemExit) as exc:
        intake.main(["--loadgen", "wrk", "--db", "sqlite", "--out", str(tmp_path / "x.json")])
    assert exc.value.code == 2


def test_wrk_is_refused_a_fixed_rate():
    with pytest.raises(ValueError, match="closed loop only"):
        loadgen.run("127.0.0.1", 9, requests(3), rate=100, wrk=True)
