"""Risk register: a project's risks, scored by probability and impact, with their history."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.kernel.inputs import ID_MAX, NUMBER_MAX, IsoDate, QueryBool
from app.domain.risks import service as risks
from app.domain.risks.models import RiskCategory, RiskStatus
from app.domain.risks.schemas import (
    RiskCreate,
    RiskEventPage,
    RiskEventPublic,
    RiskPage,
    RiskPublic,
    RiskTrend,
    RiskUpdate,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    MemberAccess,
    Number,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/risks",
    tags=["risks"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=RiskPage, responses=problem_responses(422))
async def list_risks(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    status_filter: Annotated[
        list[RiskStatus] | None,
        Query(
            alias="status",
            description="`open`, `mitigating`, `occurred` or `closed`; repeat for several.",
        ),
    ] = None,
    owner: Annotated[
        int | None, Query(ge=1, le=ID_MAX, description="Only risks this user id owns.")
    ] = None,
    category: Annotated[RiskCategory | None, Query(description="Only risks of this category.")] = (
        None
    ),
    review_overdue: Annotated[
        QueryBool | None,
        Query(
            description="`true`: only open or mitigating risks whose review date is before "
            "today in the project's time zone; `false`: every other risk."
        ),
    ] = None,
    item: Annotated[
        int | None,
        Query(ge=1, le=NUMBER_MAX, description="Only risks linked to this item (its number)."),
    ] = None,
    sprint: Annotated[
        int | None,
        Query(ge=1, le=NUMBER_MAX, description="Only risks linked to this sprint (its number)."),
    ] = None,
    release: Annotated[
        int | None,
        Query(ge=1, le=NUMBER_MAX, description="Only risks linked to this release (its number)."),
    ] = None,
) -> RiskPage:
    """The project's risk register (any role): highest exposure first, then by number.

    Filters combine: `?status=open&status=mitigating&owner=3` is what user 3 still watches;
    `?review_overdue=true` is what is due for a look. Pages follow the same order; a risk
    whose exposure changes between two pages moves in it. An unknown item, sprint or release
    number is a 422 naming its parameter.
    """
    views, cursor = await risks.list_risks(
        session,
        access,
        page,
        statuses=status_filter,
        owner_id=owner,
        category=category,
        review_overdue=review_overdue,
        item=item,
        sprint=sprint,
        release=release,
    )
    link_next(request, response, cursor)
    return RiskPage(data=[RiskPublic.model_validate(view) for view in views], next_cursor=cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=RiskPublic,
    responses=problem_responses(403, 422),
)
async def create_risk(
    data: RiskCreate, access: MemberAccess, session: SessionDep, response: Response
) -> RiskPublic:
    """Add a risk to the register (members): exposure is probability × impact (1–25).

    The owner must be a project member with the member or owner role (422 `not_member` on
    `body.owner_id` otherwise). Links name items, sprints and releases of this project by
    number; an unknown one is a 422 naming its place, e.g. `body.items.0`.
    """
    view = await risks.create_risk(session, access, data)
    set_location(response, f"/projects/{access.project.key}/risks/{view.number}")
    set_etag(response, view.version)
    return RiskPublic.model_validate(view)


@router.get("/trend", response_model=RiskTrend, responses=problem_responses(422))
async def get_risk_trend(
    access: ViewerAccess,
    session: SessionDep,
    start: Annotated[
        IsoDate | None,
        Query(
            alias="from",
            description="A day in the first week (project time zone); default 11 weeks "
            "before the week of `to`.",
        ),
    ] = None,
    to: Annotated[
        IsoDate | None,
        Query(description="A day in the last week (project time zone); default and at most today."),
    ] = None,
) -> RiskTrend:
    """Open exposure per ISO week (any role): for each week from the one holding `from` to the
    one holding `to`, the summed exposure and the count of the risks that were open or
    mitigating at the end of its Sunday (project time zone), or now for the current week.

    Rebuilt from every risk's history, so past weeks show what was true then. At most 104
    weeks; deleted risks drop out of every week.
    """
    view = await risks.trend(session, access, start, to)
    return RiskTrend.model_validate(view)


@router.get("/{number}", response_model=RiskPublic)
async def get_risk(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> RiskPublic:
    """One risk (any role); its ETag is the version to send as If-Match."""
    view = await risks.get_risk(session, access, number)
    set_etag(response, view.version)
    return RiskPublic.model_validate(view)


@router.patch("/{number}", response_model=RiskPublic, responses=problem_responses(403, 412, 422))
async def update_risk(
    number: Number,
    data: RiskUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> RiskPublic:
    """Change a risk (members): only the fields sent change.

    Status moves freely between `open`, `mitigating`, `occurred` and `closed`. A link list
    sent (`items`, `sprints`, `releases`) replaces that whole list. Every change is logged in
    its history, which the trend replays.
    """
    view = await risks.update_risk(session, access, number, data, if_match)
    set_etag(response, view.version)
    return RiskPublic.model_validate(view)


@router.delete(
    "/{number}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 412)
)
async def delete_risk(
    number: Number, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a risk with its links and history (members); to keep the record, close it."""
    await risks.delete_risk(session, access, number, if_match)


@router.get("/{number}/history", response_model=RiskEventPage)
async def list_risk_history(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> RiskEventPage:
    """Every recorded change of a risk, oldest first (any role): who, when, which field, old
    and new value. The first entry, `created`, holds the risk's fields as it was created."""
    events, cursor = await risks.history(session, access, number, page)
    link_next(request, response, cursor)
    return RiskEventPage(
        data=[RiskEventPublic.model_validate(event) for event in events], next_cursor=cursor
    )
