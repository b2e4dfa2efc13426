"""Optimistic concurrency: `version` columns, compared with If-Match and bumped on change."""

from typing import Any, Protocol

from app.domain.kernel import clock
from app.domain.kernel.errors import InvalidInput, PreconditionFailed

# The versions an If-Match names: a change applies when the resource is at any of them.
Versions = frozenset[int]


class Versioned(Protocol):
    """A row with a version counter."""

    version: int


def check_version(current: int, expected: Versions | None) -> None:
    """412 when If-Match names none of the current version (None means no If-Match, or `*`)."""
    if expected is not None and current not in expected:
        named = ", ".join(str(version) for version in sorted(expected)) or "no version"
        raise PreconditionFailed(
            f"The resource is at version {current}, not {named}; reload it and retry."
        )


def bump(row: Versioned) -> None:
    """Increase the version and, where the row has one, the updated_at timestamp."""
    row.version += 1
    if hasattr(row, "updated_at"):
        row.updated_at = clock.now()


def apply_changes(
    row: Versioned, changes: dict[str, Any], *, nullable: frozenset[str] = frozenset()
) -> bool:
    """Apply a PATCH's fields to a row; bump its version only if something really changed.

    An explicit null for a field that cannot be empty is a 422 naming that field.
    """
    for field, value in changes.items():
        if value is None and field not in nullable:
            raise InvalidInput.null(f"body.{field}")
    changed = False
    for field, value in changes.items():
        if getattr(row, field) != value:
            setattr(row, field, value)
            changed = True
    if changed:
        bump(row)
    return changed
