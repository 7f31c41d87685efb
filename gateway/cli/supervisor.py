"""`hotline run`'s children: started each in its own process group, watched, restarted with back-off when one
dies, and stopped together with everything they started (RQ's work horses and scheduler processes too)."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

FIRST_WAIT = 1.0  # seconds before the first restart; doubled on every further death
MAX_WAIT = 30.0
STEADY = 60.0  # a child that ran this long before it died starts again with the first wait


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str] | None = None
    pass_fds: tuple[int, ...] = ()
    proc: subprocess.Popen | None = None
    started: float = 0.0
    restart_at: float | None = None
    wait: float = FIRST_WAIT
    restarts: int = field(default=0)


class Supervisor:
    """Keep a set of child processes running until `stop`."""

    def __init__(self, say: Callable[[str], None]) -> None:
        self.say = say
        self.children: list[Child] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, name: str, command: Sequence[str], env: dict[str, str] | None = None, pass_fds: tuple[int, ...] = ()) -> None:
        self.children.append(Child(name, list(command), env, pass_fds))

    def start(self) -> None:
        """Start every child, then watch them from a thread."""
        for child in self.children:
            self._spawn(child)
        self._thread = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._thread.start()

    def _spawn(self, child: Child) -> None:
        # Its own process group: stopping it reaches whatever it started, even after it died itself. And
        # told to stop when we die, however we die (SIGKILL included), so that nothing runs on orphaned.
        child.proc = subprocess.Popen(child.command, env=child.env, pass_fds=child.pass_fds, start_new_session=True,
                                      preexec_fn=_stop_with_parent)
        child.started, child.restart_at = time.monotonic(), None

    def _watch(self) -> None:
        while not self._stopping.wait(0.5):
            with self._lock:
                if self._stopping.is_set():
                    return
                for child in self.children:
                    self._check(child)

    def _check(self, child: Child) -> None:
        assert child.proc is not None
        code = child.proc.poll()
        if code is None:
            return
        now = time.monotonic()
        if child.restart_at is None:
            _kill_group(child.proc.pid, signal.SIGKILL)  # what it left behind (a work horse, a scheduler)
            child.wait = FIRST_WAIT if now - child.started > STEADY else min(child.wait * 2, MAX_WAIT)
            child.restart_at = now + child.wait
            self.say(f"{child.name} exited with {code}; restarting in {child.wait:.0f} s")
        elif now >= child.restart_at:
            child.restarts += 1
            self._spawn(child)
            self.say(f"{child.name} restarted (pid {child.proc.pid}, restart {child.restarts})")

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM every child's process group, wait for them together, SIGKILL what is left."""
        self._stopping.set()
        with self._lock:
            procs = [c.proc for c in self.children if c.proc is not None]
        for proc in procs:
            if proc.poll() is None:
                _kill_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for proc in procs:  # the groups too: a worker's scheduler child outlives its parent otherwise
            _kill_group(proc.pid, signal.SIGKILL)
            if proc.poll() is None:
                proc.wait()
        settle = time.monotonic() + 5  # SIGKILL is delivered asynchronously: let the groups empty
        while time.monotonic() < settle and any(_group_alive(proc.pid) for proc in procs):
            time.sleep(0.05)


PR_SET_PDEATHSIG = 1
_PRCTL: Callable[..., int] | None
try:  # looked up here, in the parent: the child, between fork and exec, only calls it
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: children of a killed `run` must be stopped by hand
    _PRCTL = None


def _stop_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent dies (Linux's PR_SET_PDEATHSIG)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, signal.SIGTERM)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def _kill_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass
