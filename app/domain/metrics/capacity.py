"""Sprint capacity in person-days, and a commitment suggested from past sprints' rate."""

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from app.domain.kernel.calendar import working_dates

# A suggestion needs this many earlier sprints with capacity, and uses at most the latest few.
MIN_HISTORY = 3
MAX_HISTORY = 5


@dataclass(frozen=True)
class MemberAvailability:
    """One member's recorded (or proposed) availability for a sprint."""

    user_id: int
    availability: int
    days_off: tuple[date, ...] = ()


@dataclass(frozen=True)
class MemberPersonDays:
    """One member's person-days in a sprint, unrounded."""

    user_id: int
    availability: int
    days_off: tuple[date, ...]
    days_off_counted: int
    person_days: float


@dataclass(frozen=True)
class SprintCapacityFigures:
    """A sprint's working days and its members' person-days, unrounded."""

    working_days: int
    members: tuple[MemberPersonDays, ...]
    total_person_days: float


@dataclass(frozen=True)
class PastSprint:
    """A completed sprint's points and person-days, as a suggestion uses them."""

    number: int
    completed_points: float
    person_days: float


@dataclass(frozen=True)
class Suggestion:
    """A suggested commitment (or why there is none), with what it was computed from."""

    points: float | None
    points_per_person_day: float | None
    sprints_used: tuple[PastSprint, ...]
    explanation: str


def person_days(working_days: int, days_off_counted: int, availability: int) -> float:
    """(working days − counted days off) × availability / 100, never below zero."""
    return max(working_days - days_off_counted, 0) * availability / 100


def sprint_capacity(
    start: date,
    end: date,
    working_weekdays: Collection[int],
    members: Iterable[MemberAvailability],
) -> SprintCapacityFigures:
    """Each member's person-days in a sprint and the total."""
    # Only days off on working days inside the range count: a sprint re-dated after its
    # capacity was recorded may leave some outside it.
    working = set(working_dates(start, end, working_weekdays))
    figures = []
    for member in members:
        counted = len(working.intersection(member.days_off))
        figures.append(
            MemberPersonDays(
                user_id=member.user_id,
                availability=member.availability,
                days_off=member.days_off,
                days_off_counted=counted,
                person_days=person_days(len(working), counted, member.availability),
            )
        )
    return SprintCapacityFigures(
        working_days=len(working),
        members=tuple(figures),
        total_person_days=sum(figure.person_days for figure in figures),
    )


def format_number(value: float) -> str:
    """A figure for prose: at most two decimals, no trailing zeros."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def suggest_commitment(history: Sequence[PastSprint], person_days_now: float) -> Suggestion:
    """Points per person-day over the latest past sprints (most recent first) × person-days."""
    # A sprint without person-days carries no rate, so it is skipped rather than counted.
    usable = tuple(past for past in history if past.person_days > 0)[:MAX_HISTORY]
    if len(usable) < MIN_HISTORY:
        return Suggestion(
            points=None,
            points_per_person_day=None,
            sprints_used=(),
            explanation=(
                f"A suggestion needs at least {MIN_HISTORY} completed earlier sprints with "
                f"recorded capacity; there {'is' if len(usable) == 1 else 'are'} {len(usable)}."
            ),
        )
    points = sum(past.completed_points for past in usable)
    days = sum(past.person_days for past in usable)
    rate = points / days
    numbers = ", ".join(str(past.number) for past in usable)
    basis = (
        f"sprints {numbers} completed {format_number(points)} points in "
        f"{format_number(days)} person-days, {format_number(rate)} points per person-day"
    )
    if person_days_now <= 0:
        return Suggestion(
            points=None,
            points_per_person_day=rate,
            sprints_used=usable,
            explanation=f"No suggestion: this sprint has no person-days ({basis}).",
        )
    suggested = rate * person_days_now
    return Suggestion(
        points=suggested,
        points_per_person_day=rate,
        sprints_used=usable,
        explanation=(
            f"{format_number(suggested)} points: {basis}, × this sprint's "
            f"{format_number(person_days_now)} person-days."
        ),
    )
