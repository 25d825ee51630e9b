"""Console logins held to limits (the route is `login` in bot/web/console.py).

- An attempt is counted *before* its password is checked and given back when
  the password was right: parallel requests cannot all get past the limit,
  and only failures count.
- Failures count per client address and agent, and per agent from browsers
  the agent has not logged in with before. A browser the agent has logged in
  with (its signed device cookie, bot/web/security.py) counts on its own and
  not against the agent: a stranger's failures lock the stranger out, never
  the agent at their own browser (OWASP's device cookies).
- argon2 (about 64 MiB per check) runs on a few threads of its own, with a
  short queue; a login that finds both full is asked to try again in a
  moment, so a burst of logins cannot use up the web app's memory.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from bot.domain.services import agents
from bot.domain.services.agents import AgentInfo, PasswordCheck, StoredLogin
from bot.infra.limits import Event, Limiter, limiter
from bot.infra.settings import Settings

T = TypeVar("T")
Database = Callable[[Callable[[Session], T]], Awaitable[T]]
WINDOW_SECONDS = 300.0


class Busy(Exception):
    """Every password check and every waiting place is taken."""


class PasswordChecks:
    """argon2 checks on `workers` threads of their own; at most `waiting` more queue."""

    def __init__(self, workers: int, waiting: int) -> None:
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="password-check")
        self.capacity = workers + waiting
        self._lock = threading.Lock()
        self._admitted = 0  # running and queued; a check leaves when it has finished

    async def run(self, login: StoredLogin, password: str) -> PasswordCheck:
        """Check `password`; `Busy` at once if the threads and the queue are full."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise Busy
            self._admitted += 1
        return await asyncio.wrap_future(self.pool.submit(self._check, login, password))

    def _check(self, login: StoredLogin, password: str) -> PasswordCheck:
        try:
            return agents.check_password(login, password)
        finally:
            with self._lock:
                self._admitted -= 1

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


@dataclass
class Attempt:
    """One login attempt, counted against each of its limits until given back."""

    counted: list[tuple[Limiter, str, Event]] = field(default_factory=list)

    async def give_back(self) -> None:
        """The attempt does not count (its password was right, or it was never checked)."""
        for limit, key, event in self.counted:
            await limit.give_back(key, event)
        self.counted.clear()


class Logins:
    """The web app's login limits and password checks (one per process; the
    limits are shared through Redis when there is one)."""

    def __init__(self, settings: Settings) -> None:
        redis_url = settings.redis_url
        self.per_client = limiter(
            redis_url, "login", settings.login_attempts_per_client, WINDOW_SECONDS
        )
        self.per_agent = limiter(
            redis_url, "login-agent", settings.login_attempts_per_agent, WINDOW_SECONDS
        )
        self.checks = PasswordChecks(settings.login_checks, settings.login_checks_waiting)

    async def attempt(self, address: str, username: str, device: str | None) -> Attempt | None:
        """Count an attempt for `username` from `address`, or from the agent's own
        browser `device`; None (nothing counted) when a limit is used up."""
        user = username.strip().lower()
        if device is not None:
            limits = [(self.per_client, f"device:{device}:{user}")]
        else:
            limits = [(self.per_client, f"client:{address}:{user}"), (self.per_agent, user)]
        attempt = Attempt()
        for limit, key in limits:
            event = await limit.take(key)
            if event is None:
                await attempt.give_back()
                return None
            attempt.counted.append((limit, key, event))
        return attempt

    async def check(self, db: Database[Any], username: str, password: str) -> AgentInfo | None:
        """The agent if the password is right (`Busy` when too many logins run at once)."""
        login = await db(lambda s: agents.stored_login(s, username))
        check = await self.checks.run(login, password)
        if check.new_hash is not None:
            await db(lambda s: agents.store_new_hash(s, check))
        return check.agent

    async def close(self) -> None:
        self.checks.close()
        await self.per_client.close()
        await self.per_agent.close()
