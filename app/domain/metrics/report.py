"""The sprint report: what was committed, done, not done, removed and done elsewhere.

Pure: it replays a sprint's slice of the item event log over the commitment frozen at start
and compares the result with the items in the sprint at close (or now, while it is active).
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from app.domain.metrics.scope import LoggedChange


@dataclass(frozen=True)
class ItemFacts:
    """What the report shows of an item besides its numbers."""

    number: int
    title: str | None
    type: str | None


@dataclass(frozen=True)
class ItemAtClose:
    """An item in the sprint at close (or now): its estimate, status and done-ness then."""

    item_id: int
    points: float | None
    status: str | None
    done: bool
    carried_to: int | str | None = None


@dataclass(frozen=True)
class ReportLine:
    """One item of a report section."""

    number: int
    title: str | None
    type: str | None
    added_after_start: bool
    points_at_start: float | None
    points_at_close: float | None
    status: str | None
    carried_to: int | str | None
    deleted: bool


@dataclass(frozen=True)
class Tally:
    """A count of items and the sum of their points (unestimated count 0)."""

    items: int = 0
    points: float = 0.0


@dataclass(frozen=True)
class Section:
    """A list of report lines and their tally (points at close, or when removed)."""

    lines: list[ReportLine] = field(default_factory=list)

    @property
    def tally(self) -> Tally:
        """How many lines and their points."""
        return Tally(len(self.lines), sum(line.points_at_close or 0.0 for line in self.lines))


@dataclass(frozen=True)
class ScopeMovement:
    """The scope changes after start, summed: joins, departures and re-estimates of members."""

    added: Tally
    removed: Tally
    re_estimated: float
    re_estimates: int

    @property
    def re_estimates_tally(self) -> Tally:
        """The re-estimates as a tally: how many, and the net change in points."""
        return Tally(self.re_estimates, self.re_estimated)


@dataclass(frozen=True)
class SprintReportData:
    """Every section and total of a sprint report."""

    committed: Tally
    completed: Section
    not_completed: Section
    completed_outside: Section
    removed: Section
    movement: ScopeMovement
    scope: Tally

    @property
    def say_do(self) -> float | None:
        """Completed points over committed points; none when nothing was committed."""
        if not self.committed.points:
            return None
        return round(self.completed.tally.points / self.committed.points, 4)


def sprint_report(
    sprint_number: int,
    committed: Mapping[int, float | None],
    start_points: Mapping[int, float | None],
    changes: Iterable[LoggedChange],
    at_close: Mapping[int, ItemAtClose],
    facts: Mapping[int, ItemFacts],
    done_statuses: set[int],
) -> SprintReportData:
    """Build the report of a sprint.

    `committed` maps the items in the sprint at start to their estimates then; `start_points`
    holds every involved item's estimate at start; `changes` are the sprint, points, status and
    deletion events after start (up to close), in log order, an item created straight into the
    sprint appearing as a sprint change from none. An item done at close counts as completed in
    the sprint only if it entered a done status while it was a member; one that was already done
    when it joined (at start, or when added) was completed outside this sprint.
    """
    points = dict(start_points)
    points.update(committed)
    members = set(committed)
    entry_points: dict[int, float | None] = dict(committed)
    done_while_member: set[int] = set()
    left_with: dict[int, float | None] = {}
    deleted: set[int] = set()
    added, removed, re_estimated, re_estimates = Tally(), Tally(), 0.0, 0

    # Unpacked: attribute access on thousands of tuples is a measurable share of a report.
    for _, _, _, item, _, logged_field, old_value, new_value in changes:
        if logged_field == "points":
            before, points[item] = points.get(item), new_value
            if item in members:
                re_estimated += (new_value or 0.0) - (before or 0.0)
                re_estimates += 1
        elif logged_field == "status":
            entered_done = new_value in done_statuses
            if item in members and entered_done and old_value not in done_statuses:
                done_while_member.add(item)
        elif logged_field is None and item in members:
            # A member deleted during the sprint leaves its scope.
            members.discard(item)
            deleted.add(item)
            left_with[item] = points.get(item)
            removed = Tally(removed.items + 1, removed.points + (points.get(item) or 0.0))
        elif logged_field == "sprint":
            if new_value == sprint_number and old_value != sprint_number:
                members.add(item)
                done_while_member.discard(item)
                entry_points.setdefault(item, points.get(item))
                added = Tally(added.items + 1, added.points + (points.get(item) or 0.0))
            elif old_value == sprint_number and new_value != sprint_number:
                members.discard(item)
                left_with[item] = points.get(item)
                removed = Tally(removed.items + 1, removed.points + (points.get(item) or 0.0))

    def line(item: int, points_at_close: float | None, state: ItemAtClose | None) -> ReportLine:
        fact = facts.get(item, ItemFacts(number=0, title=None, type=None))
        return ReportLine(
            number=fact.number,
            title=fact.title,
            type=fact.type,
            added_after_start=item not in committed,
            points_at_start=entry_points.get(item),
            points_at_close=points_at_close,
            status=state.status if state else None,
            carried_to=state.carried_to if state else None,
            deleted=item in deleted,
        )

    completed, outside, not_completed = Section(), Section(), Section()
    for item, state in _by_number(at_close, facts):
        target = not_completed
        if state.done:
            target = completed if item in done_while_member else outside
        target.lines.append(line(item, state.points, state))
    gone = Section()
    for item in sorted(set(entry_points) - set(at_close), key=lambda i: _number(i, facts)):
        gone.lines.append(line(item, left_with.get(item), None))
    return SprintReportData(
        committed=Tally(len(committed), sum(value or 0.0 for value in committed.values())),
        completed=completed,
        not_completed=not_completed,
        completed_outside=outside,
        removed=gone,
        movement=ScopeMovement(added, removed, re_estimated, re_estimates),
        scope=Tally(len(at_close), sum(state.points or 0.0 for state in at_close.values())),
    )


def _number(item: int, facts: Mapping[int, ItemFacts]) -> int:
    fact = facts.get(item)
    return fact.number if fact else 0


def _by_number(
    at_close: Mapping[int, ItemAtClose], facts: Mapping[int, ItemFacts]
) -> list[tuple[int, ItemAtClose]]:
    return sorted(at_close.items(), key=lambda pair: _number(pair[0], facts))
