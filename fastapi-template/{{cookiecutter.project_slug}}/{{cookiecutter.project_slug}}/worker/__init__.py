"""Background jobs on Celery: `celery --app {{ cookiecutter.project_slug }}.worker:celery_app worker`.

The web service writes jobs to the outbox and publishes them; this package is what the
worker process runs.
"""

from typing import Any

from celery.signals import setup_logging

from {{ cookiecutter.project_slug }}.core.config import get_settings
from {{ cookiecutter.project_slug }}.core.logging import configure_logging
from {{ cookiecutter.project_slug }}.worker.app import celery_app
from {{ cookiecutter.project_slug }}.worker.tasks import drain_outbox, send_welcome_email

__all__ = ["celery_app", "drain_outbox", "send_welcome_email"]


@setup_logging.connect
def _configure_logging(**_: Any) -> None:
    # Connected, so Celery leaves the root logger alone: the web service's format here too.
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_format)
