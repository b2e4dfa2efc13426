"""The scope ledger as a pure function over logged changes."""

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from app.domain.metrics.scope import (
    LoggedChange,
    ScopeChangeKind,
    points_at_start,
    scope_ledger,
)

WHEN = datetime(2026, 3, 2, tzinfo=UTC)


def change(event_id: int, item: int, field: str | None, old: object, new: object) -> LoggedChange:
    return LoggedChange(event_id, WHEN, 7, item, item, field, old, new)


def test_added_removed_re_estimated_and_deleted() -> None:
    changes = [
        change(1, 3, "sprint", None, 4),  # item 3 joins sprint 4
        change(2, 1, "points", 5, 8),  # a member is re-estimated
        change(3, 9, "points", 1, 2),  # not a member: ignored
        change(4, 2, "sprint", 4, None),  # item 2 leaves
        change(5, 2, "points", 3, 13),  # no longer a member: ignored
        change(6, 1, None, {"points": 8}, None),  # item 1 is deleted
        change(7, 3, "sprint", 4, 4),  # not a change of membership
    ]
    ledger = scope_ledger(4, {1, 2}, {1: 5, 2: 3, 3: 2, 9: 1}, changes)
    assert [(e.item_number, e.kind, e.points_before, e.points_after) for e in ledger] == [
        (3, ScopeChangeKind.ADDED, None, 2),
        (1, ScopeChangeKind.RE_ESTIMATED, 5, 8),
        (2, ScopeChangeKind.REMOVED, 3, None),
        (1, ScopeChangeKind.REMOVED, 8, None),
    ]


def test_points_at_start_undo_later_changes() -> None:
    changes = [change(1, 1, "points", 3, 5), change(2, 1, "points", 5, 8)]
    assert points_at_start({1: 8, 2: None}, changes) == {1: 3, 2: None}


@given(
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=4),
            st.sampled_from(["join", "leave", "points"]),
            st.sampled_from([None, 1.0, 2.0, 3.0, 5.0]),
        ),
        max_size=40,
    )
)
def test_committed_plus_added_minus_removed_reconciles_with_the_members(
    steps: list[tuple[int, str, float | None]],
) -> None:
    sprint = 1
    members = {1, 2}
    start: dict[int, float | None] = dict.fromkeys(range(1, 5), 1.0)
    points = dict(start)
    changes = []
    for event_id, (item, action, value) in enumerate(steps, start=1):
        if action == "join" and item not in members:
            changes.append(change(event_id, item, "sprint", None, sprint))
            members.add(item)
        elif action == "leave" and item in members:
            changes.append(change(event_id, item, "sprint", sprint, None))
            members.discard(item)
        elif action == "points" and points[item] != value:
            changes.append(change(event_id, item, "points", points[item], value))
            points[item] = value
    ledger = scope_ledger(sprint, {1, 2}, start, changes)
    added = {e.item_number for e in ledger if e.kind == ScopeChangeKind.ADDED}
    removed = [e.item_number for e in ledger if e.kind == ScopeChangeKind.REMOVED]
    count = 2 + sum(e.kind == ScopeChangeKind.ADDED for e in ledger) - len(removed)
    assert count == len(members)
    assert added <= members | set(removed)
