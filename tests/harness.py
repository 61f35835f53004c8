"""Ports, process groups, waiting for `/health`, and an HAProxy balancer: the machinery the
tests (tests/serving.py, tests/private_servers.py, tests/test_replicas.py) and the benchmark
(benchmarks/) share. It imports nothing of pytest: a failure is an exception with the log."""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"  # Debian's package puts it in sbin


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(log: Path, size: int = 3000) -> str:
    try:
        return log.read_bytes()[-size:].decode(errors="replace")
    except OSError:
        return "(no log)"


def spawn(args: list[str], cwd: Path, env: dict[str, str] | None, log: Path) -> subprocess.Popen[bytes]:
    """Start ``args`` in a process group of its own (so that it and its workers stop together),
    appending its output to ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_server(process: subprocess.Popen[bytes], grace: float = 30.0) -> None:
    """SIGTERM to the leader (a server stops its own workers), then SIGKILL to the whole group
    if it has not ended within ``grace`` seconds."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    # The leader has gone; no worker of its group may outlive it.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def wait_for_health(base_url: str, process: subprocess.Popen[bytes], log: Path, within: float = 60) -> None:
    """Return once ``base_url``/health answers 200; fail with the log if the process exits or
    ``within`` seconds pass first."""
    deadline = time.monotonic() + within
    with httpx.Client(timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server of {base_url} exited {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(httpx.TransportError):
                if client.get(f"{base_url}/health").status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{base_url}/health did not answer 200 within {within:.0f} s:\n{tail(log)}")
            time.sleep(0.01)


HAPROXY_CONFIG = """\
global
    nbthread 1
    stats socket {socket} mode 600 level admin

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout queue 30s
    timeout check 3s
    # Only a connection that could not be opened is retried, on another server: the request
    # never reached a replica. A request sent to a replica that then dies is not re-sent.
    retries 3
    option redispatch 1
    retry-on conn-failure

frontend api
    bind 127.0.0.1:{port}
    default_backend replicas

backend replicas
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
{options}
    default-server check inter 500ms fall 2 rise 2 {server_options}
{servers}
"""


class Balancer:
    """HAProxy (roundrobin, health checks on `/health` every 0.5 s) in front of servers on
    loopback ports, named r1, r2, ... in its backend `replicas`, driven through its admin socket."""

    def __init__(self, ports: list[int], folder: Path, options: tuple[str, ...] = (), server_options: str = "") -> None:
        self.port = free_port()
        self.socket = folder / f"haproxy-{self.port}.sock"
        self.names = [f"r{index + 1}" for index in range(len(ports))]
        config = folder / f"haproxy-{self.port}.cfg"
        config.write_text(
            HAPROXY_CONFIG.format(
                socket=self.socket,
                port=self.port,
                options="\n".join(f"    {option}" for option in options),
                server_options=server_options,
                servers="\n".join(f"    server {n} 127.0.0.1:{p}" for n, p in zip(self.names, ports, strict=True)),
            )
        )
        self.log = folder / f"haproxy-{self.port}.log"
        self.process = spawn([HAPROXY, "-db", "-f", str(config)], folder, None, self.log)
        try:
            self.wait(lambda: bool(self.command("show info")), "its admin socket to answer")
        except BaseException:
            self.stop()
            raise

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self, line: str) -> str:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.socket))
            sock.sendall(line.encode() + b"\n")
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
        return data.decode()

    def stats(self) -> dict[str, dict[str, str]]:
        """`show stat` per server of the backend (status, stot, ...)."""
        lines = self.command("show stat").lstrip("# ").splitlines()
        rows = csv.DictReader(line for line in lines if line)
        return {row["svname"]: row for row in rows if row["pxname"] == "replicas" and row["svname"] in self.names}

    def statuses(self) -> dict[str, str]:
        return {name: row["status"] for name, row in self.stats().items()}

    def wait(self, ready: Callable[[], bool], what: str, within: float = 30) -> None:
        """Until ``ready()`` is true (an OSError while HAProxy starts counts as not yet)."""
        deadline = time.monotonic() + within
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited {self.process.returncode}:\n{tail(self.log)}")
            with contextlib.suppress(OSError, KeyError):
                if ready():
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"waited {within:.0f} s for {what}:\n{tail(self.log)}")
            time.sleep(0.05)

    def use(self, count: int) -> None:
        """Send to the first ``count`` servers only (the others in maintenance); return once
        HAProxy sees exactly those UP."""
        for index, name in enumerate(self.names):
            self.command(f"set server replicas/{name} state {'ready' if index < count else 'maint'}")
        wanted = {name: index < count for index, name in enumerate(self.names)}
        self.wait(
            lambda: {name: status == "UP" for name, status in self.statuses().items()} == wanted,
            f"HAProxy to see {count} server(s) UP",
        )

    def stop(self) -> None:
        stop_server(self.process, grace=10)


def haproxy_version() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        output = subprocess.run([HAPROXY, "-v"], capture_output=True, text=True, timeout=10, check=False).stdout
        words = output.split()  # "HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/"
        return words[2] if len(words) > 2 and words[1] == "version" else "unknown"
    return "unknown"
