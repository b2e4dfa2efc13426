"""Idempotency-Key support for POST: a retry with the same key and body replays the response."""

import hashlib
import logging
from datetime import timedelta

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import Database
from app.domain.kernel import clock
from app.domain.users import repository as users_repository
from app.domain.users.security import hash_token
from app.http.idempotency import repository
from app.http.middleware import send_problem

logger = logging.getLogger("timebox.idempotency")

HEADER = b"idempotency-key"
REPLAYED_HEADER = "idempotency-replayed"
MAX_KEY_LENGTH = 255
_PATH_COLUMN_LENGTH = 2048
# Responses of these carry a secret (a bearer token) that must never be stored.
SECRET_BEARING_PATHS = frozenset({"/api/v1/auth/token", "/api/v1/me/tokens"})
# Response headers worth replaying; per-request ones (request id, date) are not.
_REPLAYED = frozenset({b"content-type", b"etag", b"location", b"link", b"cache-control"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class IdempotencyMiddleware:
    """Stores the first response of each (caller, key) and replays it for identical retries."""

    def __init__(self, app: ASGIApp, database: "DatabaseRef", ttl: timedelta) -> None:
        self.app = app
        self.database = database
        self.ttl = ttl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, HEADER)
        if key is None or scope["path"] in SECRET_BEARING_PATHS:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await send_problem(
                scope, receive, send, 400, f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters."
            )
            return
        database = self.database.get()
        caller = await self._caller(database, scope)
        if caller is None:
            # Only signed-in callers get stored responses: nobody else can fill the table, and
            # a replay never outlives the token that earned it.
            await self.app(scope, receive, send)
            return
        body: bytes | None = await _read_body(receive)
        assert body is not None
        request_hash = request_fingerprint(scope, body)
        path = scope["path"][:_PATH_COLUMN_LENGTH]

        async with database.sessions() as session, session.begin():
            claimed = await repository.claim(
                session, caller, key, scope["method"], path, request_hash
            )
            record = None if claimed else await repository.find(session, caller, key)
            if record is not None and clock.now() - record.created_at > self.ttl:
                await repository.release(session, caller, key)
                claimed = await repository.claim(
                    session, caller, key, scope["method"], path, request_hash
                )
                record = None
        if not claimed:
            assert record is not None
            if record.request_hash != request_hash:
                await send_problem(
                    scope,
                    receive,
                    send,
                    422,
                    "This Idempotency-Key was used with a different request; use a new key.",
                )
            elif record.status_code is None:
                await send_problem(
                    scope, receive, send, 409, "A request with this Idempotency-Key is in progress."
                )
            else:
                await _replay(
                    send,
                    record.status_code,
                    record.response_headers or [],
                    record.response_body or b"",
                )
            return

        status = 500
        headers: list[list[str]] = []
        chunks: list[bytes] = []

        async def replay_receive() -> Message:
            nonlocal body
            if body is not None:
                message: Message = {"type": "http.request", "body": body, "more_body": False}
                body = None
                return message
            return await receive()

        async def capture_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers.extend(
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() in _REPLAYED
                )
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        finally:
            async with database.sessions() as session, session.begin():
                # Only successes are replayed; after an error the client may simply retry.
                if 200 <= status < 300:
                    await repository.complete(
                        session, caller, key, status, headers, b"".join(chunks)
                    )
                else:
                    await repository.release(session, caller, key)

    async def _caller(self, database: Database, scope: Scope) -> str | None:
        """The scope of a caller's keys (`user:<id>`), or None without a live token."""
        authorization = _header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        async with database.sessions() as session:
            found = await users_repository.user_for_token(session, hash_token(token), clock.now())
        return f"user:{found[0].id}" if found else None


class DatabaseRef:
    """The app's Database, set by the lifespan after the middleware stack is built."""

    def __init__(self) -> None:
        self.database: Database | None = None

    def get(self) -> Database:
        """The connected database."""
        if self.database is None:
            raise RuntimeError("database is not connected")
        return self.database


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def request_fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(scope["method"].encode())
    digest.update(b"\0" + scope["path"].encode())
    digest.update(b"\0" + scope.get("query_string", b""))
    digest.update(b"\0" + body)
    return digest.hexdigest()


async def _replay(send: Send, status: int, headers: list[list[str]], body: bytes) -> None:
    raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    raw_headers.append((REPLAYED_HEADER.encode(), b"true"))
    raw_headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
