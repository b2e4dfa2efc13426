"""Burn charts as a pure function: a sprint worked by hand, a time-zone boundary, invariants."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from app.domain.kernel import calendar
from app.domain.metrics.burndown import ItemState, Unit, burn_series
from app.domain.metrics.scope import LoggedChange

SPRINT = 7
TODO, DOING, DONE = 1, 2, 3
MON_FRI = {0, 1, 2, 3, 4}
START, END = date(2026, 3, 2), date(2026, 3, 13)  # Mon to Fri: 10 working days


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


def change(
    event_id: int, when: datetime, item: int, field: str | None, old: object, new: object
) -> LoggedChange:
    return LoggedChange(event_id, when, 1, item, item, field, old, new)


# Per day: day of month, remaining, done, done outside, scope, ideal, completed, scope change.
Row = tuple[int, float, float, float, float, float, float, float]


def run(changes: list[LoggedChange], unit: Unit = Unit.POINTS, zone: str = "UTC") -> list[Row]:
    series = burn_series(
        sprint_number=SPRINT,
        days=calendar.dates(START, END),
        working_weekdays=MON_FRI,
        sprint_start=START,
        sprint_end=END,
        time_zone=ZoneInfo(zone),
        committed={1, 2, 3},
        at_start={
            1: ItemState(3.0, TODO),
            2: ItemState(5.0, TODO),
            3: ItemState(2.0, DONE),  # already done when the sprint started
            4: ItemState(8.0, TODO),
        },
        changes=changes,
        done_statuses={DONE},
        unit=unit,
        committed_value=10.0 if unit == Unit.POINTS else 3.0,
    )
    return [
        (
            d.day.day,
            d.totals.remaining,
            d.totals.done,
            d.totals.done_outside,
            d.totals.scope,
            round(d.ideal, 6),
            d.completed,
            d.scope_change,
        )
        for d in series.days
    ]


SCENARIO = [
    change(1, at(3), 1, "status", TODO, DONE),  # Tue: item 1 finished
    change(2, at(4), 2, "points", 5.0, 3.0),  # Wed: lowering an estimate is not progress
    change(3, at(7), 4, "sprint", None, SPRINT),  # Sat: item 4 joins, shows on Monday
    change(4, at(9), 2, "status", TODO, DONE),  # Mon: item 2 finished
    change(5, at(10), 1, "status", DONE, DOING),  # Tue: item 1 reopened
    change(6, at(11), 3, "sprint", SPRINT, None),  # Wed: item 3 removed
]


def test_a_sprint_by_hand_in_points() -> None:
    # (day, remaining, done, done outside, scope, ideal, completed that day, scope change)
    assert run(SCENARIO) == [
        (2, 8, 0, 2, 10, 9, 0, 0),
        (3, 5, 3, 2, 10, 8, 3, 0),
        (4, 3, 3, 2, 8, 7, 0, -2),
        (5, 3, 3, 2, 8, 6, 0, 0),
        (6, 3, 3, 2, 8, 5, 0, 0),
        (7, 3, 3, 2, 8, 5, 0, 0),  # Saturday repeats Friday
        (8, 3, 3, 2, 8, 5, 0, 0),
        (9, 8, 6, 2, 16, 4, 3, 8),  # the weekend's join and Monday's finish
        (10, 11, 3, 2, 16, 3, -3, 0),
        (11, 11, 3, 0, 14, 2, 0, -2),
        (12, 11, 3, 0, 14, 1, 0, 0),
        (13, 11, 3, 0, 14, 0, 0, 0),
    ]


def test_a_sprint_by_hand_in_items() -> None:
    rows = run(SCENARIO, Unit.ITEMS)
    assert [(r[0], r[1], r[2], r[3], r[4]) for r in rows] == [
        (2, 2, 0, 1, 3),
        (3, 1, 1, 1, 3),
        (4, 1, 1, 1, 3),
        (5, 1, 1, 1, 3),
        (6, 1, 1, 1, 3),
        (7, 1, 1, 1, 3),
        (8, 1, 1, 1, 3),
        (9, 1, 2, 1, 4),
        (10, 2, 1, 1, 4),
        (11, 2, 1, 0, 3),
        (12, 2, 1, 0, 3),
        (13, 2, 1, 0, 3),
    ]
    assert rows[0][5] == 2.7  # 3 committed items, one working day of ten gone


def test_days_end_at_midnight_in_the_project_time_zone() -> None:
    # 23:30 UTC on Tuesday is 00:30 on Wednesday in Berlin.
    late = [change(1, datetime(2026, 3, 3, 23, 30, tzinfo=UTC), 1, "status", TODO, DONE)]
    utc = run(late)
    berlin = run(late, zone="Europe/Berlin")
    assert (utc[1][2], utc[2][2]) == (3, 3)
    assert (berlin[1][2], berlin[2][2]) == (0, 3)


steps = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=4),
        st.sampled_from(["join", "leave", "points", "status", "delete"]),
        st.sampled_from([None, 1.0, 2.0, 5.0]),
        st.sampled_from([TODO, DOING, DONE]),
        st.integers(min_value=2, max_value=13),
    ),
    max_size=40,
)


@given(steps)
def test_remaining_is_never_negative_and_the_parts_add_up(
    plan: list[tuple[int, str, float | None, int, int]],
) -> None:
    points = {1: 3.0, 2: 5.0, 3: 2.0, 4: 8.0}
    status = {1: TODO, 2: TODO, 3: DONE, 4: TODO}
    members, gone = {1, 2, 3}, set[int]()
    log: list[LoggedChange] = []
    for item, action, value, new_status, day in sorted(plan, key=lambda step: step[4]):
        when, event_id = at(day), len(log) + 1
        if item in gone:
            continue
        if action == "join" and item not in members:
            members.add(item)
            log.append(change(event_id, when, item, "sprint", None, SPRINT))
        elif action == "leave" and item in members:
            members.discard(item)
            log.append(change(event_id, when, item, "sprint", SPRINT, None))
        elif action == "points":
            log.append(change(event_id, when, item, "points", points[item], value))
            points[item] = value or 0.0
        elif action == "status" and new_status != status[item]:
            log.append(change(event_id, when, item, "status", status[item], new_status))
            status[item] = new_status
        elif action == "delete":
            members.discard(item)
            gone.add(item)
            log.append(change(event_id, when, item, None, {"points": points[item]}, None))
    rows = run(log)
    for _, remaining, done, outside, scope, ideal, _, _ in rows:
        assert remaining >= 0 and done >= 0 and outside >= 0 and ideal >= 0
        assert abs(remaining + done + outside - scope) < 1e-9
    final = rows[-1]
    assert abs(final[4] - sum(points[i] or 0.0 for i in members)) < 1e-9


def test_a_change_on_a_closing_weekend_shows_on_the_last_day() -> None:
    # Mon 2 to Sun 8 March; the only change happens on Saturday, and no working day follows.
    days = calendar.dates(date(2026, 3, 2), date(2026, 3, 8))
    series = burn_series(
        sprint_number=SPRINT,
        days=days,
        working_weekdays=MON_FRI,
        sprint_start=days[0],
        sprint_end=days[-1],
        time_zone=ZoneInfo("UTC"),
        committed={1},
        at_start={1: ItemState(5.0, TODO)},
        changes=[change(1, at(7), 1, "status", TODO, DONE)],
        done_statuses={DONE},
        unit=Unit.POINTS,
        committed_value=5.0,
    )
    assert [d.totals.done for d in series.days] == [0, 0, 0, 0, 0, 0, 5]
