"""Planning-poker statistics over a round's votes: range, spread, median and mode on a scale."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

# The two votes that are no estimate: "not sure" and "I need a break".
UNSURE = "?"
COFFEE = "coffee"
# A spread over more than this many steps of the scale is the usual "talk about it" signal.
DISCUSS_STEPS = 2


@dataclass(frozen=True)
class ScalePoint:
    """One value of a scale: its label and its number."""

    label: str
    value: float


@dataclass(frozen=True)
class RevealStats:
    """What a reveal shows about the numeric votes, and how many were `?` or `coffee`."""

    numeric_votes: int
    unsure: int
    coffee: int
    min: str | None
    max: str | None
    min_value: float | None
    max_value: float | None
    spread: float | None
    spread_steps: int | None
    discuss: bool
    median: str | None
    median_value: float | None
    mode: tuple[str, ...]


def snap(value: float, scale: Sequence[ScalePoint]) -> ScalePoint:
    """The scale value nearest to `value`; exactly between two, the higher one."""
    best = scale[0]
    for point in scale[1:]:
        # `<=` over a scale sorted smallest first: a tie goes to the later, higher value.
        if abs(point.value - value) <= abs(best.value - value):
            best = point
    return best


def reveal_stats(scale: Sequence[ScalePoint], votes: Sequence[str]) -> RevealStats:
    """Statistics of the votes (scale labels, `?` or `coffee`) on a scale sorted smallest first.

    Votes that are no label of the scale count as neither numeric nor `?` nor `coffee`.
    """
    position = {point.label: index for index, point in enumerate(scale)}
    numeric = sorted(position[vote] for vote in votes if vote in position)
    unsure = sum(1 for vote in votes if vote == UNSURE)
    coffee = sum(1 for vote in votes if vote == COFFEE)
    if not numeric:
        return RevealStats(
            numeric_votes=0,
            unsure=unsure,
            coffee=coffee,
            min=None,
            max=None,
            min_value=None,
            max_value=None,
            spread=None,
            spread_steps=None,
            discuss=False,
            median=None,
            median_value=None,
            mode=(),
        )
    low, high = scale[numeric[0]], scale[numeric[-1]]
    steps = numeric[-1] - numeric[0]
    middle = snap(median(scale[index].value for index in numeric), scale)
    counts = Counter(numeric)
    top = max(counts.values())
    return RevealStats(
        numeric_votes=len(numeric),
        unsure=unsure,
        coffee=coffee,
        min=low.label,
        max=high.label,
        min_value=low.value,
        max_value=high.value,
        spread=high.value - low.value,
        spread_steps=steps,
        discuss=steps > DISCUSS_STEPS,
        median=middle.label,
        median_value=middle.value,
        mode=tuple(scale[index].label for index in sorted(counts) if counts[index] == top),
    )
