"""Rules for sprint capacity: who is available how much, person-days, a suggested commitment."""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.calendar import weekday_numbers
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput
from app.domain.kernel.versioning import Versions, bump
from app.domain.kernel.views import RowView
from app.domain.metrics.capacity import (
    MAX_HISTORY,
    MemberAvailability,
    MemberPersonDays,
    PastSprint,
    SprintCapacityFigures,
    Suggestion,
    sprint_capacity,
    suggest_commitment,
)
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Project
from app.domain.sprints.capacity import repository
from app.domain.sprints.capacity.schemas import SprintCapacityReplace
from app.domain.sprints.lookup import locked_sprint, sprint_by_number
from app.domain.sprints.models import Sprint, SprintCapacity
from app.domain.users import repository as users_repository
from app.domain.users.models import User

# Candidates for the suggestion are read a few at a time: usually the first batch is enough.
_HISTORY_BATCH = 10


@dataclass(frozen=True)
class MemberCapacityView(RowView):
    """One member's person-days in the sprint (unrounded), with their name and email."""

    ROW = "figures"

    figures: MemberPersonDays
    user: User | None

    @property
    def display_name(self) -> str:
        """The member's display name (empty once their account is gone)."""
        return self.user.display_name if self.user else ""

    @property
    def email(self) -> str:
        """The member's email (empty once their account is gone)."""
        return self.user.email if self.user else ""


@dataclass(frozen=True)
class SprintCapacityView(RowView):
    """A sprint with its capacity figures (unrounded): what `SprintCapacityPublic` shows."""

    ROW = "sprint"
    # Working days and total person-days: the sprint has neither.
    ALSO = ("figures",)

    sprint: Sprint
    figures: SprintCapacityFigures
    members: list[MemberCapacityView]
    recorded: bool
    suggestion: Suggestion


def availability(row: SprintCapacity) -> MemberAvailability:
    """A capacity row as the pure capacity functions read it."""
    return MemberAvailability(row.user_id, row.availability, tuple(sorted(row.days_off)))


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
    rows = await repository.capacity_rows(
        session, project.id, [s.id for s in pending if s.id is not None]
    )
    members: dict[int, list[MemberAvailability]] = defaultdict(list)
    for row in rows:
        members[row.sprint_id].append(availability(row))
    weekdays = weekday_numbers(project.working_days)
    for sprint in pending:
        if sprint.id in members and sprint.start_date and sprint.end_date:
            figures = sprint_capacity(
                sprint.start_date, sprint.end_date, weekdays, members[sprint.id]
            )
            days[sprint.id] = figures.total_person_days
    return days


def _dates(sprint: Sprint) -> tuple[date, date]:
    if sprint.start_date is None or sprint.end_date is None:
        raise Conflict(f"Sprint {sprint.number} has no dates; capacity needs a start and an end.")
    return sprint.start_date, sprint.end_date


async def _history(
    session: AsyncSession, access: ProjectAccess, sprint: Sprint, start: date
) -> list[PastSprint]:
    """The latest completed sprints before this one with person-days, latest first."""
    assert sprint.id is not None
    history: list[PastSprint] = []
    after: tuple[date, int] | None = None
    while len(history) < MAX_HISTORY:
        batch = await repository.history_batch(
            session, access.project_id, start, sprint.id, after, _HISTORY_BATCH
        )
        person_days = await recorded_person_days(session, access.project, batch)
        for past in batch:
            days = person_days.get(past.id or 0, 0.0)
            if days > 0:
                history.append(
                    PastSprint(
                        number=past.number,
                        completed_points=past.completed_points or 0.0,
                        person_days=days,
                    )
                )
        if len(batch) < _HISTORY_BATCH:
            break
        after = (batch[-1].end_date or start, batch[-1].number)
    return history[:MAX_HISTORY]


async def _capacity(
    session: AsyncSession, access: ProjectAccess, sprint: Sprint
) -> SprintCapacityView:
    """The sprint's recorded capacity, or the default proposal when none is recorded."""
    assert sprint.id is not None
    start, end = _dates(sprint)
    rows = await repository.capacity_rows(session, access.project_id, [sprint.id])
    if rows:
        members = [availability(row) for row in rows]
        users = await users_repository.users_by_id(session, [row.user_id for row in rows])
    else:
        planners = await projects_repository.planning_members(session, access.project_id)
        members = [MemberAvailability(user_id=user.id or 0, availability=100) for user in planners]
        users = {user.id or 0: user for user in planners}
    figures = sprint_capacity(start, end, weekday_numbers(access.project.working_days), members)
    history = await _history(session, access, sprint, start)
    return SprintCapacityView(
        sprint=sprint,
        figures=figures,
        members=[
            MemberCapacityView(member, users.get(member.user_id)) for member in figures.members
        ],
        recorded=bool(rows),
        suggestion=suggest_commitment(history, figures.total_person_days),
    )


async def get_capacity(
    session: AsyncSession, access: ProjectAccess, number: int
) -> SprintCapacityView:
    """A sprint's capacity per member and in total, with a suggested commitment."""
    sprint = await sprint_by_number(session, access, number)
    return await _capacity(session, access, sprint)


async def _check_entries(
    session: AsyncSession,
    access: ProjectAccess,
    data: SprintCapacityReplace,
    start: date,
    end: date,
) -> None:
    """Every entry names a distinct current member and distinct days off inside the sprint."""
    members = await projects_repository.member_ids(
        session, access.project_id, [entry.user_id for entry in data.members]
    )
    errors: list[FieldError] = []
    seen_users: set[int] = set()
    for index, entry in enumerate(data.members):
        field = f"body.members.{index}"
        if entry.user_id in seen_users:
            errors.append(
                FieldError(
                    field=f"{field}.user_id",
                    message=f"User {entry.user_id} is listed more than once.",
                    type="duplicate",
                )
            )
        elif entry.user_id not in members:
            errors.append(
                FieldError(
                    field=f"{field}.user_id",
                    message=f"User {entry.user_id} is not a member of {access.project.key}.",
                    type="not_member",
                )
            )
        seen_users.add(entry.user_id)
        seen_days: set[date] = set()
        for day_index, day in enumerate(entry.days_off):
            if day in seen_days:
                message, code = f"{day} is listed more than once.", "duplicate"
            elif not start <= day <= end:
                message, code = f"{day} is outside the sprint ({start} to {end}).", "out_of_range"
            else:
                seen_days.add(day)
                continue
            errors.append(
                FieldError(field=f"{field}.days_off.{day_index}", message=message, type=code)
            )
    if errors:
        fields = ", ".join(error.field for error in errors)
        raise InvalidInput(f"Invalid input: {fields}.", errors=errors)


async def replace_capacity(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: SprintCapacityReplace,
    if_match: Versions | None = None,
) -> SprintCapacityView:
    """Replace a planned or active sprint's whole capacity (an empty list clears it).

    Capacity is part of the sprint: replacing it checks and bumps the sprint's version.
    """
    # The sprint's row lock makes concurrent replacements of one sprint run one after another.
    sprint = await locked_sprint(session, access, number, if_match)
    if sprint.state.is_final:
        raise Conflict(f"Sprint {number} is {sprint.state}; its capacity is final.")
    start, end = _dates(sprint)
    await _check_entries(session, access, data, start, end)
    assert sprint.id is not None
    await repository.replace_capacity(
        session,
        access.project_id,
        sprint.id,
        [
            SprintCapacity(
                sprint_id=sprint.id,
                user_id=entry.user_id,
                project_id=access.project_id,
                availability=entry.availability,
                days_off=sorted(entry.days_off),
            )
            for entry in data.members
        ],
    )
    bump(sprint)
    await session.flush()
    return await _capacity(session, access, sprint)
