"""Password hashing (argon2) in a bounded thread pool, and opaque token generation and hashing."""

import asyncio
import hashlib
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain.kernel.errors import ServiceUnavailable

TOKEN_PREFIX = "tbx_"  # noqa: S105 - a public marker that makes leaked tokens greppable
# How much nicer than the event loop the hashing threads run (Linux nice, 0-19). Measured on
# 2 cores: bench/login_flood.py's /me p95 during a 30-client login flood rose 6x at nice 0,
# 2.0x at 10, 1.35x at 15, 1.3x at 19; but at 19, `make load` (CPU saturated) starved logins
# into 13 s waits and 503s, where 15 served every login. Idle CPU still hashes at full speed.
HASH_THREAD_NICENESS = 15
_RETRY_AFTER_SECONDS = 1

_hasher = PasswordHasher()
T = TypeVar("T")


def _lower_priority() -> None:
    """Pool initializer: make this thread (and argon2's lane threads it starts) yield the CPU."""
    if sys.platform == "linux" and HASH_THREAD_NICENESS:
        # On Linux the nice value is per thread, and threads inherit their creator's: the
        # event loop keeps winning the CPU while a flood of logins hashes.
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASH_THREAD_NICENESS)


class _HashPool:
    """At most `concurrency` hashes at once and `queue` waiting; beyond that, refuse at once."""

    def __init__(self, concurrency: int, queue: int) -> None:
        self.concurrency = concurrency
        self.queue = queue
        self.executor = ThreadPoolExecutor(
            max_workers=concurrency,
            thread_name_prefix="password-hash",
            initializer=_lower_priority,
        )
        self._lock = threading.Lock()
        self._admitted = 0

    def _release(self, _: "Future[Any]") -> None:
        with self._lock:
            self._admitted -= 1

    def ensure_room(self) -> None:
        """Raise ServiceUnavailable when the queue is full."""
        if self._admitted >= self.concurrency + self.queue:
            raise ServiceUnavailable(
                "Too many password checks are waiting; retry shortly.", _RETRY_AFTER_SECONDS
            )

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in the pool, or raise ServiceUnavailable when the queue is full."""
        with self._lock:
            self.ensure_room()
            self._admitted += 1
        future = self.executor.submit(work)
        # Released when the work ends, not when the caller stops waiting: a cancelled caller
        # (a client that went away) keeps its place until its hash is really off the CPU.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)


_pool: _HashPool | None = None


def configure_password_hashing(concurrency: int, queue: int) -> None:
    """Bound the password hashing of this process: `concurrency` at once, `queue` waiting."""
    global _pool
    if _pool is not None and (_pool.concurrency, _pool.queue) == (concurrency, queue):
        return
    old, _pool = _pool, _HashPool(concurrency, queue)
    if old is not None:
        old.executor.shutdown(wait=False)


def _hash_pool() -> _HashPool:
    if _pool is None:
        configure_password_hashing(1, 16)  # the settings' defaults, for the CLI and scripts
    assert _pool is not None
    return _pool


def ensure_hashing_room() -> None:
    """Raise ServiceUnavailable now if a password check would find the queue full.

    A cheap early answer for a caller with work to do before hashing; the check that counts
    is the one when the hash is queued.
    """
    _hash_pool().ensure_room()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so timing does not reveal which exist."""
    return _hasher.hash("timebox-dummy-password")


async def hash_password(password: str) -> str:
    """Hash a password with argon2id in the bounded pool (503 when too many are waiting)."""
    return await _hash_pool().run(lambda: _hasher.hash(password))


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash in the bounded pool (constant work if no hash)."""

    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await _hash_pool().run(_verify)


def new_token() -> str:
    """A fresh opaque bearer token (256 bits of randomness)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token; SHA-256 suffices for high-entropy random secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    """The first characters of a token, safe to show so users can tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]
