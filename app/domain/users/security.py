"""Password hashing (argon2) and opaque token generation and hashing."""

import asyncio
import hashlib
import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "tbx_"  # noqa: S105 - a public marker that makes leaked tokens greppable

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the email is unknown, so timing does not reveal which exist."""
    return _hasher.hash("timebox-dummy-password")


async def hash_password(password: str) -> str:
    """Hash a password with argon2id off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password against its hash off the event loop (constant work if no hash)."""

    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


def new_token() -> str:
    """A fresh opaque bearer token (256 bits of randomness)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token; SHA-256 suffices for high-entropy random secrets."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_display_prefix(token: str) -> str:
    """The first characters of a token, safe to show so users can tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]
