"""Input rules every area shares: the request-body base, strict types, id and number bounds."""

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Strict
from pydantic_core import PydanticCustomError


class InputModel(BaseModel):
    """A request body: typos in field names are 422s rather than silently ignored."""

    # JSON has no NaN or Infinity, but Python's parser reads them; no number field means them.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


# Field types for request bodies. A JSON body arrives parsed, and pydantic's lax mode would read
# `true` as the integer 1, `1` as true and "5" as 5; these take a value only as JSON typed it.
# (Not for query or path parameters, which arrive as text: there a plain `int` parses digits and
# never `true`; use `QueryBool` and `IsoDate` for booleans and dates.)
BodyInt = Annotated[int, Strict()]
BodyFloat = Annotated[float, Strict()]  # an integer is a number too; a boolean or string is not
BodyBool = Annotated[bool, Strict()]

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _iso_date(value: Any) -> Any:
    # Lax pydantic reads 0 or "0" as 1970-01-01 (a Unix time) and a datetime as its date.
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # from Python callers (the demo, the CLI), never from JSON
    raise PydanticCustomError("date_type", "Input should be a date in the form YYYY-MM-DD")


def _rfc3339(value: Any) -> Any:
    # An RFC 3339 date-time always has its offset: a naive time would be read as UTC silently.
    if isinstance(value, str) and _RFC3339.fullmatch(value):
        return value
    if isinstance(value, datetime) and value.utcoffset() is not None:
        return value
    raise PydanticCustomError(
        "datetime_type",
        "Input should be an RFC 3339 date-time with an offset, e.g. 2025-03-03T09:00:00Z",
    )


def _query_bool(value: Any) -> Any:
    # Lax pydantic also takes 1/0, yes/no, on/off, t/f and any case of them.
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise PydanticCustomError("bool_type", "Input should be true or false")


# A calendar date, in a body or a query: an ISO 8601 string `YYYY-MM-DD`, never a number.
IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# An instant, in a body or a query: an RFC 3339 string with `Z` or an offset, never a number.
Rfc3339DateTime = Annotated[datetime, BeforeValidator(_rfc3339)]
# A boolean query parameter: `true` or `false`, nothing else.
QueryBool = Annotated[bool, BeforeValidator(_query_bool)]


# Database ids are bigint identities; per-project numbers (items, sprints) are integers. A value
# outside these bounds cannot name a row, so it is a 422 naming the field, never a 500.
ID_MIN, ID_MAX = 1, 2**63 - 1
NUMBER_MIN, NUMBER_MAX = 1, 2**31 - 1


def is_id(value: int) -> bool:
    """Whether a value is within the range of a database id."""
    return ID_MIN <= value <= ID_MAX


def fits_bigint(value: int) -> bool:
    """Whether a value can be compared with a bigint column at all (it may still name nothing)."""
    return -ID_MAX - 1 <= value <= ID_MAX


def is_number(value: int) -> bool:
    """Whether a value is within the range of a per-project number."""
    return NUMBER_MIN <= value <= NUMBER_MAX
