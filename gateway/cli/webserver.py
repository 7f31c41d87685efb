"""The web server: waitress in this process, or several waitress processes sharing one listening socket.

One Python process serves on one core at most (the GIL). With `processes` > 1 the parent binds the
socket and starts that many children (`command` + `--fd N`), each with its own app, engine and Redis
pool, all accepting on the same socket: the kernel hands each new connection to one of them, and a
busy process is simply slower to take the next one.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from typing import Any, Callable, Sequence

from waitress import create_server

from gateway.cli.supervisor import Supervisor


def _interrupt(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def listen(host: str, port: int, backlog: int = 1024) -> socket.socket:
    """A listening TCP socket that child processes inherit."""
    sock = socket.create_server((host, port), backlog=backlog)
    sock.set_inheritable(True)
    return sock


def serve(app: Any, *, threads: int, host: str = "127.0.0.1", port: int = 0, fd: int | None = None,
          ready: Callable[[int], None] | None = None) -> None:
    """Serve the app with waitress (on host:port, or on the inherited listening socket `fd`) until SIGTERM or Ctrl-C."""
    if fd is not None:
        server = create_server(app, sockets=[socket.socket(fileno=fd)], threads=threads)
    else:
        server = create_server(app, host=host, port=port, threads=threads)
    signal.signal(signal.SIGTERM, _interrupt)
    if ready is not None:
        ready(int(server.effective_port))
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


def serve_processes(children: Supervisor, command: Sequence[str], sock: socket.socket, processes: int,
                    env: dict[str, str] | None = None, ready: Callable[[int], None] | None = None) -> None:
    """Serve on `sock` from `processes` children (`command` + `--fd N`), started and watched with the
    supervisor's other children, until SIGTERM or Ctrl-C; the caller stops the supervisor."""
    fd = sock.fileno()
    for n in range(processes):
        children.add(f"web-{n + 1}", [*command, "--fd", str(fd)], env, pass_fds=(fd,))
    children.start()
    if ready is not None:
        ready(int(sock.getsockname()[1]))
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass


def stop(children: Sequence[subprocess.Popen], timeout: float = 15) -> None:
    """SIGTERM each child still running, wait for all of them together, kill what is left."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
