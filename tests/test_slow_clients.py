"""Slow and oversized clients, over raw sockets, against each framework under the shipped
production server (granian, two workers), PostgreSQL with auth, in production mode:

- a chunked body over MAX_BODY_BYTES is answered 413, whether it would parse or not;
- a body still arriving BODY_TIMEOUT after the request began is answered 408, and the
  connection closed;
- beside 64 uploads trickling in a byte every 5 s, all on one worker, `/health` keeps answering.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, bake
from tests.serving import serving

LIMIT = 1_048_576  # MAX_BODY_BYTES's default
BODY_TIMEOUT = 4
SLOW_UPLOADS = 64
PROBE_TIMEOUT = 6  # the readiness probe's timeoutSeconds (deploy/kubernetes/deployment.yaml)


@contextmanager
def server(
    cookies: Any, tmp_path: Path, database_url: Any, framework: str, workers: int = 2, **settings: str
) -> Iterator[str]:
    baked = bake(cookies, framework, database="postgresql", use_auth=True)
    settings |= {
        "ENVIRONMENT": "production",
        "DATABASE_URL": database_url("postgresql"),
        "SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
    }
    with serving(baked, tmp_path / "server.log", settings, workers) as base_url:
        yield base_url


def connect(base_url: str) -> socket.socket:
    host, port = base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=60)


def head(path: str, port: str, framing: str) -> bytes:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n{framing}\r\n\r\n"
    ).encode()


def read_answer(sock: socket.socket, within: float) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of the first answer on ``sock`` (b"" of each when none came)."""
    sock.settimeout(within)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    except (TimeoutError, ConnectionError):
        pass
    if b"\r\n\r\n" not in data:
        return 0, {}, data
    header_block, _, body = data.partition(b"\r\n\r\n")
    lines = header_block.decode("latin-1").split("\r\n")
    headers = {name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    try:
        while len(body) < length:
            piece = sock.recv(65536)
            if not piece:
                break
            body += piece
    except (TimeoutError, ConnectionError):
        pass
    return int(lines[0].split()[1]), headers, body


def send_quietly(sock: socket.socket, data: bytes) -> None:
    """Send ``data``; the server may answer and close before it has all arrived."""
    with suppress(OSError):
        sock.sendall(data)


def chunked(body: bytes, size: int = 65_536) -> bytes:
    pieces = [body[start : start + size] for start in range(0, len(body), size)]
    return b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces) + b"0\r\n\r\n"


BIG_BODIES = {
    "2 MiB of JSON": json.dumps({"name": "x" * (2 * LIMIT)}).encode(),
    "a valid item padded with 2 MiB of spaces": b'{"name":"padded"}' + b" " * (2 * LIMIT),
}


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_chunked_body_over_the_limit_is_answered_413(
    cookies: Any, tmp_path: Path, database_url: Any, framework: str
) -> None:
    with server(cookies, tmp_path, database_url, framework) as base_url:
        port = base_url.rsplit(":", 1)[1]
        for name, body in BIG_BODIES.items():
            sock = connect(base_url)
            with sock:
                sock.sendall(head("/api/v1/items", port, "Transfer-Encoding: chunked"))
                sender = threading.Thread(target=send_quietly, args=(sock, chunked(body)))
                sender.start()
                status, _, answer = read_answer(sock, within=60)
                sender.join(timeout=60)
            assert status == 413, (name, status, answer[:200])
            assert json.loads(answer) == {"detail": "Request body too large"}, name


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_a_body_that_arrives_too_slowly_is_answered_408(
    cookies: Any, tmp_path: Path, database_url: Any, framework: str
) -> None:
    with server(cookies, tmp_path, database_url, framework, BODY_TIMEOUT=str(BODY_TIMEOUT)) as base_url:
        status, headers, answer, took = trickled_upload(base_url)
    print(f"a body trickled in at a byte a second: answered {status} after {took:.1f} s (BODY_TIMEOUT={BODY_TIMEOUT})")
    assert status == 408, (status, answer[:200])
    assert json.loads(answer) == {"detail": "Request Timeout"}
    assert headers.get("connection", "").lower() == "close"


def trickled_upload(base_url: str) -> tuple[int, dict[str, str], bytes, float]:
    port = base_url.rsplit(":", 1)[1]
    sock = connect(base_url)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1):
            send_quietly(sock, b" ")

    with sock:
        start = time.monotonic()
        sock.sendall(head("/api/v1/items", port, "Content-Length: 1000") + b"{")
        sender = threading.Thread(target=trickle)
        sender.start()
        try:
            status, headers, answer = read_answer(sock, within=60)
        finally:
            stop.set()
            sender.join()
        took = time.monotonic() - start
    return status, headers, answer, took


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_health_answers_beside_64_slow_uploads(cookies: Any, tmp_path: Path, database_url: Any, framework: str) -> None:
    """With the shipped BODY_TIMEOUT: each /health must answer within the readiness probe's
    timeout (deploy/kubernetes/deployment.yaml, 6 s) while 64 uploads hold their connections,
    all of them on one worker (as on a one-CPU host, or while a worker is being replaced)."""
    with server(cookies, tmp_path, database_url, framework, workers=1) as base_url:
        latencies = health_beside_slow_uploads(base_url)
    latencies.sort()
    print(
        f"{framework}: /health beside {SLOW_UPLOADS} slow uploads: median "
        f"{latencies[len(latencies) // 2] * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms over {len(latencies)}"
    )


def health_beside_slow_uploads(base_url: str) -> list[float]:
    port = base_url.rsplit(":", 1)[1]
    uploads = [connect(base_url) for _ in range(SLOW_UPLOADS)]
    stop = threading.Event()

    def trickle() -> None:
        for sock in uploads:
            send_quietly(sock, head("/api/v1/items", port, "Content-Length: 1000") + b"{")
        while not stop.wait(5):
            for sock in uploads:
                send_quietly(sock, b" ")

    sender = threading.Thread(target=trickle)
    sender.start()
    latencies: list[float] = []
    try:
        time.sleep(2)  # every upload has reached the server and waits for the rest of its body
        with httpx.Client(timeout=PROBE_TIMEOUT) as client:
            for _ in range(20):
                start = time.monotonic()
                answer = client.get(f"{base_url}/health", headers={"Connection": "close"})
                latencies.append(time.monotonic() - start)
                assert answer.status_code == 200, answer.text
                time.sleep(0.25)
    finally:
        stop.set()
        sender.join()
        for sock in uploads:
            sock.close()
    return latencies
