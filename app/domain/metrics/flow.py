"""Flow metrics: cumulative flow, work in progress, throughput, cycle and lead time.

Pure: it replays the item event log's creations, status and type changes and deletions in
time order, reading each status through its category. Log times are whole microseconds since
the Unix epoch (integers decode and compare several times faster than datetimes, and a request
reads tens of thousands); days are calendar days in the project's time zone, each ending at the
next local midnight.
"""

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from operator import itemgetter
from typing import NamedTuple
from zoneinfo import ZoneInfo

from app.domain.kernel.calendar import dates, start_of_day

EPIC = "epic"
IN_PROGRESS = "in_progress"
DONE = "done"
CATEGORIES = ("todo", IN_PROGRESS, DONE)
PERCENTILES = (50, 85, 95)
_MICROS_PER_DAY = 86_400_000_000
_MICROSECOND = timedelta(microseconds=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ChangeKind(StrEnum):
    """The kinds of logged change that move an item through the flow."""

    CREATED = "created"
    STATUS = "status"
    TYPE = "type"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class FlowStatus:
    """A workflow status as the metrics read it (its current category)."""

    id: int
    name: str
    category: str


# A named tuple rather than a dataclass: tens of thousands are built per request, at half the
# cost, and the replay unpacks them.
class ItemChange(NamedTuple):
    """One logged change: a creation (status and type), a new status, a new type, a deletion."""

    at: int  # microseconds since the Unix epoch (`to_micros`)
    item_id: int
    number: int
    kind: ChangeKind
    status_id: int | None = None
    item_type: str | None = None


@dataclass(frozen=True, slots=True)
class FlowDay:
    """The live non-epic items per status at the end of one day.

    `counts` follows the order of the statuses given; `other` counts items in a status that is
    not among them (deleted since); `categories` maps each category to its count.
    """

    day: date
    counts: tuple[int, ...]
    other: int
    categories: dict[str, int]

    @property
    def wip(self) -> int:
        """Items in an in-progress status."""
        return self.categories[IN_PROGRESS]


@dataclass(frozen=True, slots=True)
class WeekThroughput:
    """Finishes in one ISO week (Monday start), counting only its days inside the range."""

    week_start: date
    days_in_range: int
    items: int


@dataclass(frozen=True, slots=True)
class FinishedItem:
    """An item whose latest finish fell in the range and that was still done at its end."""

    item_id: int
    number: int
    finished_at: datetime
    cycle_days: float | None
    lead_days: float


@dataclass(frozen=True, slots=True)
class Summary:
    """Count, nearest-rank percentiles and mean of a list of durations in days."""

    count: int
    p50: float | None
    p85: float | None
    p95: float | None
    mean: float | None


@dataclass(frozen=True, slots=True)
class FlowReport:
    """Every flow metric of a date range."""

    days: list[FlowDay]
    weeks: list[WeekThroughput]
    finished: list[FinishedItem]
    cycle_time: Summary
    lead_time: Summary
    straight_to_done: int


def percentile(ordered: Sequence[float], p: int) -> float:
    """The nearest-rank p-th percentile of sorted values: the ⌈p·n/100⌉-th smallest."""
    if not ordered:
        raise ValueError("no values")
    if not 0 < p <= 100:
        raise ValueError("p must be in (0, 100]")
    # Integer ceiling: 0.95 * 20 in floating point is not reliably 19.
    rank = -(-p * len(ordered) // 100)
    return ordered[rank - 1]


def summarize(values: Iterable[float]) -> Summary:
    """Count, p50, p85, p95 (nearest rank) and mean; None where there are no values."""
    ordered = sorted(values)
    if not ordered:
        return Summary(0, None, None, None, None)
    p50, p85, p95 = (percentile(ordered, p) for p in PERCENTILES)
    return Summary(len(ordered), p50, p85, p95, sum(ordered) / len(ordered))


def day_starts(first: date, last: date, zone: ZoneInfo) -> list[datetime]:
    """The UTC instants of local midnight starting each day from first to last, and the end."""
    return [
        start_of_day(day, zone).astimezone(UTC) for day in dates(first, last + timedelta(days=1))
    ]


def to_micros(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the Unix epoch."""
    return (moment - EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """Microseconds since the Unix epoch as an aware UTC datetime."""
    return EPOCH + micros * _MICROSECOND


class _Item:
    """One item's state while the log is replayed."""

    __slots__ = ("created_at", "epic", "finished_at", "live", "number", "started_at", "status")

    def __init__(self, number: int, created_at: int, status: int, epic: bool) -> None:
        self.number = number
        self.created_at = created_at
        self.status = status
        self.epic = epic
        self.live = True
        self.started_at: int | None = None
        self.finished_at: int | None = None


def _finished(
    items: dict[int, _Item], category: dict[int, str], start: int, end: int
) -> list[FinishedItem]:
    """Live non-epic items done at the end whose latest finish is in [start, end), by finish."""
    finished = []
    for item_id, item in items.items():
        done_at = item.finished_at
        if (
            done_at is None
            or not item.live
            or item.epic
            or category.get(item.status) != DONE
            or not start <= done_at < end
        ):
            continue
        started = item.started_at
        cycle = None if started is None else (done_at - started) / _MICROS_PER_DAY
        lead = (done_at - item.created_at) / _MICROS_PER_DAY
        finished.append(FinishedItem(item_id, item.number, from_micros(done_at), cycle, lead))
    finished.sort(key=lambda entry: (entry.finished_at, entry.number))
    return finished


def flow(
    statuses: Sequence[FlowStatus],
    changes: Iterable[ItemChange],
    first: date,
    last: date,
    zone: ZoneInfo,
) -> FlowReport:
    """Replay `changes` (oldest first; ties keep their order) and measure first..last.

    Epics are left out while they are epics. A finish is an entry into a done-category status
    from a status that is not done (or a creation straight into one); cycle time runs from the
    first entry into an in-progress status, lead time from creation, both to the latest finish.
    """
    if last < first:
        raise ValueError("last is before first")
    category = {status.id: status.category for status in statuses}
    order = [status.id for status in statuses]
    starts = [to_micros(start) for start in day_starts(first, last, zone)]
    range_start, range_end = starts[0], starts[-1]
    day_count = len(starts) - 1
    # Weeks overlapping the range, by Monday; a finish lands in its local day's week.
    first_monday = first - timedelta(days=first.weekday())
    week_count = (last - first_monday).days // 7 + 1
    per_week = [0] * week_count
    week_of_day = [((first - first_monday).days + offset) // 7 for offset in range(day_count)]

    counts: dict[int, int] = dict.fromkeys(order, 0)
    items: dict[int, _Item] = {}
    days: list[FlowDay] = []

    def close_day() -> None:
        row = tuple(counts[status_id] for status_id in order)
        by_category = dict.fromkeys(CATEGORIES, 0)
        for status_id, count in zip(order, row, strict=True):
            by_category[category[status_id]] += count
        other = sum(count for status_id, count in counts.items() if status_id not in category)
        days.append(FlowDay(first + timedelta(days=len(days)), row, other, by_category))

    def finish(item: _Item, at: int) -> None:
        item.finished_at = at
        if not item.epic and range_start <= at < range_end:
            per_week[week_of_day[bisect_right(starts, at) - 1]] += 1

    created, moved, retyped, removed = (
        ChangeKind.CREATED,
        ChangeKind.STATUS,
        ChangeKind.TYPE,
        ChangeKind.DELETED,
    )
    day_end = starts[1]
    # Unpacked into locals: this loop runs once per logged change, tens of thousands of times.
    for at, item_id, number, kind, status_id, item_type in sorted(changes, key=itemgetter(0)):
        if at >= range_end:
            break
        if at >= day_end:
            # Days that ended before this change are closed with the counts as they stood.
            while at >= starts[len(days) + 1]:
                close_day()
            day_end = starts[len(days) + 1]
        item = items.get(item_id)
        if kind == created:
            if item is not None or status_id is None:
                continue
            item = _Item(number, at, status_id, item_type == EPIC)
            items[item_id] = item
            if not item.epic:
                counts[status_id] = counts.get(status_id, 0) + 1
            entered = category.get(status_id)
            if entered == IN_PROGRESS:
                item.started_at = at
            elif entered == DONE:
                finish(item, at)
            continue
        if item is None or not item.live:
            # Only changes of items whose creation was read can be placed.
            continue
        if kind == moved:
            old = item.status
            if status_id is None or status_id == old:
                continue
            if not item.epic:
                counts[old] -= 1
                counts[status_id] = counts.get(status_id, 0) + 1
            item.status = status_id
            entered = category.get(status_id)
            if entered == IN_PROGRESS:
                if item.started_at is None:
                    item.started_at = at
            elif entered == DONE and category.get(old) != DONE:
                finish(item, at)
        elif kind == retyped:
            epic = item_type == EPIC
            if epic != item.epic:
                item.epic = epic
                counts[item.status] = counts.get(item.status, 0) + (-1 if epic else 1)
        elif kind == removed:
            item.live = False
            if not item.epic:
                counts[item.status] -= 1
    while len(days) < day_count:
        close_day()

    finished = _finished(items, category, range_start, range_end)
    weeks = []
    for index, items_done in enumerate(per_week):
        monday = first_monday + timedelta(weeks=index)
        inside = min(monday + timedelta(days=6), last) - max(monday, first)
        weeks.append(WeekThroughput(monday, inside.days + 1, items_done))
    cycles = [entry.cycle_days for entry in finished if entry.cycle_days is not None]
    return FlowReport(
        days=days,
        weeks=weeks,
        finished=finished,
        cycle_time=summarize(cycles),
        lead_time=summarize(entry.lead_days for entry in finished),
        straight_to_done=len(finished) - len(cycles),
    )
