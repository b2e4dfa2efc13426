"""The Monte Carlo forecast as pure functions: hand-worked cases and properties."""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.metrics import forecast as mc
from app.domain.metrics.forecast import (
    forecast_done,
    forecast_sprints,
    leading_fit,
    rank_needed,
    sprints_needed,
)

TRIALS = 10_000
# With 10,000 trials an estimated probability p has a standard deviation of
# sqrt(p (1 - p) / 10,000) <= 0.005; 0.02 is four of them, so a correct simulation stays
# within it with probability > 99.99 %, while an off-by-one in the counting moves the
# probabilities below by 0.125 or more.
TOLERANCE = 0.02


def test_identical_history_gives_the_exact_answer() -> None:
    # Three sprints of 5 and 20 points left: 5, 10, 15, 20 — exactly 4 sprints, always.
    result = forecast_sprints([5, 5, 5], 20, TRIALS, seed=1)
    assert result.percentiles == {50: 4, 70: 4, 85: 4, 95: 4}
    assert [(bar.sprints, bar.trials) for bar in result.histogram] == [(4, TRIALS)]
    assert result.histogram[0].probability == 1.0
    assert result.histogram[0].cumulative_probability == 1.0
    assert result.unfinished_trials == 0
    # 21 points need a fifth sprint; 3 sprints do exactly 15.
    assert forecast_sprints([5, 5, 5], 21, TRIALS, seed=1).percentiles[50] == 5
    assert forecast_done([5, 5, 5], 3, TRIALS, seed=1) == {50: 15, 85: 15, 95: 15}


def test_nothing_left_needs_no_sprint() -> None:
    result = forecast_sprints([3, 8], 0, TRIALS, seed=2)
    assert result.percentiles == {50: 0, 70: 0, 85: 0, 95: 0}
    assert [(bar.sprints, bar.trials, bar.cumulative_probability) for bar in result.histogram] == [
        (0, TRIALS, 1.0)
    ]


def test_two_value_history_matches_the_exact_distribution() -> None:
    # Sprints of 5 or 10 points, each with probability 1/2; 20 points left.
    #   2 sprints: 10 + 10                                   -> 1/4
    #   3 sprints: 5+5 then 10 (1/8); 5+10 or 10+5, then any (1/2)  -> 5/8
    #   4 sprints: 5+5+5, then any                              -> 1/8
    # Cumulative 1/4, 7/8, 1: p50 = p70 = p85 = 3 (7/8 >= 85 %), p95 = 4. The nearest
    # threshold, 0.85 against 0.875, is five standard deviations away: the percentiles are
    # certain in practice, the probabilities are checked within TOLERANCE.
    result = forecast_sprints([5, 10], 20, TRIALS, seed=3)
    assert result.percentiles == {50: 3, 70: 3, 85: 3, 95: 4}
    exact = {2: (0.25, 0.25), 3: (0.625, 0.875), 4: (0.125, 1.0)}
    assert [bar.sprints for bar in result.histogram] == [2, 3, 4]
    for bar in result.histogram:
        probability, cumulative = exact[bar.sprints]
        assert bar.probability == pytest.approx(probability, abs=TOLERANCE)
        assert bar.cumulative_probability == pytest.approx(cumulative, abs=TOLERANCE)
    assert sum(bar.trials for bar in result.histogram) == TRIALS
    assert result.histogram[-1].cumulative_probability == 1.0


def test_reverse_question_on_the_exact_distribution() -> None:
    # Two sprints of 5 or 10: totals 10 (1/4), 15 (1/2), 20 (1/4). At least 50 % of trials
    # reach 15 (3/4 do; only 1/4 reach 20); 85 % and 95 % are only sure of 10.
    assert forecast_done([5, 10], 2, TRIALS, seed=4) == {50: 15, 85: 10, 95: 10}
    totals = mc.totals_after([5, 10], 2, TRIALS, seed=4)
    assert set(np.unique(totals)) == {10.0, 15.0, 20.0}
    assert float(np.mean(totals == 15)) == pytest.approx(0.5, abs=TOLERANCE)


def test_trials_that_cannot_finish_are_reported_not_guessed() -> None:
    # 2,000 points at most 1 a sprint cannot be done within the cap of 1,000 sprints.
    result = forecast_sprints([0, 1], 2_000, TRIALS, seed=5)
    assert result.percentiles == {50: None, 70: None, 85: None, 95: None}
    assert result.histogram == ()
    assert result.unfinished_trials == TRIALS
    # Right at the cap: 1,000 sprints of 0.5 do 500 points, but not 500.5.
    assert forecast_sprints([0.5, 0.5], 500, TRIALS, seed=5).percentiles[50] == 1_000
    assert forecast_sprints([0.5, 0.5], 500.5, TRIALS, seed=5).unfinished_trials == TRIALS
    # With a cap of 2 sprints, 4 points of sprints of 1 or 2 finish only as 2 + 2 (1/4).
    capped = forecast_sprints([1, 2], 4, TRIALS, seed=5, max_sprints=2)
    assert capped.percentiles == {50: None, 70: None, 85: None, 95: None}
    assert [bar.sprints for bar in capped.histogram] == [2]
    assert capped.unfinished_trials / TRIALS == pytest.approx(0.75, abs=TOLERANCE)


def test_small_blocks_give_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    # Draws are made in bounded blocks; tiny blocks exercise every continuation path.
    monkeypatch.setattr(mc, "BLOCK_VALUES", 7)
    assert forecast_sprints([5, 10], 20, 2_000, seed=6).percentiles == {
        50: 3,
        70: 3,
        85: 3,
        95: 4,
    }
    assert forecast_sprints([5, 5], 200, 2_000, seed=6).percentiles[95] == 40
    assert forecast_done([5, 10], 2, 2_000, seed=6) == {50: 15, 85: 10, 95: 10}


def test_nearest_rank() -> None:
    assert rank_needed(50, 10_000) == 5_000
    assert rank_needed(95, 10) == 10  # 9.5 trials round up
    assert rank_needed(85, 1_000) == 850
    assert rank_needed(1, 1) == 1
    with pytest.raises(ValueError):
        rank_needed(0, 10)


def test_leading_fit_stops_at_the_first_item_that_does_not_fit() -> None:
    assert leading_fit([3, 5, 2], 8) == 2
    assert leading_fit([3, 5, 2], 7.9) == 1
    assert leading_fit([3, 5, 2], 10) == 3
    assert leading_fit([3, 5, 2], 2) == 0
    assert leading_fit([], 5) == 0
    # Rank order decides: a small item below one that does not fit is not done first.
    assert leading_fit([8, 1], 5) == 0
    assert leading_fit([0.1, 0.2], 0.3) == 2  # float sums within rounding count as fitting


def test_bad_samples_are_refused() -> None:
    with pytest.raises(ValueError):
        forecast_sprints([], 10, 1_000, seed=1)
    with pytest.raises(ValueError):
        forecast_sprints([3, -1], 10, 1_000, seed=1)
    with pytest.raises(ValueError):
        forecast_done([3, math.nan], 2, 1_000, seed=1)


# --- properties -------------------------------------------------------------------------------

# Estimates in halves, as the point scales give them, keep sums exact.
halves = st.integers(min_value=0, max_value=80).map(lambda n: n / 2)
positive_halves = st.integers(min_value=1, max_value=80).map(lambda n: n / 2)
histories = st.lists(halves, min_size=2, max_size=12).filter(lambda values: max(values) > 0)
seeds = st.integers(min_value=0, max_value=2**32)


def _order(value: int | None) -> float:
    return math.inf if value is None else value


@settings(max_examples=60, deadline=None)
@given(histories, st.integers(min_value=0, max_value=1_000).map(lambda n: n / 2), seeds)
def test_percentiles_never_decrease(history: list[float], remaining: float, seed: int) -> None:
    result = forecast_sprints(history, remaining, 1_000, seed)
    found = [_order(result.percentiles[p]) for p in (50, 70, 85, 95)]
    assert found == sorted(found)
    cumulative = [bar.cumulative_probability for bar in result.histogram]
    assert cumulative == sorted(cumulative)
    assert sum(bar.trials for bar in result.histogram) + result.unfinished_trials == 1_000
    if min(history) > 0:
        # Never fewer sprints than the best sprint every time needs, nor more than the worst.
        low = math.ceil(remaining / max(history))
        high = math.ceil(remaining / min(history))
        assert all(low <= value <= high for value in found)


@settings(max_examples=60, deadline=None)
@given(histories, st.integers(min_value=1, max_value=30), seeds)
def test_reverse_values_never_increase_with_confidence(
    history: list[float], sprints: int, seed: int
) -> None:
    done = forecast_done(history, sprints, 1_000, seed)
    assert done[50] >= done[85] >= done[95]
    assert sprints * min(history) <= done[95] and done[50] <= sprints * max(history)


@settings(max_examples=60, deadline=None)
@given(
    positive_halves,
    st.integers(min_value=2, max_value=10),
    st.integers(min_value=0, max_value=2_000).map(lambda n: n / 2),
    st.integers(min_value=1, max_value=40),
    seeds,
)
def test_identical_history_is_exact(
    value: float, count: int, remaining: float, sprints: int, seed: int
) -> None:
    needed = math.ceil(Fraction(remaining) / Fraction(value))
    result = forecast_sprints([value] * count, remaining, 1_000, seed)
    # Past the cap of 1,000 sprints no trial finishes: no percentile, no histogram bar.
    expected = needed if needed <= mc.MAX_SPRINTS else None
    assert result.percentiles == {50: expected, 70: expected, 85: expected, 95: expected}
    if expected is None:
        assert (result.histogram, result.unfinished_trials) == ((), 1_000)
    else:
        assert [(bar.sprints, bar.trials) for bar in result.histogram] == [(expected, 1_000)]
    assert forecast_done([value] * count, sprints, 1_000, seed) == {
        50: sprints * value,
        85: sprints * value,
        95: sprints * value,
    }


@settings(max_examples=30, deadline=None)
@given(histories, st.integers(min_value=0, max_value=600).map(lambda n: n / 2), seeds)
def test_same_seed_same_result(history: list[float], remaining: float, seed: int) -> None:
    assert forecast_sprints(history, remaining, 1_000, seed) == forecast_sprints(
        history, remaining, 1_000, seed
    )
    assert np.array_equal(
        sprints_needed(history, remaining, 1_000, seed),
        sprints_needed(history, remaining, 1_000, seed),
    )
    assert forecast_done(history, 5, 1_000, seed) == forecast_done(history, 5, 1_000, seed)
