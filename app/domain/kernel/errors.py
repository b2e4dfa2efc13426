"""The DomainError tree: rules broken in the domain, each with its HTTP status and problem type.

The domain raises these; `app.http.problems` turns them into RFC 9457 responses. Nothing here
imports a web framework.
"""

from pydantic import BaseModel, Field


class FieldError(BaseModel):
    """One invalid input field."""

    field: str = Field(description="Dotted path of the field, e.g. `body.key` or `query.limit`.")
    message: str
    type: str = Field(description="Machine-readable error code.")


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

    @classmethod
    def null(cls, field: str) -> "InvalidInput":
        """An explicit null for a field that cannot be empty."""
        return cls.for_field(field, "May not be null.", "null")


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


class TooManyRequests(DomainError):
    """Too many attempts in a while; `Retry-After` says when one more is admitted."""

    status = 429
    slug = "too-many-requests"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


class ServiceUnavailable(DomainError):
    """The server cannot take this request right now; `Retry-After` says when to try again."""

    status = 503
    slug = "service-unavailable"

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after
