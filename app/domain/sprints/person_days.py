"""Sprints' capacity in person-days: kept at completion, or worked out from recorded capacity."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.metrics.capacity import MemberAvailability, sprint_capacity
from app.domain.projects.calendar import working_weekdays
from app.domain.projects.models import Project
from app.domain.sprints import capacity_repository
from app.domain.sprints.models import Sprint, SprintCapacity


def availability(row: SprintCapacity) -> MemberAvailability:
    """A capacity row as the pure capacity functions read it."""
    return MemberAvailability(row.user_id, row.availability, tuple(row.days_off))


async def recorded_person_days(
    session: AsyncSession, project: Project, sprints: Sequence[Sprint]
) -> dict[int, float]:
    """Person-days of those sprints that recorded capacity, by sprint id (one query).

    A completed sprint's figure is the one kept at its completion; others are worked out from
    their capacity rows, their dates and the project's working days.
    """
    days = {s.id: s.person_days for s in sprints if s.id is not None and s.person_days is not None}
    pending = [s for s in sprints if s.id is not None and s.id not in days]
    assert project.id is not None
    rows = await capacity_repository.capacity_rows(
        session, project.id, [s.id for s in pending if s.id is not None]
    )
    members: dict[int, list[MemberAvailability]] = defaultdict(list)
    for row in rows:
        members[row.sprint_id].append(availability(row))
    weekdays = working_weekdays(project)
    for sprint in pending:
        if sprint.id in members and sprint.start_date and sprint.end_date:
            figures = sprint_capacity(
                sprint.start_date, sprint.end_date, weekdays, members[sprint.id]
            )
            days[sprint.id] = figures.total_person_days
    return days
