"""FORWARDED_ALLOW_IPS: the client's address and scheme from trusted reverse proxies only."""

from __future__ import annotations

import pytest
from flask import request

from {{ cookiecutter.project_slug }} import create_app

from .helpers import make_config

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    ("allowed", "peer", "seen"),
    [
        ("", "127.0.0.1", ("127.0.0.1", "http")),  # no proxy trusted: the headers are ignored
        ("127.0.0.1", "127.0.0.1", ("203.0.113.7", "https")),
        ("10.0.0.0/8", "10.1.2.3", ("203.0.113.7", "https")),
        ("127.0.0.1", "198.51.100.9", ("198.51.100.9", "http")),  # not a trusted proxy
    ],
)
def test_forwarded_headers_only_from_trusted_proxies(
    allowed: str, peer: str, seen: tuple[str, str]
) -> None:
    app = create_app(make_config(FORWARDED_ALLOW_IPS=allowed))
    app.add_url_rule("/peer", "peer", lambda: [request.remote_addr, request.scheme])
    response = app.test_client().get("/peer", headers=FORWARDED, environ_base={"REMOTE_ADDR": peer})
    assert tuple(response.get_json()) == seen
