"""The working-day calendar: pure functions over dates, sets of working weekdays and zones.

Working weekdays are numbers as `date.weekday()` gives them (Monday = 0). A project stores its
working days as `Weekday` codes (`mon` … `sun`); `weekday_numbers` turns those into numbers.
Time zones are IANA names or `ZoneInfo`s; `zone` turns either into a `ZoneInfo`.
"""

from collections.abc import Collection, Iterable
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Weekday(StrEnum):
    """A day of the week."""

    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"


# The week, Monday first: a day's index is its weekday number.
WEEK_ORDER: tuple[Weekday, ...] = tuple(Weekday)


def weekday_numbers(codes: Iterable[str]) -> frozenset[int]:
    """Weekday codes (`mon` … `sun`) as weekday numbers (Monday = 0)."""
    return frozenset(WEEK_ORDER.index(code) for code in codes)


def is_working_day(day: date, working_weekdays: Collection[int]) -> bool:
    """Whether a date falls on one of the working weekdays."""
    return day.weekday() in working_weekdays


def dates(start: date, end: date) -> list[date]:
    """Every date from start to end, inclusive (none when end is before start)."""
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def working_dates(start: date, end: date, working_weekdays: Collection[int]) -> list[date]:
    """The dates from start to end (inclusive) that fall on a working weekday."""
    return [day for day in dates(start, end) if is_working_day(day, working_weekdays)]


def next_slot(
    after: date | None, today: date, length_days: int, working_weekdays: Collection[int]
) -> tuple[date, date]:
    """The dates of the next sprint: from the first working day after `after` (or from today)
    for `length_days` days, ending on a working day."""
    start = after + timedelta(days=1) if after is not None else today
    while not is_working_day(start, working_weekdays):
        start += timedelta(days=1)
    end = start + timedelta(days=length_days - 1)
    while end > start and not is_working_day(end, working_weekdays):
        end -= timedelta(days=1)
    return start, end


def zone(time_zone: str | ZoneInfo) -> ZoneInfo:
    """A time zone given by IANA name (or already as a `ZoneInfo`)."""
    return time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)


def date_at(moment: datetime, time_zone: str | ZoneInfo) -> date:
    """The calendar date a moment falls on in the given IANA time zone."""
    return moment.astimezone(zone(time_zone)).date()


def start_of_day(day: date, time_zone: str | ZoneInfo) -> datetime:
    """The first instant of `day` in the given IANA time zone (its local midnight)."""
    return datetime.combine(day, time(0), tzinfo=zone(time_zone))


def end_of_day(day: date, time_zone: str | ZoneInfo) -> datetime:
    """The first instant after `day` in the given IANA time zone (the next local midnight)."""
    return start_of_day(day + timedelta(days=1), time_zone)
