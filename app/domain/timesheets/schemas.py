"""API shapes for work logs and the time report."""

import datetime as dt
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import BodyFloat, BodyInt, InputModel, IsoDate
from app.domain.kernel.pagination import Page
from app.domain.timesheets.models import HOURS_MAX, HOURS_MIN, HOURS_STEP, NOTE_MAX

# Hours worked, in quarter hours: 0.25 to 24.
WorkHours = Annotated[
    BodyFloat,
    Field(ge=float(HOURS_MIN), le=float(HOURS_MAX), multiple_of=float(HOURS_STEP)),
]
Note = Annotated[str, StringConstraints(max_length=NOTE_MAX)]

_HOURS = "Hours worked, 0.25 to 24 in quarter hours (0.25, 0.5, 0.75, 1, …)."
_DATE = "The day worked (YYYY-MM-DD), not after today in the project's time zone."

_EXAMPLE: dict[str, JsonValue] = {
    "date": "2026-11-30",
    "hours": 2.5,
    "note": "Card vault integration: happy path and declines.",
}


class WorklogCreate(InputModel):
    """Time spent on an item: a day, hours in quarter hours, a note; by default the caller's."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [_EXAMPLE, {"date": "2026-11-27", "hours": 0.75, "member_id": 5}]
        }
    )

    date: IsoDate = Field(description=_DATE)
    hours: WorkHours = Field(description=_HOURS)
    note: Note = Field(default="", description=f"What was done, at most {NOTE_MAX} characters.")
    member_id: BodyInt | None = Field(
        default=None,
        description="Whose time it is (a user id): leave it out for your own. Only owners log "
        "time for another member (role member or owner).",
    )


class WorklogUpdate(InputModel):
    """Changes to a work log: only the fields sent change."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"hours": 3}, {"date": "2026-11-29", "note": "Reviews"}]}
    )

    date: IsoDate | None = Field(default=None, description=_DATE)
    hours: WorkHours | None = Field(default=None, description=_HOURS)
    note: Note | None = None


class WorklogItem(BaseModel):
    """The item time was logged on."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    key: str = Field(description="The item's key, e.g. `WEB-42`.")
    title: str


class WorklogPublic(BaseModel):
    """Time one member spent on one item on one day."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    item: WorklogItem | None = Field(description="The item; null once the item is deleted.")
    member: UserRef = Field(description="Whose time it is.")
    date: dt.date = Field(description="The day worked.")
    hours: float = Field(description="Hours worked, in quarter hours.")
    note: str
    version: int
    created_at: dt.datetime
    updated_at: dt.datetime


class WorklogPage(Page[WorklogPublic]):
    """A page of work logs, in the order they were logged."""


class TimeGrouping(StrEnum):
    """What the time report adds hours up by."""

    MEMBER = "member"
    ITEM = "item"
    SPRINT = "sprint"
    EPIC = "epic"
    WEEK = "week"


class TimeGroupPublic(BaseModel):
    """The hours of one group of the time report."""

    model_config = ConfigDict(from_attributes=True)

    key: str = Field(
        description="Stable key of the group: a user id (`member`), an item key `WEB-42` "
        "(`item`, `epic`), a sprint number (`sprint`), an ISO week `2026-W48` (`week`); `none` "
        "for logs outside any sprint or epic, `deleted` for logs of deleted items."
    )
    label: str = Field(description="What to show: a name, a title, or `Week of 2026-11-23`.")
    hours: float = Field(description="Hours logged in the range.")
    logs: int = Field(description="How many work logs those hours come from.")
    user_id: int | None = Field(description="The member (`member` grouping), else null.")
    number: int | None = Field(
        description="The item, epic or sprint number (`item`, `epic`, `sprint`), else null."
    )
    week_start: dt.date | None = Field(description="The week's Monday (`week`), else null.")


class TimeReportPublic(BaseModel):
    """Hours logged in a date range, in total and by group."""

    model_config = ConfigDict(from_attributes=True)

    from_: dt.date = Field(
        validation_alias="start", serialization_alias="from", description="First day, inclusive."
    )
    to: dt.date = Field(validation_alias="end", description="Last day, inclusive.")
    group_by: TimeGrouping
    member_id: int | None = Field(description="The member the report is narrowed to, or null.")
    total_hours: float
    logs: int = Field(description="How many work logs the total comes from.")
    groups: list[TimeGroupPublic] = Field(
        description="Sprints and weeks in date order; members, items and epics by hours, most "
        "first. The `none` and `deleted` groups come last."
    )
