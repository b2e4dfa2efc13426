"""The story-point values each estimation scale allows."""

from dataclasses import dataclass

from app.domain.projects.models import EstimationScale


@dataclass(frozen=True)
class ScaleValue:
    """One estimate on a scale: its label and the number reports add up."""

    label: str
    value: float


def _numeric(values: list[float]) -> tuple[ScaleValue, ...]:
    return tuple(ScaleValue(label=f"{v:g}", value=float(v)) for v in values)


SCALES: dict[EstimationScale, tuple[ScaleValue, ...]] = {
    EstimationScale.FIBONACCI: _numeric([0, 1, 2, 3, 5, 8, 13, 21, 40, 100]),
    EstimationScale.POWERS_OF_TWO: _numeric([0, 1, 2, 4, 8, 16, 32, 64]),
    EstimationScale.LINEAR: _numeric([float(v) for v in range(21)]),
    EstimationScale.TSHIRT: (
        ScaleValue("XS", 1),
        ScaleValue("S", 2),
        ScaleValue("M", 3),
        ScaleValue("L", 5),
        ScaleValue("XL", 8),
        ScaleValue("XXL", 13),
    ),
}


def scale_values(scale: EstimationScale | str) -> tuple[ScaleValue, ...]:
    """The allowed estimates of a scale, smallest first."""
    return SCALES[EstimationScale(scale)]


def points_label(scale: EstimationScale | str, points: float | None) -> str | None:
    """How a scale names an estimate ("M" on t-shirt sizes, "5" on numbers)."""
    if points is None:
        return None
    for value in scale_values(scale):
        if value.value == points:
            return value.label
    return f"{points:g}"
