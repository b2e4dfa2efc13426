"""A project's ceremony schedule and its calendar feed token."""

from datetime import datetime, time
from typing import Any

from sqlalchemy import CheckConstraint, Column, Index, String, Time, text
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    fk_field,
    timestamp_field,
    updated_at_field,
    version_field,
)

# The defaults a project starts with: planning and the daily stand-up in the morning, review
# and retro in the afternoon of the last day.
DEFAULT_TIMES: dict[str, tuple[time, int]] = {
    "planning": (time(10, 0), 120),
    "standup": (time(9, 30), 15),
    "review": (time(14, 0), 60),
    "retro": (time(15, 30), 60),
}
MEETINGS = tuple(DEFAULT_TIMES)


def _time_column(meeting: str) -> Any:
    return Field(
        default=DEFAULT_TIMES[meeting][0],
        sa_column=Column(
            Time, nullable=False, server_default=DEFAULT_TIMES[meeting][0].isoformat()
        ),
    )


def _minutes_column(meeting: str) -> Any:
    return Field(
        default=DEFAULT_TIMES[meeting][1],
        sa_column_kwargs={"server_default": str(DEFAULT_TIMES[meeting][1])},
    )


class MeetingSchedule(SQLModel, table=True):
    """When a project's ceremonies happen (local times in its zone); absent means defaults."""

    __tablename__ = "meeting_schedules"
    __table_args__ = (
        CheckConstraint("planning_minutes BETWEEN 5 AND 480", name="planning_minutes_range"),
        CheckConstraint("standup_minutes BETWEEN 5 AND 480", name="standup_minutes_range"),
        CheckConstraint("review_minutes BETWEEN 5 AND 480", name="review_minutes_range"),
        CheckConstraint("retro_minutes BETWEEN 5 AND 480", name="retro_minutes_range"),
        # The feed is found by its token's hash alone, in one indexed lookup.
        Index(
            "uq_meeting_schedules_feed_token_hash",
            "feed_token_hash",
            unique=True,
            postgresql_where=text("feed_token_hash IS NOT NULL"),
        ),
    )

    project_id: int = fk_field("projects.id", primary_key=True)
    planning_time: time = _time_column("planning")
    planning_minutes: int = _minutes_column("planning")
    standup_time: time = _time_column("standup")
    standup_minutes: int = _minutes_column("standup")
    review_time: time = _time_column("review")
    review_minutes: int = _minutes_column("review")
    retro_time: time = _time_column("retro")
    retro_minutes: int = _minutes_column("retro")
    # SHA-256 of the calendar feed's token (users' hashing helper); the token is never stored.
    feed_token_hash: str | None = Field(default=None, sa_type=String(64))
    feed_token_prefix: str | None = Field(default=None, sa_type=String(16))
    feed_token_created_at: datetime | None = timestamp_field()
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
