"""JSON values of an archive to and from column values, by each column's SQL type.

Export writes what the database holds (times as RFC 3339, dates ISO, decimals as numbers);
import reads a value only as the column can store it, so a bad archive is a 422 naming the
value, never a database error.
"""

import math
import re
from collections.abc import Callable
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Time,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from app.domain.kernel.columns import StrEnumType

Decoder = Callable[[Any], Any]

_INT_RANGES: tuple[tuple[type[TypeEngine[Any]], int], ...] = (
    (BigInteger, 63),
    (SmallInteger, 15),
    (Integer, 31),
)
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ISO_TIME = re.compile(r"[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?")


class BadValue(ValueError):
    """A value the column cannot hold; `code` is the error's machine-readable type."""

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def encode(value: Any) -> Any:
    """`json.dumps` default: the column values JSON has no type for."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        # Exact: a Numeric(p, 2) of up to 15 digits reads back as the same decimal.
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def decoder(column: Column[Any]) -> Decoder:
    """How a JSON value of this column is read (raises BadValue); null is handled by callers."""
    return _for_type(column.type)


def _for_type(sql_type: TypeEngine[Any]) -> Decoder:
    if isinstance(sql_type, StrEnumType):
        return _enum(sql_type)
    if isinstance(sql_type, TypeDecorator):
        return _for_type(sql_type.impl_instance)
    if isinstance(sql_type, ARRAY):
        return _array(_for_type(sql_type.item_type))
    if isinstance(sql_type, JSON | JSONB):
        return _json
    if isinstance(sql_type, Boolean):
        return _boolean
    for int_type, bits in _INT_RANGES:
        if isinstance(sql_type, int_type):
            return _integer(bits)
    if isinstance(sql_type, Float):
        return _float
    if isinstance(sql_type, Numeric):
        return _decimal if sql_type.asdecimal else _float
    if isinstance(sql_type, String):
        return _string(sql_type.length)
    if isinstance(sql_type, DateTime):
        return _datetime
    if isinstance(sql_type, Date):
        return _date
    if isinstance(sql_type, Time):
        return _time
    raise TypeError(f"no archive codec for the SQL type {sql_type!r}")


def _enum(sql_type: StrEnumType[Any]) -> Decoder:
    values = [member.value for member in sql_type.enum_type]

    def decode(value: Any) -> Any:
        if value not in values:
            raise BadValue(f"Expected one of {', '.join(values)}.", "enum")
        return value

    return decode


def _array(item: Decoder) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, list):
            raise BadValue("Expected a list.", "list_type")
        if any(entry is None for entry in value):
            raise BadValue("A list entry may not be null.", "null")
        return [item(entry) for entry in value]

    return decode


def _json(value: Any) -> Any:
    return value


def _boolean(value: Any) -> Any:
    if not isinstance(value, bool):
        raise BadValue("Expected true or false.", "bool_type")
    return value


def _integer(bits: int) -> Decoder:
    low, high = -(2**bits), 2**bits - 1

    def decode(value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            raise BadValue("Expected an integer.", "int_type")
        if not low <= value <= high:
            raise BadValue(f"Expected an integer from {low} to {high}.", "int_range")
        return value

    return decode


def _number(value: Any) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise BadValue("Expected a number.", "number_type")
    number = float(value)
    if not math.isfinite(number):
        raise BadValue("Expected a finite number.", "number_type")
    return number


def _float(value: Any) -> Any:
    return _number(value)


def _decimal(value: Any) -> Any:
    try:
        return Decimal(repr(_number(value)))
    except InvalidOperation as exc:  # pragma: no cover - repr of a finite float always parses
        raise BadValue("Expected a number.", "number_type") from exc


def _string(length: int | None) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, str):
            raise BadValue("Expected a string.", "string_type")
        if length is not None and len(value) > length:
            raise BadValue(f"At most {length} characters.", "string_too_long")
        if "\x00" in value:
            raise BadValue("Text may not contain NUL characters.", "string_type")
        return value

    return decode


def _datetime(value: Any) -> Any:
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise BadValue("Expected an RFC 3339 date-time with an offset.", "datetime_type")
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise BadValue(f"Not a valid date-time: {exc}.", "datetime_type") from exc


def _date(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise BadValue("Expected a date in the form YYYY-MM-DD.", "date_type")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise BadValue(f"Not a valid date: {exc}.", "date_type") from exc


def _time(value: Any) -> Any:
    if not isinstance(value, str) or not _ISO_TIME.fullmatch(value):
        raise BadValue("Expected a time of day in the form HH:MM:SS.", "time_type")
    try:
        return time.fromisoformat(value)
    except ValueError as exc:
        raise BadValue(f"Not a valid time: {exc}.", "time_type") from exc
