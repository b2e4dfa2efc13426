"""The sprint report as a pure function: a small case by hand and invariants over random logs."""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from app.domain.metrics.report import ItemAtClose, ItemFacts, SprintReportData, sprint_report
from app.domain.metrics.scope import LoggedChange

WHEN = datetime(2026, 3, 2, tzinfo=UTC)
SPRINT = 4
TODO, DOING, DONE = 1, 2, 3


def change(event_id: int, item: int, field: str | None, old: object, new: object) -> LoggedChange:
    return LoggedChange(event_id, WHEN, 7, item, item, field, old, new)


def facts(*items: int) -> dict[int, ItemFacts]:
    return {item: ItemFacts(item, f"Item {item}", "story") for item in items}


def test_a_small_sprint_by_hand() -> None:
    committed = {1: 3.0, 2: 5.0, 3: None}
    changes = [
        change(10, 1, "status", TODO, DONE),  # 1 finished in the sprint
        change(11, 4, "sprint", None, SPRINT),  # 4 joins, already done
        change(12, 2, "points", 5.0, 2.0),  # lowering an estimate is a scope change
        change(13, 3, "sprint", SPRINT, None),  # 3 leaves
        change(14, 5, "sprint", None, SPRINT),  # 5 joins
        change(15, 5, "status", TODO, DONE),
        change(16, 5, "status", DONE, DOING),  # and is reopened
    ]
    at_close = {
        1: ItemAtClose(1, 3.0, "Done", True),
        2: ItemAtClose(2, 2.0, "To Do", False),
        4: ItemAtClose(4, 8.0, "Done", True),
        5: ItemAtClose(5, 1.0, "Doing", False),
    }
    report = sprint_report(
        SPRINT,
        committed,
        {1: 3.0, 2: 5.0, 3: None, 4: 8.0, 5: 1.0},
        changes,
        at_close,
        facts(1, 2, 3, 4, 5),
        {DONE},
    )
    assert (report.committed.items, report.committed.points) == (3, 8.0)
    assert [line.number for line in report.completed.lines] == [1]
    assert [line.number for line in report.completed_outside.lines] == [4]
    assert [line.number for line in report.not_completed.lines] == [2, 5]
    assert [(line.number, line.points_at_start) for line in report.removed.lines] == [(3, None)]
    assert (report.movement.added.items, report.movement.added.points) == (2, 9.0)
    assert (report.movement.removed.items, report.movement.re_estimated) == (1, -3.0)
    assert (report.scope.items, report.scope.points) == (4, 14.0)
    assert report.say_do == 0.375  # 3 / 8


@dataclass
class Model:
    """A sprint simulated step by step, writing the log a real sprint would write."""

    points: dict[int, float | None]
    status: dict[int, int]
    members: set[int]
    deleted: set[int] = field(default_factory=set)
    log: list[LoggedChange] = field(default_factory=list)

    def record(self, item: int, name: str | None, old: object, new: object) -> None:
        self.log.append(change(len(self.log) + 1, item, name, old, new))

    def step(self, item: int, action: str, value: float | None, status: int) -> None:
        if item in self.deleted:
            return
        if action == "join" and item not in self.members:
            self.members.add(item)
            self.record(item, "sprint", None, SPRINT)
        elif action == "leave" and item in self.members:
            self.members.discard(item)
            self.record(item, "sprint", SPRINT, None)
        elif action == "points" and value != self.points[item]:
            self.record(item, "points", self.points[item], value)
            self.points[item] = value
        elif action == "status" and status != self.status[item]:
            self.record(item, "status", self.status[item], status)
            self.status[item] = status
        elif action == "delete":
            self.members.discard(item)
            self.deleted.add(item)
            self.record(item, None, {"points": self.points[item]}, None)


ITEMS = range(1, 7)
estimates = st.sampled_from([None, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0])
statuses = st.sampled_from([TODO, DOING, DONE])


@given(
    st.lists(estimates, min_size=6, max_size=6),
    st.lists(statuses, min_size=6, max_size=6),
    st.sets(st.sampled_from(list(ITEMS))),
    st.lists(
        st.tuples(
            st.sampled_from(list(ITEMS)),
            st.sampled_from(["join", "leave", "points", "status", "delete"]),
            estimates,
            statuses,
        ),
        max_size=60,
    ),
)
def test_the_report_reconciles_over_random_logs(
    start_points: list[float | None],
    start_status: list[int],
    committed_items: set[int],
    steps: list[tuple[int, str, float | None, int]],
) -> None:
    model = Model(
        points=dict(zip(ITEMS, start_points, strict=True)),
        status=dict(zip(ITEMS, start_status, strict=True)),
        members=set(committed_items),
    )
    committed = {item: model.points[item] for item in committed_items}
    at_start = dict(model.points)
    for step in steps:
        model.step(*step)
    at_close = {
        item: ItemAtClose(item, model.points[item], None, model.status[item] == DONE)
        for item in model.members
    }

    report = sprint_report(SPRINT, committed, at_start, model.log, at_close, facts(*ITEMS), {DONE})

    check_invariants(report, committed_items, at_close)


def check_invariants(
    report: SprintReportData, committed_items: set[int], at_close: dict[int, ItemAtClose]
) -> None:
    movement = report.movement
    # Committed + added - removed is what is in the sprint at close, in items and in points.
    assert report.committed.items + movement.added.items - movement.removed.items == len(at_close)
    reconciled = (
        report.committed.points
        + movement.added.points
        - movement.removed.points
        + movement.re_estimated
    )
    assert abs(reconciled - report.scope.points) < 1e-9
    # The sections at close partition the items in the sprint then.
    sections = (report.completed, report.not_completed, report.completed_outside)
    assert sorted(line.number for s in sections for line in s.lines) == sorted(at_close)
    assert abs(sum(s.tally.points for s in sections) - report.scope.points) < 1e-9
    # Completed never exceeds what is in the sprint at close.
    assert report.completed.tally.items <= report.scope.items
    assert report.completed.tally.points <= report.scope.points + 1e-9
    # Removed lists each item that was a member after start and is not at close.
    removed = {line.number for line in report.removed.lines}
    assert removed.isdisjoint(at_close)
    assert committed_items - set(at_close) <= removed
    assert all(
        not line.added_after_start
        for line in report.removed.lines
        if line.number in committed_items
    )
