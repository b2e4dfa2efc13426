"""The project lifecycle: phases and their gates, sign-offs, closing, reopening, handing over."""

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from app.domain.projects.lifecycle import service as lifecycle
from app.domain.projects.lifecycle.schemas import (
    ApproversReplace,
    ClosingSummaryPage,
    ClosingSummaryPublic,
    GatePublic,
    LifecyclePublic,
    OwnershipTransfer,
    PhaseMove,
    SignoffCreate,
    SignoffPage,
    SignoffPublic,
    TransferPublic,
)
from app.domain.projects.models import ProjectPhase
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    IfMatch,
    MemberAccessWhileClosed,
    OwnerAccessWhileClosed,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["lifecycle"],
    responses=problem_responses(401, 404),
)

Phase = Annotated[
    ProjectPhase,
    Path(description="The phase the gate leads into (any but `kickoff`).", examples=["closing"]),
]


def _lifecycle(response: Response, view: lifecycle.LifecycleView) -> LifecyclePublic:
    set_etag(response, view.project.version)
    return LifecyclePublic.model_validate(view)


@router.get("/phases", response_model=LifecyclePublic)
async def get_project_phases(
    access: ViewerAccess, session: SessionDep, response: Response
) -> LifecyclePublic:
    """Where the project is in its life (any role): its phase and since when, where a move
    forward or back goes, and every phase's gate: its approvers and, for the next gate, each
    one's latest decision, who is pending, who rejected, and whether the move would pass now.

    The phases are `kickoff`, `planning`, `execution`, `closing` and `post_mortem`; the last two
    are closed (read-only but for the lifecycle and retros). The ETag is the project's version.
    """
    return _lifecycle(response, await lifecycle.get_lifecycle(session, access))


@router.post(
    "/phase",
    response_model=LifecyclePublic,
    responses=problem_responses(403, 409, 412, 422),
)
async def move_project_phase(
    data: PhaseMove,
    access: OwnerAccessWhileClosed,
    session: SessionDep,
    response: Response,
    if_match: IfMatch,
) -> LifecyclePublic:
    """Move the project one phase forward through its gate, or one step back (owners).

    Forward: with no approvers named the move is the owner's sign-off; with approvers, every
    one must have approved since the project last changed phase, else 409 naming who rejected
    and who is pending. Into `closing`: 409 while a sprint is active; otherwise the project
    closes (read-only), its closing summary is kept and a post-mortem retro opens. Back: one
    step between the open phases, no gate; out of the closed phases, reopen instead. Every
    feature works the same in every open phase. `If-Match` takes the project's ETag.
    """
    view = await lifecycle.move_phase(session, access, data.phase, if_match)
    return _lifecycle(response, view)


@router.post("/reopen", response_model=LifecyclePublic, responses=problem_responses(403, 409, 412))
async def reopen_project(
    access: OwnerAccessWhileClosed, session: SessionDep, response: Response, if_match: IfMatch
) -> LifecyclePublic:
    """Reopen a closed project (owners): it goes back to `execution` and takes writes again.

    Its closing summaries and the post-mortem retro stay; closing it again keeps another
    summary. 409 when the project is not closed.
    """
    view = await lifecycle.reopen(session, access, if_match)
    return _lifecycle(response, view)


@router.put(
    "/phases/{phase}/approvers",
    response_model=GatePublic,
    responses=problem_responses(403, 422),
)
async def replace_phase_approvers(
    phase: Phase, data: ApproversReplace, access: OwnerAccessWhileClosed, session: SessionDep
) -> GatePublic:
    """Name the approvers of the gate into a phase (owners): the whole list, replacing the last.

    Each must be a member with the member or owner role (422 `not_member` on
    `body.user_ids.N`); `[]` removes them all, so the owner's move passes the gate. Sign-offs
    already given by approvers who stay on the list still count.
    """
    view = await lifecycle.replace_approvers(session, access, phase, data)
    return GatePublic.model_validate(view)


@router.post(
    "/phases/{phase}/signoffs",
    status_code=status.HTTP_201_CREATED,
    response_model=SignoffPublic,
    responses=problem_responses(403, 409, 422),
)
async def create_phase_signoff(
    phase: Phase,
    data: SignoffCreate,
    access: MemberAccessWhileClosed,
    session: SessionDep,
    response: Response,
) -> SignoffPublic:
    """Approve or reject the gate into a phase (its named approvers only; others get 403).

    Only the gate into the project's next phase takes sign-offs (409 otherwise). A rejection
    needs a `comment` and blocks the gate until the same approver approves; your latest
    decision is the one that counts. The last approval does not move the project: an owner
    does, with `POST .../phase`.
    """
    view = await lifecycle.sign_off(session, access, phase, data)
    set_location(
        response, f"/projects/{access.project.key}/phases/{phase}/signoffs/{view.signoff.id}"
    )
    return SignoffPublic.model_validate(view)


@router.get("/phases/{phase}/signoffs", response_model=SignoffPage)
async def list_phase_signoffs(
    phase: Phase,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> SignoffPage:
    """Every decision ever given on the gate into a phase, oldest first (any role).

    `current` marks those that count: made since the project last changed phase, on the gate
    into its next phase. The owner's move through a gate without approvers shows as the
    owner's approval.
    """
    views, cursor = await lifecycle.list_signoffs(session, access, phase, page)
    link_next(request, response, cursor)
    return SignoffPage(
        data=[SignoffPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.get("/phases/{phase}/signoffs/{signoff_id}", response_model=SignoffPublic)
async def get_phase_signoff(
    phase: Phase, signoff_id: Id, access: ViewerAccess, session: SessionDep
) -> SignoffPublic:
    """One decision on the gate into a phase (any role); `current` as in the list."""
    view = await lifecycle.get_signoff(session, access, phase, signoff_id)
    return SignoffPublic.model_validate(view)


@router.post("/transfer", response_model=TransferPublic, responses=problem_responses(403, 409, 422))
async def transfer_project(
    data: OwnershipTransfer, access: OwnerAccessWhileClosed, session: SessionDep
) -> TransferPublic:
    """Hand the project over to another member (owners), closed or not.

    They become an owner; you become a member unless `stay_owner` is true. A project always
    keeps at least one owner. 422 `not_member` on `body.user_id` for someone outside it.
    """
    view = await lifecycle.transfer(session, access, data)
    return TransferPublic.model_validate(view)


@router.get("/closing-summary", response_model=ClosingSummaryPublic)
async def get_closing_summary(access: ViewerAccess, session: SessionDep) -> ClosingSummaryPublic:
    """The summary kept when the project last closed (any role; 404 before it ever closed).

    Sprints completed, velocity (mean and last completed points), releases shipped, budget
    spent against planned (owners only: null for the other roles), risks that occurred and
    the follow-up of retro action items, as they were at the close: later changes do not
    alter it. `post_mortem_retro` is the retro the closing opened.
    """
    view = await lifecycle.latest_closing(session, access)
    return ClosingSummaryPublic.model_validate(view)


@router.get("/closing-summaries", response_model=ClosingSummaryPage)
async def list_closing_summaries(
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> ClosingSummaryPage:
    """Every closing of the project with its summary, newest first (any role)."""
    views, cursor = await lifecycle.list_closings(session, access, page)
    link_next(request, response, cursor)
    return ClosingSummaryPage(
        data=[ClosingSummaryPublic.model_validate(view) for view in views], next_cursor=cursor
    )
