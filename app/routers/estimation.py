"""Planning poker: rounds on items with hidden votes, the reveal, re-votes and accepting an
estimate, and estimation sessions that walk a list of items in rank order."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from app.domain.estimation import service as estimation
from app.domain.estimation.schemas import (
    RoundAccept,
    RoundPage,
    RoundPublic,
    SessionAdvance,
    SessionCreate,
    SessionPage,
    SessionPublic,
    VoteCast,
)
from app.domain.estimation.service import RoundView, SessionView
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
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
    prefix=API_PREFIX + "/projects/{key}",
    tags=["estimation"],
    responses=problem_responses(401, 404),
)

ITEM = "/items/{number}/estimation"
ROUND = ITEM + "/rounds/{round_number}"
SESSIONS = "/estimation-sessions"

RoundNumber = Annotated[
    int, Path(description="The round's number on its item (1, 2, ...).", examples=[1])
]
SessionId = Annotated[Id, Path(description="The estimation session's id.")]


def _round(view: RoundView, response: Response, created_in: str | None = None) -> RoundPublic:
    if created_in is not None:
        set_location(
            response,
            f"/projects/{created_in}/items/{view.item_number}/estimation/rounds/{view.round.number}",
        )
    set_etag(response, view.round.version)
    return RoundPublic.model_validate(view)


def _session(view: SessionView, response: Response) -> SessionPublic:
    set_etag(response, view.row.version)
    return SessionPublic.model_validate(view)


@router.post(
    ITEM,
    status_code=status.HTTP_201_CREATED,
    response_model=RoundPublic,
    responses=problem_responses(403, 409),
)
async def open_estimation_round(
    number: Number, access: MemberAccess, session: SessionDep, response: Response
) -> RoundPublic:
    """Open a planning-poker round on an item (members); you facilitate it, with the owners.

    One open round per item (409 while one is voting or revealed). Votes stay hidden until the
    facilitator reveals them.
    """
    view = await estimation.open_round(session, access, number)
    return _round(view, response, access.project.key)


@router.get(ITEM, response_model=RoundPage)
async def list_estimation_rounds(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> RoundPage:
    """An item's rounds, latest first: who has voted while voting, every vote and the
    statistics once revealed."""
    views, cursor = await estimation.list_rounds(session, access, number, page)
    link_next(request, response, cursor)
    return RoundPage(data=[RoundPublic.model_validate(view) for view in views], next_cursor=cursor)


@router.get(ROUND, response_model=RoundPublic)
async def get_estimation_round(
    number: Number,
    round_number: RoundNumber,
    access: ViewerAccess,
    session: SessionDep,
    response: Response,
) -> RoundPublic:
    """One round of an item: voters (and your own vote) while voting, everything once revealed."""
    view = await estimation.get_round(session, access, number, round_number)
    return _round(view, response)


@router.put(ROUND + "/vote", response_model=RoundPublic, responses=problem_responses(403, 409, 422))
async def cast_estimation_vote(
    number: Number,
    round_number: RoundNumber,
    data: VoteCast,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> RoundPublic:
    """Cast or change your vote while the round is voting (members): a label of the project's
    scale, `?` (not sure) or `coffee` (a break). Others see that you voted, not what."""
    view = await estimation.cast_vote(session, access, number, round_number, data.value)
    return _round(view, response)


@router.delete(
    ROUND + "/vote", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 409)
)
async def retract_estimation_vote(
    number: Number, round_number: RoundNumber, access: MemberAccess, session: SessionDep
) -> None:
    """Take back your vote while the round is voting (members)."""
    await estimation.retract_vote(session, access, number, round_number)


@router.post(ROUND + "/reveal", response_model=RoundPublic, responses=problem_responses(403, 409))
async def reveal_estimation_round(
    number: Number,
    round_number: RoundNumber,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> RoundPublic:
    """Reveal a voting round (its facilitator or an owner): every vote, and over the numeric
    ones min, max, spread, the median snapped to the scale and the most common; 409 with no
    votes."""
    view = await estimation.reveal(session, access, number, round_number)
    return _round(view, response)


@router.post(
    ROUND + "/revote",
    status_code=status.HTTP_201_CREATED,
    response_model=RoundPublic,
    responses=problem_responses(403, 409),
)
async def revote_estimation_round(
    number: Number,
    round_number: RoundNumber,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> RoundPublic:
    """Vote again after a reveal (its facilitator or an owner): opens the next round on the
    item, keeping the revealed one as it is. Returns the new round."""
    view = await estimation.revote(session, access, number, round_number)
    return _round(view, response, access.project.key)


@router.post(
    ROUND + "/accept", response_model=RoundPublic, responses=problem_responses(403, 409, 422)
)
async def accept_estimation_round(
    number: Number,
    round_number: RoundNumber,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
    data: RoundAccept | None = None,
) -> RoundPublic:
    """Accept a revealed round (its facilitator or an owner): sets the item's points to `value`
    (a scale label), by default the round's median, as an ordinary change of the item (it shows
    in the item's history and the sprint's scope changes)."""
    view = await estimation.accept(session, access, number, round_number, data or RoundAccept())
    return _round(view, response)


@router.post(
    SESSIONS,
    status_code=status.HTTP_201_CREATED,
    response_model=SessionPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_estimation_session(
    data: SessionCreate, access: MemberAccess, session: SessionDep, response: Response
) -> SessionPublic:
    """Start an estimation session (members; you facilitate it) over item numbers, or the first
    N unestimated backlog items; items are walked in rank order and the first one's round opens
    at once (an item's open round is taken over)."""
    view = await estimation.create_session(session, access, data)
    set_location(response, f"/projects/{access.project.key}{SESSIONS}/{view.row.id}")
    return _session(view, response)


@router.get(SESSIONS, response_model=SessionPage)
async def list_estimation_sessions(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> SessionPage:
    """The project's estimation sessions, latest first."""
    views, cursor = await estimation.list_sessions(session, access, page)
    link_next(request, response, cursor)
    return SessionPage(
        data=[SessionPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.get(SESSIONS + "/{session_id}", response_model=SessionPublic)
async def get_estimation_session(
    session_id: SessionId, access: ViewerAccess, session: SessionDep, response: Response
) -> SessionPublic:
    """An estimation session: its items in rank order, the current one and the progress."""
    view = await estimation.get_session(session, access, session_id)
    return _session(view, response)


@router.post(
    SESSIONS + "/{session_id}/next",
    response_model=SessionPublic,
    responses=problem_responses(403, 409, 422),
)
async def advance_estimation_session(
    session_id: SessionId,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
    data: SessionAdvance | None = None,
) -> SessionPublic:
    """Move to the next item (its facilitator or an owner), opening its round: 409 until the
    current item's round is accepted, unless `skip` (which cancels it). Past the last item the
    session closes."""
    view = await estimation.advance_session(session, access, session_id, data or SessionAdvance())
    return _session(view, response)


@router.post(
    SESSIONS + "/{session_id}/close",
    response_model=SessionPublic,
    responses=problem_responses(403, 409),
)
async def close_estimation_session(
    session_id: SessionId, access: MemberAccess, session: SessionDep, response: Response
) -> SessionPublic:
    """Close a session (its facilitator or an owner); its unfinished round is cancelled."""
    view = await estimation.close_session(session, access, session_id)
    return _session(view, response)
