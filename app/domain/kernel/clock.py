"""The one clock: nothing else in Timebox reads the wall clock, so tests can pin time.

Tests move time with `time-machine`, which patches the standard library's clock underneath
these functions; the service, the demo, reports and forecasts all take "now" and "today" here.
"""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo


def now() -> datetime:
    """The current moment as an aware UTC datetime."""
    return datetime.now(UTC)


def today(time_zone: str | ZoneInfo) -> date:
    """The calendar date it is now in the given IANA time zone."""
    zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    return now().astimezone(zone).date()


def date_at(moment: datetime, time_zone: str | ZoneInfo) -> date:
    """The calendar date a moment falls on in the given IANA time zone."""
    zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
    return moment.astimezone(zone).date()
