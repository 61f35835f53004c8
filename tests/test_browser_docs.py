"""/docs in a real browser: each service with auth, under its production
server as its README starts it, serves a Swagger UI that renders every
operation without any request leaving loopback, logs in through its Authorize
dialog (OAuth2 password flow) and runs "Try it out" on /api/v1/users/me to a 200.
A page on another origin (listed in CORS_ORIGINS) logs in and calls the API with
the bearer token, through the browser's own CORS preflights; a page on an origin
not listed cannot read the API's answers.

Needs Debian's chromium (/usr/bin/chromium, or another Chromium-based browser
named by $CHROMIUM) and Playwright for Python (no browser download). Screenshots
go to $TEMPLATE_TEST_ARTIFACTS/browser-docs, or to the test's temporary directory;
the test prints where."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.baking import bake, require_tool
from tests.serving import serving

CHROMIUM = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
LOOPBACK = {"127.0.0.1", "localhost"}
EMAIL = "docs.reader@example.com"
PASSWORD = "a long enough secret"


def artifacts_dir(tmp_path: Path, framework: str) -> Path:
    base = os.environ.get("TEMPLATE_TEST_ARTIFACTS")
    where = (Path(base) / "browser-docs" / framework) if base else (tmp_path / "browser-docs")
    where.mkdir(parents=True, exist_ok=True)
    print(f"screenshots of {framework}'s /docs: {where}")
    return where


# What a single-page app on another origin does: log in, then call the API with the token.
# Each call but the login needs a CORS preflight (a JSON body, an Authorization header).
CROSS_ORIGIN_CALLS = """async ([api, email, password]) => {
    const answer = async (response) => ({status: response.status, body: await response.json()});
    try {
        const login = await answer(await fetch(api + "/api/v1/auth/token", {
            method: "POST", body: new URLSearchParams({username: email, password: password}),
        }));
        const bearer = {Authorization: "Bearer " + login.body.access_token};
        const created = await answer(await fetch(api + "/api/v1/items", {
            method: "POST", headers: {...bearer, "Content-Type": "application/json"},
            body: JSON.stringify({name: "from another origin"}),
        }));
        const me = await answer(await fetch(api + "/api/v1/users/me", {headers: bearer}));
        const deleted = await fetch(api + "/api/v1/items/" + created.body.id, {method: "DELETE", headers: bearer});
        return {login: login.status, created: created.status, me: me, deleted: deleted.status};
    } catch (error) {
        return {error: String(error)};
    }
}"""


@contextmanager
def page_server() -> Iterator[int]:
    """A plain page on a port of its own: another origin than the API's."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<!doctype html><title>another origin</title><p>a single-page app</p>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def shown_path(text: str) -> str:
    """Swagger UI breaks long paths with zero-width spaces."""
    return text.replace("\u200b", "").strip()


@pytest.mark.slow
@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_docs_work_in_a_real_browser(cookies: Any, tmp_path: Path, framework: str) -> None:
    require_tool(CHROMIUM, f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does), or set CHROMIUM")
    from playwright.sync_api import Route, sync_playwright

    baked = bake(cookies, framework, database="sqlite", use_auth=True)
    shots = artifacts_dir(tmp_path, framework)
    # The README's deployment commands (migrations, then granian) with ENVIRONMENT=production,
    # the docs on, the SECRET_KEY of .env, and the other page's origin allowed.
    settings = {"ENVIRONMENT": "production", "DOCS_ENABLED": "true"}
    with (
        page_server() as app_port,
        serving(
            baked, tmp_path / "server.log", {**settings, "CORS_ORIGINS": f"http://127.0.0.1:{app_port}"}, workers=1
        ) as base_url,
    ):
        app_origin, foreign_origin = f"http://127.0.0.1:{app_port}", f"http://localhost:{app_port}"
        registered = httpx.post(
            f"{base_url}/api/v1/auth/register", json={"email": EMAIL, "password": PASSWORD}, timeout=10
        )
        assert registered.status_code == 201, registered.text
        openapi = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
        documented = {path for path, item in openapi["paths"].items() for method in item if method != "parameters"}

        outside: list[str] = []

        def loopback_only(route: Route) -> None:
            url = route.request.url
            if url.startswith(("data:", "blob:")) or urlsplit(url).hostname in LOOPBACK:
                route.continue_()
            else:
                outside.append(url)
                route.abort()

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-background-networking"]
            )
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.route("**/*", loopback_only)
                page = context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.goto(f"{base_url}/docs", wait_until="networkidle")
                page.wait_for_selector(".opblock", timeout=30_000)
                page.screenshot(path=str(shots / "1-operations.png"), full_page=True)
                rendered = {shown_path(text) for text in page.locator(".opblock-summary-path").all_inner_texts()}
                assert rendered == documented, (
                    f"Swagger UI shows {sorted(rendered)}, /openapi.json has {sorted(documented)}"
                )

                # Log in through the Authorize dialog: the OAuth2 password flow.
                page.locator(".auth-wrapper button.authorize").click()
                dialog = page.locator(".dialog-ux")
                dialog.locator("#oauth_username").fill(EMAIL)
                dialog.locator("#oauth_password").fill(PASSWORD)
                dialog.locator("button.authorize").click()
                # Swagger UI offers "Logout" once the token request has succeeded.
                dialog.locator("button", has_text="Logout").wait_for(timeout=15_000)
                assert dialog.locator(".errors").count() == 0, dialog.locator(".errors").all_inner_texts()
                page.screenshot(path=str(shots / "2-authorized.png"))
                dialog.locator("button.btn-done").click()

                # Try it out -> Execute on GET /api/v1/users/me.
                gets = page.locator(".opblock-get")
                paths = [shown_path(text) for text in gets.locator(".opblock-summary-path").all_inner_texts()]
                assert paths.count("/api/v1/users/me") == 1, paths
                me = gets.nth(paths.index("/api/v1/users/me"))
                me.locator(".opblock-summary").click()
                me.locator("button.try-out__btn").click()
                me.locator("button.execute").click()
                status = me.locator(".live-responses-table tbody .response-col_status").first
                status.wait_for(timeout=15_000)
                me.scroll_into_view_if_needed()
                page.screenshot(path=str(shots / "3-users-me.png"), full_page=True)
                assert status.inner_text().strip() == "200", status.inner_text()
                assert EMAIL in me.locator(".live-responses-table tbody .response-col_description").first.inner_text()

                # Another origin, with no request routing: Playwright would answer routed
                # preflights itself, and the server's own answers are what is tested here.
                other = browser.new_context()
                other_page = other.new_page()
                other_page.goto(f"{app_origin}/")
                calls = other_page.evaluate(CROSS_ORIGIN_CALLS, [base_url, EMAIL, PASSWORD])
                print(f"{framework}: calls from {app_origin}: {calls}")
                me_answer = calls.pop("me", {})
                assert calls == {"login": 200, "created": 201, "deleted": 204}, calls
                assert me_answer.get("status") == 200 and me_answer["body"]["email"] == EMAIL, me_answer
                other_page.goto(f"{foreign_origin}/")
                refused = other_page.evaluate(CROSS_ORIGIN_CALLS, [base_url, EMAIL, PASSWORD])
                print(f"{framework}: calls from {foreign_origin}: {refused}")
                assert refused == {"error": "TypeError: Failed to fetch"}, refused
                other.close()
            except Exception:
                page.screenshot(path=str(shots / "failed.png"), full_page=True)
                raise
            finally:
                browser.close()
    assert outside == [], f"/docs sent requests beyond loopback: {outside}"
    assert errors == [], f"JavaScript errors on /docs: {errors}"
