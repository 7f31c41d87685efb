"""A load generator: threads with keep-alive http.client connections, closed loop or paced at a fixed rate."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from typing import Any, Sequence

from bench.common import load, percentile
from bench.corpus import Request


def run(
    host: str,
    port: int,
    requests: Sequence[Request],
    *,
    concurrency: int = 8,
    duration: float = 30,
    warmup: float = 5,
    rate: float | None = None,
    path: str | None = None,
    cycle: bool = False,
) -> dict[str, Any]:
    """Send requests for warmup+duration seconds; report what completed inside the measured window.

    rate=None: closed loop, every connection sends its next request as soon as the answer is in
    (the server's ceiling). rate=R: request i is due at start + i/R and its latency counts from
    when it was due, so a server that falls behind shows it (no coordinated omission).
    path: send every body to this path instead (the baseline app); cycle: reuse requests when they run out.
    """
    lock = threading.Lock()
    state = {"next": 0}
    samples: list[tuple[float, float, int, str]] = []  # (sent, latency, status, channel)
    errors: Counter[str] = Counter()
    start = time.perf_counter() + 0.2
    window_start, stop = start + warmup, start + warmup + duration

    def take() -> tuple[int, Request] | None:
        with lock:
            i = state["next"]
            if i >= len(requests) and not cycle:
                return None
            state["next"] = i + 1
        return i, requests[i % len(requests)]

    def worker() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=60)
        mine: list[tuple[float, float, int, str]] = []
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
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
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
        "concurrency": concurrency,
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
        "missed": max(0, int(rate * (warmup + duration)) - state["next"]) if rate else 0,
        "load": load_before,
        "load_after": load(),
    }
