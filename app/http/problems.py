"""RFC 9457 problem+json: the Problem shape, the error handlers and OpenAPI response entries."""

import email.message
import json
import logging
from collections.abc import Iterator, Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import exc as sqlalchemy_exc
from sqlalchemy.exc import DataError, DBAPIError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.domain.kernel.errors import DomainError, FieldError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://timebox.dev/problems/"
# The one problem type of every unexpected server error.
INTERNAL_ERROR_SLUG = "internal-error"

logger = logging.getLogger("timebox.errors")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


def problem_response(
    status: int,
    detail: str | None,
    *,
    slug: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    """Build an application/problem+json response."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    problem_slug = slug or title.lower().replace(" ", "-").replace("'", "")
    body = Problem(
        type=PROBLEM_TYPE_BASE + problem_slug,
        title=title,
        status=status,
        detail=detail,
        instance=instance,
        errors=errors,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """Join a pydantic location into a dotted path."""
    return ".".join(str(part) for part in loc)


def validation_errors(raw: Sequence[Any], body: Any = None) -> list[FieldError]:
    """Turn pydantic/FastAPI error dicts into FieldErrors; `body` is the request body as read."""
    return [_field_error(error, body) for error in raw]


def _field_error(error: Any, body: Any) -> FieldError:
    loc = error.get("loc", ())
    if error.get("type") == "json_invalid" and len(loc) == 2 and isinstance(body, str):
        # FastAPI names a character offset (`body.26`); say where in the text, as json does.
        where = json.JSONDecodeError(str(error.get("ctx", {}).get("error", "")), body, loc[1])
        return FieldError(
            field="body",
            message=f"Malformed JSON at line {where.lineno}, column {where.colno}: {where.msg}",
            type="json_invalid",
        )
    return FieldError(
        field=_field_path(loc),
        message=str(error.get("msg", "invalid")),
        type=str(error.get("type", "invalid")),
    )


async def _domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return problem_response(
        exc.status,
        exc.detail,
        slug=exc.slug,
        errors=exc.errors,
        headers=exc.headers,
        instance=request.url.path,
    )


async def _validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    unsupported = _unsupported_media_type(request, exc)
    if unsupported is not None:
        return unsupported
    errors = validation_errors(exc.errors(), exc.body)
    if len(errors) == 1 and errors[0].type == "json_invalid":
        detail = errors[0].message + "."
    else:
        fields = ", ".join(error.field for error in errors)
        detail = f"Invalid input: {fields}." if fields else "Invalid input."
    return problem_response(
        422, detail, slug="invalid-input", errors=errors, instance=request.url.path
    )


_JSON = "application/json"
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
# RFC 5789 (Accept-Patch) and the IANA-registered Accept-Post name what a method's body may be;
# other methods get RFC 9110's Accept, which a response may carry for the same purpose.
ACCEPT_HEADERS = {"POST": "Accept-Post", "PATCH": "Accept-Patch"}


def _media_type(content_type: str) -> str:
    """The lower-case type/subtype of a Content-Type value, parameters dropped."""
    message = email.message.Message()
    message["content-type"] = content_type
    return message.get_content_type()


def _unsupported_media_type(request: Request, exc: RequestValidationError) -> JSONResponse | None:
    """A 415 when the body failed because it is not of the type the route reads, else None.

    FastAPI validates a JSON route's body of any other type as raw bytes (and a form route's
    JSON as an empty form), so the error it reports is about the shape, not the real cause.
    """
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return None
    if not any(tuple(error.get("loc", ()))[:1] == ("body",) for error in exc.errors()):
        return None
    content_type = request.headers.get("content-type")
    if isinstance(route.body_field.field_info, params.Form):
        accepted = str(route.body_field.field_info.media_type)
        if content_type is None:
            # Without a Content-Type the form reads as empty: only a body makes that the cause.
            if request.headers.get("content-length", "0") in ("", "0"):
                return None
        elif _media_type(content_type) in _FORM_TYPES:
            return None
    else:
        accepted = _JSON
        # FastAPI hands the raw bytes on exactly when it did not read the body as JSON: another
        # Content-Type, or none (read as JSON only with `strict_content_type=False`).
        if not isinstance(exc.body, bytes) or not exc.body:
            return None
    sent = f"Content-Type {content_type}" if content_type else "no Content-Type"
    return problem_response(
        415,
        f"This endpoint reads a body of type {accepted}; the request has {sent}.",
        slug="unsupported-media-type",
        headers={ACCEPT_HEADERS.get(request.method, "Accept"): accepted},
        instance=request.url.path,
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if isinstance(exc.__cause__, UnicodeDecodeError):
        # FastAPI answers a JSON body that is not UTF-8 with a bare 400; it is malformed JSON
        # (RFC 8259 requires UTF-8), so it is the same 422 naming the body as other bad JSON.
        message = f"The body is not UTF-8 (byte {exc.__cause__.start}), so it is not JSON"
        return problem_response(
            422,
            message + ".",
            slug="invalid-input",
            errors=[FieldError(field="body", message=message, type="json_invalid")],
            instance=request.url.path,
        )
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    if exc.status_code == 405:
        allowed = ", ".join(allowed_methods(request))
        # Starlette names the methods of the first route that matched the path, not all.
        headers["Allow"] = allowed
        detail = f"{request.method} is not allowed here; this resource accepts {allowed}."
    return problem_response(
        exc.status_code, detail, headers=headers or None, instance=request.url.path
    )


_METHOD_ORDER = {
    method: n for n, method in enumerate(("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"))
}


def allowed_methods(request: Request) -> list[str]:
    """Every method some route accepts on the request's path, HEAD wherever GET is."""
    methods: set[str] = set()
    # Included routers are kept whole; their routes are read as the app serves them.
    for route in iter_route_contexts(request.app.router.routes):
        if route.matches(request.scope)[0] == Match.NONE:
            continue
        # A mount (the docs' static assets) serves files: GET and HEAD.
        methods |= getattr(route, "methods", None) or {"GET", "HEAD"}
    if "GET" in methods:
        # app.http.conditional answers HEAD for every GET route.
        methods.add("HEAD")
    return sorted(methods, key=lambda m: _METHOD_ORDER.get(m, len(_METHOD_ORDER)))


_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
# SQLSTATEs that mean "the database cannot serve this now", not "this request is wrong":
# 08 connection exceptions, 53 insufficient resources, 57 operator intervention (57014 is
# statement_timeout, 57P01-03 shutdown and start-up), 55P03 lock_timeout, 25P03 an
# idle-in-transaction timeout, 25006 a read-only server (a standby, mid-failover).
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57")
_UNAVAILABLE_SQLSTATES = frozenset({"55P03", "25P03", "25006"})
_DRIVER_MODULES = ("asyncpg", "sqlalchemy")


def _raised_by_the_driver(exc: BaseException) -> bool:
    """Whether the exception came out of the database driver or the pool (not our own code)."""
    frame = exc.__traceback__
    while frame is not None:
        module = str(frame.tb_frame.f_globals.get("__name__", ""))
        if module.startswith(_DRIVER_MODULES):
            return True
        frame = frame.tb_next
    return False


def _connection_lost(cause: BaseException) -> bool:
    """A connection that could not be opened, broke, or was closed under a request."""
    if isinstance(cause, sqlalchemy_exc.TimeoutError):
        return True  # no pooled connection came free in time
    if isinstance(cause, DBAPIError) and cause.connection_invalidated:
        return True
    if isinstance(cause, asyncpg.exceptions.ConnectionDoesNotExistError):
        return True
    if type(cause) is asyncpg.exceptions.InterfaceError and "closed" in str(cause):
        return True  # its subclasses are client-side misuse (bad values, configuration)
    # Refused, reset, unreachable or past the connect timeout: only when the driver says so,
    # so an OSError of our own (a file, a timeout) stays a 500 with its trace.
    return isinstance(cause, OSError) and _raised_by_the_driver(cause)


def _causes(exc: BaseException, *, implicit: bool = True) -> Iterator[BaseException]:
    """The exception and the chain that caused it (`implicit`: also what it was raised during)."""
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        seen = seen.__cause__ or (seen.__context__ if implicit else None)


def _sqlstates(exc: BaseException) -> set[str]:
    return {state for cause in _causes(exc) if (state := getattr(cause, "sqlstate", None))}


def _is_bad_value(exc: BaseException) -> bool:
    """Whether the database (or its driver) refused a value: SQLSTATE class 22 or bind-time."""
    return any(
        isinstance(cause, DataError | asyncpg.exceptions.DataError) for cause in _causes(exc)
    )


def _is_retryable(exc: BaseException) -> bool:
    """Whether PostgreSQL aborted the transaction to break a conflict with another one."""
    return bool(_sqlstates(exc) & _RETRYABLE_SQLSTATES)


def is_database_unavailable(exc: BaseException) -> bool:
    """Whether the database is unreachable, overloaded or too slow, rather than the input wrong."""
    # Only explicit causes (`raise ... from`, as SQLAlchemy wraps the driver's errors): an
    # exception that merely happened while another was being handled is not caused by it.
    causes = list(_causes(exc, implicit=False))
    if any(_connection_lost(cause) for cause in causes):
        return True
    states = {state for cause in causes if (state := getattr(cause, "sqlstate", None))}
    return any(
        state in _UNAVAILABLE_SQLSTATES or state.startswith(_UNAVAILABLE_SQLSTATE_CLASSES)
        for state in states
    )


def problem_for_exception(
    exc: Exception, *, method: str, path: str, retry_after: int
) -> JSONResponse:
    """The problem for an exception no handler expected: 503, 409, 422 or a logged 500."""
    if is_database_unavailable(exc):
        # Expected while PostgreSQL restarts or a lock is held: a warning, not a trace.
        logger.warning("database unavailable on %s %s: %s", method, path, type(exc).__name__)
        return problem_response(
            503,
            "The database is unavailable or too slow right now, so the request was not "
            "completed; retry after the seconds in Retry-After.",
            slug="service-unavailable",
            headers={"Retry-After": str(retry_after)},
            instance=path,
        )
    if _is_retryable(exc):
        # The exception's text would carry the statement's parameters: its type is enough.
        logger.warning("transaction conflict on %s %s: %s", method, path, type(exc).__name__)
        return problem_response(
            409,
            "A concurrent change conflicted with this one; nothing was written. Retry.",
            slug="concurrent-change",
            instance=path,
        )
    if _is_bad_value(exc):
        # e.g. a number beyond its column's range: the client's input, not our failure.
        return problem_response(
            422,
            "A value is out of range or of the wrong form for this field.",
            slug="invalid-input",
            instance=path,
        )
    # The trace goes to the log (with the request id), never to the client.
    logger.error("unhandled error on %s %s", method, path, exc_info=exc)
    return problem_response(
        500,
        "An unexpected error occurred; it has been logged.",
        slug=INTERNAL_ERROR_SLUG,
        instance=path,
    )


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    return problem_for_exception(
        exc,
        method=request.method,
        path=request.url.path,
        retry_after=request.app.state.settings.retry_after_seconds,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error path answer with problem+json."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    # Database errors reach the handlers inside the middleware stack (so the response keeps
    # its headers); anything else is answered by app.http.middleware.UnhandledErrorMiddleware.
    app.add_exception_handler(SQLAlchemyError, _unexpected_error_handler)
    app.add_exception_handler(asyncpg.PostgresError, _unexpected_error_handler)
    app.add_exception_handler(asyncpg.exceptions.InterfaceError, _unexpected_error_handler)
    app.add_exception_handler(OSError, _unexpected_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for the given problem statuses.

    The model puts `Problem` among the document's schemas; `app.openapi` gives every error
    response its problem+json content.
    """
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }
