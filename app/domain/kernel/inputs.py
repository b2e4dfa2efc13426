"""Input rules every area shares: the request-body base and the bounds of ids and numbers."""

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """A request body: typos in field names are 422s rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


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
