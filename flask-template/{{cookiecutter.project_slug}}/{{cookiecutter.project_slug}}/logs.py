"""Logging, configured once per process, and one line per request."""

from __future__ import annotations

import logging
import time

from flask import Flask, Response, g, request

request_logger = logging.getLogger("{{ cookiecutter.project_slug }}.request")


def configure(level: str) -> None:
    # basicConfig leaves an already configured root logger alone (gunicorn, pytest, a host app).
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("{{ cookiecutter.project_slug }}").setLevel(level)


def init_app(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("request_started", time.perf_counter())
        # The path only: query strings and headers may carry secrets.
        request_logger.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response
