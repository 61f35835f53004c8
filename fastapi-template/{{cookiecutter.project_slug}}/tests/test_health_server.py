"""/health while the database server cannot be reached, and again once it can."""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from httpx import ASGITransport, AsyncClient, Response

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.main import create_app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@asynccontextmanager
async def tcp_proxy(port: int, target_host: str, target_port: int) -> AsyncIterator[None]:
    """Stand in for the database on `port` while the block runs."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(target_host, target_port)
        await asyncio.gather(_pipe(reader, upstream_writer), _pipe(upstream_reader, writer))

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()


async def health_once_renewed(client: AsyncClient) -> Response:
    """/health once it answers 200, or its last answer after 10 seconds."""
    for _ in range(100):
        response = await client.get("/health")
        if response.status_code == 200:
            break
        await asyncio.sleep(0.1)
    return response


async def test_health_unavailable_then_back(settings: Settings) -> None:
    real = settings.async_database_url
    port = free_port()
    # Nothing listens on `port` yet: the database is "down".
    url = real.set(host="127.0.0.1", port=port).render_as_string(False)
    app = create_app(settings.model_copy(update={"database_url": url}))
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}

        async with tcp_proxy(port, real.host or "127.0.0.1", real.port or {{ 5432 if cookiecutter.database == 'postgresql' else 3306 }}):
            # The last probe's answer stands for up to a second: ask until it is renewed.
            response = await health_once_renewed(client)
            assert response.status_code == 200
            assert response.json() == {"status": "ok", "database": "ok"}
        await app.state.engine.dispose()
