"""Idempotency-Key support for POST: a retry with the same key and body replays the response.

The request runs inside a transaction this middleware opens (`app.db.REQUEST_SESSION`): the key
is held by a transaction-level advisory lock, and a successful response is stored in the same
transaction as the change it reports, before anything is sent. So a retry that arrives after the
response always finds it; a request that fails (an error status, a crash, a lost connection)
rolls back its change and its key together, and the retry simply runs again.
"""

import hashlib
import re
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.db import REQUEST_SESSION, Database
from app.domain.kernel import clock
from app.domain.users import repository as users_repository
from app.domain.users.security import hash_token
from app.http.idempotency import repository
from app.http.idempotency.models import IdempotencyRecord
from app.http.middleware import send_problem

HEADER = b"idempotency-key"
REPLAYED_HEADER = "idempotency-replayed"
MAX_KEY_LENGTH = 255
_PATH_COLUMN_LENGTH = 2048
# Responses of these carry a secret (a bearer or calendar feed token) that must never be stored.
SECRET_BEARING_PATHS = frozenset(
    {
        "/api/v1/auth/token",
        "/api/v1/me/tokens",
        "/api/v1/projects/{key}/calendar/token",
        "/api/v1/me/events/ticket",
        "/api/v1/projects/{key}/events/ticket",
        "/api/v1/projects/{key}/webhooks",
    }
)
# A project's path with its key as the route template has it, to compare with the above.
_PROJECT_KEY = re.compile(r"^/api/v1/projects/[^/]+/")
# Response headers worth replaying; per-request ones (request id, date) are not.
_REPLAYED = frozenset({b"content-type", b"etag", b"location", b"link", b"cache-control"})
# Seconds a client waits before retrying a key whose first request is still running.
_IN_PROGRESS_RETRY_AFTER = "1"


class BufferedResponse:
    """An ASGI `send` that keeps the response until the transaction behind it has ended."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def __call__(self, message: Message) -> None:
        self.messages.append(message)

    @property
    def status(self) -> int | None:
        """The status sent, if a response was started."""
        for message in self.messages:
            if message["type"] == "http.response.start":
                return int(message["status"])
        return None

    @property
    def succeeded(self) -> bool:
        """Whether the response is a success (2xx), the only kind that is kept."""
        return self.status is not None and 200 <= self.status < 300

    def replayable_headers(self) -> list[list[str]]:
        """The headers a replay repeats."""
        return [
            [name.decode("latin-1"), value.decode("latin-1")]
            for message in self.messages
            if message["type"] == "http.response.start"
            for name, value in message.get("headers", [])
            if name.lower() in _REPLAYED
        ]

    def body(self) -> bytes:
        """The whole body sent."""
        return b"".join(
            message.get("body", b"")
            for message in self.messages
            if message["type"] == "http.response.body"
        )

    async def send_to(self, send: Send) -> None:
        """Pass the kept response on to the client."""
        for message in self.messages:
            await send(message)


class IdempotencyMiddleware:
    """Stores the first successful response of each (caller, key) and replays it for retries."""

    def __init__(self, app: ASGIApp, database: "DatabaseRef", ttl: timedelta) -> None:
        self.app = app
        self.database = database
        self.ttl = ttl

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _header(scope, HEADER)
        # Behind a proxy's prefix (uvicorn --root-path) the path carries it: compare without.
        route_path = scope["path"].removeprefix(scope.get("root_path", ""))
        templated = _PROJECT_KEY.sub("/api/v1/projects/{key}/", route_path, count=1)
        if key is None or route_path in SECRET_BEARING_PATHS or templated in SECRET_BEARING_PATHS:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH:
            await send_problem(
                scope, receive, send, 400, f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} characters."
            )
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client went away before it finished sending: nothing to answer
        sent = False

        async def receive_body() -> Message:
            # The body once, then whatever the client does next (a disconnect, say).
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        database = self.database.get()
        # On a connection of its own, returned at once: a request that gets no stored response
        # (no live token) must not hold a pooled connection while it hashes or queues.
        caller = await _caller(database, scope)
        if caller is None:
            # Only signed-in callers get stored responses: nobody else can fill the table, and
            # a replay never outlives the token that earned it.
            await self.app(scope, receive_body, send)
            return
        response = BufferedResponse()
        async with database.sessions() as session:
            with clock.transaction_time():
                async with session.begin() as transaction:
                    await self._answer(session, scope, receive_body, response, caller, key, body)
                    if not response.succeeded:
                        # Nothing of a failed request is kept, its key included.
                        await transaction.rollback()
        # The transaction has ended, so a retry that follows this response finds what it made.
        await response.send_to(send)

    async def _answer(
        self,
        session: AsyncSession,
        scope: Scope,
        receive: Receive,
        response: BufferedResponse,
        caller: str,
        key: str,
        body: bytes,
    ) -> None:
        """Replay a stored response, refuse a conflicting use of the key, or run the request."""
        # The request below runs in this middleware's transaction (app.db.get_session).
        scope[REQUEST_SESSION] = session
        if not await repository.try_lock(session, caller, key):
            await send_problem(
                scope,
                receive,
                response,
                409,
                "A request with this Idempotency-Key is in progress; retry shortly.",
                headers={"Retry-After": _IN_PROGRESS_RETRY_AFTER},
            )
            return
        request_hash = request_fingerprint(scope, body)
        record = await repository.find(session, caller, key)
        if record is not None and clock.now() - record.created_at > self.ttl:
            await repository.forget(session, record)
            record = None
        if record is not None and record.request_hash != request_hash:
            await send_problem(
                scope,
                receive,
                response,
                422,
                "This Idempotency-Key was used with a different request; use a new key.",
            )
            return
        if record is not None:
            await _replay(response, record)
            return
        await self.app(scope, receive, response)
        if response.succeeded:
            await repository.store(
                session,
                IdempotencyRecord(
                    scope=caller,
                    key=key,
                    method=scope["method"],
                    path=scope["path"][:_PATH_COLUMN_LENGTH],
                    request_hash=request_hash,
                    status_code=response.status,
                    response_headers=response.replayable_headers(),
                    response_body=response.body(),
                ),
            )


async def _caller(database: Database, scope: Scope) -> str | None:
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


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None if the client disconnected before sending it all."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def request_fingerprint(scope: Scope, body: bytes) -> str:
    """A digest of what makes two requests the same: method, path, query and body."""
    digest = hashlib.sha256()
    digest.update(scope["method"].encode())
    digest.update(b"\0" + scope["path"].encode())
    digest.update(b"\0" + scope.get("query_string", b""))
    digest.update(b"\0" + body)
    return digest.hexdigest()


async def _replay(send: Send, record: IdempotencyRecord) -> None:
    body = record.response_body or b""
    raw_headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in record.response_headers or []
    ]
    raw_headers.append((REPLAYED_HEADER.encode(), b"true"))
    raw_headers.append((b"content-length", str(len(body)).encode()))
    assert record.status_code is not None
    start = {"type": "http.response.start", "status": record.status_code, "headers": raw_headers}
    await send(start)
    await send({"type": "http.response.body", "body": body, "more_body": False})
