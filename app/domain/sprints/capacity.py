"""Rules for sprint capacity: who is available how much, and what that suggests to commit."""

from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.errors import Conflict, FieldError, InvalidInput
from app.domain.kernel.versioning import bump, check_version
from app.domain.metrics.capacity import (
    MAX_HISTORY,
    MemberAvailability,
    PastSprint,
    SprintCapacityFigures,
    Suggestion,
    sprint_capacity,
    suggest_commitment,
)
from app.domain.projects.access import ProjectAccess
from app.domain.projects.calendar import working_weekdays
from app.domain.sprints import capacity_repository as repository
from app.domain.sprints.capacity_schemas import (
    CommitmentSuggestionPublic,
    MemberCapacityPublic,
    PastSprintPublic,
    SprintCapacityPublic,
    SprintCapacityReplace,
)
from app.domain.sprints.models import Sprint, SprintCapacity, SprintState
from app.domain.sprints.person_days import availability, recorded_person_days
from app.domain.sprints.service import get_sprint
from app.domain.users.models import User

FINAL_STATES = frozenset({SprintState.COMPLETED.value, SprintState.CANCELLED.value})
# Candidates for the suggestion are read a few at a time: usually the first batch is enough.
_HISTORY_BATCH = 10
_DECIMALS = 2


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


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, _DECIMALS)


def _suggestion_public(suggestion: Suggestion) -> CommitmentSuggestionPublic:
    return CommitmentSuggestionPublic(
        points=_round(suggestion.points),
        points_per_person_day=_round(suggestion.points_per_person_day),
        sprints_used=[
            PastSprintPublic(
                number=past.number,
                completed_points=past.completed_points,
                person_days=round(past.person_days, _DECIMALS),
            )
            for past in suggestion.sprints_used
        ],
        explanation=suggestion.explanation,
    )


def _present(
    sprint: Sprint,
    start: date,
    end: date,
    recorded: bool,
    figures: SprintCapacityFigures,
    users: dict[int, User],
    suggestion: Suggestion,
) -> SprintCapacityPublic:
    members = []
    for member in figures.members:
        user = users.get(member.user_id)
        members.append(
            MemberCapacityPublic(
                user_id=member.user_id,
                display_name=user.display_name if user else "",
                email=user.email if user else "",
                availability=member.availability,
                days_off=sorted(member.days_off),
                days_off_counted=member.days_off_counted,
                person_days=round(member.person_days, _DECIMALS),
            )
        )
    return SprintCapacityPublic(
        number=sprint.number,
        start_date=start,
        end_date=end,
        working_days=figures.working_days,
        recorded=recorded,
        members=members,
        total_person_days=round(figures.total_person_days, _DECIMALS),
        suggestion=_suggestion_public(suggestion),
        version=sprint.version,
    )


async def _capacity(
    session: AsyncSession, access: ProjectAccess, sprint: Sprint
) -> SprintCapacityPublic:
    """The sprint's recorded capacity, or the default proposal when none is recorded."""
    assert sprint.id is not None
    start, end = _dates(sprint)
    rows = await repository.capacity_rows(session, access.project_id, [sprint.id])
    if rows:
        members = [availability(row) for row in rows]
        users = await repository.users_by_id(session, [row.user_id for row in rows])
    else:
        planners = await repository.planning_members(session, access.project_id)
        members = [MemberAvailability(user_id=user.id or 0, availability=100) for user in planners]
        users = {user.id or 0: user for user in planners}
    figures = sprint_capacity(start, end, working_weekdays(access.project), members)
    history = await _history(session, access, sprint, start)
    suggestion = suggest_commitment(history, figures.total_person_days)
    return _present(sprint, start, end, bool(rows), figures, users, suggestion)


async def get_capacity(
    session: AsyncSession, access: ProjectAccess, number: int
) -> SprintCapacityPublic:
    """A sprint's capacity per member and in total, with a suggested commitment."""
    sprint = await get_sprint(session, access, number)
    return await _capacity(session, access, sprint)


async def _check_entries(
    session: AsyncSession,
    access: ProjectAccess,
    data: SprintCapacityReplace,
    start: date,
    end: date,
) -> None:
    """Every entry names a distinct current member and distinct days off inside the sprint."""
    members = await repository.member_ids(
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
    if_match: int | None = None,
) -> SprintCapacityPublic:
    """Replace a planned or active sprint's whole capacity (an empty list clears it).

    Capacity is part of the sprint: replacing it checks and bumps the sprint's version.
    """
    # The sprint's row lock makes concurrent replacements of one sprint run one after another.
    sprint = await get_sprint(session, access, number, for_update=True)
    check_version(sprint.version, if_match)
    if sprint.state in FINAL_STATES:
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
