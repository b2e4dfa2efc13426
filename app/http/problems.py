"""RFC 9457 problem+json: the Problem shape, the error handlers and OpenAPI response entries."""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

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


def validation_errors(raw: Sequence[Any]) -> list[FieldError]:
    """Turn pydantic/FastAPI error dicts into FieldErrors."""
    return [
        FieldError(
            field=_field_path(error.get("loc", ())),
            message=str(error.get("msg", "invalid")),
            type=str(error.get("type", "invalid")),
        )
        for error in raw
    ]


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
    errors = validation_errors(exc.errors())
    fields = ", ".join(error.field for error in errors)
    return problem_response(
        422,
        f"Invalid input: {fields}." if fields else "Invalid input.",
        slug="invalid-input",
        errors=errors,
        instance=request.url.path,
    )


async def _http_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else None
    if exc.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    return problem_response(
        exc.status_code,
        detail,
        headers=dict(exc.headers) if exc.headers else None,
        instance=request.url.path,
    )


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
    """OpenAPI response entries for the given problem statuses."""
    return {
        status: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": HTTPStatus(status).phrase,
        }
        for status in statuses
    }
