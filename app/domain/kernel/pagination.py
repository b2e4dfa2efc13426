"""Keyset pagination: opaque cursors over a stable sort key, never OFFSET."""

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped

from app.domain.kernel.errors import InvalidInput

T = TypeVar("T")

AnyRow = Row[*tuple[Any, ...]]
AnySelect = Select[*tuple[Any, ...]]
SortColumn = ColumnElement[Any] | Mapped[Any]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` as `?cursor=` to get the next."""

    data: list[T]
    next_cursor: str | None = Field(description="Opaque cursor of the next page, or null.")


@dataclass(frozen=True)
class PageRequest:
    """How many rows to return and where the previous page ended."""

    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def after(self) -> tuple[Any, ...] | None:
        """The sort key the previous page ended at, decoded from the cursor."""
        return decode_cursor(self.cursor) if self.cursor else None


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def encode_cursor(values: Sequence[Any]) -> str:
    """Encode a sort key as an opaque URL-safe cursor."""
    raw = json.dumps(list(values), separators=(",", ":"), default=_json_default).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, ...]:
    """Decode a cursor made by encode_cursor; anything else is a 422 on `query.cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise _malformed() from exc
    if not isinstance(values, list) or not values:
        raise _malformed()
    return tuple(values)


def _malformed() -> InvalidInput:
    return InvalidInput.for_field("query.cursor", "Malformed cursor.", "cursor")


_BIGINT = 2**63


def _coerce(value: Any, column: SortColumn) -> Any:
    """Check a decoded cursor value against its sort column's type (cursors are client input)."""
    # A mapped attribute is a column expression at runtime; only the static type differs.
    python_type = cast("ColumnElement[Any]", column).type.python_type
    if python_type is int:
        if isinstance(value, int) and not isinstance(value, bool) and -_BIGINT <= value < _BIGINT:
            return value
    elif python_type is str:
        if isinstance(value, str):
            return value
    elif python_type is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif python_type is datetime and isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _malformed() from None
        if parsed.tzinfo is not None:
            return parsed
    raise _malformed()


async def fetch_page(
    session: AsyncSession,
    stmt: AnySelect,
    order_by: Sequence[SortColumn],
    page: PageRequest,
    cursor_key: Callable[[AnyRow], Sequence[Any]],
    *,
    descending: bool = False,
) -> tuple[list[AnyRow], str | None]:
    """Run `stmt` ordered by `order_by` (unique together, one direction) from the cursor on.

    `cursor_key` returns a row's values of the `order_by` columns, which the next cursor holds.
    """
    after = page.after()
    if after is not None:
        if len(after) != len(order_by):
            raise _malformed()
        values = [_coerce(value, column) for value, column in zip(after, order_by, strict=True)]
        key, bound = tuple_(*order_by), tuple_(*values)
        stmt = stmt.where(key < bound if descending else key > bound)
    ordering = [cast("ColumnElement[Any]", c).desc() if descending else c for c in order_by]
    rows = list((await session.execute(stmt.order_by(*ordering).limit(page.limit + 1))).all())
    if len(rows) <= page.limit:
        return rows, None
    rows = rows[: page.limit]
    return rows, encode_cursor(cursor_key(rows[-1]))
