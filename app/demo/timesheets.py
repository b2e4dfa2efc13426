"""The demo's time and budget: about a month of work logs by the team on the items of the
sprints that ran, a budget in hours and euros with a default rate, and two members' own rates.

Written through the timesheet and budget services at simulated moments, like the rest of the
demo; each week's logs are recorded on its last working day.
"""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.simulation import Simulation, at, working_days
from app.domain.budgets import service as budgets
from app.domain.budgets.schemas import BudgetReplace, MemberRateReplace
from app.domain.items import service as items
from app.domain.items.filters import ItemQuery
from app.domain.items.models import ItemType
from app.domain.kernel.pagination import PageRequest
from app.domain.sprints import service as sprints
from app.domain.timesheets import service as timesheets
from app.domain.timesheets.schemas import WorklogCreate

NOTES = ("Implementation", "Code review", "Tests", "Pairing", "Bug hunt", "Refinement", "")


async def _sprints(
    sim: Simulation, numbers: list[int], today: date
) -> list[tuple[date, date, list[int]]]:
    """Each sprint's dates and the numbers of its non-epic items."""

    async def read(session: AsyncSession) -> list[tuple[date, date, list[int]]]:
        access = await sim.access(session, sim.team.owner_id)
        found = []
        for number in numbers:
            sprint = (await sprints.get_sprint(session, access, number)).sprint
            assert sprint.start_date is not None and sprint.end_date is not None
            query = ItemQuery(sprint=str(number))
            rows, _ = await items.list_items(session, access, query, None, PageRequest(limit=200))
            work = [row.item.number for row in rows if row.item.type != ItemType.EPIC]
            found.append((sprint.start_date, sprint.end_date, work))
        return found

    return await sim.moment(at(today, 0), read)


async def seed_timesheets(sim: Simulation, active_sprint: int, today: date) -> None:
    """Work logs for every working day of the last two completed sprints and of the active
    one up to yesterday (about a month), on their items; then the budget and two rates."""
    rng = sim.rng
    ran = await _sprints(sim, [active_sprint - 2, active_sprint - 1, active_sprint], today)
    team = [sim.team.owner_id, *sim.team.member_ids]
    # Each week's logs are one moment on its last working day (timesheets are filled in
    # weekly): a moment per day would cost the demo a back-dating pass per day.
    weeks: dict[date, list[tuple[date, list[int]]]] = {}
    for start, end, pool in ran:
        for day in working_days(start, min(end, today - timedelta(days=1))) if pool else []:
            weeks.setdefault(day - timedelta(days=day.weekday()), []).append((day, pool))
    for days in weeks.values():

        async def work(session: AsyncSession, days: list[tuple[date, list[int]]] = days) -> None:
            for day, pool in days:
                for user_id in team:
                    access = await sim.access(session, user_id)
                    # The owner runs the project at 80 %: fewer hours on backlog work.
                    quarters = rng.randint(12, 20) if user_id == team[0] else rng.randint(22, 30)
                    pieces = rng.choice((1, 2, 2, 3))
                    for index in range(pieces):
                        share = quarters // pieces + (quarters % pieces if index == 0 else 0)
                        data = WorklogCreate(date=day, hours=share / 4, note=rng.choice(NOTES))
                        await timesheets.create_worklog(session, access, rng.choice(pool), data)

        await sim.moment(at(days[-1][0], 18), work)

    async def budget(session: AsyncSession) -> None:
        access = await sim.access(session, sim.team.owner_id)
        last_end = ran[-1][1]
        plan = BudgetReplace(
            hours=1900,
            amount=Decimal("125000.00"),
            currency="EUR",
            default_hourly_rate=Decimal("72.00"),
            planned_end_date=last_end + timedelta(weeks=6),
        )
        await budgets.replace_budget(session, access, plan, None)
        for user_id, rate in zip(sim.team.member_ids[:2], ("88.00", "81.50"), strict=True):
            data = MemberRateReplace(hourly_rate=Decimal(rate))
            await budgets.replace_member_rate(session, access, user_id, data, None)

    await sim.moment(at(ran[0][0], 9), budget)
