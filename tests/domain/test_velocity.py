"""Velocity as a pure function: figures worked by hand."""

import statistics

from hypothesis import given
from hypothesis import strategies as st

from app.domain.metrics.velocity import SprintFigures, velocity


def test_figures_by_hand() -> None:
    rows, summary = velocity(
        [
            SprintFigures(1, committed=20, completed=15, person_days=30),
            SprintFigures(2, committed=18, completed=21),
            SprintFigures(3, committed=0, completed=3, person_days=10),
            SprintFigures(4, committed=24, completed=18, person_days=20),
        ]
    )
    assert [(r.number, r.say_do, r.completed_per_person_day) for r in rows] == [
        (1, 0.75, 0.5),
        (2, 21 / 18, None),
        (3, None, 0.3),  # nothing committed: no ratio
        (4, 0.75, 0.9),
    ]
    assert summary.sprints == 4
    assert summary.mean == 14.25  # (15 + 21 + 3 + 18) / 4
    assert summary.median == 16.5
    # Sample deviation: squares of (0.75, 6.75, -11.25, 3.75) sum to 186.75; / 3 = 62.25.
    assert summary.standard_deviation == 62.25**0.5
    assert summary.last_3_average == 14.0  # (21 + 3 + 18) / 3
    assert summary.completed_per_person_day == 0.6  # (15 + 3 + 18) / (30 + 10 + 20)


def test_no_sprints_and_one_sprint() -> None:
    assert velocity([])[1].mean is None
    _, summary = velocity([SprintFigures(1, committed=5, completed=5)])
    assert (summary.mean, summary.median, summary.standard_deviation) == (5, 5, None)
    assert summary.completed_per_person_day is None


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=30))
def test_summary_bounds(completed: list[int]) -> None:
    _, summary = velocity([SprintFigures(i, 10, c) for i, c in enumerate(completed)])
    assert summary.mean is not None and summary.median is not None
    assert min(completed) <= summary.mean <= max(completed)
    assert min(completed) <= summary.median <= max(completed)
    assert summary.last_3_average == statistics.fmean(completed[-3:])
