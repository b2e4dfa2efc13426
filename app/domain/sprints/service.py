"""Rules for sprints: scheduling, membership, and starting with a frozen commitment."""

from datetime import date, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import service as items_service
from app.domain.items.models import Item, ItemType
from app.domain.items.service import Writer
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import apply_changes, bump, check_version
from app.domain.metrics.scope import ScopeChange
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Project
from app.domain.projects.schemas import WEEK_ORDER
from app.domain.sprints import reporting, repository
from app.domain.sprints.models import Sprint, SprintCommitment, SprintOutcome, SprintState
from app.domain.sprints.person_days import recorded_person_days
from app.domain.sprints.schemas import (
    ReportBody,
    SprintComplete,
    SprintCreate,
    SprintItems,
    SprintUpdate,
)

OPEN_STATES = frozenset({SprintState.PLANNED.value, SprintState.ACTIVE.value})


def _is_working_day(project: Project, day: date) -> bool:
    return WEEK_ORDER[day.weekday()].value in project.working_days


def next_slot(project: Project, after: date | None, today: date) -> tuple[date, date]:
    """The dates of the next sprint: from the first working day after `after` (or today), for
    the project's sprint length, ending on a working day."""
    start = after + timedelta(days=1) if after is not None else today
    while not _is_working_day(project, start):
        start += timedelta(days=1)
    end = start + timedelta(days=project.sprint_length_days - 1)
    while end > start and not _is_working_day(project, end):
        end -= timedelta(days=1)
    return start, end


def _dates_conflict(other: Sprint) -> Conflict:
    return Conflict(
        f"The dates overlap sprint {other.number} ({other.start_date} to {other.end_date}).",
        errors=[
            FieldError(field="body.start_date", message="overlaps another sprint", type="overlap")
        ],
    )


# Sprints are weeks long; these bounds keep every report, chart and forecast calendar finite.
MAX_SPRINT_DAYS = 366
EARLIEST_DATE, LATEST_DATE = date(1970, 1, 1), date(2999, 12, 31)


async def _check_dates(
    session: AsyncSession, access: ProjectAccess, start: date, end: date, except_id: int | None
) -> None:
    for name, value in (("start_date", start), ("end_date", end)):
        if not EARLIEST_DATE <= value <= LATEST_DATE:
            raise InvalidInput.for_field(
                f"body.{name}", f"Dates run from {EARLIEST_DATE} to {LATEST_DATE}.", "range"
            )
    if end < start:
        raise InvalidInput.for_field("body.end_date", "The end is before the start.", "order")
    if (end - start).days + 1 > MAX_SPRINT_DAYS:
        raise InvalidInput.for_field(
            "body.end_date", f"A sprint lasts at most {MAX_SPRINT_DAYS} days.", "too_long"
        )
    other = await repository.overlapping(session, access.project_id, start, end, except_id)
    if other is not None:
        raise _dates_conflict(other)


async def get_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, *, for_update: bool = False
) -> Sprint:
    """A sprint of the project, or 404."""
    sprint = await repository.get_sprint(session, access.project_id, number, for_update=for_update)
    if sprint is None:
        raise NotFound(f"No sprint {number} in {access.project.key}.")
    return sprint


async def _locked_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: int | None
) -> Sprint:
    """A sprint locked for a change, after the If-Match check."""
    sprint = await get_sprint(session, access, number, for_update=True)
    check_version(sprint.version, if_match)
    return sprint


async def list_sprints(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> tuple[list[Sprint], str | None]:
    """The project's sprints by number."""
    return await repository.list_sprints(session, access.project_id, page)


async def scope_totals(
    session: AsyncSession, access: ProjectAccess, sprints: list[Sprint]
) -> dict[int, tuple[int, float]]:
    """Items and points each sprint holds now (one query)."""
    ids = [sprint.id for sprint in sprints if sprint.id is not None]
    return await repository.scope_totals(session, access.project_id, ids)


async def create_sprint(session: AsyncSession, access: ProjectAccess, data: SprintCreate) -> Sprint:
    """Plan a sprint; without dates it takes the next slot after the latest one."""
    # Taking the number locks the project row, so concurrent creations schedule one by one.
    number = await repository.take_sprint_number(session, access.project_id)
    if data.start_date is not None and data.end_date is not None:
        start, end = data.start_date, data.end_date
    else:
        latest = await repository.latest_end(session, access.project_id)
        start, end = next_slot(access.project, latest, clock.today(access.project.time_zone))
    await _check_dates(session, access, start, end, None)
    sprint = Sprint(
        project_id=access.project_id,
        number=number,
        name=data.name or f"Sprint {number}",
        goal=data.goal,
        start_date=start,
        end_date=end,
    )
    session.add(sprint)
    await session.flush()
    return sprint


async def update_sprint(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: SprintUpdate,
    if_match: int | None,
) -> Sprint:
    """Rename, re-goal or re-date a sprint (dates only while it is planned or active)."""
    changes = data.model_dump(exclude_unset=True)
    if {"start_date", "end_date"} & changes.keys():
        # Project row first (as creation takes it), then the sprint: re-dating and creating run
        # one at a time, so two sprints cannot claim one slot, and the lock order is the same.
        await repository.lock_project(session, access.project_id)
    sprint = await _locked_sprint(session, access, number, if_match)
    if "goal" in changes and changes["goal"] is None:
        changes["goal"] = ""
    if {"start_date", "end_date"} & changes.keys():
        if sprint.state not in OPEN_STATES:
            raise Conflict(f"Sprint {number} is {sprint.state}; its dates are final.")
        start = changes.get("start_date", sprint.start_date)
        end = changes.get("end_date", sprint.end_date)
        if start is None or end is None:
            raise InvalidInput.for_field("body.start_date", "A sprint needs both dates.", "null")
        await _check_dates(session, access, start, end, sprint.id)
    apply_changes(sprint, changes)
    await session.flush()
    return sprint


async def delete_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: int | None
) -> None:
    """Delete a planned sprint; its items go back to the backlog (each move logged)."""
    sprint = await _locked_sprint(session, access, number, if_match)
    if sprint.state != SprintState.PLANNED.value:
        raise Conflict(f"Only planned sprints can be deleted; sprint {number} is {sprint.state}.")
    await _return_items_to_backlog(session, access, sprint)
    await session.flush()
    await session.delete(sprint)
    await session.flush()


async def _return_items_to_backlog(
    session: AsyncSession, access: ProjectAccess, sprint: Sprint
) -> None:
    """Send every item of a sprint back to the backlog (each move logged)."""
    assert sprint.id is not None
    writer = Writer(session, access)
    for item in await repository.items_in_sprint(session, access.project_id, sprint.id):
        await writer.write(item, {"sprint_id": None})


def _closed(sprint: Sprint) -> Conflict:
    return Conflict(f"Sprint {sprint.number} is {sprint.state}; its items can no longer change.")


async def _locked_items(
    session: AsyncSession, access: ProjectAccess, numbers: list[int]
) -> list[Item]:
    found = await repository.lock_items_by_numbers(session, access.project_id, numbers)
    items = []
    for index, number in enumerate(numbers):
        item = found.get(number)
        if item is None:
            raise InvalidInput.for_field(
                f"body.items.{index}", f"No item {number} in {access.project.key}.", "unknown"
            )
        items.append(item)
    return items


async def add_items(
    session: AsyncSession, access: ProjectAccess, number: int, data: SprintItems
) -> Sprint:
    """Put items into a planned or active sprint, all or none (epics never)."""
    sprint = await get_sprint(session, access, number, for_update=True)
    if sprint.state not in OPEN_STATES:
        raise _closed(sprint)
    writer = Writer(session, access)
    items = await _locked_items(session, access, data.items)
    for index, item in enumerate(items):
        if item.type == ItemType.EPIC.value:
            raise InvalidInput.for_field(
                f"body.items.{index}",
                f"Item {item.number} is an epic; epics stay out of sprints.",
                "epic",
            )
        await _leave_current_sprint_check(session, access, item, index)
        await writer.write(item, {"sprint_id": sprint.id})
    await session.flush()
    return sprint


async def _leave_current_sprint_check(
    session: AsyncSession, access: ProjectAccess, item: Item, index: int
) -> None:
    """An item in a completed or cancelled sprint stays part of its record."""
    if item.sprint_id is None:
        return
    current = await repository.get_sprint_by_id(session, access.project_id, item.sprint_id)
    if current is not None and current.state not in OPEN_STATES:
        raise Conflict(
            f"Item {item.number} belongs to sprint {current.number}, which is {current.state}.",
            errors=[
                FieldError(field=f"body.items.{index}", message="closed sprint", type="closed")
            ],
        )


async def remove_items(
    session: AsyncSession, access: ProjectAccess, number: int, data: SprintItems
) -> Sprint:
    """Send items of a planned or active sprint back to the backlog, all or none."""
    sprint = await get_sprint(session, access, number, for_update=True)
    if sprint.state not in OPEN_STATES:
        raise _closed(sprint)
    writer = Writer(session, access)
    items = await _locked_items(session, access, data.items)
    for index, item in enumerate(items):
        if item.sprint_id != sprint.id:
            raise InvalidInput.for_field(
                f"body.items.{index}", f"Item {item.number} is not in sprint {number}.", "not_in"
            )
        await writer.write(item, {"sprint_id": None})
    await session.flush()
    return sprint


async def start_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: int | None
) -> Sprint:
    """Start a planned sprint: at most one is active, and its commitment is frozen now."""
    sprint = await _locked_sprint(session, access, number, if_match)
    if sprint.state != SprintState.PLANNED.value:
        raise Conflict(f"Sprint {number} is {sprint.state}; only planned sprints start.")
    if sprint.start_date is None or sprint.end_date is None:
        raise Conflict(f"Sprint {number} needs a start and end date before it starts.")
    assert sprint.id is not None
    items = await repository.items_in_sprint(session, access.project_id, sprint.id)
    # Taken with the sprint and its items locked: later scope changes log larger ids.
    start_event_id = await repository.event_position(session)
    key = access.project.key
    try:
        # The partial unique index decides between concurrent starts. The changes are made
        # inside the savepoint: begin_nested() flushes pending changes *before* it opens.
        async with session.begin_nested():
            sprint.state = SprintState.ACTIVE
            sprint.started_at = clock.now()
            sprint.start_event_id = start_event_id
            sprint.committed_items = len(items)
            sprint.committed_points = sum(item.points or 0.0 for item in items)
            bump(sprint)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"Another sprint of {key} is active; complete it first.") from exc
    session.add_all(
        SprintCommitment(
            sprint_id=sprint.id,
            item_id=item.id,
            project_id=access.project_id,
            item_number=item.number,
            points=item.points,
        )
        for item in items
        if item.id is not None
    )
    await session.flush()
    return sprint


async def cancel_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: int | None
) -> Sprint:
    """Cancel a planned or active sprint: its items return to the backlog, its dates free up."""
    sprint = await _locked_sprint(session, access, number, if_match)
    if sprint.state not in OPEN_STATES:
        raise Conflict(f"Sprint {number} is {sprint.state}; only planned or active sprints cancel.")
    await _return_items_to_backlog(session, access, sprint)
    sprint.state = SprintState.CANCELLED
    bump(sprint)
    await session.flush()
    return sprint


async def complete_sprint(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: SprintComplete,
    if_match: int | None,
) -> Sprint:
    """Complete the active sprint: freeze what was done, carry the rest over."""
    sprint = await _locked_sprint(session, access, number, if_match)
    if sprint.state != SprintState.ACTIVE.value:
        raise Conflict(f"Sprint {number} is {sprint.state}; only the active sprint completes.")
    target: Sprint | None = None
    if data.carry_over != "backlog":
        assert isinstance(data.carry_over, int)
        if data.carry_over == number:
            raise InvalidInput.for_field(
                "body.carry_over",
                "Unfinished items cannot carry over into the same sprint.",
                "self",
            )
        target = await repository.get_sprint(
            session, access.project_id, data.carry_over, for_update=True
        )
        if target is None:
            raise InvalidInput.for_field(
                "body.carry_over", f"No sprint {data.carry_over} in this project.", "unknown"
            )
        if target.state != SprintState.PLANNED.value:
            raise Conflict(
                f"Sprint {target.number} is {target.state}; carry over into a planned sprint.",
                errors=[
                    FieldError(field="body.carry_over", message="not planned", type="not_planned")
                ],
            )
    assert sprint.id is not None
    items = await repository.items_in_sprint(session, access.project_id, sprint.id)
    done_status_ids = await repository.done_status_ids(session, access.project_id)
    unfinished = [item for item in items if item.status_id not in done_status_ids]
    carried_to: int | str = target.number if target is not None else "backlog"
    # Computed with the items locked and before carry-over, then kept verbatim.
    kept = await reporting.compute_report(session, access.project_id, sprint, carried_to)
    session.add_all(
        SprintOutcome(
            sprint_id=sprint.id,
            item_id=item.id,
            project_id=access.project_id,
            item_number=item.number,
            points=item.points,
            done=item.status_id in done_status_ids,
            status_id=item.status_id,
            carried_to=None
            if item.status_id in done_status_ids or target is None
            else target.number,
        )
        for item in items
        if item.id is not None
    )
    # Before carry-over: moving unfinished items out is not a change of this sprint's scope.
    sprint.close_event_id = await repository.event_position(session)
    sprint.state = SprintState.COMPLETED
    sprint.completed_at = clock.now()
    # Items done before they joined the sprint were completed elsewhere: not counted here.
    sprint.completed_items = kept.completed.count
    sprint.completed_points = kept.completed.points
    sprint.goal_outcome = data.goal_outcome.value if data.goal_outcome else None
    sprint.review_notes = data.review_notes
    sprint.carried_over_to = target.number if target is not None else None
    sprint.report = kept.model_dump(mode="json")
    sprint.person_days = (await recorded_person_days(session, access.project, [sprint])).get(
        sprint.id
    )
    sprint.done_status_ids = sorted(done_status_ids)
    bump(sprint)
    await session.flush()
    if target is None:
        await items_service.to_top_of_backlog(session, access, unfinished)
    else:
        writer = Writer(session, access)
        for item in unfinished:
            await writer.write(item, {"sprint_id": target.id})
    await session.flush()
    return sprint


async def scope_changes(
    session: AsyncSession, access: ProjectAccess, number: int
) -> list[ScopeChange]:
    """Every change to a sprint's scope after it started (added, removed, re-estimated)."""
    sprint = await get_sprint(session, access, number)
    return await reporting.scope_changes(session, access.project_id, sprint)


async def report(
    session: AsyncSession, access: ProjectAccess, number: int
) -> tuple[Sprint, ReportBody]:
    """A sprint's report: live while it is active, as kept at completion afterwards."""
    sprint = await get_sprint(session, access, number)
    if sprint.report is not None:
        return sprint, reporting.frozen_report(sprint.report)
    return sprint, await reporting.compute_report(session, access.project_id, sprint)
