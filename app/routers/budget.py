"""The project budget: hours and money, hourly rates, burn and projection (owners only)."""

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from app.domain.budgets import service as budgets
from app.domain.budgets.schemas import (
    BudgetPublic,
    BudgetReplace,
    MemberRatePublic,
    MemberRateReplace,
)
from app.domain.kernel.inputs import ID_MAX
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, IfMatch, OwnerAccess, SessionDep, set_etag, set_location

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/budget",
    tags=["budget"],
    responses=problem_responses(401, 403, 404),
)

UserId = Annotated[int, Path(le=ID_MAX, description="The member's user id.", examples=[7])]


@router.get("", response_model=BudgetPublic)
async def get_budget(access: OwnerAccess, session: SessionDep, response: Response) -> BudgetPublic:
    """The budget page (owners only: budgets and rates are not shown to members).

    Spent is every hour logged, priced at each member's rate, else the default rate
    (`unpriced_hours` have neither). Burn lists what was logged within each active or
    completed sprint's dates. The burn rate is the average per working day over the last
    three completed sprints; the projection adds it for every working day after today up to
    the planned end date (else the latest target date of a planned release or milestone), and
    `projected_over_budget` says whether that passes the hours or money budget. Without a
    completed sprint or an end date, `projection` is null and `projection_reason` says why.
    Money is a decimal string with two decimals.
    """
    view = await budgets.get_budget(session, access)
    set_etag(response, view.version)
    return BudgetPublic.model_validate(view)


@router.put("", response_model=BudgetPublic, responses=problem_responses(409, 412, 422))
async def replace_budget(
    data: BudgetReplace,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> BudgetPublic:
    """Replace the budget (owners): hours, money amount, currency, default hourly rate,
    planned end date; every field left out is cleared.

    Amounts and rates are not negative (422 naming the field) and need `currency`, an ISO
    4217 code (422 on `body.currency` without one); clearing the currency while members have
    rates is a 409. Send the ETag as If-Match to refuse (412) a change based on a stale read.
    """
    view = await budgets.replace_budget(session, access, data, if_match)
    set_etag(response, view.version)
    return BudgetPublic.model_validate(view)


@router.put(
    "/rates/{user_id}",
    response_model=MemberRatePublic,
    responses={
        201: {"model": MemberRatePublic, "description": "The rate was set."},
        **problem_responses(409, 412, 422),
    },
)
async def replace_member_rate(
    user_id: UserId,
    data: MemberRateReplace,
    access: OwnerAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> MemberRatePublic:
    """Set (201) or replace (200) a member's hourly rate (owners), in the budget's currency.

    The user is a member of the project, or someone whose logged time it prices (404
    otherwise). The budget must have a currency first (409). Their hours are priced at this
    rate instead of the default one, past hours included.
    """
    view, created = await budgets.replace_member_rate(session, access, user_id, data, if_match)
    if created:
        response.status_code = status.HTTP_201_CREATED
        set_location(response, f"/projects/{access.project.key}/budget/rates/{user_id}")
    set_etag(response, view.version)
    return MemberRatePublic.model_validate(view)


@router.delete(
    "/rates/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(412),
)
async def delete_member_rate(
    user_id: UserId, access: OwnerAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a member's hourly rate (owners): their hours are priced at the default rate."""
    await budgets.delete_member_rate(session, access, user_id, if_match)
