"""Retrospectives: a board of cards per sprint or project, grouped, voted on and discussed."""

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status

from app.domain.kernel.inputs import NUMBER_MAX
from app.domain.retros import service as retros
from app.domain.retros.models import RetroPhase
from app.domain.retros.schemas import (
    CardCreate,
    CardPublic,
    CardUpdate,
    ExportFormat,
    GroupCreate,
    GroupPublic,
    GroupUpdate,
    RetroBoard,
    RetroCreate,
    RetroExport,
    RetroPage,
    RetroPhaseMove,
    RetroPublic,
    RetroUpdate,
    RetroVoteCast,
    VoteCreate,
)
from app.domain.retros.service import BoardView
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    IfMatch,
    MemberAccessWhileClosed,
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
    tags=["retros"],
    responses=problem_responses(401, 404),
)

MARKDOWN = "text/markdown; charset=utf-8"
ExportQuery = Annotated[ExportFormat, Query(description="`markdown` (for a wiki page) or `json`.")]
_EXPORT: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The summary: markdown (`text/markdown`) or a `RetroExport` (JSON).",
        "content": {"text/markdown": {"schema": {"type": "string"}}},
    },
    **problem_responses(422),
}


def _board(view: BoardView, response: Response) -> RetroBoard:
    """The board as the API shows it, with the retro's version as the ETag."""
    set_etag(response, view.version)
    return RetroBoard.model_validate(view)


def _export(found: RetroExport | str) -> RetroExport | Response:
    return Response(found, media_type=MARKDOWN) if isinstance(found, str) else found


@router.post(
    "/sprints/{number}/retro",
    response_model=RetroBoard,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
async def create_sprint_retro(
    number: Number,
    data: RetroCreate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    response: Response,
) -> RetroBoard:
    """Open the retro of an active or completed sprint (members); you become its facilitator.

    One retro per sprint (409 for a second one, or for a planned or cancelled sprint). A fixed
    format brings its columns; `custom` names 1–6 of its own. Each member gets `vote_budget`
    votes (default 5), at most `max_votes_per_card` on one card or group when set. With
    `anonymous`, nobody (owners and admins included) is ever shown who wrote which card.
    """
    view = await retros.create_sprint_retro(session, access, number, data)
    set_location(response, f"/projects/{access.project.key}/retros/{view.number}")
    return _board(view, response)


@router.get("/sprints/{number}/retro", response_model=RetroBoard)
async def get_sprint_retro(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> RetroBoard:
    """A sprint's retro board: the same as `GET /retros/{number}` for its retro (404 if none)."""
    return _board(await retros.get_sprint_board(session, access, number), response)


@router.get(
    "/sprints/{number}/retro/export",
    response_model=RetroExport,
    responses=_EXPORT,
)
async def export_sprint_retro(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    format: ExportQuery = ExportFormat.MARKDOWN,
) -> RetroExport | Response:
    """A sprint's retro as a summary for a wiki; see `GET /retros/{number}/export`."""
    return _export(await retros.export_sprint_retro(session, access, number, format))


@router.post(
    "/retros",
    response_model=RetroBoard,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 422),
)
async def create_retro(
    data: RetroCreate, access: MemberAccessWhileClosed, session: SessionDep, response: Response
) -> RetroBoard:
    """Open a project-level retro, tied to no sprint (a release, a post-mortem), as for a
    sprint's retro; you become its facilitator."""
    view = await retros.create_project_retro(session, access, data)
    set_location(response, f"/projects/{access.project.key}/retros/{view.number}")
    return _board(view, response)


@router.get("/retros", response_model=RetroPage, responses=problem_responses(422))
async def list_retros(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    phase: Annotated[RetroPhase | None, Query(description="Only retros in this phase.")] = None,
    sprint: Annotated[
        int | None, Query(ge=1, le=NUMBER_MAX, description="Only the retro of this sprint.")
    ] = None,
) -> RetroPage:
    """The project's retros, by number: settings and phase (read a board for its cards)."""
    views, cursor = await retros.list_retros(session, access, page, phase, sprint)
    link_next(request, response, cursor)
    return RetroPage(data=[RetroPublic.model_validate(view) for view in views], next_cursor=cursor)


@router.get("/retros/{number}", response_model=RetroBoard)
async def get_retro(
    number: Number, access: ViewerAccess, session: SessionDep, response: Response
) -> RetroBoard:
    """A whole retro board in one call, as the phase and your role allow.

    While `collecting` you read only your own cards (others' are counted per column); from
    `grouping` on, every card. Vote tallies appear from `discussing` on; before that you see
    your own votes and how many you have left. Anonymous retros never name an author (your own
    cards say `mine`). Includes the context (the sprint report's headline and every still-open
    action item of earlier retros) and this retro's action items.
    """
    return _board(await retros.get_board(session, access, number), response)


@router.patch(
    "/retros/{number}", response_model=RetroBoard, responses=problem_responses(403, 409, 412, 422)
)
async def update_retro(
    number: Number,
    data: RetroUpdate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> RetroBoard:
    """Change a retro's title, notes or facilitator (a member or owner), or its vote settings
    before voting begins (409 after). Its facilitator or a project owner only (403)."""
    view = await retros.update_retro(session, access, number, data, if_match)
    return _board(view, response)


@router.post(
    "/retros/{number}/phase",
    response_model=RetroBoard,
    responses=problem_responses(403, 409, 412, 422),
)
async def move_retro_phase(
    number: Number,
    data: RetroPhaseMove,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> RetroBoard:
    """Move a retro one phase on (`collecting` → `grouping` → `voting` → `discussing` →
    `closed`) or one back; nothing leaves `closed`. Its facilitator or a project owner only."""
    view = await retros.move_phase(session, access, number, data.phase, if_match)
    return _board(view, response)


@router.get("/retros/{number}/export", response_model=RetroExport, responses=_EXPORT)
async def export_retro(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    format: ExportQuery = ExportFormat.MARKDOWN,
) -> RetroExport | Response:
    """A retro as a summary for a wiki: context, columns and cards, groups ranked by votes
    (once shown), and action items with owners and due dates, under the board's visibility
    rules. `markdown` is served as `text/markdown`, `json` as a `RetroExport`."""
    return _export(await retros.export_retro(session, access, number, format))


@router.post(
    "/retros/{number}/cards",
    response_model=CardPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
async def add_retro_card(
    number: Number,
    data: CardCreate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    response: Response,
) -> CardPublic:
    """Add a card to one of the board's columns while the retro is collecting (members; at
    most 100 cards each)."""
    view = await retros.add_card(session, access, number, data)
    set_location(response, f"/projects/{access.project.key}/retros/{number}/cards/{view.id}")
    set_etag(response, view.version)
    return CardPublic.model_validate(view)


@router.patch(
    "/retros/{number}/cards/{card_id}",
    response_model=CardPublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def edit_retro_card(
    number: Number,
    card_id: Id,
    data: CardUpdate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> CardPublic:
    """Change your own card's text or column while collecting; 403 on anyone else's."""
    view = await retros.edit_card(session, access, number, card_id, data, if_match)
    set_etag(response, view.version)
    return CardPublic.model_validate(view)


@router.delete(
    "/retros/{number}/cards/{card_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409, 412),
)
async def delete_retro_card(
    number: Number,
    card_id: Id,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    if_match: IfMatch,
) -> None:
    """Delete your own card while collecting; 403 on anyone else's."""
    await retros.delete_card(session, access, number, card_id, if_match)


@router.post(
    "/retros/{number}/groups",
    response_model=GroupPublic,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
async def create_retro_group(
    number: Number,
    data: GroupCreate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    response: Response,
) -> GroupPublic:
    """Group cards under a name while the retro is grouping (any member); a card moves out of
    any group it was in."""
    view = await retros.create_group(session, access, number, data)
    set_location(response, f"/projects/{access.project.key}/retros/{number}/groups/{view.id}")
    set_etag(response, view.version)
    return GroupPublic.model_validate(view)


@router.patch(
    "/retros/{number}/groups/{group_id}",
    response_model=GroupPublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def update_retro_group(
    number: Number,
    group_id: Id,
    data: GroupUpdate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> GroupPublic:
    """Rename a group, or give it its whole new list of `card_ids`, while grouping."""
    view = await retros.update_group(session, access, number, group_id, data, if_match)
    set_etag(response, view.version)
    return GroupPublic.model_validate(view)


@router.delete(
    "/retros/{number}/groups/{group_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409, 412),
)
async def delete_retro_group(
    number: Number,
    group_id: Id,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    if_match: IfMatch,
) -> None:
    """Delete a group while grouping: its cards become ungrouped."""
    await retros.delete_group(session, access, number, group_id, if_match)


@router.post(
    "/retros/{number}/votes",
    response_model=RetroVoteCast,
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
async def add_retro_vote(
    number: Number,
    data: VoteCreate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    response: Response,
) -> RetroVoteCast:
    """Cast one vote on a card or a group while the retro is voting (members).

    A card inside a group takes its votes through the group (422 on `card_id`). 409 once your
    budget is used up or you reached the maximum on that card or group; nothing is written.
    """
    view = await retros.cast_vote(session, access, number, data)
    set_location(response, f"/projects/{access.project.key}/retros/{number}/votes/{view.vote.id}")
    return RetroVoteCast.model_validate(view)


@router.delete(
    "/retros/{number}/votes/{vote_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(403, 409),
)
async def remove_retro_vote(
    number: Number, vote_id: Id, access: MemberAccessWhileClosed, session: SessionDep
) -> None:
    """Retract one of your votes while the retro is voting (others' votes are 404)."""
    await retros.retract_vote(session, access, number, vote_id)
