"""The iCalendar document of a project's ceremonies, built with `icalendar`."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from icalendar import Calendar, Event

from app.domain.kernel.calendar import weekday_numbers, working_dates, zone
from app.domain.meetings.models import MeetingSchedule
from app.domain.projects.models import Project
from app.domain.sprints.models import Sprint

PRODID = "-//Timebox//Ceremonies//EN"
# Rendered documents kept per process, by everything they are made from (~100 kB for a year).
_CACHED_FEEDS = 64


@dataclass(frozen=True)
class FeedSprint:
    """What the feed shows of a sprint (hashable: the cache key holds it)."""

    id: int
    name: str
    goal: str
    start_date: date
    end_date: date
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class FeedSchedule:
    """What the feed shows of the schedule: (time, minutes) per meeting, version, stamp."""

    slots: tuple[tuple[str, time, int], ...]
    version: int
    updated_at: datetime


def _event(
    uid: str,
    summary: str,
    description: str,
    day: date,
    at: time,
    minutes: int,
    stamp: datetime,
    sequence: int,
    time_zone: str,
) -> Event:
    start = datetime.combine(day, at, tzinfo=zone(time_zone))
    event = Event()
    event.add("uid", uid)
    event.add("dtstamp", stamp)
    event.add("sequence", sequence)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=minutes))
    event.add("summary", summary)
    if description:
        event.add("description", description)
    return event


def render(
    project: Project,
    schedule: MeetingSchedule,
    sprints: Sequence[Sprint],
    closed_at: datetime | None = None,
) -> bytes:
    """Every ceremony of these sprints: planning on the first day, a stand-up on every other
    working day, review and retro on the last day; times local to the project's zone.

    `closed_at`: the project closed then, so the meetings from that moment on are left out.
    """
    # icalendar takes ~0.5 ms an event; an unchanged feed (what calendar clients poll) comes
    # from the cache, whose key is every value the document is made from.
    slots = tuple(
        (meeting, getattr(schedule, f"{meeting}_time"), getattr(schedule, f"{meeting}_minutes"))
        for meeting in ("planning", "standup", "review", "retro")
    )
    return _render(
        project.key,
        project.time_zone,
        tuple(sorted(weekday_numbers(project.working_days))),
        FeedSchedule(slots, schedule.version, schedule.updated_at),
        tuple(
            FeedSprint(s.id or 0, s.name, s.goal, s.start_date, s.end_date, s.version, s.updated_at)
            for s in sprints
            if s.start_date is not None and s.end_date is not None
        ),
        closed_at,
    )


_LABELS = {"planning": "planning", "standup": "stand-up", "review": "review", "retro": "retro"}


@lru_cache(maxsize=_CACHED_FEEDS)
def _render(
    key: str,
    time_zone: str,
    working: tuple[int, ...],
    schedule: FeedSchedule,
    sprints: tuple[FeedSprint, ...],
    closed_at: datetime | None,
) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{key} ceremonies")
    calendar.add("x-wr-timezone", time_zone)
    slots = {meeting: (at, minutes) for meeting, at, minutes in schedule.slots}
    for sprint in sprints:
        # Stable per sprint and meeting (per day for stand-ups): a client updates the event
        # in place when a time or a goal changes, rather than adding a copy.
        uid = f"{key}-sprint-{sprint.id}"
        # Deterministic, so an unchanged feed is byte for byte the same (and answers 304).
        stamp = max(sprint.updated_at, schedule.updated_at)
        sequence = sprint.version + schedule.version
        name = f"{key} {sprint.name}"
        goal = f"Sprint goal: {sprint.goal}" if sprint.goal else ""
        meetings = [("planning", sprint.start_date, "")]
        meetings += [
            ("standup", day, f"-{day:%Y%m%d}")
            for day in working_dates(
                sprint.start_date + timedelta(days=1), sprint.end_date, working
            )
        ]
        meetings += [("review", sprint.end_date, ""), ("retro", sprint.end_date, "")]
        for meeting, day, suffix in meetings:
            at, minutes = slots[meeting]
            if closed_at is not None and datetime.combine(day, at, zone(time_zone)) >= closed_at:
                continue  # a closed project holds no more ceremonies
            calendar.add_component(
                _event(
                    f"{uid}-{meeting}{suffix}@timebox",
                    f"{name} {_LABELS[meeting]}",
                    goal,
                    day,
                    at,
                    minutes,
                    stamp,
                    sequence,
                    time_zone,
                )
            )
    calendar.add_missing_timezones()
    return bytes(calendar.to_ical())
