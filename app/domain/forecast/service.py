"""Rules for the Monte Carlo forecast: its scope, its history, its calendar, and replays.

`forecast` answers with a `Forecast` view: the request and the simulation's result with what
was computed from them, which `ForecastPublic` validates from.
"""

import secrets
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from anyio import to_thread
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.forecast import repository
from app.domain.forecast.schemas import ForecastScope, ForecastUnit
from app.domain.items import repository as items_repository
from app.domain.items.models import EventKind, ItemType
from app.domain.items.repository import ScopeItem
from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import Conflict, InvalidInput
from app.domain.kernel.views import RowView
from app.domain.metrics.forecast import (
    MAX_SPRINTS,
    PERCENTILES,
    SprintsForecast,
    forecast_done,
    forecast_sprints,
    leading_fit,
)
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Project
from app.domain.releases import repository as releases_repository
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.models import Sprint
from app.domain.sprints.repository import CalendarSprint
from app.domain.workflow import repository as workflow_repository
from app.domain.workflow.models import StatusCategory

MIN_HISTORY = 2
DEFAULT_HISTORY = 10
DEFAULT_TRIALS = 10_000
# Generated seeds stay below 2**53, so that JavaScript clients can send them back exactly.
SEED_LIMIT = 2**53
_DECIMALS = 6


@dataclass(frozen=True)
class ForecastRequest:
    """What a forecast was asked for (already within the query's bounds)."""

    scope: ForecastScope | None = None
    epic: int | None = None
    release: int | None = None
    until: int | None = None
    unit: ForecastUnit = ForecastUnit.POINTS
    history: int = DEFAULT_HISTORY
    trials: int = DEFAULT_TRIALS
    seed: int | None = None
    sprints: int | None = None
    as_of: date | None = None


@dataclass(frozen=True)
class LoggedItem:
    """An item as the event log left it at some moment."""

    number: int
    title: str
    type: str
    points: float | None
    rank: str
    parent: int | None
    status_id: int | None
    release: int | None = None


@dataclass(frozen=True)
class CountedItem(RowView):
    """An item counted in the forecast's scope: its place in rank order, value, running total."""

    ROW = "item"

    item: ScopeItem
    position: int
    value: float
    cumulative: float


@dataclass(frozen=True)
class CountedScope(RowView):
    """The scope asked for (the request's `epic` and `until`), and the items counted in it."""

    ROW = "request"

    request: ForecastRequest
    kind: ForecastScope
    total: float
    items: list[CountedItem]

    @property
    def count(self) -> int:
        """How many items were counted."""
        return len(self.items)


@dataclass(frozen=True)
class SampledSprint(RowView):
    """A completed sprint the forecast drew from, and the value it contributes."""

    ROW = "sprint"

    sprint: Sprint
    value: float


@dataclass(frozen=True)
class SampledHistory:
    """The completed sprints sampled (most recent first) out of the latest `requested`."""

    requested: int
    mean: float
    sprints: list[SampledSprint]

    @property
    def used(self) -> int:
        """How many completed sprints there were to sample."""
        return len(self.sprints)


@dataclass(frozen=True)
class PercentileDate:
    """Sprints needed with one confidence (None: not within the cap), and the date then."""

    percentile: int
    sprints: int | None
    completion_date: date | None


@dataclass(frozen=True)
class ReverseConfidence:
    """What at least `confidence` % of trials got done in the given sprints."""

    confidence: int
    value: float
    items: list[int]


@dataclass(frozen=True)
class ReverseAnswer(RowView):
    """How much gets done in the request's next `sprints` sprints, per confidence."""

    ROW = "request"

    request: ForecastRequest
    end_date: date
    levels: list[ReverseConfidence]


@dataclass(frozen=True)
class Forecast(RowView):
    """A forecast's answer: what `ForecastPublic` shows."""

    # The request gives the unit, trials, seed and `as_of`; the simulation's result the
    # histogram and the unfinished trials.
    ROW = "request"
    ALSO = ("result",)

    request: ForecastRequest
    result: SprintsForecast
    scope: CountedScope
    unestimated_left_out: int
    history: SampledHistory
    forecast_date: date
    percentiles: list[PercentileDate]
    reverse: ReverseAnswer | None
    method: str


def replay(log: Sequence[tuple[int, int, str, str | None, Any]]) -> dict[int, LoggedItem]:
    """Items by number as a slice of the log, oldest event first, leaves them."""
    # A creation holds a snapshot of the tracked fields, a change one field, and a deletion
    # removes the item.
    state: dict[int, dict[str, Any]] = {}
    for item_id, number, kind, field, new in log:
        if kind == EventKind.CREATED:
            state[item_id] = {**(new or {}), "number": number}
        elif kind == EventKind.DELETED:
            state.pop(item_id, None)
        elif field is not None and item_id in state:
            state[item_id][field] = new
    items = {}
    for fields in state.values():
        points, parent, status = fields.get("points"), fields.get("parent"), fields.get("status")
        release = fields.get("release")
        items[fields["number"]] = LoggedItem(
            number=fields["number"],
            title=str(fields.get("title") or ""),
            type=str(fields.get("type") or ""),
            points=None if points is None else float(points),
            rank=str(fields.get("rank") or ""),
            parent=None if parent is None else int(parent),
            status_id=None if status is None else int(status),
            release=None if release is None else int(release),
        )
    return items


def _kind(request: ForecastRequest) -> ForecastScope:
    """The scope asked for: `epic=<n>` alone selects the epic scope, `release=<n>` the
    release's."""
    if request.scope is not None:
        kind = request.scope
    elif request.epic is not None:
        kind = ForecastScope.EPIC
    elif request.release is not None:
        kind = ForecastScope.RELEASE
    else:
        kind = ForecastScope.BACKLOG
    if kind == ForecastScope.EPIC and request.epic is None:
        raise InvalidInput.for_field("query.epic", "scope=epic needs `epic`.", "missing")
    if kind == ForecastScope.RELEASE and request.release is None:
        raise InvalidInput.for_field("query.release", "scope=release needs `release`.", "missing")
    if kind != ForecastScope.EPIC and request.epic is not None:
        raise InvalidInput.for_field("query.epic", "`epic` goes with scope=epic only.", "scope")
    if kind != ForecastScope.RELEASE and request.release is not None:
        raise InvalidInput.for_field(
            "query.release", "`release` goes with scope=release only.", "scope"
        )
    return kind


def _in_release(item: LoggedItem, items: dict[int, LoggedItem], release: int) -> bool:
    """Whether a replayed item counts in a release: its own, or its parent epic's when it has
    none (the rule of `releases.repository._scope`)."""
    if item.release is not None:
        return item.release == release
    parent = items.get(item.parent) if item.parent is not None else None
    return parent is not None and parent.release == release


def _check_as_of(project: Project, as_of: date | None, today: date) -> None:
    if as_of is None:
        return
    if as_of > today:
        raise InvalidInput.for_field(
            "query.as_of", f"{as_of} is in the future (today is {today}).", "future"
        )
    created = calendar.date_at(project.created_at, project.time_zone)
    if as_of < created:
        raise InvalidInput.for_field(
            "query.as_of",
            f"{as_of} is before {project.key} existed (created on {created}).",
            "before_project",
        )


async def _scope_then(
    session: AsyncSession,
    access: ProjectAccess,
    cutoff: datetime,
    epic: int | None,
    until: int | None,
    release: int | None = None,
) -> list[ScopeItem]:
    """The unfinished items as they were before `cutoff`, rebuilt from the item log."""
    # Done-ness is read from each status's category today: the log records moves between
    # statuses, not changes to a status's category.
    items = replay(await repository.scope_log(session, access.project_id, cutoff))
    categories = await workflow_repository.status_categories(session, access.project_id)
    until_rank: str | None = None
    if until is not None:
        if until not in items:
            raise InvalidInput.for_field(
                "query.until", f"Item {until} did not exist yet on as_of.", "unknown"
            )
        until_rank = items[until].rank
    kept = [
        item
        for item in items.values()
        if item.type != ItemType.EPIC
        and categories.get(item.status_id or 0) != StatusCategory.DONE
        and (epic is None or item.parent == epic)
        and (release is None or _in_release(item, items, release))
        and (until_rank is None or item.rank <= until_rank)
    ]
    # Python compares these ASCII keys bytewise, as the column's "C" collation does.
    kept.sort(key=lambda item: item.rank)
    return [ScopeItem(item.number, item.title, item.type, item.points, item.rank) for item in kept]


def _sample(project: Project, request: ForecastRequest, history: list[Sprint]) -> list[float]:
    """The values to draw from; 409 with fewer than 2 sprints or when all of them are 0."""
    if len(history) < MIN_HISTORY:
        by = f" completed by {request.as_of}" if request.as_of is not None else ""
        raise Conflict(
            f"A forecast needs at least {MIN_HISTORY} completed sprints; {project.key} has "
            f"{len(history)}{by}. Complete more sprints first."
        )
    by_points = request.unit == ForecastUnit.POINTS
    values = [
        float((sprint.completed_points if by_points else sprint.completed_items) or 0)
        for sprint in history
    ]
    if max(values) <= 0:
        raise Conflict(
            f"The last {len(values)} completed sprints of {project.key} completed no "
            f"{request.unit.value}; there is nothing to forecast from."
        )
    return values


def future_sprints(
    project: Project,
    sprints: Sequence[CalendarSprint],
    today: date,
    cutoff: datetime | None,
    count: int,
) -> list[tuple[date, date]]:
    """The dates of the next `count` sprints as the calendar stood before `cutoff` (or now)."""
    # First the sprint active then, then the planned ones after it, then new slots of the
    # project's length on its working days. A new slot never starts before `today`: a team
    # whose last sprint ended weeks ago starts its next one now, not back then.

    def before(moment: datetime | None) -> bool:
        return moment is not None and (cutoff is None or moment < cutoff)

    known = [s for s in sprints if cutoff is None or s.created_at < cutoff]
    active = [s for s in known if before(s.started_at) and not before(s.completed_at)]
    planned = [s for s in known if not before(s.started_at)]
    ended = [s.end_date for s in known if before(s.completed_at)]
    floor = max([today - timedelta(days=1), *ended])
    weekdays = calendar.weekday_numbers(project.working_days)
    slots: list[tuple[date, date]] = []
    if active:
        slots.append((active[-1].start_date, active[-1].end_date))
        floor = max(floor, active[-1].end_date)
    for sprint in planned:
        if sprint.end_date > floor:
            slots.append((sprint.start_date, sprint.end_date))
            floor = sprint.end_date
    while len(slots) < count:
        after = slots[-1][1] if slots else floor
        slots.append(calendar.next_slot(after, today, project.sprint_length_days, weekdays))
    return slots[:count]


def _method(request: ForecastRequest, values: list[float], total: float, project: Project) -> str:
    unit = request.unit.value
    shown = ", ".join(f"{value:g}" for value in values)
    reverse = (
        f" For the reverse question each trial adds up {request.sprints} such draws; the value "
        "at a confidence is the one at least that share of trials reached."
        if request.sprints is not None
        else ""
    )
    return (
        f"Bootstrap Monte Carlo with {request.trials} trials (seed {request.seed}): each trial "
        f"draws a past sprint's completed {unit} at random, with replacement, from the last "
        f"{len(values)} completed sprints ({shown}) until the {total:g} {unit} in scope are "
        f"done, at most {MAX_SPRINTS} sprints. A percentile is the fewest sprints within which "
        "at least that share of trials finished. Sprint 1 is the active sprint (else the next "
        "planned one, else the next free slot); later sprints follow the plan, then the "
        f"project's {project.sprint_length_days}-day cadence on its working days "
        f"({', '.join(project.working_days)}).{reverse}"
    )


async def _scope(
    session: AsyncSession, access: ProjectAccess, request: ForecastRequest, cutoff: datetime | None
) -> list[ScopeItem]:
    """The unfinished items in scope by rank, now or before `cutoff`; 422 for a bad epic/until."""
    project = access.project
    epic_id: int | None = None
    if request.epic is not None:
        epic = await items_repository.item_ref(session, access.project_id, request.epic)
        if epic is None or epic.type != ItemType.EPIC:
            raise InvalidInput.for_field(
                "query.epic", f"Item {request.epic} is no epic of {project.key}.", "not_epic"
            )
        epic_id = epic.id
    release_id: int | None = None
    if request.release is not None:
        found = await releases_repository.get_release(session, access.project_id, request.release)
        if found is None:
            raise InvalidInput.for_field(
                "query.release", f"No release {request.release} in {project.key}.", "unknown"
            )
        release_id = found.id
    until_rank: str | None = None
    if request.until is not None:
        until = await items_repository.item_ref(session, access.project_id, request.until)
        if until is None:
            raise InvalidInput.for_field(
                "query.until", f"No item {request.until} in {project.key}.", "unknown"
            )
        until_rank = until.rank
    if cutoff is not None:
        return await _scope_then(
            session, access, cutoff, request.epic, request.until, request.release
        )
    if release_id is not None:
        return await releases_repository.open_scope_items(
            session, access.project_id, release_id, until_rank
        )
    return await items_repository.open_items(session, access.project_id, epic_id, until_rank)


def _counted_items(counted: list[ScopeItem], values: list[float]) -> list[CountedItem]:
    cumulative = 0.0
    items = []
    for position, (item, value) in enumerate(zip(counted, values, strict=True), start=1):
        cumulative += value
        items.append(CountedItem(item, position, value, round(cumulative, _DECIMALS)))
    return items


def _reverse(
    request: ForecastRequest,
    done: dict[int, float] | None,
    counted: list[ScopeItem],
    values: list[float],
    slots: list[tuple[date, date]],
) -> ReverseAnswer | None:
    if request.sprints is None or done is None:
        return None
    return ReverseAnswer(
        request=request,
        end_date=slots[request.sprints - 1][1],
        levels=[
            ReverseConfidence(
                confidence=confidence,
                value=round(value, _DECIMALS),
                items=[item.number for item in counted[: leading_fit(values, value)]],
            )
            for confidence, value in done.items()
        ],
    )


async def forecast(
    session: AsyncSession, access: ProjectAccess, request: ForecastRequest
) -> Forecast:
    """When the scope will be done at 50/70/85/95 %, and optionally what K sprints will do."""
    project = access.project
    kind = _kind(request)
    today_now = clock.today(project.time_zone)
    _check_as_of(project, request.as_of, today_now)
    today = request.as_of or today_now
    cutoff = None
    if request.as_of is not None:
        cutoff = calendar.end_of_day(request.as_of, project.time_zone)
    scope = await _scope(session, access, request, cutoff)
    completed = await sprints_repository.completed_sprints(
        session, access.project_id, last=request.history, before=cutoff
    )
    # Most recent first.
    history = [sprint for sprint in reversed(completed) if sprint.completed_at is not None]
    samples = _sample(project, request, history)
    by_points = request.unit == ForecastUnit.POINTS
    counted = [item for item in scope if not by_points or item.points is not None]
    values = [(item.points or 0.0) if by_points else 1.0 for item in counted]
    total = sum(values)
    if request.seed is None:
        request = replace(request, seed=secrets.randbelow(SEED_LIMIT))
    assert request.seed is not None
    # Up to 100,000 trials take most of a second: simulate off the event loop.
    result = await to_thread.run_sync(
        forecast_sprints, samples, total, request.trials, request.seed
    )
    done = None
    if request.sprints is not None:
        done = await to_thread.run_sync(
            forecast_done, samples, request.sprints, request.trials, request.seed
        )
    reached = [k for k in result.percentiles.values() if k is not None]
    planned = await sprints_repository.calendar(session, access.project_id)
    slots = future_sprints(project, planned, today, cutoff, max([*reached, request.sprints or 0]))
    return Forecast(
        request=request,
        result=result,
        scope=CountedScope(
            request=request,
            kind=kind,
            total=round(total, _DECIMALS),
            items=_counted_items(counted, values),
        ),
        unestimated_left_out=len(scope) - len(counted),
        history=SampledHistory(
            requested=request.history,
            mean=round(sum(samples) / len(samples), _DECIMALS),
            sprints=[
                SampledSprint(sprint, value) for sprint, value in zip(history, samples, strict=True)
            ],
        ),
        forecast_date=today,
        percentiles=_percentiles(result, slots, today),
        reverse=_reverse(request, done, counted, values, slots),
        method=_method(request, samples, total, project),
    )


@dataclass(frozen=True)
class TargetScope:
    """A scope to forecast against its target date: the points left, and what is left out."""

    remaining: float
    unestimated: int
    target_date: date | None


@dataclass(frozen=True)
class TargetForecast:
    """A scope's forecast against its target date: what a release and the roadmap show."""

    seed: int
    trials: int
    history_sprints: int
    forecast_date: date
    remaining_points: float
    unestimated_left_out: int
    percentiles: list[PercentileDate]
    target_date: date | None
    target_sprints: int | None
    target_probability: float | None

    def at(self, percentile: int) -> PercentileDate:
        """The sprints and date at one of the percentiles."""
        return next(entry for entry in self.percentiles if entry.percentile == percentile)


@dataclass(frozen=True)
class TargetForecasts:
    """Forecasts of several scopes from one history, in their order, or why there are none."""

    forecasts: list[TargetForecast]
    history_sprints: int
    unavailable: str | None


def _slots_through(
    project: Project,
    planned: Sequence[CalendarSprint],
    today: date,
    needed: int,
    target: date | None,
) -> list[tuple[date, date]]:
    """The coming sprints: at least `needed`, and on past `target` (at most the cap)."""
    count = max(needed, 1)
    slots = future_sprints(project, planned, today, None, count)
    while target is not None and slots[-1][1] <= target and count < MAX_SPRINTS:
        count = min(MAX_SPRINTS, count * 2)
        slots = future_sprints(project, planned, today, None, count)
    return slots


def _by_target(result: SprintsForecast, sprints: int) -> float:
    """The share of trials done within `sprints` sprints."""
    done = sum(bar.trials for bar in result.histogram if bar.sprints <= sprints)
    return round(done / result.trials, _DECIMALS)


async def target_forecasts(
    session: AsyncSession,
    access: ProjectAccess,
    scopes: Sequence[TargetScope],
    *,
    seed: int,
    trials: int,
    history: int = DEFAULT_HISTORY,
) -> TargetForecasts:
    """Forecast each scope's remaining points from the latest completed sprints, loaded once:
    the dates at 50/70/85/95 %, and the share of trials done by the last coming sprint that
    ends on or before its target date. Too little history gives no forecast and the reason."""
    project = access.project
    today = clock.today(project.time_zone)
    request = ForecastRequest(history=history, trials=trials, seed=seed)
    completed = await sprints_repository.completed_sprints(session, access.project_id, last=history)
    sampled = [sprint for sprint in reversed(completed) if sprint.completed_at is not None]
    try:
        samples = _sample(project, request, sampled)
    except Conflict as exc:
        return TargetForecasts([], len(sampled), exc.detail)
    if not scopes:
        return TargetForecasts([], len(sampled), None)
    # One trip to a worker thread for all of them: each run is a few milliseconds.
    results = await to_thread.run_sync(
        lambda: [forecast_sprints(samples, scope.remaining, trials, seed) for scope in scopes]
    )
    reached = [k for result in results for k in result.percentiles.values() if k is not None]
    targets = [scope.target_date for scope in scopes if scope.target_date is not None]
    planned = await sprints_repository.calendar(session, access.project_id)
    slots = _slots_through(
        project, planned, today, max(reached, default=0), max(targets, default=None)
    )
    ends = [end for _, end in slots]
    forecasts = []
    for scope, result in zip(scopes, results, strict=True):
        target_sprints = (
            None if scope.target_date is None else bisect_right(ends, scope.target_date)
        )
        forecasts.append(
            TargetForecast(
                seed=seed,
                trials=trials,
                history_sprints=len(sampled),
                forecast_date=today,
                remaining_points=round(scope.remaining, _DECIMALS),
                unestimated_left_out=scope.unestimated,
                percentiles=_percentiles(result, slots, today),
                target_date=scope.target_date,
                target_sprints=target_sprints,
                target_probability=(
                    None if target_sprints is None else _by_target(result, target_sprints)
                ),
            )
        )
    return TargetForecasts(forecasts, len(sampled), None)


def _completion(k: int | None, slots: list[tuple[date, date]], today: date) -> date | None:
    """The end of sprint k; `today` when nothing remains, None when k was not reached."""
    if k is None:
        return None
    return slots[k - 1][1] if k > 0 else today


def _percentiles(
    result: SprintsForecast, slots: list[tuple[date, date]], today: date
) -> list[PercentileDate]:
    return [
        PercentileDate(
            percentile=percentile,
            sprints=result.percentiles[percentile],
            completion_date=_completion(result.percentiles[percentile], slots, today),
        )
        for percentile in PERCENTILES
    ]
