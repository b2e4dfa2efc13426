"""Releases and milestones: plan them, assign work, record the release, and the roadmap."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from app.domain.forecast.service import DEFAULT_HISTORY
from app.domain.kernel.inputs import ID_MAX, QueryBool
from app.domain.releases import service as releases
from app.domain.releases.models import ReleaseKind, ReleaseState
from app.domain.releases.schemas import (
    ReleaseCreate,
    ReleaseDetailPublic,
    ReleasePage,
    ReleasePublic,
    ReleaseRecord,
    ReleaseUpdate,
    RoadmapPublic,
)
from app.domain.reports import service as reports
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    SVG,
    IfMatch,
    MemberAccess,
    Number,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
    svg,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["releases"],
    responses=problem_responses(401, 404),
)


def forecast_options(
    seed: Annotated[
        int,
        Query(
            ge=0,
            le=ID_MAX,
            description="The forecast's seed: the same seed and data give the same figures.",
        ),
    ] = releases.DEFAULT_SEED,
    trials: Annotated[
        int, Query(ge=1_000, le=100_000, description="Monte Carlo trials per release.")
    ] = releases.DEFAULT_TRIALS,
    history: Annotated[
        int, Query(ge=2, le=50, description="How many of the latest completed sprints to sample.")
    ] = DEFAULT_HISTORY,
) -> releases.ForecastOptions:
    """The forecast's query parameters of a release and of the roadmap."""
    return releases.ForecastOptions(seed=seed, trials=trials, history=history)


ForecastQuery = Annotated[releases.ForecastOptions, Depends(forecast_options)]


def _detail(view: releases.ReleaseDetailView, response: Response) -> ReleaseDetailPublic:
    set_etag(response, view.version)
    return ReleaseDetailPublic.model_validate(view)


@router.get("/releases", response_model=ReleasePage, responses=problem_responses(422))
async def list_releases(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    state: Annotated[
        list[ReleaseState] | None,
        Query(description="`planned`, `released` or `archived`; repeat for several."),
    ] = None,
    kind: Annotated[
        list[ReleaseKind] | None, Query(description="`release` or `milestone`.")
    ] = None,
) -> ReleasePage:
    """The project's releases and milestones by number (any role), each with its scope now:
    items, points, done, remaining and unestimated, counting the children of its epics."""
    views, cursor = await releases.list_releases(
        session, access, page, states=state or (), kinds=kind or ()
    )
    link_next(request, response, cursor)
    return ReleasePage(
        data=[ReleasePublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.post(
    "/releases",
    status_code=status.HTTP_201_CREATED,
    response_model=ReleaseDetailPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_release(
    data: ReleaseCreate, access: MemberAccess, session: SessionDep, response: Response
) -> ReleaseDetailPublic:
    """Plan a release, or a milestone with `kind: milestone` (members).

    Names are unique in the project whatever their case (409 naming `body.name`); a target
    date before the start date is a 422 naming `body.target_date`. Assign work to it with
    the items' `release` field.
    """
    view = await releases.create_release(session, access, data)
    set_location(response, f"/projects/{access.project.key}/releases/{view.number}")
    return _detail(view, response)


@router.get(
    "/releases/{number}", response_model=ReleaseDetailPublic, responses=problem_responses(422)
)
async def get_release(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    response: Response,
    options: ForecastQuery,
) -> ReleaseDetailPublic:
    """A release or milestone (any role): its scope, its forecast and its open risks.

    The forecast simulates the remaining estimated points from the latest completed sprints:
    the completion date at 50/70/85/95 % and `target_probability`, the share of trials done
    by the last coming sprint that ends on or before the target date. It is null with a
    reason in `forecast_unavailable` once released or archived, or with fewer than 2
    completed sprints. The ETag carries the version for If-Match.
    """
    view = await releases.get_release(session, access, number, options)
    return _detail(view, response)


@router.patch(
    "/releases/{number}",
    response_model=ReleaseDetailPublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def update_release(
    number: Number,
    data: ReleaseUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> ReleaseDetailPublic:
    """Change a release (members): name, kind, description, dates, or its state.

    `state: archived` archives it (hidden from the roadmap, it takes no new items);
    `planned` reopens it, or un-releases a released one; `released` brings back an archived
    release that had shipped. A change that puts the target date before the start date is a
    422 naming the field sent.
    """
    view = await releases.update_release(session, access, number, data, if_match)
    return _detail(view, response)


@router.delete(
    "/releases/{number}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 412),
)
async def delete_release(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a release in any state (members): its items leave it, each change in the item's
    history; its risk links go with it."""
    await releases.delete_release(session, access, number, if_match)


@router.post(
    "/releases/{number}/release",
    response_model=ReleaseDetailPublic,
    responses=problem_responses(403, 409, 412, 422),
    operation_id="mark_release_released",
)
async def mark_release_released(
    number: Number,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
    data: ReleaseRecord | None = None,
) -> ReleaseDetailPublic:
    """Record that a planned release shipped, or a milestone was reached (members).

    `released_on` defaults to today in the project's time zone and may not be later; the
    state becomes `released`. A second call, or one on an archived release, is a 409.
    """
    view = await releases.record_release(session, access, number, data or ReleaseRecord(), if_match)
    return _detail(view, response)


@router.get("/roadmap", response_model=RoadmapPublic, responses=problem_responses(422))
async def get_roadmap(
    access: ViewerAccess,
    session: SessionDep,
    options: ForecastQuery,
    archived: Annotated[
        QueryBool, Query(description="`true`: include archived releases and milestones.")
    ] = False,
) -> RoadmapPublic:
    """Releases and milestones in date order (any role): by target date, undated last.

    Each entry has its progress (done and total points and items of its scope) and, while
    planned, its forecast confidence: the probability of meeting the target date and the
    85 % completion date. Every entry is forecast from the same history with the same seed,
    so its figures are those of the release's own page.
    """
    view = await releases.roadmap(session, access, archived=archived, options=options)
    return RoadmapPublic.model_validate(view)


@router.get("/roadmap.svg", response_class=Response, responses={**SVG, **problem_responses(422)})
async def get_roadmap_chart(
    access: ViewerAccess,
    session: SessionDep,
    options: ForecastQuery,
    archived: Annotated[
        QueryBool, Query(description="`true`: include archived releases and milestones.")
    ] = False,
) -> Response:
    """The roadmap as a timeline: a row per release or milestone from its start to its target
    date, released ones at their release date, and the 50–95 % forecast range of open ones."""
    return svg(await reports.roadmap_svg(session, access, archived=archived, options=options))
