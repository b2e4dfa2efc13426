"""The demo's lifecycle: a gated way from the kickoff into execution, and the closing gate's
approvers named, so `GET .../phases` shows sign-offs given, a rejection lifted and a gate
still waiting.

Written through the lifecycle service at simulated moments, like the rest of the demo.
"""

from collections.abc import Awaitable, Callable
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.simulation import Simulation, at, working_days
from app.domain.projects.lifecycle import service as lifecycle
from app.domain.projects.lifecycle.models import Decision
from app.domain.projects.lifecycle.schemas import ApproversReplace, SignoffCreate
from app.domain.projects.models import ProjectPhase

Work = Callable[[AsyncSession], Awaitable[None]]


async def seed_lifecycle(sim: Simulation, kickoff: date, first_start: date) -> None:
    """Between the kickoff and the first sprint: two approvers sign the planning gate (one
    rejects first, then approves), the owner moves on to planning and, without a gate, into
    execution as the first sprint starts; two approvers are named for the closing gate."""
    owner = sim.team.owner_id
    grace, alan, katherine = sim.team.member_ids[:3]
    first_day, second_day = working_days(kickoff + timedelta(days=1), first_start)[:2]

    def name(phase: ProjectPhase, user_ids: list[int]) -> Work:
        async def work(session: AsyncSession) -> None:
            access = await sim.access(session, owner)
            await lifecycle.replace_approvers(
                session, access, phase, ApproversReplace(user_ids=user_ids)
            )

        return work

    def sign(user_id: int, decision: Decision, comment: str) -> Work:
        async def work(session: AsyncSession) -> None:
            access = await sim.access(session, user_id)
            data = SignoffCreate(decision=decision, comment=comment)
            await lifecycle.sign_off(session, access, ProjectPhase.PLANNING, data)

        return work

    def move(phase: ProjectPhase) -> Work:
        async def work(session: AsyncSession) -> None:
            access = await sim.access(session, owner)
            await lifecycle.move_phase(session, access, phase, None)

        return work

    steps = [
        (at(kickoff, 14), name(ProjectPhase.PLANNING, [grace, alan])),
        (at(first_day, 10), sign(grace, Decision.APPROVED, "Goals and team are clear.")),
        (
            at(first_day, 11),
            sign(alan, Decision.REJECTED, "No budget figure yet: planning needs one."),
        ),
        (at(first_day, 16), sign(alan, Decision.APPROVED, "Budget agreed with finance.")),
        (at(second_day, 9), move(ProjectPhase.PLANNING)),
        (at(first_start, 8), move(ProjectPhase.EXECUTION)),
        (at(first_start, 8, 30), name(ProjectPhase.CLOSING, [grace, katherine])),
    ]
    for when, work in steps:
        await sim.moment(when, work)
