"""The Celery application, configured from the typed settings."""

import tempfile
from pathlib import Path

from celery import Celery

from {{ cookiecutter.project_slug }}.core.config import Settings, get_settings_or_exit

SEND_WELCOME_EMAIL = "{{ cookiecutter.project_slug }}.send_welcome_email"
DRAIN_OUTBOX = "{{ cookiecutter.project_slug }}.drain_outbox"
# Seconds a request's publish may spend on the broker in all (connecting, retrying) before
# it gives up and leaves the job to the drain.
PUBLISH_TIMEOUT = 2.0


def create_celery_app(settings: Settings) -> Celery:
    """A Celery app for `settings`; the worker's is `celery_app`, the web service makes its
    own from its settings to publish with (see api/outbox.py)."""
    app = Celery("{{ cookiecutter.project_slug }}", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        # Nothing reads the tasks' return values: the outbox row is the record of a job.
        task_ignore_result=True,
        result_backend=None,
        # A message is acknowledged when its task has finished, not when it starts: a worker
        # killed mid-task leaves it on the broker for another worker. Tasks must therefore
        # be safe to run twice (they are: see worker/outbox.py).
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # One message at a time per process: a slow email does not hold back others.
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        # Publishing from a request must never hang it: short connection waits and a short
        # retry budget. The worker itself keeps reconnecting as long as it runs.
        broker_connection_timeout=PUBLISH_TIMEOUT,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "socket_connect_timeout": PUBLISH_TIMEOUT,
            "socket_timeout": 2 * PUBLISH_TIMEOUT,
            "max_retries": 1,
        },
        task_publish_retry_policy={
            "max_retries": 1,
            "interval_start": 0,
            "interval_step": 0.5,
            "interval_max": 0.5,
        },
        beat_schedule={
            "drain-outbox": {"task": DRAIN_OUTBOX, "schedule": settings.outbox_drain_seconds}
        },
        # Beat's state file: the interval schedule needs nothing kept, and the working
        # directory of a container may not be writable.
        beat_schedule_filename=str(Path(tempfile.gettempdir(), f"{app.main}-celerybeat-schedule")),
    )
    return app


# What `celery --app {{ cookiecutter.project_slug }}.worker:celery_app` runs; the tasks are bound to it.
celery_app = create_celery_app(get_settings_or_exit())
