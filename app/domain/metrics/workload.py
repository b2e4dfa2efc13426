"""Who carries what in a sprint: assigned points against capacity at the team's recent rate."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class SprintItem:
    """An item of the sprint as the workload counts it (unestimated items count 0 points)."""

    number: int
    title: str
    points: float | None
    assignee_id: int | None


@dataclass(frozen=True)
class MemberLoad:
    """One person's share of the sprint, unrounded."""

    user_id: int
    items: tuple[SprintItem, ...]
    assigned_points: float
    # Zero for someone with items but no capacity in the sprint.
    person_days: float
    capacity_points: float | None
    load: float | None
    over_allocated: bool


@dataclass(frozen=True)
class Workload:
    """A sprint's workload per person, what nobody carries, and the team's totals."""

    members: tuple[MemberLoad, ...]
    unassigned: tuple[SprintItem, ...]
    unassigned_points: float
    total_points: float
    assigned_points: float
    total_person_days: float
    capacity_points: float | None
    load: float | None
    points_per_person_day: float | None

    @property
    def has_unassigned(self) -> bool:
        """Whether any item of the sprint has nobody assigned."""
        return bool(self.unassigned)

    @property
    def over_allocated(self) -> list[int]:
        """The user ids of those carrying more than their capacity."""
        return [member.user_id for member in self.members if member.over_allocated]


def _points(items: Iterable[SprintItem]) -> float:
    return sum(item.points or 0.0 for item in items)


def _share(points: float, capacity: float | None) -> float | None:
    """Points as a share of capacity; unknown without a rate or without capacity."""
    return points / capacity if capacity else None


def workload(
    items: Iterable[SprintItem],
    person_days: Mapping[int, float],
    points_per_person_day: float | None,
) -> Workload:
    """Per person (everyone with capacity or items, by user id): items, points, capacity in
    person-days and in points at `points_per_person_day`, load = points / capacity points.

    Over-allocated: a load above 1, or points assigned to someone with no person-days.
    """
    items = tuple(items)
    by_user: dict[int, list[SprintItem]] = {user_id: [] for user_id in person_days}
    for item in items:
        if item.assignee_id is not None:
            by_user.setdefault(item.assignee_id, []).append(item)
    members = []
    for user_id in sorted(by_user):
        carried = tuple(by_user[user_id])
        days = person_days.get(user_id, 0.0)
        assigned = _points(carried)
        capacity = None if points_per_person_day is None else points_per_person_day * days
        load = _share(assigned, capacity)
        members.append(
            MemberLoad(
                user_id=user_id,
                items=carried,
                assigned_points=assigned,
                person_days=days,
                capacity_points=capacity,
                load=load,
                over_allocated=(load is not None and load > 1) or (assigned > 0 and days <= 0),
            )
        )
    unassigned = tuple(item for item in items if item.assignee_id is None)
    total_days = sum(person_days.values())
    total_capacity = None if points_per_person_day is None else points_per_person_day * total_days
    total = _points(items)
    return Workload(
        members=tuple(members),
        unassigned=unassigned,
        unassigned_points=_points(unassigned),
        total_points=total,
        assigned_points=total - _points(unassigned),
        total_person_days=total_days,
        capacity_points=total_capacity,
        load=_share(total, total_capacity),
        points_per_person_day=points_per_person_day,
    )
