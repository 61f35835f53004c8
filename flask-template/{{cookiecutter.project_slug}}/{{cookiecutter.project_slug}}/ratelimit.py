"""LOGIN_RATE_LIMIT on the login and register routes, counted per client address
(and per email at login), in memory or, with REDIS_URL, in Redis for every process."""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter, RateLimiter

from .config import ConfigError, Settings
from .errors import APIError


def init_app(app: Flask, settings: Settings) -> None:
    try:
        storage = storage_from_string(settings.redis_url or "memory://")
    except ConfigurationError as error:  # the redis client is an optional extra
        raise ConfigError(f"REDIS_URL: {error}; install it with: pip install '.[redis]'") from None
    limiter = MovingWindowRateLimiter(storage)
    app.extensions["login_rate_limit"] = (limiter, parse_many(settings.login_rate_limit))


def hit(scope: str, key: str) -> None:
    """Count one attempt of ``key`` at ``scope``: 429 once a limit is reached."""
    limiter: RateLimiter
    limits: list[RateLimitItem]
    limiter, limits = current_app.extensions["login_rate_limit"]
    for limit in limits:
        if not limiter.hit(limit, scope, key):
            reset_at = limiter.get_window_stats(limit, scope, key).reset_time
            retry_after = max(1, math.ceil(reset_at - time.time()))
            raise APIError(429, "Too Many Requests", {"Retry-After": str(retry_after)})


def per_client() -> None:
    """Run before each login and register view."""
    hit(request.endpoint or "auth", request.remote_addr or "unknown")
