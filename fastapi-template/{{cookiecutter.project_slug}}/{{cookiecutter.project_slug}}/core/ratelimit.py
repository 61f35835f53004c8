"""Attempts at login and registration, counted per client address (and per email at login).

The counters live in this process's memory, or in Redis when REDIS_URL is set, so that
every worker and every machine of the service shares them.
"""

import math
import time

from fastapi import HTTPException, Request, status
from limits import RateLimitItem, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from {{ cookiecutter.project_slug }}.core.config import Settings


class AttemptLimiter:
    def __init__(self, rate: str, redis_url: str = "") -> None:
        self.rates: list[RateLimitItem] = parse_many(rate)
        storage: Storage = MemoryStorage()
        if redis_url:
            # limits names its asyncio Redis backend "async+redis://"; redis-py drives it.
            storage = RedisStorage(f"async+{redis_url}", implementation="redispy")
        self.storage = storage
        self.limiter = MovingWindowRateLimiter(storage)

    async def hit(self, *key: str) -> None:
        """Count one attempt; 429 with Retry-After once the rate is used up."""
        for rate in self.rates:
            if not await self.limiter.hit(rate, *key):
                break
        else:
            return
        window = await self.limiter.get_window_stats(rate, *key)
        retry_after = max(1, math.ceil(window.reset_time - time.time()))
        raise HTTPException(
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            detail="Too Many Requests",
            headers={"Retry-After": str(retry_after)},
        )


def attempt_limiter(request: Request) -> AttemptLimiter:
    """The app's limiter, made at its first use from the app's settings."""
    state = request.app.state
    limiter: AttemptLimiter | None = getattr(state, "attempt_limiter", None)
    if limiter is None:
        settings: Settings = state.settings
        limiter = AttemptLimiter(settings.login_rate_limit, settings.redis_url)
        state.attempt_limiter = limiter
    return limiter


def client_address(request: Request) -> str:
    # The server has already applied the proxy headers it was told to trust.
    return request.client.host if request.client else "unknown"


async def limit_attempts(request: Request) -> None:
    """A dependency: one attempt at this route from this client address."""
    await attempt_limiter(request).hit(request.url.path, client_address(request))
