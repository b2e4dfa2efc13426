"""The working-day calendar as pure functions: weekday codes, the next sprint slot, day ends."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel import calendar

MON_FRI = calendar.weekday_numbers(["mon", "tue", "wed", "thu", "fri"])


def test_weekday_codes_are_date_weekday_numbers() -> None:
    assert frozenset(range(5)) == MON_FRI
    assert calendar.weekday_numbers(["sun", "sat"]) == {5, 6}


def test_the_next_slot_starts_on_the_first_working_day_and_ends_on_one() -> None:
    # After Fri 14 March 2025: Mon 17 March + 13 days is Sun 30 March, back to Fri 28 March.
    assert calendar.next_slot(date(2025, 3, 14), date(2025, 1, 1), 14, MON_FRI) == (
        date(2025, 3, 17),
        date(2025, 3, 28),
    )
    # No earlier sprint: from today (a Saturday, so Monday).
    assert calendar.next_slot(None, date(2025, 3, 8), 14, MON_FRI) == (
        date(2025, 3, 10),
        date(2025, 3, 21),
    )
    # Weekends only.
    assert calendar.next_slot(None, date(2025, 3, 10), 7, {5, 6}) == (
        date(2025, 3, 15),
        date(2025, 3, 16),
    )


@given(
    after=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)),
    length=st.integers(min_value=1, max_value=60),
    weekdays=st.frozensets(st.integers(min_value=0, max_value=6), min_size=1),
)
def test_a_slot_lies_after_its_predecessor_within_its_length(
    after: date, length: int, weekdays: frozenset[int]
) -> None:
    start, end = calendar.next_slot(after, after, length, weekdays)
    assert after < start <= end
    assert calendar.is_working_day(start, weekdays) and calendar.is_working_day(end, weekdays)
    assert (end - start).days < length


def test_dates_and_working_dates() -> None:
    assert calendar.dates(date(2025, 3, 7), date(2025, 3, 10)) == [
        date(2025, 3, 7),
        date(2025, 3, 8),
        date(2025, 3, 9),
        date(2025, 3, 10),
    ]
    assert calendar.dates(date(2025, 3, 10), date(2025, 3, 7)) == []
    assert calendar.working_dates(date(2025, 3, 7), date(2025, 3, 10), MON_FRI) == [
        date(2025, 3, 7),
        date(2025, 3, 10),
    ]


def test_a_day_ends_at_the_next_local_midnight_across_dst() -> None:
    # Berlin moves to summer time on 31 March 2024: that day has 23 hours.
    end = calendar.end_of_day(date(2024, 3, 30), "Europe/Berlin")
    assert end.astimezone(UTC) == datetime(2024, 3, 30, 23, 0, tzinfo=UTC)
    assert calendar.end_of_day(date(2024, 3, 31), ZoneInfo("Europe/Berlin")).astimezone(
        UTC
    ) == datetime(2024, 3, 31, 22, 0, tzinfo=UTC)


def test_date_at_follows_the_zone_across_the_end_of_summer_time() -> None:
    # Berlin left summer time at 01:00 UTC on 25 October 2026: 00:30 UTC is 02:30 CEST and
    # 22:30 UTC is 23:30 CET, both on the 25th.
    assert calendar.date_at(datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 10, 25
    )
    assert calendar.date_at(datetime(2026, 10, 25, 22, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 10, 25
    )
    assert calendar.date_at(datetime(2026, 10, 25, 23, 30, tzinfo=UTC), "Europe/Berlin") == date(
        2026, 10, 26
    )
