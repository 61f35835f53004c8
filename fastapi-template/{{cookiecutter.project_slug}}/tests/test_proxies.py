"""FORWARDED_ALLOW_IPS: the client's address and scheme from trusted reverse proxies only."""

import pytest
from fastapi import Request
from helpers import make_settings
from httpx import ASGITransport, AsyncClient

from {{ cookiecutter.project_slug }}.main import create_app

FORWARDED = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}


@pytest.mark.parametrize(
    ("allowed", "peer", "seen"),
    [
        ("", "127.0.0.1", ["127.0.0.1", "http"]),  # no proxy trusted: the headers are ignored
        ("127.0.0.1", "127.0.0.1", ["203.0.113.7", "https"]),
        ("10.0.0.0/8", "10.1.2.3", ["203.0.113.7", "https"]),
        ("127.0.0.1", "198.51.100.9", ["198.51.100.9", "http"]),  # not a trusted proxy
    ],
)
async def test_forwarded_headers_only_from_trusted_proxies(
    allowed: str, peer: str, seen: list[str]
) -> None:
    app = create_app(make_settings(forwarded_allow_ips=allowed))

    @app.get("/peer")
    async def peer_of(request: Request) -> list[str]:
        return [request.client.host if request.client else "", request.url.scheme]

    transport = ASGITransport(app=app, client=(peer, 50000))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/peer", headers=FORWARDED)
    assert response.json() == seen
