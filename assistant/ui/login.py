"""The app's login, throttled: each wrong password for a user name doubles the wait before the next
attempt is even checked, and after `LOCKOUT_AFTER` failures the name is locked for `LOCKOUT_S`.

Gradio hands the check only the user name and password, so the client's address is throttled the same
way one step earlier, by `AddressGuard` (ASGI middleware around the login route): an address that keeps
failing, whatever names it tries, gets 429 before any name is checked. A cap on failures across all
names and addresses slows a spray from many addresses.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

FIRST_DELAY_S = 0.5
MAX_DELAY_S = 30.0
LOCKOUT_AFTER = 8
LOCKOUT_S = 900.0
GLOBAL_FAILURES_PER_MINUTE = 30


@dataclass
class _Record:
    failures: int = 0
    blocked_until: float = 0.0


@dataclass
class Throttle:
    """Decides whether an attempt is checked at all, and records its outcome."""

    clock: Callable[[], float] = time.monotonic
    _users: dict[str, _Record] = field(default_factory=dict)
    _recent: list[float] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allowed(self, user: str) -> bool:
        now = self.clock()
        with self._lock:
            self._recent = [t for t in self._recent if now - t < 60]
            if len(self._recent) >= GLOBAL_FAILURES_PER_MINUTE:
                return False
            return now >= self._users.get(user, _Record()).blocked_until

    def failed(self, user: str) -> None:
        now = self.clock()
        with self._lock:
            record = self._users.setdefault(user, _Record())
            record.failures += 1
            self._recent.append(now)
            if record.failures >= LOCKOUT_AFTER:
                record.blocked_until = now + LOCKOUT_S
                log.warning("login: %r locked for %.0f s after %d failures", user, LOCKOUT_S, record.failures)
            else:
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** (record.failures - 1))
                record.blocked_until = now + delay
                log.info(
                    "login: wrong password for %r (%d), next attempt in %.1f s", user, record.failures, delay
                )

    def succeeded(self, user: str) -> None:
        with self._lock:
            self._users.pop(user, None)


def checker(user: str, password: str, throttle: Throttle | None = None) -> Callable[[str, str], bool]:
    """The function Gradio calls for each login attempt."""
    guard = throttle or Throttle()

    def check(given_user: str, given_password: str) -> bool:
        if not guard.allowed(given_user):
            return False  # not even compared: a locked or throttled name learns nothing
        ok = hmac.compare_digest(given_user.encode(), user.encode()) & hmac.compare_digest(
            given_password.encode(), password.encode()
        )
        if ok:
            guard.succeeded(given_user)
        else:
            guard.failed(given_user)
        return bool(ok)

    return check


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class AddressGuard:
    """ASGI middleware: POSTs to the login route from an address in its back-off or lockout are
    answered 429 without reaching the login; the login's answer (200 or not) is recorded per address."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], throttle: Throttle | None = None
    ):
        self.app = app
        self.throttle = throttle or Throttle()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = str(scope.get("path", "")).rstrip("/")
        if scope.get("type") != "http" or scope.get("method") != "POST" or not path.endswith("/login"):
            await self.app(scope, receive, send)
            return
        address = f"address {(scope.get('client') or ('unknown',))[0]}"
        if not self.throttle.allowed(address):
            body = b'{"detail": "Too many failed logins from this address; wait a little and try again."}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        status: list[int] = []

        async def watch(message: MutableMapping[str, Any]) -> None:
            if message.get("type") == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        await self.app(scope, receive, watch)
        if status and status[0] == 200:
            self.throttle.succeeded(address)
        elif status and status[0] in (400, 401, 403):
            self.throttle.failed(address)
