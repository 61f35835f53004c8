"""Celery bound to the app, the way Flask's guide "Background Tasks with Celery" does it:
configured from the app's config, every task run inside the app's context, so that tasks
use ``db.session`` and the settings as views do. The worker's app is in ``worker.py``."""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask

from . import tasks
from .config import Settings

# Requests publish jobs: a broker that is down or does not answer must cost them a
# fraction of a second, never a hung request (the outbox row keeps the job meanwhile).
BROKER_CONNECT_TIMEOUT = 0.5
# A broker that took the connection and then stalls: each command waits at most this.
BROKER_SOCKET_TIMEOUT = 2.0


def celery_config(settings: Settings) -> dict[str, Any]:
    """Celery's settings, from this project's."""
    config: dict[str, Any] = {
        "broker_url": settings.broker_url,
        "broker_connection_timeout": BROKER_CONNECT_TIMEOUT,
        # The worker waits for a broker that is not up yet instead of exiting.
        "broker_connection_retry_on_startup": True,
        # A failed publish is not retried in the request: the drain publishes it later.
        "task_publish_retry": False,
        # The jobs report through their outbox rows: no result backend to run.
        "task_ignore_result": True,
        # A job is acknowledged once it has run, and given back to the queue when the
        # worker process dies under it: a lost worker loses no job (they are idempotent).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        # With late acknowledgement a process reserves one job at a time, not a batch.
        "worker_prefetch_multiplier": 1,
        # The beat of `worker --beat` keeps its schedule in memory: nothing to write on disk.
        "beat_scheduler": "celery.beat:Scheduler",
        "beat_schedule": {
            "drain-outbox": {
                "task": tasks.drain_outbox.name,
                "schedule": settings.outbox_drain_seconds,
            }
        },
    }
    # One connection attempt per publish, not kombu's default of several seconds of them.
    transport_options: dict[str, Any] = {"max_retries": 0}
    if settings.broker_url.startswith("redis"):
        transport_options["socket_connect_timeout"] = BROKER_CONNECT_TIMEOUT
        transport_options["socket_timeout"] = BROKER_SOCKET_TIMEOUT
    config["broker_transport_options"] = transport_options
    return config


def celery_init_app(app: Flask, settings: Settings) -> Celery[Any]:
    class FlaskTask(Task[Any, Any]):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery_app = Celery(app.name, task_cls=FlaskTask)
    # Flask config keys in CELERY (tests set some) win over those made from the settings.
    app.config["CELERY"] = {**celery_config(settings), **app.config.get("CELERY", {})}
    celery_app.config_from_object(app.config["CELERY"])
    celery_app.set_default()
    # Load the broker's client library now rather than in the first request that publishes.
    celery_app.connection_for_write().transport  # noqa: B018
    app.extensions["celery"] = celery_app
    return celery_app
