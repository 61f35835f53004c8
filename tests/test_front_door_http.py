"""What a new user meets first, over real HTTP under granian, for each framework:

- CORS: a browser's preflight on an authenticated or rate-limited route answers 200 with
  the CORS headers (no token: browsers send none; no login attempt counted), a foreign
  origin gets none, and CORS answers carry `Vary: Origin`;
- a 204 carries no `Content-Type`; the one `Server` header is granian's, as the README says;
- the README's production start, as written, from a fresh bake and its own `uv sync
  --locked --no-dev`: it answers /health with the SECRET_KEY of `.env`, and without one it
  stops with one line naming SECRET_KEY, not a traceback per worker."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.baking import FRAMEWORKS, Baked, bake, run
from tests.serving import free_port, serving
from tests.test_uv import uv_env

ORIGIN = "https://app.example.com"
FOREIGN_ORIGINS = ("https://evil.example", "null", "https://app.example.com.evil.example")
# The routes behind authentication, and those behind the login rate limit.
GUARDED = ("/api/v1/items", "/api/v1/items/1", "/api/v1/users/me", "/api/v1/auth/register", "/api/v1/auth/token")
EMAIL = "front.door@example.com"
PASSWORD = "a long enough secret"
SECRET_KEY_LINE = "SECRET_KEY is not set"


def preflight(origin: str, method: str = "POST") -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "authorization, content-type",
    }


def varies_on_origin(response: httpx.Response) -> bool:
    fields = ",".join(response.headers.get_list("vary")).split(",")
    return "origin" in {field.strip().lower() for field in fields}


def check_cors(response: httpx.Response, label: str) -> None:
    assert response.headers.get("access-control-allow-origin") == ORIGIN, (label, response.headers)
    assert varies_on_origin(response), (label, response.headers)


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_cors_204_and_server_header_over_http(cookies: Any, tmp_path: Path, framework: str) -> None:
    baked = bake(cookies, framework, database="sqlite", use_auth=True)
    # Fewer attempts than the preflights below: a preflight is no login attempt.
    settings = {"ENVIRONMENT": "production", "CORS_ORIGINS": ORIGIN, "LOGIN_RATE_LIMIT": "5/minute"}
    with serving(baked, tmp_path / "server.log", settings) as base_url:
        answers: list[tuple[str, httpx.Response]] = []

        def call(label: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = httpx.request(method, f"{base_url}{path}", timeout=30, **kwargs)
            answers.append((label, response))
            return response

        registered = call("register", "POST", "/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD})
        assert registered.status_code == 201, registered.text
        token = call("token", "POST", "/api/v1/auth/token", data={"username": EMAIL, "password": PASSWORD})
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['access_token']}", "Origin": ORIGIN}

        # Preflights on every guarded route, many at once, as a page loading does.
        jobs = [(path, method) for path in GUARDED for method in ("GET", "POST", "PATCH", "DELETE")] * 4
        with ThreadPoolExecutor(8) as pool:
            preflights = list(
                pool.map(lambda job: call(str(job), "OPTIONS", job[0], headers=preflight(ORIGIN, job[1])), jobs)
            )
        for (path, method), response in zip(jobs, preflights, strict=True):
            assert response.status_code == 200, (path, method, response.status_code, response.text)
            check_cors(response, f"preflight {method} {path}")
            assert method in response.headers["access-control-allow-methods"], response.headers
            allowed = {name.strip().lower() for name in response.headers["access-control-allow-headers"].split(",")}
            assert {"authorization", "content-type"} <= allowed, response.headers
        print(f"{framework}: {len(preflights)} concurrent preflights answered 200 with the CORS headers")

        for origin in FOREIGN_ORIGINS:
            refused = call(f"foreign preflight {origin}", "OPTIONS", "/api/v1/items", headers=preflight(origin))
            assert "access-control-allow-origin" not in refused.headers, (origin, refused.headers)
            simple = call(f"foreign get {origin}", "GET", "/api/v1/users/me", headers={**bearer, "Origin": origin})
            assert simple.status_code == 200
            assert simple.headers.get("access-control-allow-origin") in (None, "*"), simple.headers

        # The calls the preflights were for, and a refusal the page can read.
        again = call(
            "register again", "POST", "/api/v1/auth/register", json={"email": f"2{EMAIL}", "password": PASSWORD}
        )
        assert again.status_code == 201, again.text
        created = call("create", "POST", "/api/v1/items", headers=bearer, json={"name": "from the browser"})
        assert created.status_code == 201, created.text
        check_cors(created, "create")
        me = call("me", "GET", "/api/v1/users/me", headers=bearer)
        assert me.status_code == 200 and me.json()["email"] == EMAIL
        check_cors(me, "me")
        refused = call("me without a token", "GET", "/api/v1/users/me", headers={"Origin": ORIGIN})
        assert refused.status_code == 401
        check_cors(refused, "me without a token")

        deleted = call("delete", "DELETE", f"/api/v1/items/{created.json()['id']}", headers=bearer)
        assert deleted.status_code == 204 and deleted.content == b""
        assert "content-type" not in deleted.headers, deleted.headers
        check_cors(deleted, "delete")

    # One Server header on every answer, granian's, with no version; the README says so.
    servers = {label: response.headers.get_list("server") for label, response in answers}
    assert all(value == ["granian"] for value in servers.values()), servers
    assert "`server: granian`" in (baked.path / "README.md").read_text()


# --- the README's production start -------------------------------------------


def deployment_block(baked: Baked, port: int) -> str:
    """The README's Deployment commands, as written, on loopback and ``port``."""
    readme = (baked.path / "README.md").read_text()
    section = readme.split("\n## Deployment\n", 1)[1]
    block = str(re.findall(r"```(?:bash|sh)\n(.*?)```", section, re.DOTALL)[0])
    bind = "--host 0.0.0.0 --port 8000"
    assert bind in block, block
    return block.replace(bind, f"--host 127.0.0.1 --port {port}")


def start(block: str, baked: Baked, log: Path) -> subprocess.Popen[bytes]:
    env = {**uv_env(), "ENVIRONMENT": "production"}
    with log.open("w") as out:
        return subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", block],
            cwd=baked.path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def secret_key_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "SECRET_KEY" in line]


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_production_starts_as_the_readme_says(cookies: Any, tmp_path: Path, framework: str) -> None:
    baked = bake(cookies, framework)
    assert not (baked.path / ".venv").exists()
    # The README: "On the first run, `uv lock` ... writes `uv.lock`: commit it".
    run(["uv", "lock"], baked.path, uv_env(), timeout=600)
    port = free_port()
    block = deployment_block(baked, port)
    print(f"{framework}'s Deployment block, run with ENVIRONMENT=production:\n{block}")

    log = tmp_path / "production.log"
    process = start(block, baked, log)
    try:
        deadline = time.monotonic() + 600
        while True:
            assert process.poll() is None, f"the Deployment block exited {process.returncode}:\n{log.read_text()}"
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                if health.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"no /health within 600 s:\n{log.read_text()}"
            time.sleep(0.3)
        assert health.json()["status"] == "ok"
    finally:
        stop(process)
    installed = run(["uv", "pip", "list"], baked.path, uv_env())
    assert not re.search(r"^pytest ", installed, re.MULTILINE), "the Deployment block installs no development tools"

    # The same block with no SECRET_KEY: one line that names it, and no traceback.
    env_file = baked.path / ".env"
    kept = [line for line in env_file.read_text().splitlines(keepends=True) if not line.startswith("SECRET_KEY=")]
    env_file.write_text("".join(kept))
    for label, commands in (("the Deployment block", block), ("its server line alone", block.strip().splitlines()[-1])):
        process = start(commands, baked, log)
        try:
            process.wait(timeout=300)
        except subprocess.TimeoutExpired:
            stop(process)
            raise AssertionError(f"{label} with no SECRET_KEY did not stop within 300 s:\n{log.read_text()}") from None
        output = log.read_text()
        lines = secret_key_lines(output)
        print(f"{framework}, {label} with no SECRET_KEY: exit {process.returncode}, {len(lines)} line(s): {lines}")
        if label == "the Deployment block":
            assert process.returncode != 0, output  # its migration step refuses first
        assert "Traceback" not in output, output
        assert lines and SECRET_KEY_LINE in lines[0], output
        if label == "the Deployment block":
            assert len(lines) == 1, output
        else:
            # Granian imports the app in each worker: at most one identical line from each.
            assert len(set(lines)) == 1 and len(lines) <= len(os.sched_getaffinity(0)), output
