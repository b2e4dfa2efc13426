"""ASGI middleware: body size cap and the last-resort 500 problem."""

import logging
from collections.abc import Mapping

from fastapi import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.problems import problem_for_exception, problem_response

logger = logging.getLogger("timebox.errors")


async def send_problem(
    scope: Scope,
    receive: Receive,
    send: Send,
    status: int,
    detail: str,
    *,
    headers: dict[str, str] | None = None,
) -> None:
    """Answer with a problem+json response from inside a middleware."""
    response = problem_response(status, detail, headers=headers, instance=scope.get("path"))
    await response(scope, receive, send)


class BodySizeLimitMiddleware:
    """Rejects request bodies larger than the configured cap with 413.

    `limits`: other caps for some paths (without a proxy's root path), e.g. archive imports.
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, limits: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.limits = dict(limits or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        max_bytes = self.limits.get(path, self.max_bytes)
        too_large = f"The request body is larger than {max_bytes} bytes."
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_problem(scope, receive, send, 400, "Invalid Content-Length.")
                    return
                if declared > max_bytes:
                    await send_problem(scope, receive, send, 413, too_large)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    # FastAPI re-raises HTTPExceptions met while reading the body.
                    raise HTTPException(status_code=413, detail=too_large)
            return message

        await self.app(scope, limited_receive, send)


class UnhandledErrorMiddleware:
    """Turns an unexpected exception into a 500 problem without a stack trace."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        except StarletteHTTPException as exc:
            # Raised by a middleware below the router (e.g. the body size cap).
            if started:
                raise
            await send_problem(scope, receive, send, exc.status_code, str(exc.detail))
        except Exception as exc:
            if started:
                raise
            # A database outage or timeout is a 503, anything else a 500 whose trace is logged.
            settings = scope["app"].state.settings
            response = problem_for_exception(
                exc,
                method=scope["method"],
                path=scope["path"],
                retry_after=settings.retry_after_seconds,
            )
            await response(scope, receive, send)


# No scripts, frames, forms or plugins: the API serves data. Inline styles stay allowed so an
# SVG chart opened on its own still renders; the docs pages send a policy of their own.
API_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'none'"
)
_SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)


class SecurityHeadersMiddleware:
    """Adds nosniff, a referrer policy and, unless the route set one, the API's CSP."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers += [header for header in _SECURITY_HEADERS if header[0] not in names]
                if b"content-security-policy" not in names:
                    headers.append(
                        (b"content-security-policy", API_CONTENT_SECURITY_POLICY.encode())
                    )
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
