"""Velocity: committed and completed points per completed sprint, and their summary."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SprintFigures:
    """A completed sprint's frozen figures (and person-days when capacity was recorded)."""

    number: int
    committed: float
    completed: float
    person_days: float | None = None


@dataclass(frozen=True)
class SprintVelocity:
    """One sprint in the velocity chart."""

    number: int
    committed: float
    completed: float
    say_do: float | None
    person_days: float | None
    completed_per_person_day: float | None


@dataclass(frozen=True)
class VelocitySummary:
    """The spread of completed points over the sprints shown."""

    sprints: int
    mean: float | None
    median: float | None
    standard_deviation: float | None
    last_3_average: float | None
    completed_per_person_day: float | None


def _ratio(numerator: float, denominator: float | None) -> float | None:
    return numerator / denominator if denominator else None


def velocity(sprints: Sequence[SprintFigures]) -> tuple[list[SprintVelocity], VelocitySummary]:
    """Per-sprint figures and the summary, for sprints in the order they completed.

    The standard deviation is the sample one (n − 1), absent below two sprints; completed per
    person-day sums points and person-days over the sprints that recorded capacity.
    """
    rows = [
        SprintVelocity(
            number=sprint.number,
            committed=sprint.committed,
            completed=sprint.completed,
            say_do=_ratio(sprint.completed, sprint.committed),
            person_days=sprint.person_days,
            completed_per_person_day=_ratio(sprint.completed, sprint.person_days),
        )
        for sprint in sprints
    ]
    completed = [sprint.completed for sprint in sprints]
    with_capacity = [s for s in sprints if s.person_days]
    capacity_days = sum(s.person_days or 0.0 for s in with_capacity)
    summary = VelocitySummary(
        sprints=len(completed),
        mean=statistics.fmean(completed) if completed else None,
        median=statistics.median(completed) if completed else None,
        standard_deviation=statistics.stdev(completed) if len(completed) > 1 else None,
        last_3_average=statistics.fmean(completed[-3:]) if completed else None,
        completed_per_person_day=_ratio(sum(s.completed for s in with_capacity), capacity_days),
    )
    return rows, summary
