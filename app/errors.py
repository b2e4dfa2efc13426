"""DomainError tree and the RFC 9457 problem+json handlers."""

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DataError, DBAPIError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://timebox.dev/problems/"

logger = logging.getLogger("timebox.errors")


class FieldError(BaseModel):
    """One invalid input field."""

    field: str = Field(description="Dotted path of the field, e.g. `body.key` or `query.limit`.")
    message: str
    type: str = Field(description="Machine-readable error code.")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None


class DomainError(Exception):
    """A rule was broken; subclasses fix the HTTP status and problem type."""

    status: int = 400
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors
        self.headers = headers


class InvalidInput(DomainError):
    """Input is well-formed but breaks a rule (names the field)."""

    status = 422
    slug = "invalid-input"

    @classmethod
    def for_field(cls, field: str, message: str, code: str = "invalid") -> "InvalidInput":
        """An error about one field."""
        return cls(message, errors=[FieldError(field=field, message=message, type=code)])


class Unauthorized(DomainError):
    """No credentials, or credentials that are not valid."""

    status = 401
    slug = "unauthorized"

    def __init__(self, detail: str = "Authentication required.") -> None:
        super().__init__(detail, headers={"WWW-Authenticate": "Bearer"})


class Forbidden(DomainError):
    """Authenticated, but the role does not allow this."""

    status = 403
    slug = "forbidden"


class NotFound(DomainError):
    """The resource does not exist or the caller may not know that it does."""

    status = 404
    slug = "not-found"


class Conflict(DomainError):
    """The request conflicts with the current state."""

    status = 409
    slug = "conflict"


class PreconditionFailed(DomainError):
    """If-Match named a version that is no longer current."""

    status = 412
    slug = "precondition-failed"


class PreconditionRequired(DomainError):
    """The operation requires an If-Match header."""

    status = 428
    slug = "precondition-required"


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
