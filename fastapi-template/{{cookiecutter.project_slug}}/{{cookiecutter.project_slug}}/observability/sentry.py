"""Errors to Sentry, when SENTRY_DSN is set.

Unhandled errors reach Sentry through its logging integration: the service's outer
middleware answers them with a JSON 500 and logs them with their traceback, and that
ERROR record becomes the event. No personal data is sent: `send_default_pii` is left
unset, which is off (newer SDKs deprecate setting it, in favour of `data_collection`).
"""

from typing import Any

import sentry_sdk
from sentry_sdk.integrations.fastapi import FastApiIntegration
from sentry_sdk.integrations.starlette import StarletteIntegration

from {{ cookiecutter.project_slug }}.core.config import Settings
from {{ cookiecutter.project_slug }}.observability.request_id import NO_REQUEST, current_request_id


def _tag_request_id(event: Any, _hint: Any) -> Any:
    # Runs where the error was logged, so the request's context variable is still set.
    request_id = current_request_id()
    if request_id != NO_REQUEST:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def init_sentry(settings: Settings, release: str) -> None:
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment,
        release=release,
        # Traces go to OpenTelemetry; Sentry gets the errors.
        traces_sample_rate=None,
        before_send=_tag_request_id,
        integrations=[StarletteIntegration(), FastApiIntegration()],
    )
