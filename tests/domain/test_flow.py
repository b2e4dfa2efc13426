"""Flow metrics as pure functions: a week by hand across a DST change, and invariants."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.flow.service import resolve_range
from app.domain.kernel.errors import InvalidInput
from app.domain.metrics.flow import (
    CATEGORIES,
    ChangeKind,
    FlowStatus,
    ItemChange,
    day_starts,
    flow,
    from_micros,
    percentile,
    summarize,
    to_micros,
)

BERLIN = ZoneInfo("Europe/Berlin")
TODO, DOING, REVIEW, DONE, GONE = 1, 2, 3, 4, 99
STATUSES = [
    FlowStatus(TODO, "To Do", "todo"),
    FlowStatus(DOING, "In Progress", "in_progress"),
    FlowStatus(REVIEW, "Review", "in_progress"),
    FlowStatus(DONE, "Done", "done"),
]
# Wed 27 March to Tue 2 April 2024. Berlin moves from CET (UTC+1) to CEST (UTC+2) on Sunday
# 31 March, so local days end at 23:00 UTC up to 30 March and at 22:00 UTC from 31 March on.
FIRST, LAST = date(2024, 3, 27), date(2024, 4, 2)


def at(text: str) -> datetime:
    """A UTC instant from `MM-DD HH:MM` in 2024."""
    return datetime.strptime(f"2024-{text}", "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def created(when: str, number: int, status: int, item_type: str = "story") -> ItemChange:
    return ItemChange(to_micros(at(when)), number, number, ChangeKind.CREATED, status, item_type)


def moved(when: str, number: int, status: int) -> ItemChange:
    return ItemChange(to_micros(at(when)), number, number, ChangeKind.STATUS, status_id=status)


def retyped(when: str, number: int, item_type: str) -> ItemChange:
    return ItemChange(to_micros(at(when)), number, number, ChangeKind.TYPE, item_type=item_type)


def deleted(when: str, number: int) -> ItemChange:
    return ItemChange(to_micros(at(when)), number, number, ChangeKind.DELETED)


# Berlin local times of the events near midnight are noted beside them.
SCENARIO = [
    created("03-10 10:00", 7, TODO),
    created("03-20 10:00", 11, GONE),  # in a status deleted since
    created("03-20 10:00", 13, TODO),
    moved("03-20 10:00", 7, DONE),  # done before the range
    created("03-20 23:15", 1, TODO),
    created("03-25 09:00", 4, TODO),
    created("03-26 10:00", 5, TODO, "epic"),  # left out everywhere
    created("03-26 12:00", 2, TODO),
    created("03-27 06:00", 3, TODO),
    moved("03-27 09:00", 4, DOING),
    created("03-27 12:00", 8, TODO),
    moved("03-27 12:00", 13, DOING),
    moved("03-27 22:30", 1, DOING),  # 23:30 on the 27th
    moved("03-28 06:00", 3, DONE),  # straight from to do: no cycle time
    created("03-28 10:00", 6, TODO),
    moved("03-28 10:00", 5, DOING),
    moved("03-28 12:00", 13, DONE),
    moved("03-28 23:30", 1, REVIEW),  # 00:30 on the 29th
    moved("03-29 09:00", 4, DONE),  # a first finish
    moved("03-29 10:00", 6, DOING),
    moved("03-29 12:00", 2, DOING),
    retyped("03-29 12:00", 8, "epic"),  # leaves the counts
    moved("03-30 09:00", 4, DOING),  # reopened
    deleted("03-30 10:00", 6),
    moved("03-30 10:00", 11, TODO),
    moved("03-30 23:15", 1, DONE),  # 00:15 on the 31st
    moved("03-31 22:30", 4, DONE),  # 00:30 on 1 April (CEST); still 31 March in UTC
    moved("04-01 10:00", 5, DONE),
    moved("04-01 12:00", 2, DONE),
    deleted("04-02 10:00", 13),  # finished in the range, gone at its end
    created("04-02 21:30", 9, TODO),  # 23:30 on the last day
    created("04-02 22:30", 10, TODO),  # 00:30 on 3 April: after the range
]


def test_a_week_by_hand_in_berlin() -> None:
    report = flow(STATUSES, SCENARIO, FIRST, LAST, BERLIN)
    # (to do, in progress, review, done, other) at the end of each local day.
    assert [(day.day, *day.counts, day.other) for day in report.days] == [
        (date(2024, 3, 27), 3, 3, 0, 1, 1),
        (date(2024, 3, 28), 3, 2, 0, 3, 1),
        (date(2024, 3, 29), 0, 2, 1, 4, 1),
        (date(2024, 3, 30), 1, 2, 1, 3, 0),
        (date(2024, 3, 31), 1, 2, 0, 4, 0),
        (date(2024, 4, 1), 1, 0, 0, 6, 0),
        (date(2024, 4, 2), 2, 0, 0, 5, 0),
    ]
    assert report.days[2].categories == {"todo": 0, "in_progress": 3, "done": 4}
    assert [day.wip for day in report.days] == [3, 2, 3, 3, 2, 0, 0]
    # Week of 25 March (27-31 in range): 3, 13, 4's first finish, 1; week of 1 April: 4, 2.
    assert [(w.week_start, w.days_in_range, w.items) for w in report.weeks] == [
        (date(2024, 3, 25), 5, 4),
        (date(2024, 4, 1), 2, 2),
    ]
    # 4: first in progress 27 March 09:00, latest finish 31 March 22:30 -> 4 d 13.5 h.
    assert [(i.number, i.finished_at, i.cycle_days, i.lead_days) for i in report.finished] == [
        (3, at("03-28 06:00"), None, 1.0),
        (1, at("03-30 23:15"), 3.03125, 10.0),
        (4, at("03-31 22:30"), 4.5625, 6.5625),
        (2, at("04-01 12:00"), 3.0, 6.0),
    ]
    assert report.straight_to_done == 1
    # Cycle [3.0, 3.03125, 4.5625]: ranks ⌈1.5⌉ = 2, ⌈2.55⌉ = 3, ⌈2.85⌉ = 3.
    cycle = report.cycle_time
    assert (cycle.count, cycle.p50, cycle.p85, cycle.p95) == (3, 3.03125, 4.5625, 4.5625)
    assert cycle.mean == pytest.approx(10.59375 / 3)
    # Lead [1, 6, 6.5625, 10]: ranks 2, ⌈3.4⌉ = 4, ⌈3.8⌉ = 4.
    lead = report.lead_time
    assert (lead.count, lead.p50, lead.p85, lead.p95, lead.mean) == (4, 6.0, 10.0, 10.0, 5.890625)


def test_the_time_zone_decides_the_day_and_week() -> None:
    report = flow(STATUSES, SCENARIO, FIRST, LAST, ZoneInfo("UTC"))
    # In UTC, 4's second finish (22:30 on 31 March) stays in the week of 25 March.
    assert [(w.week_start, w.items) for w in report.weeks] == [
        (date(2024, 3, 25), 5),
        (date(2024, 4, 1), 1),
    ]
    # And 1's move into review (23:30 on the 28th) counts on the 28th; 9 and 10 on 2 April.
    assert (report.days[1].counts[REVIEW - 1], report.days[-1].counts[TODO - 1]) == (1, 3)


def test_day_starts_follow_local_midnight_across_dst() -> None:
    starts = day_starts(date(2024, 3, 30), date(2024, 3, 31), BERLIN)
    assert starts == [at("03-29 23:00"), at("03-30 23:00"), at("03-31 22:00")]


def test_micros_round_trip() -> None:
    moment = datetime(2024, 3, 31, 1, 59, 59, 999_999, tzinfo=UTC)
    assert from_micros(to_micros(moment)) == moment
    assert to_micros(datetime(1970, 1, 2, tzinfo=BERLIN)) == 23 * 3600 * 1_000_000


def test_nearest_rank_percentiles() -> None:
    values = [float(v) for v in range(1, 21)]
    assert [percentile(values, p) for p in (50, 85, 95, 100)] == [10.0, 17.0, 19.0, 20.0]
    # Ten values: the 85th percentile is the 9th (⌈8.5⌉), not an interpolation.
    ten = [float(v) for v in range(10, 110, 10)]
    assert (percentile(ten, 50), percentile(ten, 85), percentile(ten, 95)) == (50.0, 90.0, 100.0)
    assert percentile([4.0], 50) == 4.0
    assert summarize([]).count == 0 and summarize([]).p50 is None
    with pytest.raises(ValueError):
        percentile([], 50)


TODAY = date(2026, 5, 20)


def test_range_defaults_and_clamping() -> None:
    assert resolve_range(None, None, TODAY) == (date(2026, 4, 21), TODAY)
    assert resolve_range(None, date(2026, 1, 31), TODAY) == (date(2026, 1, 2), date(2026, 1, 31))
    assert resolve_range(date(2026, 5, 1), None, TODAY) == (date(2026, 5, 1), TODAY)
    # A `to` in the future is clamped to today.
    assert resolve_range(date(2026, 5, 1), date(2026, 6, 30), TODAY) == (date(2026, 5, 1), TODAY)
    assert resolve_range(TODAY, TODAY, TODAY) == (TODAY, TODAY)
    assert resolve_range(date(2025, 5, 20), TODAY, TODAY) == (date(2025, 5, 20), TODAY)  # 366


@pytest.mark.parametrize(
    ("start", "end", "field", "code"),
    [
        (date(2026, 5, 2), date(2026, 5, 1), "query.from", "range_order"),
        (date(2026, 5, 21), None, "query.from", "range_order"),  # after today
        (date(2025, 5, 19), TODAY, "query.from", "range_too_long"),  # 367 days
        (date(1969, 12, 31), None, "query.from", "too_early"),
        (None, date(1, 1, 1), "query.to", "too_early"),
    ],
)
def test_range_errors_name_the_field(
    start: date | None, end: date | None, field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as raised:
        resolve_range(start, end, TODAY)
    assert raised.value.errors is not None
    assert [(e.field, e.type) for e in raised.value.errors] == [(field, code)]


# Property tests: random logs checked against a plain replay of each item up to each day's end.

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "Pacific/Auckland"]
START = datetime(2025, 3, 1, tzinfo=UTC)  # March/April: DST changes in the zones above


@dataclass(frozen=True)
class State:
    """One item at one moment: live, epic, status."""

    live: bool
    epic: bool
    status: int


def state_before(changes: list[ItemChange], item_id: int, end: datetime) -> State | None:
    """The item's state from its changes before `end` (None before its creation)."""
    state: State | None = None
    for change in changes:
        if change.item_id != item_id or from_micros(change.at) >= end:
            continue
        if change.kind == ChangeKind.CREATED:
            assert change.status_id is not None
            state = State(True, change.item_type == "epic", change.status_id)
        elif state is not None and state.live:
            if change.kind == ChangeKind.STATUS and change.status_id is not None:
                state = State(True, state.epic, change.status_id)
            elif change.kind == ChangeKind.TYPE:
                state = State(True, change.item_type == "epic", state.status)
            elif change.kind == ChangeKind.DELETED:
                state = State(False, state.epic, state.status)
    return state


@st.composite
def logs(draw: st.DrawFn) -> tuple[list[FlowStatus], list[ItemChange], date, date, ZoneInfo]:
    categories = draw(st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=5))
    statuses = [
        FlowStatus(index + 1, f"S{index + 1}", category)
        for index, category in enumerate(categories)
    ]
    # Status 0 stands for one deleted since: it has no category.
    status_ids = st.integers(min_value=0, max_value=len(statuses))
    changes: list[ItemChange] = []
    for item_id in range(1, draw(st.integers(min_value=0, max_value=8)) + 1):
        minute = draw(st.integers(min_value=0, max_value=30 * 24 * 60))
        item_type = draw(st.sampled_from(["story", "story", "bug", "epic"]))
        changes.append(
            ItemChange(
                to_micros(START + timedelta(minutes=minute)),
                item_id,
                item_id,
                ChangeKind.CREATED,
                draw(status_ids),
                item_type,
            )
        )
        steps = draw(
            st.lists(
                st.tuples(
                    st.integers(min_value=0, max_value=5 * 24 * 60),
                    st.sampled_from(["status"] * 6 + ["type", "delete"]),
                    status_ids,
                    st.sampled_from(["story", "epic"]),
                ),
                max_size=8,
            )
        )
        for gap, kind, status_id, new_type in steps:
            minute += gap
            when = to_micros(START + timedelta(minutes=minute))
            if kind == "status":
                changes.append(
                    ItemChange(when, item_id, item_id, ChangeKind.STATUS, status_id=status_id)
                )
            elif kind == "type":
                changes.append(ItemChange(when, item_id, item_id, ChangeKind.TYPE, None, new_type))
            else:
                changes.append(ItemChange(when, item_id, item_id, ChangeKind.DELETED))
                break
    changes.sort(key=lambda change: change.at)
    first = START.date() + timedelta(days=draw(st.integers(min_value=-3, max_value=40)))
    last = first + timedelta(days=draw(st.integers(min_value=0, max_value=30)))
    return statuses, changes, first, last, ZoneInfo(draw(st.sampled_from(ZONES)))


@given(logs())
def test_counts_match_a_plain_replay_of_each_day(
    log: tuple[list[FlowStatus], list[ItemChange], date, date, ZoneInfo],
) -> None:
    statuses, changes, first, last, zone = log
    report = flow(statuses, changes, first, last, zone)
    starts = day_starts(first, last, zone)
    category = {status.id: status.category for status in statuses}
    item_ids = {change.item_id for change in changes}
    assert len(report.days) == (last - first).days + 1
    for index, day in enumerate(report.days):
        assert day.day == first + timedelta(days=index)
        states = [state_before(changes, item_id, starts[index + 1]) for item_id in item_ids]
        counted = [s for s in states if s is not None and s.live and not s.epic]
        # Each day's counts sum to the live non-epic items of that day.
        assert sum(day.counts) + day.other == len(counted)
        assert sum(day.categories.values()) + day.other == len(counted)
        for status, count in zip(statuses, day.counts, strict=True):
            assert count == sum(1 for s in counted if s.status == status.id)
        for name in CATEGORIES:
            assert day.categories[name] == sum(1 for s in counted if category.get(s.status) == name)
        # WIP is the in-progress category's count.
        assert day.wip == day.categories["in_progress"]


@given(logs())
def test_throughput_counts_each_entry_into_done(
    log: tuple[list[FlowStatus], list[ItemChange], date, date, ZoneInfo],
) -> None:
    statuses, changes, first, last, zone = log
    report = flow(statuses, changes, first, last, zone)
    starts = day_starts(first, last, zone)
    done = {status.id for status in statuses if status.category == "done"}
    # Replayed event by event: several changes of one item may share an instant.
    status: dict[int, int] = {}
    epic: dict[int, bool] = {}
    finishes = 0
    for change in changes:
        item_id = change.item_id
        was_done = status.get(item_id) in done
        if change.kind == ChangeKind.CREATED:
            assert change.status_id is not None
            status[item_id], epic[item_id] = change.status_id, change.item_type == "epic"
        elif change.kind == ChangeKind.STATUS:
            assert change.status_id is not None
            status[item_id] = change.status_id
        elif change.kind == ChangeKind.TYPE:
            epic[item_id] = change.item_type == "epic"
        entered = change.kind in (ChangeKind.CREATED, ChangeKind.STATUS)
        in_range = starts[0] <= from_micros(change.at) < starts[-1]
        if entered and in_range and status[item_id] in done and not was_done:
            finishes += not epic[item_id]
    assert sum(week.items for week in report.weeks) == finishes
    assert sum(week.days_in_range for week in report.weeks) == (last - first).days + 1
    assert all(week.week_start.weekday() == 0 for week in report.weeks)


@given(logs())
def test_finished_items_are_done_at_the_end_and_times_are_ordered(
    log: tuple[list[FlowStatus], list[ItemChange], date, date, ZoneInfo],
) -> None:
    statuses, changes, first, last, zone = log
    report = flow(statuses, changes, first, last, zone)
    starts = day_starts(first, last, zone)
    for entry in report.finished:
        assert starts[0] <= entry.finished_at < starts[-1]
        # Cycle time never exceeds lead time.
        assert entry.cycle_days is None or 0 <= entry.cycle_days <= entry.lead_days
    # Every finished item is in the done category on the last day.
    assert len(report.finished) <= report.days[-1].categories["done"]
    assert report.lead_time.count == len(report.finished)
    assert report.cycle_time.count + report.straight_to_done == len(report.finished)


@given(st.lists(st.floats(min_value=0, max_value=1000), max_size=60))
def test_percentiles_are_monotonic(values: list[float]) -> None:
    summary = summarize(values)
    assert summary.count == len(values)
    if not values:
        return
    assert summary.p50 is not None and summary.p85 is not None and summary.p95 is not None
    assert summary.mean is not None
    assert min(values) <= summary.p50 <= summary.p85 <= summary.p95 <= max(values)
    # Nearest rank: each percentile is one of the values.
    assert {summary.p50, summary.p85, summary.p95} <= set(values)
    assert min(values) - 1e-9 <= summary.mean <= max(values) + 1e-9
