"""Sprint workload figures, worked out by hand."""

import pytest

from app.domain.metrics.workload import SprintItem, workload

ITEMS = [
    SprintItem(1, "A", 5, 1),
    SprintItem(2, "B", 3, 1),
    SprintItem(3, "C", 2, 2),
    SprintItem(4, "D", None, 3),
    SprintItem(5, "E", 2, None),
    SprintItem(6, "F", 1, 3),
]
# User 3 has items but no capacity; user 4 has capacity but no items.
DAYS = {1: 10.0, 2: 5.0, 4: 3.0}


def test_loads_at_the_team_rate() -> None:
    figures = workload(ITEMS, DAYS, 0.5)
    by_user = {member.user_id: member for member in figures.members}
    assert list(by_user) == [1, 2, 3, 4]
    # User 1: 5 + 3 = 8 points against 10 x 0.5 = 5 → 1.6, over.
    one = by_user[1]
    assert [item.number for item in one.items] == [1, 2]
    assert (one.assigned_points, one.person_days, one.capacity_points) == (8, 10, 5)
    assert one.load == pytest.approx(1.6)
    assert one.over_allocated
    # User 2: 2 points against 5 x 0.5 = 2.5 → 0.8.
    two = by_user[2]
    assert (two.assigned_points, two.capacity_points) == (2, 2.5)
    assert two.load == pytest.approx(0.8)
    assert not two.over_allocated
    # User 3: D is unestimated (0) + F 1 = 1 point with no person-days: load unknown, over.
    three = by_user[3]
    assert (three.assigned_points, three.person_days, three.capacity_points) == (1, 0, 0)
    assert three.load is None
    assert three.over_allocated
    # User 4: nothing against 1.5 points.
    four = by_user[4]
    assert (four.assigned_points, four.capacity_points, four.load) == (0, 1.5, 0)
    assert not four.over_allocated
    assert figures.over_allocated == [1, 3]
    # Nobody carries E (2 points).
    assert [item.number for item in figures.unassigned] == [5]
    assert figures.unassigned_points == 2
    assert figures.has_unassigned
    # 5 + 3 + 2 + 0 + 2 + 1 = 13 points; 18 person-days x 0.5 = 9 → 13 / 9.
    assert (figures.total_points, figures.assigned_points) == (13, 11)
    assert (figures.total_person_days, figures.capacity_points) == (18, 9)
    assert figures.load == pytest.approx(13 / 9)


def test_without_a_rate_loads_are_unknown_but_zero_capacity_still_flags() -> None:
    figures = workload(ITEMS, DAYS, None)
    assert [m.capacity_points for m in figures.members] == [None, None, None, None]
    assert [m.load for m in figures.members] == [None, None, None, None]
    assert figures.over_allocated == [3]
    assert figures.capacity_points is None and figures.load is None


def test_only_unestimated_items_on_zero_capacity_do_not_flag() -> None:
    figures = workload([SprintItem(1, "A", None, 7)], {}, 1.0)
    (member,) = figures.members
    assert (member.assigned_points, member.over_allocated) == (0, False)
    assert not figures.has_unassigned
    assert figures.load is None  # no capacity at all


def test_an_empty_sprint() -> None:
    figures = workload([], {1: 4.0}, 2.0)
    assert [(m.user_id, m.capacity_points, m.load) for m in figures.members] == [(1, 8.0, 0.0)]
    assert (figures.total_points, figures.capacity_points, figures.load) == (0, 8.0, 0.0)
