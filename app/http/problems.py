"""RFC 9457 problem+json: the Problem shape, the error handlers and OpenAPI response entries."""

import email.message
import json
import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request, params
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from app.domain.kernel.errors import DomainError, FieldError

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://timebox.dev/problems/"

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


def _is_bad_value(exc: BaseException) -> bool:
    """Whether the database (or its driver) refused a value: SQLSTATE class 22 or bind-time."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, DataError | asyncpg.exceptions.DataError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_RETRYABLE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock


def _is_retryable(exc: BaseException) -> bool:
    """Whether PostgreSQL aborted the transaction to break a conflict with another one."""
    seen: BaseException | None = exc
    while seen is not None:
        if getattr(seen, "sqlstate", None) in _RETRYABLE_SQLSTATES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


async def _database_error_handler(request: Request, exc: Exception) -> JSONResponse:
    if _is_retryable(exc):
        logger.warning("transaction conflict on %s %s: %s", request.method, request.url.path, exc)
        return problem_response(
            409,
            "A concurrent change conflicted with this one; nothing was written. Retry.",
            slug="concurrent-change",
            instance=request.url.path,
        )
    if not _is_bad_value(exc):
        return await _unexpected_error_handler(request, exc)
    # e.g. a number beyond its column's range: the client's input, not our failure.
    return problem_response(
        422,
        "A value is out of range or of the wrong form for this field.",
        slug="invalid-input",
        instance=request.url.path,
    )


async def _unexpected_error_handler(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the log (with the request id), never to the client.
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        "An unexpected error occurred; it has been logged.",
        slug="internal-error",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error path answer with problem+json."""
    app.add_exception_handler(DomainError, _domain_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_error_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(DBAPIError, _database_error_handler)
    app.add_exception_handler(Exception, _unexpected_error_handler)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI response entries for the given problem statuses.

    The model puts `Problem` among the document's schemas; `app.openapi` gives every error
    response its problem+json content.
    """
    return {
        status: {"model": Problem, "description": HTTPStatus(status).phrase} for status in statuses
    }
