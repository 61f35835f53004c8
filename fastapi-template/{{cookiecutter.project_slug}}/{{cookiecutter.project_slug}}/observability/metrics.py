"""Prometheus metrics, and the listener that serves them on METRICS_PORT.

With several worker processes each keeps its own counts. Set PROMETHEUS_MULTIPROC_DIR
(prometheus_client's own variable) to an empty directory before the server starts: every
process then writes its values there, and a scrape adds them up. Each worker opens the
metrics listener on the same port with SO_REUSEPORT, so whichever worker the kernel hands
the scrape to, it reads the same directory and answers the same totals.
"""

import logging
import os
import re
import threading
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, make_wsgi_app
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

logger = logging.getLogger(__name__)

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Every request that no route answered (an unknown path, or one refused before routing)
# counts under this one label, so a scan of random paths cannot add series.
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"

REQUESTS = Counter(
    "http_requests_total",
    "HTTP requests answered, by method, route template and status.",
    ["method", "route", "status"],
)
DURATION = Histogram(
    "http_request_duration_seconds",
    "Time from the request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
)
# Live-gauge files are named after their process: gauge_livesum_<pid>.db.
_LIVE_GAUGE_FILE = re.compile(r"gauge_live\w+?_(\d+)\.db")


def multiproc_dir() -> str | None:
    return os.environ.get(MULTIPROC_VARIABLE) or None


def scrape_registry() -> CollectorRegistry:
    """What a scrape reads: every process's files in multiprocess mode, else this process."""
    directory = multiproc_dir()
    if directory is None:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return registry


def forget_dead_processes(directory: str) -> None:
    """Drop the gauges of worker processes that are gone (a crashed worker the server
    replaced): their connections are gone with them. Counters stay: they are history."""
    pids = {
        int(match.group(1))
        for name in os.listdir(directory)
        if (match := _LIVE_GAUGE_FILE.fullmatch(name))
    }
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, another user's


def metrics_app() -> Any:
    registry = scrape_registry()
    serve = make_wsgi_app(registry)
    directory = multiproc_dir()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if directory is not None:
            forget_dead_processes(directory)
        return serve(environ, start_response)

    return app


class _Server(ThreadingMixIn, WSGIServer):
    # Every worker binds the same port; the kernel spreads the scrapes among them.
    allow_reuse_port = True
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass  # a scrape every few seconds is not news


class MetricsListener:
    """The metrics endpoint of one worker process, on its own thread."""

    def __init__(self, host: str, port: int) -> None:
        self.server = make_server(
            host, port, metrics_app(), server_class=_Server, handler_class=_QuietHandler
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="metrics-listener", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> "MetricsListener":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_listener(port: int, host: str = "0.0.0.0") -> MetricsListener | None:  # noqa: S104
    """Serve the metrics on `port` (all interfaces: the scraper is another machine or
    container; the port is not the API's and is not published by default)."""
    try:
        return MetricsListener(host, port).start()
    except OSError as error:
        # The service matters more than its metrics: say so loudly, keep serving.
        logger.error("metrics listener not started on port %s: %s", port, error)
        return None


def end_of_process() -> None:
    """At shutdown: this process's gauges stop counting in the totals."""
    directory = multiproc_dir()
    if directory is not None and Path(directory).is_dir():
        mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]
