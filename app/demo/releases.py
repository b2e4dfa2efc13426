"""The demo's roadmap: a soft launch that shipped, a beta milestone and the relaunch ahead, whose
forecast draws on the demo's completed sprints.

Written through the release and item services at simulated moments, like the rest of the demo.
"""

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.simulation import Simulation, at, working_days
from app.domain.items import service as items
from app.domain.items.filters import ItemQuery
from app.domain.items.models import ItemType
from app.domain.items.schemas import ItemUpdate
from app.domain.kernel.pagination import PageRequest
from app.domain.releases import service as releases
from app.domain.releases.models import ReleaseKind
from app.domain.releases.schemas import ReleaseCreate, ReleaseRecord

# Which epic goes where (by the demo backlog's theme names), and which of the long tail (by
# backlog position at kickoff) the beta and the relaunch take on besides their epics.
_EPICS = {"Accounts": 0, "Search": 1, "Checkout": 2, "Reports": 2}
_TAIL = {1: range(30, 36), 2: range(36, 58)}


async def seed_releases(sim: Simulation, kickoff: date, first_start: date, today: date) -> None:
    """At kickoff: a soft launch (the Accounts epic), a beta milestone (Search) and the
    relaunch (Checkout, Reports and some of the backlog below them); the soft launch ships at
    the end of the second sprint, the others are due in the weeks ahead."""
    second = first_start + timedelta(weeks=2)
    shipped_on = working_days(second, second + timedelta(days=13))[-1]  # the second sprint's end

    async def plan(session: AsyncSession) -> int:
        access = await sim.access(session, sim.team.owner_id)
        planned = [
            ReleaseCreate(
                name="0.9 — soft launch",
                description="Accounts for the first customers, by invitation.",
                start_date=first_start,
                target_date=shipped_on,
            ),
            ReleaseCreate(
                name="Beta sign-off",
                kind=ReleaseKind.MILESTONE,
                description="Search good enough for the open beta: the stakeholders sign off.",
                target_date=today + timedelta(days=11),
            ),
            ReleaseCreate(
                name="1.0 — relaunch",
                description="The new shop for everyone: checkout, reports and the polish list.",
                start_date=first_start,
                target_date=today + timedelta(days=60),
            ),
        ]
        numbers = [
            (await releases.create_release(session, access, data)).number for data in planned
        ]
        rows, _ = await items.list_items(session, access, ItemQuery(), None, PageRequest(limit=200))
        for position, row in enumerate(rows):
            item = row.item
            target: int | None = None
            if item.type == ItemType.EPIC and item.title in _EPICS:
                target = numbers[_EPICS[item.title]]
            elif item.parent_id is None:
                found = [index for index, tail in _TAIL.items() if position in tail]
                target = numbers[found[0]] if found else None
            if target is not None:
                await items.update_item(
                    session, access, item.number, ItemUpdate(release=target), None
                )
        return numbers[0]

    soft_launch = await sim.moment(at(kickoff, 11), plan)

    async def ship(session: AsyncSession) -> None:
        access = await sim.access(session, sim.team.owner_id)
        shipped = ReleaseRecord(released_on=shipped_on)
        await releases.record_release(session, access, soft_launch, shipped, None)

    await sim.moment(at(shipped_on, 17), ship)
