"""API shapes for the ceremony schedule and the calendar feed's token."""

import re
from datetime import datetime, time
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.domain.kernel.inputs import BodyInt, InputModel

MIN_MINUTES, MAX_MINUTES = 5, 480

_CLOCK = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def _clock_time(value: Any) -> Any:
    # Minutes are the schedule's precision: `09:30`, never a number or `9:30:15`.
    if isinstance(value, time):
        return value
    if isinstance(value, str) and (matched := _CLOCK.fullmatch(value)):
        return time(int(matched.group(1)), int(matched.group(2)))
    raise PydanticCustomError("time_type", "Input should be a local time in the form HH:MM")


ClockTime = Annotated[
    time,
    BeforeValidator(_clock_time),
    # The whole schema is replaced: a `time` would document `format: time` (HH:MM:SS).
    WithJsonSchema({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}),
]


class MeetingSlot(InputModel):
    """When one ceremony starts (local time in the project's zone) and how long it lasts."""

    start: ClockTime = Field(description="Local start time, `HH:MM`.")
    duration_minutes: BodyInt = Field(ge=MIN_MINUTES, le=MAX_MINUTES)


class MeetingScheduleReplace(InputModel):
    """The whole schedule: every ceremony's start and length (it must end by midnight)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "planning": {"start": "10:00", "duration_minutes": 120},
                    "standup": {"start": "09:30", "duration_minutes": 15},
                    "review": {"start": "14:00", "duration_minutes": 60},
                    "retro": {"start": "15:30", "duration_minutes": 60},
                }
            ]
        }
    )

    planning: MeetingSlot = Field(description="On the sprint's first day.")
    standup: MeetingSlot = Field(
        description="On every working day of the sprint but the planning day."
    )
    review: MeetingSlot = Field(description="On the sprint's last day.")
    retro: MeetingSlot = Field(description="On the sprint's last day.")


class MeetingSlotPublic(BaseModel):
    """One ceremony's local start time and length."""

    model_config = ConfigDict(from_attributes=True)

    start: str = Field(description="Local start time, `HH:MM`, in the project's time zone.")
    duration_minutes: int


class MeetingSchedulePublic(BaseModel):
    """When a project's ceremonies happen, and whether a calendar feed token is set."""

    model_config = ConfigDict(from_attributes=True)

    planning: MeetingSlotPublic
    standup: MeetingSlotPublic
    review: MeetingSlotPublic
    retro: MeetingSlotPublic
    time_zone: str = Field(description="The project's time zone the times are local to.")
    feed_token_prefix: str | None = Field(
        description="The first characters of the calendar feed's token; null until one is made."
    )
    feed_token_created_at: datetime | None
    version: int = Field(description="Send it as If-Match when replacing the schedule.")


class CalendarTokenPublic(BaseModel):
    """A new calendar feed token: shown once, never again (only its hash is kept)."""

    model_config = ConfigDict(from_attributes=True)

    token: str = Field(description="The secret: anyone with the URL can read the feed.")
    url: str = Field(description="The feed's full URL with the token, for a calendar client.")
    prefix: str = Field(description="The token's first characters, to tell tokens apart.")
    created_at: datetime
