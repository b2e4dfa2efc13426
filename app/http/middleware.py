"""ASGI middleware: body size cap and the last-resort 500 problem."""

import logging

from fastapi import HTTPException
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.http.problems import problem_response

logger = logging.getLogger("timebox.errors")


async def send_problem(
    scope: Scope, receive: Receive, send: Send, status: int, detail: str
) -> None:
    """Answer with a problem+json response from inside a middleware."""
    response = problem_response(status, detail, instance=scope.get("path"))
    await response(scope, receive, send)


class BodySizeLimitMiddleware:
    """Rejects request bodies larger than the configured cap with 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        too_large = f"The request body is larger than {self.max_bytes} bytes."
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await send_problem(scope, receive, send, 400, "Invalid Content-Length.")
                    return
                if declared > self.max_bytes:
                    await send_problem(scope, receive, send, 413, too_large)
                    return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
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
        except Exception:
            # The trace goes to the log with the request id, never to the client.
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            await send_problem(
                scope, receive, send, 500, "An unexpected error occurred; it has been logged."
            )
