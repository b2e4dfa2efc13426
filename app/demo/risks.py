"""The demo's risk register: five risks of different exposure and status, linked to the active
sprint and its items, with a history that makes the weekly trend move.

Written through the risk service at simulated moments, like the rest of the demo.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.simulation import Simulation, at
from app.domain.items import service as items
from app.domain.items.filters import ItemQuery
from app.domain.kernel.pagination import PageRequest
from app.domain.risks import service as risks
from app.domain.risks.schemas import RiskCreate, RiskUpdate


@dataclass(frozen=True)
class _Step:
    """One simulated change: `weeks` after kickoff, a risk is created or changed."""

    weeks: int
    # The risk's number once created (risks are numbered in creation order).
    risk: int
    fields: dict[str, Any]
    create: bool = False


def _steps(owners: list[int], review: date, overdue: date) -> list[_Step]:
    return [
        _Step(
            0,
            1,
            {
                "title": "Payment provider switches off its v2 API before launch",
                "description": "The provider announced v3; the v2 sunset date is not fixed yet.",
                "category": "external",
                "probability": 3,
                "impact": 4,
                "owner_id": owners[0],
                "mitigation_plan": "Build the card payment against v3 in the sandbox now.",
                "contingency_plan": "Keep invoice-only checkout ready to switch on.",
                "review_date": overdue,
            },
            create=True,
        ),
        _Step(
            0,
            2,
            {
                "title": "Only one person knows the search index",
                "category": "resource",
                "probability": 2,
                "impact": 4,
                "owner_id": owners[1],
                "mitigation_plan": "Pair on every search change; write the runbook.",
                "review_date": review,
            },
            create=True,
        ),
        _Step(
            1,
            3,
            {
                "title": "Stakeholders keep adding reports to the first release",
                "category": "scope",
                "probability": 3,
                "impact": 3,
                "owner_id": owners[2],
                "contingency_plan": "Move the extra reports to the second release.",
            },
            create=True,
        ),
        _Step(
            2,
            4,
            {
                "title": "Search index migration takes longer than a sprint",
                "description": "Reindexing 4 million products has never been timed.",
                "category": "technical",
                "probability": 4,
                "impact": 4,
                "owner_id": owners[3],
                "mitigation_plan": "Time a reindex on a copy of production.",
                "contingency_plan": "Run the old and the new index side by side for a release.",
            },
            create=True,
        ),
        _Step(
            3,
            5,
            {
                "title": "Hosting costs exceed the budget at launch traffic",
                "category": "budget",
                "probability": 3,
                "impact": 2,
                "owner_id": owners[0],
            },
            create=True,
        ),
        _Step(4, 1, {"probability": 4}),
        _Step(5, 3, {"status": "occurred"}),
        _Step(6, 4, {"status": "mitigating"}),
        _Step(8, 4, {"probability": 2}),
        _Step(8, 5, {"status": "closed"}),
        _Step(10, 2, {"impact": 5}),
    ]


async def seed_risks(
    sim: Simulation, kickoff: date, active_start: date, active_sprint: int
) -> None:
    """Five risks from kickoff on, changed week by week; on the active sprint's first day the
    open ones are linked to it and to its first items."""
    team = [sim.team.owner_id, *sim.team.member_ids]
    steps = _steps(
        team, review=active_start + timedelta(days=14), overdue=active_start + timedelta(days=2)
    )
    for step in steps:
        day = kickoff + timedelta(weeks=step.weeks, days=1)

        async def work(session: AsyncSession, step: _Step = step) -> None:
            access = await sim.access(session, sim.team.owner_id)
            if step.create:
                await risks.create_risk(session, access, RiskCreate.model_validate(step.fields))
            else:
                data = RiskUpdate.model_validate(step.fields)
                await risks.update_risk(session, access, step.risk, data, None)

        await sim.moment(at(day, 10), work)

    async def link(session: AsyncSession) -> None:
        access = await sim.access(session, sim.team.owner_id)
        query = ItemQuery(sprint=str(active_sprint))
        rows, _ = await items.list_items(session, access, query, None, PageRequest(limit=5))
        numbers = [row.item.number for row in rows]
        changes = {
            1: {"sprints": [active_sprint], "items": numbers[:2]},
            4: {"sprints": [active_sprint], "items": numbers[2:3]},
            2: {"sprints": [active_sprint]},
            3: {"sprints": [active_sprint - 2]},
        }
        for number, fields in changes.items():
            await risks.update_risk(
                session, access, number, RiskUpdate.model_validate(fields), None
            )

    await sim.moment(at(active_start, 11), link)
