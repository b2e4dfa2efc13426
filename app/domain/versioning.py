"""Optimistic concurrency: `version` columns, compared with If-Match and bumped on change."""

from typing import Protocol

from app.db import utcnow
from app.errors import PreconditionFailed


class Versioned(Protocol):
    """A row with a version counter."""

    version: int


def check_version(current: int, expected: int | None) -> None:
    """412 when the caller's If-Match version is not the current one (None means no If-Match)."""
    if expected is not None and expected != current:
        raise PreconditionFailed(
            f"The resource is at version {current}, not {expected}; reload it and retry."
        )


def bump(row: Versioned) -> None:
    """Increase the version and, where the row has one, the updated_at timestamp."""
    row.version += 1
    if hasattr(row, "updated_at"):
        row.updated_at = utcnow()
