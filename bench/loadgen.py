"""The load generator, `run`: threads with keep-alive http.client connections, closed loop or paced at a
fixed rate; or, with ``wrk=True``, the same closed loop driven by wrk (C, epoll).

On two cores the Python generator takes its share of the CPU from the server: 0.36-0.41 ms per
request (about a fifth of a core at 500/s), against 0.07-0.09 ms for wrk (docs/BENCHMARKS.md, fourth session).
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Sequence

from bench.common import load, percentile
from bench.corpus import Request


def run(
    host: str,
    port: int | Sequence[int],
    requests: Sequence[Request],
    *,
    concurrency: int = 8,
    duration: float | None = 30,
    warmup: float = 5,
    rate: float | None = None,
    path: str | None = None,
    cycle: bool = False,
    wrk: bool = False,
) -> dict[str, Any]:
    """Send requests for warmup+duration seconds; report what completed inside the measured window.

    rate=None: closed loop, every connection sends its next request as soon as the answer is in
    (the server's ceiling). rate=R: request i is due at start + i/R and its latency counts from
    when it was due, so a server that falls behind shows it (no coordinated omission).
    duration=None: no time limit, the run ends when every request has been answered once (with cycle, refused).
    path: send every body to this path instead (the baseline app); cycle: reuse requests when they run out.
    wrk: the closed loop runs on wrk instead of the threads (`_run_wrk`); it has no fixed-rate mode.
    port: one port, or several (gateway nodes): connection k talks to ports[k % len(ports)], so the load is spread
    evenly and every latency lands in one distribution (the threads only).
    """
    ports = [port] if isinstance(port, int) else list(port)
    if wrk:
        if len(ports) != 1:
            raise ValueError("wrk drives one server: give one port, or use the threads for several")
        if rate is not None:
            raise ValueError("wrk runs a closed loop only: rate must be None")
        if duration is None:
            raise ValueError("wrk runs for a duration: give one")
        return _run_wrk(host, ports[0], requests, concurrency, duration, warmup, path, cycle)
    if duration is None and cycle:
        raise ValueError("a run without a duration ends when the requests run out: it cannot cycle")
    lock = threading.Lock()
    state = {"next": 0}
    samples: list[tuple[float, float, int, str]] = []  # (sent, latency, status, channel)
    errors: Counter[str] = Counter()
    start = time.perf_counter() + 0.2
    window_start = start + warmup
    stop = window_start + duration if duration is not None else float("inf")

    def take() -> tuple[int, Request] | None:
        with lock:
            i = state["next"]
            if i >= len(requests) and not cycle:
                return None
            state["next"] = i + 1
        return i, requests[i % len(requests)]

    def worker(port: int) -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        mine: list[tuple[float, float, int, str]] = []
        time.sleep(max(0.0, start - time.perf_counter()))  # every connection starts at `start`, none before
        while True:
            item = take()
            if item is None:
                break
            i, req = item
            due = start + i / rate if rate else None
            now = time.perf_counter()
            if now >= stop or (due is not None and due >= stop):
                break  # a paced run that fell behind leaves the rest unsent (counted as missed)
            if due is not None and due > now:
                time.sleep(due - now)
            sent = time.perf_counter()
            try:
                conn.request(req.method, path or req.path, body=req.body, headers=req.headers)
                resp = conn.getresponse()
                resp.read()
                status = resp.status
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=60)
                continue
            done = time.perf_counter()
            mine.append((sent, done - (due if due is not None else sent), status, req.channel))
        conn.close()
        with lock:
            samples.extend(mine)

    load_before = load()
    threads = [threading.Thread(target=worker, args=(ports[k % len(ports)],), daemon=True) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ended = time.perf_counter()
    window = [s for s in samples if s[0] >= window_start and s[0] < stop]
    measured = min(stop, ended) - window_start
    latencies = [s[1] * 1000 for s in window]
    statuses = Counter(str(s[2]) for s in window)
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    return {
        "mode": f"paced {rate:g}/s" if rate else "closed loop",
        "loadgen": "python",
        "concurrency": concurrency,
        "ports": len(ports),
        "duration_s": round(measured, 2),
        "warmup_s": warmup,
        "requests": len(window),
        "ok": ok,
        "per_s": round(ok / measured, 1) if measured > 0 else 0.0,
        "p50_ms": round(percentile(latencies, 50), 1),
        "p90_ms": round(percentile(latencies, 90), 1),
        "p99_ms": round(percentile(latencies, 99), 1),
        "max_ms": round(max(latencies), 1) if latencies else 0.0,
        "statuses": dict(statuses),
        "errors": dict(errors),
        "by_channel": dict(Counter(s[3] for s in window)),
        "exhausted": state["next"] >= len(requests) and not cycle,
        "missed": max(0, int(rate * (warmup + duration)) - state["next"]) if rate and duration is not None else 0,
        "load": load_before,
        "load_after": load(),
    }


REPLAY = Path(__file__).with_name("replay.lua")


def wrk_path() -> str | None:
    """The wrk binary on PATH (Debian: apt install wrk), or None."""
    return shutil.which("wrk")


def write_requests(requests: Sequence[Request], out: Any) -> None:
    """The requests in replay.lua's format: a head line, a line per header, the body and a newline."""
    for req in requests:
        headers = [(k, v) for k, v in req.headers.items() if k.lower() not in ("content-length", "host")]
        for k, v in headers:
            if any(c in k + v for c in "\t\r\n"):
                raise ValueError(f"header {k!r} holds a tab or a line break: replay.lua cannot carry it")
        out.write(f"{req.method} {req.path} {len(headers)} {len(req.body)}\n".encode())
        for k, v in headers:
            out.write(f"{k}\t{v}\n".encode())
        out.write(req.body + b"\n")


def _wrk(url: str, file: str, start: int, seconds: float, connections: int, path: str | None, cycle: bool) -> dict[str, Any]:
    cmd = [wrk_path() or "wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout=60s",
           "-s", str(REPLAY), url, "--", file, str(start), path or "-", "1" if cycle else "0"]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    line = next((x for x in done.stdout.splitlines() if x.startswith("REPLAY ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout[-500:]}")
    return json.loads(line[len("REPLAY "):])


def _run_wrk(host: str, port: int, requests: Sequence[Request], concurrency: int, duration: float, warmup: float,
             path: str | None, cycle: bool) -> dict[str, Any]:
    """`run`'s closed loop, driven by wrk: a warm-up run, then the measured run from where it stopped.

    Every request is sent once and in order unless ``cycle``; a run that ran out of requests says
    "exhausted" (it sent some twice, which the server answers as cheap replays: do not count it).
    Latency is wrk's, from sending a request to the end of its answer.
    """
    url = f"http://{host}:{port}"
    with tempfile.NamedTemporaryFile(prefix="replay-", suffix=".bin") as f:
        write_requests(requests, f)
        f.flush()
        first = _wrk(url, f.name, 0, warmup, concurrency, path, cycle)["next"] if warmup > 0 else 0
        load_before = load()
        r = _wrk(url, f.name, first, duration, concurrency, path, cycle)
    seconds = r["duration_us"] / 1e6
    statuses = r["statuses"]
    ok = sum(n for code, n in statuses.items() if code.startswith("2"))
    sent = [requests[i % len(requests)] for i in range(first, r["next"])] if not cycle else []
    return {
        "mode": "closed loop",
        "loadgen": "wrk",
        "concurrency": concurrency,
        "duration_s": round(seconds, 2),
        "warmup_s": warmup,
        "requests": r["requests"],
        "ok": ok,
        "per_s": round(ok / seconds, 1) if seconds > 0 else 0.0,
        "p50_ms": round(r["p50_us"] / 1000, 1),
        "p90_ms": round(r["p90_us"] / 1000, 1),
        "p99_ms": round(r["p99_us"] / 1000, 1),
        "max_ms": round(r["max_us"] / 1000, 1),
        "statuses": statuses,
        "errors": {k: v for k, v in r["errors"].items() if v},
        "by_channel": dict(Counter(req.channel for req in sent)),
        "exhausted": bool(r["exhausted"]) and not cycle,
        "missed": 0,
        "sent": [first, r["next"]] if not cycle else None,  # the measured run's requests[first:next]
        "load": load_before,
        "load_after": load(),
    }

