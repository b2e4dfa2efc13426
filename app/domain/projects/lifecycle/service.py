"""Rules for a project's life: phases and their gates, sign-offs, closing, reopening, handing over.

A project moves one phase at a time: forward through the gate into the next phase, or back one
step between the open phases. A gate with no approvers passes on the owner's move (which is
recorded as the owner's sign-off); a gate with approvers passes only once each has approved in
the current round, a round being the time since the project last changed phase. The owner
makes the move: the last approval does not move the project by itself. Moving into `closing`
closes the project (read-only, see `projects.access`), keeps a summary and opens the
post-mortem retro; owners reopen it into `execution`.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import EventType, ProjectPhaseChanged
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects import service as projects
from app.domain.projects.access import ProjectAccess
from app.domain.projects.lifecycle import closing, repository
from app.domain.projects.lifecycle.models import (
    ChangeKind,
    Decision,
    PhaseChange,
    PhaseSignoff,
    ProjectClosing,
)
from app.domain.projects.lifecycle.schemas import (
    ApproversReplace,
    ClosingFigures,
    OwnershipTransfer,
    SignoffCreate,
)
from app.domain.projects.models import PHASE_ORDER, Project, ProjectPhase, Role
from app.domain.projects.schemas import MemberUpdate
from app.domain.projects.service import MemberView
from app.domain.users.models import User

# --- views ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApproverView:
    """An approver and their latest sign-off in the gate's current round."""

    user: User
    signoff: PhaseSignoff | None

    @property
    def user_id(self) -> int:
        """The approver's user id."""
        assert self.user.id is not None
        return self.user.id

    @property
    def display_name(self) -> str:
        """The approver's name."""
        return self.user.display_name

    @property
    def decision(self) -> Decision | None:
        """Their latest decision, if any."""
        return None if self.signoff is None else self.signoff.decision

    @property
    def comment(self) -> str | None:
        """What they said with it."""
        return None if self.signoff is None else self.signoff.comment

    @property
    def decided_at(self) -> datetime | None:
        """When they decided."""
        return None if self.signoff is None else self.signoff.created_at


@dataclass(frozen=True)
class GateView:
    """The gate into a phase and, for the next one, where its sign-offs stand."""

    phase: ProjectPhase
    approvers: list[ApproverView]
    accepting_signoffs: bool

    @property
    def pending(self) -> list[int]:
        """Approvers of the next gate who have not signed off in this round."""
        if not self.accepting_signoffs:
            return []
        return [approver.user_id for approver in self.approvers if approver.decision is None]

    @property
    def rejected(self) -> list[int]:
        """Approvers of the next gate whose latest decision is a rejection."""
        return [
            approver.user_id
            for approver in self.approvers
            if approver.decision == Decision.REJECTED
        ]

    @property
    def ready(self) -> bool:
        """Whether an owner's move through this gate would pass now."""
        return self.accepting_signoffs and not self.pending and not self.rejected


@dataclass(frozen=True)
class PhaseStepView:
    """One phase of the project's life, and its gate."""

    phase: ProjectPhase
    state: Literal["done", "current", "upcoming"]
    gate: GateView | None

    @property
    def position(self) -> int:
        """1 (kickoff) to 5 (post-mortem)."""
        return self.phase.position


@dataclass(frozen=True)
class LifecycleView(RowView):
    """A project's phase, since when, and every phase with its gate."""

    ROW = "project"

    project: Project
    since: datetime
    phases: list[PhaseStepView]

    phase = FromRow[ProjectPhase]()

    @property
    def closed(self) -> bool:
        """Whether the project is closed."""
        return self.phase.is_closed

    @property
    def next_phase(self) -> ProjectPhase | None:
        """Where a move forward goes."""
        return self.phase.next

    @property
    def previous_phase(self) -> ProjectPhase | None:
        """Where a step back goes (none out of the closed phases: owners reopen instead)."""
        return None if self.phase.is_closed else self.phase.previous


@dataclass(frozen=True)
class SignoffView(RowView):
    """A sign-off with its approver, and whether it counts in the gate's current round."""

    ROW = "signoff"

    signoff: PhaseSignoff
    user: User | None
    current: bool

    @property
    def display_name(self) -> str | None:
        """The approver's name (None if their account is gone)."""
        return None if self.user is None else self.user.display_name


@dataclass(frozen=True)
class TransferView:
    """The memberships a hand-over changed."""

    previous_owner: MemberView
    new_owner: MemberView


@dataclass(frozen=True)
class ClosingView(RowView):
    """A closing with its kept figures, as the caller may see them."""

    ROW = "closing"
    ALSO = ("figures",)

    closing: ProjectClosing
    figures: ClosingFigures

    @property
    def post_mortem_retro(self) -> int | None:
        """The post-mortem retro this closing opened."""
        return self.closing.retro_number


# --- reading ----------------------------------------------------------------------------------


async def _round(session: AsyncSession, project: Project) -> tuple[int, datetime]:
    """The current round of the gates (the last phase change's id, 0 before any) and when the
    project entered its phase."""
    assert project.id is not None
    change = await repository.latest_change(session, project.id)
    if change is None:
        return 0, project.created_at
    assert change.id is not None
    return change.id, change.occurred_at


async def get_lifecycle(session: AsyncSession, access: ProjectAccess) -> LifecycleView:
    """The project's phase and every phase's gate, the next one with its sign-offs."""
    project = access.project
    round_, since = await _round(session, project)
    named = await repository.gate_approvers(session, access.project_id)
    upcoming = project.phase.next
    decisions = (
        await repository.latest_decisions(session, access.project_id, upcoming, round_)
        if upcoming is not None
        else {}
    )
    steps = []
    for phase in PHASE_ORDER:
        gate = None
        if phase.has_gate:
            approvers = [
                ApproverView(user, decisions.get(approver.user_id) if phase == upcoming else None)
                for approver, user in named
                if approver.phase == phase
            ]
            gate = GateView(phase, approvers, accepting_signoffs=phase == upcoming)
        steps.append(PhaseStepView(phase, _state(project.phase, phase), gate))
    return LifecycleView(project, since, steps)


def _state(current: ProjectPhase, phase: ProjectPhase) -> Literal["done", "current", "upcoming"]:
    if phase == current:
        return "current"
    return "done" if phase.position < current.position else "upcoming"


async def _gate(session: AsyncSession, access: ProjectAccess, phase: ProjectPhase) -> GateView:
    view = await get_lifecycle(session, access)
    gate = view.phases[phase.position - 1].gate
    assert gate is not None
    return gate


def _gated(phase: ProjectPhase) -> None:
    if not phase.has_gate:
        raise InvalidInput.for_field(
            "path.phase", "The kickoff is the first phase: no gate leads into it.", "no_gate"
        )


# --- moves ------------------------------------------------------------------------------------


async def move_phase(
    session: AsyncSession, access: ProjectAccess, target: ProjectPhase, if_match: Versions | None
) -> LifecycleView:
    """Move the project to the next phase through its gate, or one step back (owners).

    Into `closing`: no sprint may be active; the project closes, its summary is kept and the
    post-mortem retro opens.
    """
    project = access.project
    if target.is_closed:
        # First, before any row lock: waits for the writes under way, holds off new ones.
        await projects_repository.take_phase_lock(session, project.key)
    await session.refresh(project, with_for_update=True)
    check_version(project.version, if_match)
    current = project.phase
    if target == current:
        raise Conflict(f"{project.key} is in the {current} phase already.")
    if target == current.next:
        kind = ChangeKind.ADVANCE
        await _pass_gate(session, access, target)
    elif target == current.previous and not current.is_closed:
        kind = ChangeKind.BACK
    else:
        raise Conflict(_moves_from(project.key, current))
    await _change(session, access, target, kind)
    return await get_lifecycle(session, access)


def _moves_from(key: str, current: ProjectPhase) -> str:
    allowed = [f"forward to {current.next}"] if current.next else []
    if current.is_closed:
        allowed.append("reopen it (POST .../reopen) to go back to execution")
    elif current.previous:
        allowed.append(f"back to {current.previous}")
    return f"{key} is in the {current} phase; it moves one phase at a time: " + (
        " or ".join(allowed) + "."
    )


async def _pass_gate(session: AsyncSession, access: ProjectAccess, target: ProjectPhase) -> None:
    """409 unless the gate into `target` is passed; then the checks of the phase itself."""
    project_id = access.project_id
    named = await repository.gate_approvers(session, project_id, target)
    round_, _ = await _round(session, access.project)
    if named:
        decisions = await repository.latest_decisions(session, project_id, target, round_)
        rejected = [
            user.display_name
            for approver, user in named
            if (found := decisions.get(approver.user_id)) is not None
            and found.decision == Decision.REJECTED
        ]
        pending = [
            user.display_name for approver, user in named if approver.user_id not in decisions
        ]
        if rejected or pending:
            why = []
            if rejected:
                why.append(f"rejected by {', '.join(rejected)}")
            if pending:
                why.append(f"waiting for {', '.join(pending)}")
            raise Conflict(f"The gate into {target} is not passed: {'; '.join(why)}.")
    if target == ProjectPhase.CLOSING:
        active = await closing.active_sprint_number(session, project_id)
        if active is not None:
            raise Conflict(
                f"Sprint {active} is active; complete or cancel it before closing "
                f"{access.project.key}."
            )
    if not named:
        # No approvers: the owner's move is the sign-off, and the log shows it as one.
        await repository.add(
            session,
            PhaseSignoff(
                project_id=project_id,
                phase=target,
                round=round_,
                user_id=access.user.id,
                decision=Decision.APPROVED,
            ),
        )


async def _change(
    session: AsyncSession, access: ProjectAccess, target: ProjectPhase, kind: ChangeKind
) -> None:
    """Record the move, change the phase, and close the project when it enters `closing`."""
    project = access.project
    old = project.phase
    await repository.add(
        session,
        PhaseChange(
            project_id=access.project_id,
            from_phase=old,
            to_phase=target,
            kind=kind,
            actor_id=access.user.id,
        ),
    )
    project.phase = target
    bump(project)
    session.add(project)
    await session.flush()
    if target == ProjectPhase.CLOSING:
        await _close(session, access)
    actor = events.actor_name(access.user.display_name)
    what = {
        ChangeKind.ADVANCE: "moved {key} to {new}",
        ChangeKind.BACK: "moved {key} back to {new}",
        ChangeKind.REOPEN: "reopened {key} (back to {new})",
    }[kind].format(key=project.key, new=target.value)
    events.publish(
        session,
        access.project_id,
        EventType.PROJECT_PHASE_CHANGED,
        ProjectPhaseChanged(old=old.value, new=target.value, kind=kind.value),
        actor_id=access.user.id,
        summary=f"{actor} {what}",
    )


async def _close(session: AsyncSession, access: ProjectAccess) -> None:
    """Keep the closing summary and open the post-mortem retro."""
    number = await repository.next_closing_number(session, access.project_id)
    figures = await closing.figures(session, access)
    retro = await closing.open_post_mortem(session, access, number, figures)
    await repository.add(
        session,
        ProjectClosing(
            project_id=access.project_id,
            number=number,
            closed_by=access.user.id,
            retro_number=retro,
            summary=figures.model_dump(mode="json"),
        ),
    )


async def reopen(
    session: AsyncSession, access: ProjectAccess, if_match: Versions | None
) -> LifecycleView:
    """Reopen a closed project: back to `execution`, writable again (owners)."""
    project = access.project
    await session.refresh(project, with_for_update=True)
    check_version(project.version, if_match)
    if not project.phase.is_closed:
        raise Conflict(f"{project.key} is not closed (it is in the {project.phase} phase).")
    await repository.mark_reopened(session, access.project_id, access.user.id, clock.now())
    await _change(session, access, ProjectPhase.EXECUTION, ChangeKind.REOPEN)
    return await get_lifecycle(session, access)


# --- gates and sign-offs ----------------------------------------------------------------------


async def replace_approvers(
    session: AsyncSession, access: ProjectAccess, phase: ProjectPhase, data: ApproversReplace
) -> GateView:
    """Name the whole list of approvers of the gate into `phase` (owners)."""
    _gated(phase)
    seen: set[int] = set()
    for index, user_id in enumerate(data.user_ids):
        if user_id in seen:
            raise InvalidInput.for_field(
                f"body.user_ids.{index}", f"User {user_id} is named twice.", "duplicate"
            )
        seen.add(user_id)
    allowed = await repository.planning_roles(session, access.project_id, data.user_ids)
    errors = [
        FieldError(
            field=f"body.user_ids.{index}",
            message=f"User {user_id} is not a member of {access.project.key} with the member "
            "or owner role.",
            type="not_member",
        )
        for index, user_id in enumerate(data.user_ids)
        if user_id not in allowed
    ]
    if errors:
        raise InvalidInput(
            "Approvers must be members with the member or owner role.", errors=errors
        )
    await projects_repository.lock_project(session, access.project_id)
    await repository.replace_approvers(session, access.project_id, phase, data.user_ids)
    return await _gate(session, access, phase)


async def sign_off(
    session: AsyncSession, access: ProjectAccess, phase: ProjectPhase, data: SignoffCreate
) -> SignoffView:
    """Approve or reject the gate into `phase` (its approvers only), while it is the next one."""
    _gated(phase)
    project = access.project
    # Queues with moves (they lock the row for update), so the phase read here is current.
    await session.refresh(project, with_for_update={"key_share": True})
    named = await repository.gate_approvers(session, access.project_id, phase)
    if all(approver.user_id != access.user.id for approver, _ in named):
        raise Forbidden(f"Only the approvers the owner named for the gate into {phase} sign it.")
    if phase != project.phase.next:
        raise Conflict(
            f"The gate into {phase} is not the next one: {project.key} is in the "
            f"{project.phase} phase, so its next gate is "
            + (f"into {project.phase.next}." if project.phase.next else "none.")
        )
    if data.decision == Decision.REJECTED and not data.comment:
        raise InvalidInput.for_field(
            "body.comment", "Say why when you reject: the team has to act on it.", "required"
        )
    round_, _ = await _round(session, project)
    signoff = PhaseSignoff(
        project_id=access.project_id,
        phase=phase,
        round=round_,
        user_id=access.user.id,
        decision=data.decision,
        comment=data.comment,
    )
    await repository.add(session, signoff)
    return SignoffView(signoff, access.user, current=True)


async def get_signoff(
    session: AsyncSession, access: ProjectAccess, phase: ProjectPhase, signoff_id: int
) -> SignoffView:
    """One sign-off on the gate into `phase` (any role)."""
    _gated(phase)
    found = await repository.get_signoff(session, access.project_id, phase, signoff_id)
    if found is None:
        raise NotFound(
            f"No sign-off {signoff_id} on the gate into {phase} of {access.project.key}."
        )
    signoff, user = found
    round_, _ = await _round(session, access.project)
    current = phase == access.project.phase.next and signoff.round == round_
    return SignoffView(signoff, user, current=current)


async def list_signoffs(
    session: AsyncSession, access: ProjectAccess, phase: ProjectPhase, page: PageRequest
) -> tuple[list[SignoffView], str | None]:
    """Every sign-off on the gate into `phase`, oldest first (any role)."""
    _gated(phase)
    round_, _ = await _round(session, access.project)
    upcoming = access.project.phase.next
    rows, cursor = await repository.list_signoffs(session, access.project_id, phase, page)
    views = [
        SignoffView(signoff, user, current=phase == upcoming and signoff.round == round_)
        for signoff, user in rows
    ]
    return views, cursor


# --- handing over -----------------------------------------------------------------------------


async def transfer(
    session: AsyncSession, access: ProjectAccess, data: OwnershipTransfer
) -> TransferView:
    """Make another member an owner and (unless `stay_owner`) the caller a member (owners)."""
    if data.user_id == access.user.id:
        raise InvalidInput.for_field(
            "body.user_id", "You own the project already; name another member.", "self"
        )
    if await projects_repository.get_member(session, access.project_id, data.user_id) is None:
        raise InvalidInput.for_field(
            "body.user_id",
            f"User {data.user_id} is not a member of {access.project.key}; add them first.",
            "not_member",
        )
    assert access.user.id is not None
    # The projects service keeps its rules: row locks in order, one owner at least, events.
    new_owner = await projects.update_member(
        session, access, data.user_id, MemberUpdate(role=Role.OWNER), None
    )
    role = Role.OWNER if data.stay_owner else Role.MEMBER
    previous = await projects.update_member(
        session, access, access.user.id, MemberUpdate(role=role), None
    )
    return TransferView(previous_owner=previous, new_owner=new_owner)


# --- closings ---------------------------------------------------------------------------------


def _closing_view(access: ProjectAccess, row: ProjectClosing) -> ClosingView:
    figures = ClosingFigures.model_validate(row.summary)
    if access.role != Role.OWNER:
        # Budgets and rates are the owners' only.
        figures = figures.model_copy(update={"budget": None})
    return ClosingView(row, figures)


async def latest_closing(session: AsyncSession, access: ProjectAccess) -> ClosingView:
    """The summary kept at the project's last closing; 404 before it ever closed."""
    row = await repository.latest_closing(session, access.project_id)
    if row is None:
        raise NotFound(f"{access.project.key} has never been closed: there is no summary yet.")
    return _closing_view(access, row)


async def list_closings(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> tuple[list[ClosingView], str | None]:
    """Every closing of the project with its summary, newest first."""
    rows, cursor = await repository.list_closings(session, access.project_id, page)
    return [_closing_view(access, row) for row in rows], cursor
