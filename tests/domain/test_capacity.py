"""Capacity in person-days and the suggested commitment, as pure functions."""

import math
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel.calendar import working_dates
from app.domain.metrics.capacity import (
    MemberAvailability,
    PastSprint,
    format_number,
    person_days,
    sprint_capacity,
    suggest_commitment,
)

MON_FRI = frozenset(range(5))
# Mon 30 Nov to Fri 11 Dec 2026: two full weeks, 10 working days Mon to Fri.
START, END = date(2026, 11, 30), date(2026, 12, 11)


def test_working_dates_skip_non_working_days() -> None:
    found = working_dates(START, END, MON_FRI)
    assert len(found) == 10
    assert date(2026, 12, 5) not in found  # a Saturday
    assert found[0] == START and found[-1] == END
    # Weekends only: Sat 5, Sun 6 December.
    assert working_dates(START, END, {5, 6}) == [date(2026, 12, 5), date(2026, 12, 6)]
    assert working_dates(END, START, MON_FRI) == []
    assert working_dates(START, START, MON_FRI) == [START]


def test_person_days_formula() -> None:
    assert person_days(10, 1, 100) == 9
    assert person_days(10, 0, 80) == 8
    assert person_days(10, 3, 50) == 3.5
    assert person_days(10, 0, 0) == 0
    assert person_days(2, 5, 100) == 0  # never negative


def test_sprint_capacity_per_member_and_in_total() -> None:
    members = [
        # Thu 3 Dec counts; Sat 5 Dec is no working day.
        MemberAvailability(1, 100, (date(2026, 12, 3), date(2026, 12, 5))),
        MemberAvailability(2, 80),
        # Tue 1, Mon 7, Tue 8 Dec all count: (10 - 3) x 0.5 = 3.5.
        MemberAvailability(3, 50, (date(2026, 12, 7), date(2026, 12, 8), date(2026, 12, 1))),
        # Outside the range (a sprint re-dated after capacity was saved): does not count.
        MemberAvailability(4, 100, (date(2026, 12, 14),)),
    ]
    figures = sprint_capacity(START, END, MON_FRI, members)
    assert figures.working_days == 10
    assert [(m.user_id, m.days_off_counted, m.person_days) for m in figures.members] == [
        (1, 1, 9.0),
        (2, 0, 8.0),
        (3, 3, 3.5),
        (4, 0, 10.0),
    ]
    assert figures.total_person_days == 30.5
    empty = sprint_capacity(START, END, MON_FRI, [])
    assert (empty.working_days, empty.members, empty.total_person_days) == (10, (), 0)


def test_no_suggestion_with_fewer_than_three_sprints() -> None:
    two = [PastSprint(5, 20, 10), PastSprint(4, 18, 9)]
    suggestion = suggest_commitment(two, 20)
    assert (suggestion.points, suggestion.points_per_person_day) == (None, None)
    assert suggestion.sprints_used == ()
    assert suggestion.explanation == (
        "A suggestion needs at least 3 completed earlier sprints with recorded capacity; "
        "there are 2."
    )
    assert suggest_commitment(two[:1], 20).explanation.endswith("there is 1.")
    # A sprint without person-days has no rate: it does not count towards the three.
    assert suggest_commitment([*two, PastSprint(3, 5, 0)], 20).points is None


def test_suggestion_from_three_sprints() -> None:
    history = [PastSprint(9, 30, 20), PastSprint(8, 24, 16), PastSprint(7, 0, 4)]
    suggestion = suggest_commitment(history, 20)
    # (30 + 24 + 0) / (20 + 16 + 4) = 54 / 40 = 1.35 points per person-day; x 20 = 27.
    assert suggestion.points_per_person_day == 1.35
    assert suggestion.points is not None and math.isclose(suggestion.points, 27)
    assert suggestion.sprints_used == tuple(history)
    assert suggestion.explanation == (
        "27 points: sprints 9, 8, 7 completed 54 points in 40 person-days, "
        "1.35 points per person-day, × this sprint's 20 person-days."
    )


def test_only_the_five_latest_sprints_with_person_days_count() -> None:
    history = [
        PastSprint(8, 10, 10),
        PastSprint(7, 99, 0),  # no person-days: skipped
        PastSprint(6, 20, 10),
        PastSprint(5, 10, 10),
        PastSprint(4, 20, 10),
        PastSprint(3, 10, 10),
        PastSprint(2, 1000, 10),  # the sixth: too old
    ]
    suggestion = suggest_commitment(history, 8)
    # (10 + 20 + 10 + 20 + 10) / 50 = 1.4 points per person-day; x 8 = 11.2.
    assert [past.number for past in suggestion.sprints_used] == [8, 6, 5, 4, 3]
    assert suggestion.points_per_person_day is not None
    assert math.isclose(suggestion.points_per_person_day, 1.4)
    assert suggestion.points is not None and math.isclose(suggestion.points, 11.2)


def test_no_points_for_a_sprint_without_person_days() -> None:
    history = [PastSprint(3, 12, 8), PastSprint(2, 12, 8), PastSprint(1, 12, 8)]
    suggestion = suggest_commitment(history, 0)
    assert suggestion.points is None
    assert suggestion.points_per_person_day == 1.5
    assert suggestion.explanation == (
        "No suggestion: this sprint has no person-days (sprints 3, 2, 1 completed 36 points "
        "in 24 person-days, 1.5 points per person-day)."
    )


def test_format_number() -> None:
    assert [format_number(v) for v in (27.0, 1.35, 0.125, 2 / 3, 0.0, 100.5)] == [
        "27",
        "1.35",
        "0.12",
        "0.67",
        "0",
        "100.5",
    ]


members_strategy = st.lists(
    st.builds(
        MemberAvailability,
        user_id=st.integers(min_value=1, max_value=10_000),
        availability=st.integers(min_value=0, max_value=100),
        days_off=st.lists(
            st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 31)), max_size=30
        ).map(tuple),
    ),
    max_size=12,
)


@given(
    start=st.dates(min_value=date(2026, 1, 1), max_value=date(2026, 3, 1)),
    length=st.integers(min_value=0, max_value=40),
    weekdays=st.frozensets(st.integers(min_value=0, max_value=6)),
    members=members_strategy,
)
def test_person_days_are_bounded(
    start: date, length: int, weekdays: frozenset[int], members: list[MemberAvailability]
) -> None:
    figures = sprint_capacity(start, start + timedelta(days=length), weekdays, members)
    assert 0 <= figures.working_days <= length + 1
    for member in figures.members:
        assert 0 <= member.days_off_counted <= figures.working_days
        assert 0 <= member.person_days <= figures.working_days
    assert 0 <= figures.total_person_days <= figures.working_days * len(members)
    assert math.isclose(
        figures.total_person_days, sum(m.person_days for m in figures.members), abs_tol=1e-9
    )


@given(
    history=st.lists(
        st.builds(
            PastSprint,
            number=st.integers(min_value=1, max_value=1000),
            completed_points=st.floats(min_value=0, max_value=500, allow_nan=False),
            person_days=st.floats(min_value=0.01, max_value=500, allow_nan=False),
        ),
        min_size=3,
        max_size=8,
    ),
    person_days_now=st.floats(min_value=0.01, max_value=500, allow_nan=False),
    factor=st.floats(min_value=0.1, max_value=10, allow_nan=False),
)
def test_the_suggestion_scales_linearly_with_person_days(
    history: list[PastSprint], person_days_now: float, factor: float
) -> None:
    base = suggest_commitment(history, person_days_now)
    scaled = suggest_commitment(history, person_days_now * factor)
    assert base.points is not None and scaled.points is not None
    assert math.isclose(scaled.points, base.points * factor, rel_tol=1e-9, abs_tol=1e-9)
    assert base.points_per_person_day == scaled.points_per_person_day
    assert len(base.sprints_used) == min(len(history), 5)
    # The rate lies between the lowest and highest rate of the sprints it was taken from.
    rates = [past.completed_points / past.person_days for past in base.sprints_used]
    assert base.points_per_person_day is not None
    slack = 1e-9 * max(rates) + 1e-9
    assert min(rates) - slack <= base.points_per_person_day <= max(rates) + slack
