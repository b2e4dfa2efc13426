"""Burndown and burnup: a sprint's remaining, done and total scope at the end of each day.

Pure: replays the sprint's slice of the item event log (with times) from the state at start.
Scope changes move `scope` (and so `remaining`), never `done`: only an item entering a done
status while in the sprint burns; lowering an estimate is a scope change, not progress.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.kernel.calendar import dates, is_working_day
from app.domain.metrics.scope import LoggedChange


class Unit(StrEnum):
    """What a burn chart counts."""

    POINTS = "points"
    ITEMS = "items"


@dataclass(frozen=True)
class ItemState:
    """An item's estimate and status at the sprint's start."""

    points: float | None
    status: int | None


@dataclass(frozen=True)
class Totals:
    """The sprint's scope split by state at one moment."""

    remaining: float
    done: float
    done_outside: float

    @property
    def scope(self) -> float:
        """Everything in the sprint: remaining + done + done before it joined."""
        return self.remaining + self.done + self.done_outside


@dataclass(frozen=True)
class BurnDay:
    """The sprint at the end of one day (non-working days repeat the day before)."""

    day: date
    working_day: bool
    totals: Totals
    ideal: float
    completed: float
    scope_change: float


@dataclass(frozen=True)
class BurnSeries:
    """A sprint's burn chart: its state at start and at the end of each day."""

    start: Totals
    days: list[BurnDay]
    committed: float
    working_days: int


class _Replay:
    """The sprint's members and their state while the log is replayed."""

    def __init__(
        self,
        sprint_number: int,
        committed: Iterable[int],
        at_start: Mapping[int, ItemState],
        done_statuses: set[int],
        unit: Unit,
    ) -> None:
        self.number, self.done_statuses, self.unit = sprint_number, done_statuses, unit
        self.points = {item: state.points for item, state in at_start.items()}
        self.status = {item: state.status for item, state in at_start.items()}
        self.members = set(committed)
        self.finished_here: set[int] = set()

    def weight(self, item: int) -> float:
        if self.unit == Unit.ITEMS:
            return 1.0
        return self.points.get(item) or 0.0

    def totals(self) -> Totals:
        remaining = done = outside = 0.0
        for item in self.members:
            weight = self.weight(item)
            if self.status.get(item) not in self.done_statuses:
                remaining += weight
            elif item in self.finished_here:
                done += weight
            else:
                outside += weight
        return Totals(remaining, done, outside)

    def apply(self, change: LoggedChange) -> None:
        item, field = change.item_id, change.field
        if field == "points":
            self.points[item] = change.new_value
        elif field == "status":
            entered = change.new_value in self.done_statuses
            if item in self.members and entered and change.old_value not in self.done_statuses:
                self.finished_here.add(item)
            self.status[item] = change.new_value
        elif field is None:
            self.members.discard(item)
        elif field == "sprint":
            if change.new_value == self.number and change.old_value != self.number:
                self.members.add(item)
                self.finished_here.discard(item)
            elif change.old_value == self.number and change.new_value != self.number:
                self.members.discard(item)


def burn_series(
    *,
    sprint_number: int,
    days: Sequence[date],
    working_weekdays: Collection[int],
    sprint_start: date,
    sprint_end: date,
    time_zone: ZoneInfo,
    committed: Iterable[int],
    at_start: Mapping[int, ItemState],
    changes: Iterable[LoggedChange],
    done_statuses: set[int],
    unit: Unit,
    committed_value: float,
) -> BurnSeries:
    """The state at start and at the end of each of `days`, from the changes after the start.

    `changes` are sprint, points, status and deletion events in log order, with times; each
    counts on the day it happened in `time_zone`, and on a non-working day it shows on the next
    working day. The ideal line falls from `committed_value` (the frozen commitment) to 0 over
    the working days of `sprint_start`..`sprint_end`.
    """
    replay = _Replay(sprint_number, committed, at_start, done_statuses, unit)
    start = replay.totals()
    sprint_days = dates(sprint_start, sprint_end)
    working_total = sum(1 for day in sprint_days if is_working_day(day, working_weekdays))
    pending = sorted(changes, key=lambda change: change.event_id)
    index, previous, elapsed = 0, start, 0
    out: list[BurnDay] = []
    for day in days:
        working = is_working_day(day, working_weekdays)
        # Changes up to the end of this day (in the project's time zone) are applied.
        while index < len(pending) and _local_day(pending[index], time_zone) <= day:
            replay.apply(pending[index])
            index += 1
        # A non-working day repeats the day before; its changes show on the next working day,
        # or on the series' last day when no working day follows.
        current = replay.totals() if working or not out or day == days[-1] else previous
        if working and sprint_start <= day <= sprint_end:
            elapsed += 1
        left = 1 - elapsed / working_total if working_total else 0.0
        out.append(
            BurnDay(
                day=day,
                working_day=working,
                totals=current,
                ideal=committed_value * left if day <= sprint_end else 0.0,
                completed=current.done - previous.done,
                scope_change=current.scope - previous.scope,
            )
        )
        previous = current
    return BurnSeries(start=start, days=out, committed=committed_value, working_days=working_total)


def _local_day(change: LoggedChange, time_zone: ZoneInfo) -> date:
    moment: datetime | None = change.occurred_at
    assert moment is not None, "burn charts need the log read with times"
    return moment.astimezone(time_zone).date()
