"""Monte Carlo forecast: bootstrap sampling of past sprints' output, as pure functions."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

PERCENTILES = (50, 70, 85, 95)
CONFIDENCES = (50, 85, 95)
# A trial that has not finished after this many sprints is reported as unfinished.
MAX_SPRINTS = 1_000
# Draws are made in blocks of at most this many values (16 MB as float64), so memory stays
# bounded whatever the number of trials, the remaining work and the sprint cap.
BLOCK_VALUES = 2_000_000
# Sums of fractional estimates carry float error; reaching the target within it counts as done.
TOLERANCE = 1e-9


@dataclass(frozen=True)
class HistogramBar:
    """How many trials finished in exactly `sprints` sprints."""

    sprints: int
    trials: int
    probability: float
    cumulative_probability: float


@dataclass(frozen=True)
class SprintsForecast:
    """Sprints needed per percentile (None: not reached within the cap), and the histogram."""

    trials: int
    percentiles: dict[int, int | None]
    histogram: tuple[HistogramBar, ...]
    unfinished_trials: int


def _values(samples: Sequence[float]) -> npt.NDArray[np.float64]:
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("a forecast needs at least one sample")
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise ValueError("samples must be finite and not negative")
    return values


def rank_needed(percent: int, trials: int) -> int:
    """How many trials make up `percent` % of `trials`, rounded up (nearest rank, at least 1)."""
    if not 0 < percent <= 100 or trials < 1:
        raise ValueError("percent must be in (0, 100] and trials at least 1")
    return max(1, -(-percent * trials // 100))


def _slack(target: float) -> float:
    return TOLERANCE * max(1.0, abs(target))


def sprints_needed(
    samples: Sequence[float],
    remaining: float,
    trials: int,
    seed: int,
    max_sprints: int = MAX_SPRINTS,
) -> npt.NDArray[np.int64]:
    """Per trial, how many sprints drawn from `samples` reach `remaining` (cap + 1 if none)."""
    values = _values(samples)
    if trials < 1 or max_sprints < 1:
        raise ValueError("trials and max_sprints must be at least 1")
    if remaining <= 0:
        return np.zeros(trials, dtype=np.int64)
    needed = np.full(trials, max_sprints + 1, dtype=np.int64)
    high, low = float(values.max()), float(values.min())
    target = remaining - _slack(remaining)
    if high * max_sprints < target:
        return needed  # not even the best sprint every time gets there: no draw can
    rng = np.random.default_rng(seed)
    index_type = np.uint8 if values.size <= 256 else np.int64

    def draw(rows: int, columns: int) -> npt.NDArray[np.float64]:
        picked: npt.NDArray[np.float64] = values[
            rng.integers(0, values.size, size=(rows, columns), dtype=index_type)
        ]
        return picked

    totals = np.zeros(trials, dtype=np.float64)
    # No trial can finish within `certain` sprints (even the best sample every time falls
    # short, with a sprint to spare against rounding), so those are only summed, which is
    # several times cheaper than the running sums below.
    certain = min(max_sprints, max(0, math.ceil(target / high) - 2))
    drawn = 0
    while drawn < certain:
        columns = min(certain - drawn, max(1, BLOCK_VALUES // trials))
        totals += draw(trials, columns).sum(axis=1)
        drawn += columns
    # Then running sums over a window sized from the spread of the history (four standard
    # deviations of the expected count); the few trials still short get windows twice as long.
    mean, spread = float(values.mean()), float(values.std())
    expected = remaining / mean
    window = math.ceil(expected + 4 * spread * math.sqrt(expected) / mean) + 2 - drawn
    if low > 0:
        window = min(window, math.ceil(remaining / low) + 1 - drawn)
    window = max(window, 1)
    active = np.arange(trials)
    while active.size and drawn < max_sprints:
        columns = min(window, max_sprints - drawn, max(1, BLOCK_VALUES // active.size))
        running = np.cumsum(draw(active.size, columns), axis=1)
        running += totals[active, None]
        short = running < target
        finished = ~short[:, -1]
        # Running sums never fall (samples are not negative): sprints short of the target
        # come first, so counting them gives the sprint that reached it.
        needed[active[finished]] = drawn + short[finished].sum(axis=1) + 1
        totals[active] = running[:, -1]
        active = active[~finished]
        drawn += columns
        window *= 2
    return needed


def forecast_sprints(
    samples: Sequence[float],
    remaining: float,
    trials: int,
    seed: int,
    percentiles: Sequence[int] = PERCENTILES,
    max_sprints: int = MAX_SPRINTS,
) -> SprintsForecast:
    """Sprints needed to finish `remaining` at each percentile, with the histogram."""
    needed = sprints_needed(samples, remaining, trials, seed, max_sprints)
    ordered = np.sort(needed)
    found: dict[int, int | None] = {}
    for percent in percentiles:
        # The fewest sprints within which at least `percent` % of trials finished: read off
        # the sorted counts, so a higher percentile can never need fewer sprints.
        k = int(ordered[rank_needed(percent, trials) - 1])
        found[percent] = k if k <= max_sprints else None
    finished = ordered[ordered <= max_sprints]
    sprints_values, trial_counts = np.unique(finished, return_counts=True)
    cumulative = np.cumsum(trial_counts)
    histogram = tuple(
        HistogramBar(
            sprints=int(k),
            trials=int(count),
            probability=int(count) / trials,
            cumulative_probability=int(total) / trials,
        )
        for k, count, total in zip(sprints_values, trial_counts, cumulative, strict=True)
    )
    return SprintsForecast(
        trials=trials,
        percentiles=found,
        histogram=histogram,
        unfinished_trials=int(trials - finished.size),
    )


def totals_after(
    samples: Sequence[float], sprints: int, trials: int, seed: int
) -> npt.NDArray[np.float64]:
    """Per trial, the total of `sprints` draws from `samples` (with replacement)."""
    values = _values(samples)
    if trials < 1 or sprints < 1:
        raise ValueError("trials and sprints must be at least 1")
    rng = np.random.default_rng(seed)
    totals = np.empty(trials, dtype=np.float64)
    rows = max(1, BLOCK_VALUES // sprints)
    for start in range(0, trials, rows):
        count = min(rows, trials - start)
        draws = values[rng.integers(0, values.size, size=(count, sprints))]
        totals[start : start + count] = draws.sum(axis=1)
    return totals


def forecast_done(
    samples: Sequence[float],
    sprints: int,
    trials: int,
    seed: int,
    confidences: Sequence[int] = CONFIDENCES,
) -> dict[int, float]:
    """What `sprints` sprints get done with each confidence (nearest rank)."""
    ordered = np.sort(totals_after(samples, sprints, trials, seed))
    # The value at least `confidence` % of trials reach: counted from the top of the sorted
    # totals, so a higher confidence can never give a higher value.
    return {
        confidence: float(ordered[trials - rank_needed(confidence, trials)])
        for confidence in confidences
    }


def leading_fit(values: Sequence[float], budget: float) -> int:
    """How many of `values`, taken in order, fit completely within `budget`."""
    total = 0.0
    for index, value in enumerate(values):
        total += value
        if total > budget + _slack(total):
            return index
    return len(values)
