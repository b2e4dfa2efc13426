"""Rules for releases and milestones: names, dates and states, recording a release, what a
deletion does to the items, a release's scope and forecast, and the roadmap.

A release's scope is its own items and the children of its epics (see `repository._scope`);
its forecast is the project's Monte Carlo forecast of that scope's remaining points
(`forecast.service.target_forecasts`), and the roadmap forecasts every open entry from one
history, loaded once.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.forecast import service as forecast
from app.domain.forecast.service import TargetForecast, TargetScope
from app.domain.items import repository as items_repository
from app.domain.items.writer import Writer
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, apply_changes, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.releases import repository
from app.domain.releases.models import Release, ReleaseKind, ReleaseState
from app.domain.releases.repository import ScopeTotals
from app.domain.releases.schemas import ReleaseCreate, ReleaseRecord, ReleaseUpdate
from app.domain.risks import repository as risks_repository
from app.domain.risks.models import Risk

# Dates far from now would make the forecast's calendar of coming sprints endless.
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)
# A release's forecast, unless asked otherwise: a fixed seed, so that the same data always
# gives the same figures (and the roadmap agrees with each release's page), and 2,000 trials,
# which put a probability within about a percentage point while 20 releases take milliseconds.
DEFAULT_SEED = 0
DEFAULT_TRIALS = 2_000
_DATES = frozenset({"start_date", "target_date"})


@dataclass(frozen=True)
class ForecastOptions:
    """How a release's forecast is run (already within the query's bounds)."""

    seed: int = DEFAULT_SEED
    trials: int = DEFAULT_TRIALS
    history: int = forecast.DEFAULT_HISTORY


@dataclass(frozen=True)
class ReleaseView(RowView):
    """A release with its scope counted now: what `ReleasePublic` shows."""

    ROW = "release"

    release: Release
    scope: ScopeTotals

    number = FromRow[int]()
    version = FromRow[int]()


@dataclass(frozen=True)
class ReleaseDetailView(ReleaseView):
    """A release with its forecast (or why it has none) and its open risks."""

    forecast: TargetForecast | None
    forecast_unavailable: str | None
    risks: list[Risk]


@dataclass(frozen=True)
class Confidence:
    """A roadmap entry's forecast, briefly: the probability of meeting its target and the
    85 % date."""

    forecast: TargetForecast

    @property
    def target_probability(self) -> float | None:
        """The probability of meeting the target date (None without one)."""
        return self.forecast.target_probability

    @property
    def date_85(self) -> date | None:
        """The day the scope is done with 85 % confidence."""
        return self.forecast.at(85).completion_date

    @property
    def sprints_85(self) -> int | None:
        """The sprints that takes."""
        return self.forecast.at(85).sprints


@dataclass(frozen=True)
class RoadmapEntryView(RowView):
    """One roadmap entry: the release, its progress and its confidence."""

    ROW = "release"

    release: Release
    progress: ScopeTotals
    confidence: Confidence | None


@dataclass(frozen=True)
class RoadmapView:
    """The roadmap: entries in date order, and how their forecasts were made."""

    entries: list[RoadmapEntryView]
    forecast_date: date
    seed: int
    trials: int
    history_sprints: int
    forecast_unavailable: str | None


def _not_found(access: ProjectAccess, number: int) -> NotFound:
    return NotFound(f"No release {number} in {access.project.key}.")


async def _release(
    session: AsyncSession, access: ProjectAccess, number: int, *, for_update: bool = False
) -> Release:
    found = await repository.get_release(
        session, access.project_id, number, lock="update" if for_update else None
    )
    if found is None:
        raise _not_found(access, number)
    return found


async def _locked(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> Release:
    """A release locked for a change, after the If-Match check (412 when it is stale)."""
    release = await _release(session, access, number, for_update=True)
    check_version(release.version, if_match)
    return release


def _check_dates(start: date | None, target: date | None, sent: set[str]) -> None:
    """422 for a date out of range, or a target before the start (naming the field sent)."""
    for name, value in (("start_date", start), ("target_date", target)):
        if value is not None and name in sent and not EARLIEST_DATE <= value <= LATEST_DATE:
            raise InvalidInput.for_field(
                f"body.{name}", f"Dates run from {EARLIEST_DATE} to {LATEST_DATE}.", "range"
            )
    if start is not None and target is not None and target < start:
        name = "target_date" if "target_date" in sent else "start_date"
        raise InvalidInput.for_field(
            f"body.{name}",
            f"The target date {target} is before the start date {start}.",
            "order",
        )


async def _check_name(
    session: AsyncSession, access: ProjectAccess, name: str, except_id: int | None
) -> None:
    """409 naming `body.name` when another release of the project has it (any case)."""
    if await repository.name_taken(session, access.project_id, name, except_id):
        raise Conflict(
            f"{access.project.key} has a release named {name!r} already.",
            errors=[
                FieldError(field="body.name", message="already used in this project", type="taken")
            ],
        )


async def _views(
    session: AsyncSession, access: ProjectAccess, releases: Sequence[Release]
) -> list[ReleaseView]:
    """Releases with their scope, counted in one query for all of them."""
    ids = [release.id for release in releases if release.id is not None]
    totals = await repository.scope_totals(session, access.project_id, ids)
    empty = ScopeTotals()
    return [ReleaseView(release, totals.get(release.id or 0, empty)) for release in releases]


def _closed_reason(release: Release) -> str | None:
    """Why a release that is not planned has no forecast."""
    what = "Milestone" if release.kind == ReleaseKind.MILESTONE else "Release"
    if release.state == ReleaseState.RELEASED:
        done = "was reached" if release.kind == ReleaseKind.MILESTONE else "shipped"
        return f"{what} {release.number} {done} on {release.released_on}: nothing to forecast."
    if release.state == ReleaseState.ARCHIVED:
        return f"{what} {release.number} is archived: nothing to forecast."
    return None


def _target(totals: ScopeTotals, release: Release) -> TargetScope:
    return TargetScope(
        remaining=totals.remaining_points,
        unestimated=totals.unestimated_items,
        target_date=release.target_date,
    )


async def _detail(
    session: AsyncSession, access: ProjectAccess, release: Release, options: ForecastOptions
) -> ReleaseDetailView:
    """A release with its scope, forecast and open risks."""
    await session.flush()
    view = (await _views(session, access, [release]))[0]
    reason = _closed_reason(release)
    found: TargetForecast | None = None
    if reason is None:
        forecasts = await forecast.target_forecasts(
            session,
            access,
            [_target(view.scope, release)],
            seed=options.seed,
            trials=options.trials,
            history=options.history,
        )
        reason = forecasts.unavailable
        found = forecasts.forecasts[0] if forecasts.forecasts else None
    assert release.id is not None
    risks = await risks_repository.open_risks_linked(
        session, access.project_id, release_id=release.id
    )
    return ReleaseDetailView(release, view.scope, found, reason, risks)


async def list_releases(
    session: AsyncSession,
    access: ProjectAccess,
    page: PageRequest,
    *,
    states: Sequence[ReleaseState] = (),
    kinds: Sequence[ReleaseKind] = (),
) -> tuple[list[ReleaseView], str | None]:
    """The project's releases and milestones by number, with their scope."""
    releases, cursor = await repository.list_releases(
        session, access.project_id, page, states=states, kinds=kinds
    )
    return await _views(session, access, releases), cursor


async def create_release(
    session: AsyncSession, access: ProjectAccess, data: ReleaseCreate
) -> ReleaseDetailView:
    """Create a planned release or milestone with the next number."""
    _check_dates(data.start_date, data.target_date, data.model_fields_set)
    # Taking the number locks the project row until commit: names are checked one at a time.
    number = await projects_repository.take_numbers(session, access.project_id, "release")
    await _check_name(session, access, data.name, None)
    release = Release(
        project_id=access.project_id,
        number=number,
        kind=data.kind,
        name=data.name,
        description=data.description,
        start_date=data.start_date,
        target_date=data.target_date,
        created_by=access.user.id,
    )
    session.add(release)
    return await _detail(session, access, release, ForecastOptions())


async def get_release(
    session: AsyncSession, access: ProjectAccess, number: int, options: ForecastOptions
) -> ReleaseDetailView:
    """One release with its scope, forecast and open risks, or 404."""
    return await _detail(session, access, await _release(session, access, number), options)


def _move(release: Release, state: ReleaseState) -> None:
    """Change state by PATCH: archive, reopen or un-release, or bring back a shipped release."""
    if state == ReleaseState.RELEASED:
        if release.state != ReleaseState.ARCHIVED or release.released_on is None:
            raise Conflict(
                f"Release {release.number} is {release.state}: record its release with "
                f"POST .../releases/{release.number}/release.",
                errors=[FieldError(field="body.state", message="use release", type="state")],
            )
    elif state == ReleaseState.PLANNED:
        # Reopened or un-released: it has not shipped (any more).
        release.released_on = None
        release.released_at = None
    release.state = state


async def update_release(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: ReleaseUpdate,
    if_match: Versions | None,
) -> ReleaseDetailView:
    """Change a release's name, kind, description, dates or state."""
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    for name in ("name", "kind", "description", "state"):
        if name in changes and changes[name] is None:
            raise InvalidInput.null(f"body.{name}")
    if "name" in changes:
        # Queue with creators (project row, then the release): names are checked one at a time.
        await projects_repository.lock_project(session, access.project_id)
    release = await _locked(session, access, number, if_match)
    _check_dates(
        changes.get("start_date", release.start_date),
        changes.get("target_date", release.target_date),
        set(changes),
    )
    if "name" in changes and changes["name"].lower() != release.name.lower():
        await _check_name(session, access, changes["name"], release.id)
    state = changes.pop("state", None)
    changed = apply_changes(release, changes, nullable=_DATES)
    if state is not None and state != release.state:
        _move(release, state)
        if not changed:
            bump(release)
    return await _detail(session, access, release, ForecastOptions())


async def record_release(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: ReleaseRecord,
    if_match: Versions | None,
) -> ReleaseDetailView:
    """Record that a planned release shipped (or a milestone was reached) on a day: today in
    the project's time zone unless given, never later."""
    release = await _locked(session, access, number, if_match)
    if release.state == ReleaseState.RELEASED:
        raise Conflict(f"Release {number} was released on {release.released_on} already.")
    if release.state == ReleaseState.ARCHIVED:
        raise Conflict(f"Release {number} is archived; reopen it (state planned) first.")
    today = clock.today(access.project.time_zone)
    day = data.released_on or today
    if day > today:
        raise InvalidInput.for_field(
            "body.released_on", f"{day} is in the future (today is {today}).", "future"
        )
    if day < EARLIEST_DATE:
        raise InvalidInput.for_field(
            "body.released_on", f"Dates run from {EARLIEST_DATE} to {LATEST_DATE}.", "range"
        )
    release.state = ReleaseState.RELEASED
    release.released_on = day
    release.released_at = clock.now()
    bump(release)
    return await _detail(session, access, release, ForecastOptions())


async def delete_release(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> None:
    """Delete a release in any state: its items leave it through the item write path (each
    change in their history); the children of its epics were never in it themselves."""
    # Project row, then the release, then its items: the order an item's release change takes.
    await projects_repository.lock_project(session, access.project_id)
    release = await _locked(session, access, number, if_match)
    assert release.id is not None
    writer = Writer(session, access)
    writer.know_release(release.id, release.number)
    for item in await items_repository.items_in_release(session, access.project_id, release.id):
        await writer.write(item, {"release_id": None})
    await session.flush()
    await repository.delete_release(session, access.project_id, release.id)


async def roadmap(
    session: AsyncSession, access: ProjectAccess, *, archived: bool, options: ForecastOptions
) -> RoadmapView:
    """Releases and milestones by target date (undated last) with progress, and for the
    planned ones the forecast's confidence, from one history and one query for all scopes."""
    releases = await repository.roadmap_releases(session, access.project_id, archived=archived)
    ids = [release.id for release in releases if release.id is not None]
    totals = await repository.scope_totals(session, access.project_id, ids)
    scope_of = {release.number: totals.get(release.id or 0, ScopeTotals()) for release in releases}
    planned = [release for release in releases if release.state.is_open]
    forecasts = await forecast.target_forecasts(
        session,
        access,
        [_target(scope_of[release.number], release) for release in planned],
        seed=options.seed,
        trials=options.trials,
        history=options.history,
    )
    confidence = (
        {}
        if forecasts.unavailable is not None
        else {
            release.number: Confidence(found)
            for release, found in zip(planned, forecasts.forecasts, strict=True)
        }
    )
    return RoadmapView(
        entries=[
            RoadmapEntryView(release, scope_of[release.number], confidence.get(release.number))
            for release in releases
        ],
        forecast_date=clock.today(access.project.time_zone),
        seed=options.seed,
        trials=options.trials,
        history_sprints=forecasts.history_sprints if forecasts.unavailable is None else 0,
        forecast_unavailable=forecasts.unavailable,
    )
