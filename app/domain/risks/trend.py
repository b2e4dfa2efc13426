"""The open-exposure trend: a project's risk log replayed week by week (pure, no database)."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from app.domain.risks.models import OPEN_STATUSES, RiskStatus


@dataclass(frozen=True)
class LoggedChange:
    """One logged creation or change of a risk's probability, impact or status."""

    risk_id: int
    occurred_at: datetime
    field: str
    # For `created`, the risk's fields then (probability, impact, status among them).
    new_value: Any


@dataclass(frozen=True)
class Week:
    """An ISO week to measure, and the moment its count is taken (exclusive bound on the log;
    None for the week under way, which counts everything logged so far)."""

    start: date
    end: date
    as_of: datetime
    until: datetime | None


@dataclass(frozen=True)
class WeekExposure:
    """The open risks at the end of one week."""

    start: date
    end: date
    as_of: datetime
    open_exposure: int
    open_risks: int

    @property
    def week(self) -> str:
        """The ISO week, e.g. `2026-W49`."""
        year, number, _ = self.start.isocalendar()
        return f"{year}-W{number:02d}"


@dataclass
class _State:
    probability: int
    impact: int
    status: RiskStatus


def _apply(states: dict[int, _State], change: LoggedChange) -> None:
    if change.field == "created":
        value = change.new_value
        states[change.risk_id] = _State(
            int(value["probability"]), int(value["impact"]), RiskStatus(value["status"])
        )
        return
    state = states.get(change.risk_id)
    if state is None:
        return  # a change without its creation: nothing to weigh it against
    if change.field == "probability":
        state.probability = int(change.new_value)
    elif change.field == "impact":
        state.impact = int(change.new_value)
    elif change.field == "status":
        state.status = RiskStatus(change.new_value)


def open_exposure_by_week(
    changes: Iterable[LoggedChange], weeks: Sequence[Week]
) -> list[WeekExposure]:
    """For each week (oldest first), the summed exposure and the count of the risks open or
    mitigating at its end, replaying `changes` (in the order they happened)."""
    pending = iter(changes)
    upcoming = next(pending, None)
    states: dict[int, _State] = {}
    measured = []
    for week in weeks:
        while upcoming is not None and (week.until is None or upcoming.occurred_at < week.until):
            _apply(states, upcoming)
            upcoming = next(pending, None)
        open_states = [state for state in states.values() if state.status in OPEN_STATUSES]
        measured.append(
            WeekExposure(
                start=week.start,
                end=week.end,
                as_of=week.as_of,
                open_exposure=sum(state.probability * state.impact for state in open_states),
                open_risks=len(open_states),
            )
        )
    return measured
