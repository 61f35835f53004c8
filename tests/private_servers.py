"""Servers of the tests' own, to break on purpose: a PostgreSQL cluster and a MariaDB
instance, each with its own data directory, port and socket, and a Redis broker, started
and removed by the test; a virtual host of the test's own on the machine's RabbitMQ; and
an SMTP server that receives into the test's own handler.
The shared servers of the machine are never stopped or reconfigured."""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.baking import require_tool
from tests.harness import free_port, stop_server


def _children(pid: int) -> list[int]:
    """Every process whose parent is ``pid`` (the server's workers)."""
    found = []
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(Path(stat).parent.name))
    return found


@dataclass
class PrivateServer:
    kind: str
    port: int
    url: str
    pid: int
    start: list[str]
    stop: list[str]
    user: str
    log: Path
    # The processes that started the server (runuser when the suite runs as root). runuser
    # stops itself when its child is stopped, so it is resumed with the server and reaped.
    launchers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def freeze(self) -> None:
        """SIGSTOP the server and its workers: connections stay open, nothing answers."""
        for pid in [self.pid, *_children(self.pid)]:
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in [self.pid, *_children(self.pid)]:
            os.kill(pid, signal.SIGCONT)
        for launcher in self.launchers:
            if launcher.poll() is None:
                launcher.send_signal(signal.SIGCONT)

    def reap(self) -> None:
        """After the server stopped: wait for the processes that started it."""
        for launcher in self.launchers:
            if launcher.poll() is None:
                launcher.send_signal(signal.SIGCONT)
            try:
                launcher.wait(timeout=10)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait(timeout=10)
        self.launchers.clear()

    def shut_down(self) -> None:
        if self.kind == "postgresql":
            subprocess.run(self.stop, check=True, capture_output=True, timeout=60)
            return
        os.kill(self.pid, signal.SIGTERM)
        for _ in range(300):
            if not Path(f"/proc/{self.pid}").exists() or Path(f"/proc/{self.pid}/stat").read_text().split()[2] == "Z":
                return
            time.sleep(0.1)
        raise AssertionError(f"the private {self.kind} server did not stop")

    def start_again(self) -> None:
        self.reap()
        self.pid = _launch(self)


def _as(user: str, command: list[str]) -> list[str]:
    return ["runuser", "-u", user, "--", *command] if os.geteuid() == 0 else command


def _wait_for_port(port: int, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"the private server on port {port} did not start:\n{log.read_text()[-3000:]}")


def _launch(server: PrivateServer) -> int:
    """Start ``server.start`` as its user; return the server's pid."""
    with server.log.open("a") as out:
        process = subprocess.Popen(
            _as(server.user, server.start), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server.launchers.append(process)
    _wait_for_port(server.port, server.log)
    # runuser execs nothing: the server is its child.
    children = _children(process.pid)
    return children[0] if children and os.geteuid() == 0 else process.pid


def postgres_available() -> str | None:
    """Why a private PostgreSQL cannot be started here, or None."""
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "no PostgreSQL server binaries (initdb) on this machine"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


@contextmanager
def private_postgres() -> Iterator[PrivateServer]:
    bindir = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    root = Path(tempfile.mkdtemp(prefix="private-pg-"))
    data, log = root / "data", root / "server.log"
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, user)
    subprocess.run(
        _as(user, [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--no-sync"]),
        check=True,
        capture_output=True,
        timeout=120,
    )
    start = [
        str(bindir / "postgres"),
        "-D",
        str(data),
        "-p",
        str(port),
        "-k",
        str(root),
        "-c",
        "listen_addresses=127.0.0.1",
        "-c",
        "fsync=off",
    ]
    stop = _as(user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"])
    server = PrivateServer(
        "postgresql", port, f"postgresql://postgres@127.0.0.1:{port}/postgres", 0, start, stop, user, log
    )
    server.pid = _launch(server)
    psql = [str(bindir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    subprocess.run(_as(user, [*psql, "-c", "CREATE DATABASE app"]), check=True, capture_output=True, timeout=60)
    server.url = f"postgresql://postgres@127.0.0.1:{port}/app"
    try:
        yield server
    finally:
        with suppress(ProcessLookupError):
            server.thaw()
        subprocess.run(stop, capture_output=True, timeout=60, check=False)
        server.reap()
        shutil.rmtree(root, ignore_errors=True)


def mariadb_available() -> str | None:
    """Why a private MariaDB cannot be started here, or None."""
    if shutil.which("mariadb-install-db") is None or not Path("/usr/sbin/mariadbd").exists():
        return "no MariaDB server binaries (mariadb-install-db, mariadbd) on this machine"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser"
    return None


@contextmanager
def private_mariadb() -> Iterator[PrivateServer]:
    user = "mysql" if os.geteuid() == 0 else os.environ.get("USER", "mysql")
    root = Path(tempfile.mkdtemp(prefix="private-mariadb-"))
    data, log = root / "data", root / "server.log"
    port = free_port()
    if os.geteuid() == 0:
        shutil.chown(root, user)
    install = ["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--skip-test-db"]
    install += [f"--user={user}", "--auth-root-authentication-method=normal"]
    subprocess.run(install, check=True, capture_output=True, timeout=120)
    start = [
        "/usr/sbin/mariadbd",
        "--no-defaults",
        f"--datadir={data}",
        f"--port={port}",
        f"--socket={root / 'mariadb.sock'}",
        "--bind-address=127.0.0.1",
        # A throwaway server on loopback: no accounts to set up.
        "--skip-grant-tables",
        "--skip-log-bin",
        "--innodb-buffer-pool-size=16M",
    ]
    server = PrivateServer("mysql", port, "", 0, start, [], user, log)
    server.pid = _launch(server)
    server.stop = ["kill", "-TERM", str(server.pid)]
    client = ["mariadb", "-h", "127.0.0.1", "-P", str(port), "-u", "root"]
    subprocess.run([*client, "-e", "CREATE DATABASE app"], check=True, capture_output=True, timeout=60)
    server.url = f"mysql://root@127.0.0.1:{port}/app"
    try:
        yield server
    finally:
        with suppress(ProcessLookupError):
            server.thaw()
            os.kill(server.pid, signal.SIGTERM)
        for _ in range(100):
            if not Path(f"/proc/{server.pid}").exists():
                break
            time.sleep(0.1)
        server.reap()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def private_redis(port: int, log: Path) -> Iterator[None]:
    """A Redis of the test's own on ``port``, nothing kept on disk: a broker that the test
    may leave down, start late or stop."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with log.open("a") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_port(port, log)
        yield
    finally:
        stop_server(process)


RABBITMQ = ("127.0.0.1", 5672)  # the machine's RabbitMQ, user guest/guest


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """The broker URL of a virtual host made for the test on the machine's RabbitMQ: its
    queues start empty, no other test's worker reads them, and they go with it."""
    rabbitmqctl = require_tool(
        shutil.which("rabbitmqctl") or "/usr/sbin/rabbitmqctl", "no rabbitmqctl: apt-get install rabbitmq-server"
    )
    with socket.socket() as probe:
        if probe.connect_ex(RABBITMQ) != 0:
            require_tool(None, f"RabbitMQ does not answer on {RABBITMQ[0]}:{RABBITMQ[1]}: rabbitmq-server -detached")
    vhost = f"test-{uuid.uuid4().hex[:12]}"

    def ctl(*args: str) -> None:
        subprocess.run([rabbitmqctl, *args], check=True, capture_output=True, timeout=120)

    ctl("add_vhost", vhost)
    try:
        ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield f"amqp://guest:guest@{RABBITMQ[0]}:{RABBITMQ[1]}/{vhost}"
    finally:
        ctl("delete_vhost", vhost)


@contextmanager
def smtp_server(handler: Any) -> Iterator[int]:
    """An SMTP server of the test's own (aiosmtpd) on a free port, its messages going to
    ``handler`` (an aiosmtpd handler: ``handle_DATA`` and friends); yields the port."""
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller.port
    finally:
        controller.stop()
