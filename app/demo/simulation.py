"""The demo's clock: each simulated moment is one transaction, back-dated to that moment."""

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.demo import repository
from app.domain import outbox
from app.domain.kernel import calendar, clock
from app.domain.projects.access import ProjectAccess, resolve_access
from app.domain.projects.models import Role
from app.domain.projects.schemas import DEFAULT_WORKING_DAYS
from app.domain.users import repository as users_repository

KEY = "DEMO"
TIME_ZONE = ZoneInfo("Europe/Berlin")
T = TypeVar("T")


@dataclass
class Team:
    owner_id: int
    member_ids: list[int] = field(default_factory=list)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A local time of the project on `day`, in UTC."""
    return datetime.combine(day, time(hour, minute), TIME_ZONE).astimezone(UTC)


def working_days(start: date, end: date) -> list[date]:
    # The demo project keeps the default working week.
    return calendar.working_dates(start, end, calendar.weekday_numbers(DEFAULT_WORKING_DAYS))


class Simulation:
    """Runs each simulated moment in its own transaction and back-dates what it wrote."""

    def __init__(self, database: Database, rng: random.Random) -> None:
        self.database, self.rng = database, rng
        self.project_id = 0
        self.team = Team(owner_id=0)

    async def moment(
        self,
        when: datetime,
        work: Callable[[AsyncSession], Awaitable[T]],
        since: datetime | None = None,
        *,
        pinned: bool = False,
    ) -> T:
        """Run `work` in one transaction; what it (or anything since `since`) wrote is moved
        to `when`. `pinned` runs it with the clock at `when`, for rules that read today's date
        (a stand-up is posted for its own day)."""
        since = since or clock.now()
        async with self.database.sessions() as session, session.begin():
            with clock.transaction_time(when if pinned else None):
                result = await work(session)
                await outbox.flush(session)
                await session.flush()
                if self.project_id:
                    await repository.backdate(session, self.project_id, since, when)
        return result

    async def access(self, session: AsyncSession, user_id: int | None = None) -> ProjectAccess:
        """Project access as one of the team (a random one unless given)."""
        chosen = user_id or self.rng.choice([self.team.owner_id, *self.team.member_ids])
        user = await users_repository.get_user(session, chosen)
        assert user is not None
        return await resolve_access(session, KEY, user, Role.MEMBER)
