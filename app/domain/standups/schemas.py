"""API shapes for stand-ups."""

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import NUMBER_MAX, NUMBER_MIN, BodyInt, InputModel
from app.domain.kernel.pagination import Page

MAX_TEXT = 2000
MAX_BLOCKED_ITEMS = 20


class StandupEntryReplace(InputModel):
    """Your stand-up entry for the day: what you did, what you will do, what blocks you."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "yesterday": "Finished the saved-card form.",
                    "today": "3-D Secure on Mastercard.",
                    "blockers": "Waiting for the provider's sandbox keys.",
                    "blocked_items": [42],
                }
            ]
        }
    )

    yesterday: str = Field(default="", max_length=MAX_TEXT)
    today: str = Field(min_length=1, max_length=MAX_TEXT)
    blockers: str = Field(default="", max_length=MAX_TEXT)
    blocked_items: list[BodyInt] = Field(
        default_factory=list,
        max_length=MAX_BLOCKED_ITEMS,
        description="Numbers of the project's items you are blocked on: each gets a blocker "
        "(flagged on the board) until an entry of yours no longer names it or a member "
        "clears it.",
        json_schema_extra={"items": {"minimum": NUMBER_MIN, "maximum": NUMBER_MAX}},
    )


class StandupEntryPublic(BaseModel):
    """One member's stand-up entry for one day."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    date: dt.date = Field(description="The day, in the project's time zone.")
    sprint: int = Field(description="The number of the sprint it was posted in.")
    user: UserRef | None = Field(description="The author (null once their account is gone).")
    yesterday: str
    today: str
    blockers: str
    blocked_items: list[int] = Field(description="Numbers of the items named as blocked.")
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class StandupDayPublic(BaseModel):
    """The team's stand-up for one day: every entry, and who has not posted."""

    model_config = ConfigDict(from_attributes=True)

    date: dt.date
    sprint: int | None = Field(
        description="The active sprint's number when the day is one of its working days."
    )
    expected: bool = Field(
        description="Whether entries are due that day: a working day of the active sprint, "
        "today or earlier."
    )
    entries: list[StandupEntryPublic] = Field(description="By author's user id.")
    missing: list[UserRef] = Field(
        description="Members (owners and members, not viewers) without an entry, when "
        "`expected`; empty otherwise."
    )


class StandupEntryPage(Page[StandupEntryPublic]):
    """A page of stand-up entries, latest day first."""
