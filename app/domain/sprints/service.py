"""Rules for sprints: scheduling, membership, and the lifecycle from planned to completed.

Every change to a sprint's state takes it with `lookup.locked_sprint` (row lock, If-Match).
Capacity and the report live in the `capacity` and `report` sub-packages.
"""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.catalogue import EventType
from app.domain.items import bulk as items_bulk
from app.domain.items import repository as items_repository
from app.domain.items.models import Item, ItemType
from app.domain.items.validation import check_may_leave_sprint
from app.domain.items.writer import Writer
from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, apply_changes, bump
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.sprints import public_events, repository
from app.domain.sprints.capacity.service import recorded_person_days
from app.domain.sprints.lookup import locked_sprint, sprint_by_number
from app.domain.sprints.models import Sprint, SprintCommitment, SprintOutcome, SprintState
from app.domain.sprints.report import service as report
from app.domain.sprints.schemas import SprintComplete, SprintCreate, SprintItems, SprintUpdate
from app.domain.sprints.workload import service as workload
from app.domain.workflow import repository as workflow_repository


@dataclass(frozen=True)
class SprintView(RowView):
    """A sprint with the scope it holds now: what `SprintPublic` shows."""

    ROW = "sprint"

    sprint: Sprint
    item_count: int
    points: float

    number = FromRow[int]()
    version = FromRow[int]()


async def _views(
    session: AsyncSession, access: ProjectAccess, sprints: list[Sprint]
) -> list[SprintView]:
    """The sprints with the items and points each holds now (one query)."""
    ids = [sprint.id for sprint in sprints if sprint.id is not None]
    totals = await items_repository.sprint_totals(session, access.project_id, ids)
    return [SprintView(sprint, *totals.get(sprint.id or 0, (0, 0.0))) for sprint in sprints]


async def _view(session: AsyncSession, access: ProjectAccess, sprint: Sprint) -> SprintView:
    return (await _views(session, access, [sprint]))[0]


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


async def get_sprint(session: AsyncSession, access: ProjectAccess, number: int) -> SprintView:
    """A sprint of the project with its current scope, or 404."""
    return await _view(session, access, await sprint_by_number(session, access, number))


async def list_sprints(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> tuple[list[SprintView], str | None]:
    """The project's sprints by number, with their current scope."""
    sprints, cursor = await repository.list_sprints(session, access.project_id, page)
    return await _views(session, access, sprints), cursor


async def create_sprint(
    session: AsyncSession, access: ProjectAccess, data: SprintCreate
) -> SprintView:
    """Plan a sprint; without dates it takes the next slot after the latest one."""
    # Taking the number locks the project row, so concurrent creations schedule one by one.
    number = await projects_repository.take_numbers(session, access.project_id, "sprint")
    if data.start_date is not None and data.end_date is not None:
        start, end = data.start_date, data.end_date
    else:
        latest = await repository.latest_end(session, access.project_id)
        project = access.project
        start, end = calendar.next_slot(
            latest,
            clock.today(project.time_zone),
            project.sprint_length_days,
            calendar.weekday_numbers(project.working_days),
        )
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
    public_events.publish(session, access, sprint, EventType.SPRINT_CREATED)
    return await _view(session, access, sprint)


async def update_sprint(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: SprintUpdate,
    if_match: Versions | None,
) -> SprintView:
    """Rename, re-goal or re-date a sprint (dates only while it is planned or active)."""
    changes = data.model_dump(exclude_unset=True)
    if {"start_date", "end_date"} & changes.keys():
        # Project row first (as creation takes it), then the sprint: re-dating and creating run
        # one at a time, so two sprints cannot claim one slot, and the lock order is the same.
        await projects_repository.lock_project(session, access.project_id)
    sprint = await locked_sprint(session, access, number, if_match)
    if "goal" in changes and changes["goal"] is None:
        changes["goal"] = ""
    if {"start_date", "end_date"} & changes.keys():
        if not sprint.state.is_open:
            raise Conflict(f"Sprint {number} is {sprint.state}; its dates are final.")
        start = changes.get("start_date", sprint.start_date)
        end = changes.get("end_date", sprint.end_date)
        if start is None or end is None:
            raise InvalidInput.for_field("body.start_date", "A sprint needs both dates.", "null")
        await _check_dates(session, access, start, end, sprint.id)
    before = {name: getattr(sprint, name) for name in changes}
    apply_changes(sprint, changes)
    await session.flush()
    changed = {
        name: (old, getattr(sprint, name))
        for name, old in before.items()
        if old != getattr(sprint, name)
    }
    if changed:
        public_events.publish(session, access, sprint, EventType.SPRINT_UPDATED, changed)
    return await _view(session, access, sprint)


async def delete_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> None:
    """Delete a planned sprint; its items go back to the backlog (each move logged)."""
    sprint = await locked_sprint(session, access, number, if_match)
    if sprint.state != SprintState.PLANNED:
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
    for item in await items_repository.items_in_sprint(session, access.project_id, sprint.id):
        await writer.write(item, {"sprint_id": None})


def _closed(sprint: Sprint) -> Conflict:
    return Conflict(f"Sprint {sprint.number} is {sprint.state}; its items can no longer change.")


async def _locked_items(
    session: AsyncSession, access: ProjectAccess, numbers: list[int]
) -> list[Item]:
    found = await items_repository.lock_items_by_numbers(session, access.project_id, numbers)
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
) -> SprintView:
    """Put items into a planned or active sprint, all or none (epics never)."""
    sprint = await sprint_by_number(session, access, number, for_update=True)
    if not sprint.state.is_open:
        raise _closed(sprint)
    writer = Writer(session, access)
    items = await _locked_items(session, access, data.items)
    for index, item in enumerate(items):
        if item.type == ItemType.EPIC:
            raise InvalidInput.for_field(
                f"body.items.{index}",
                f"Item {item.number} is an epic; epics stay out of sprints.",
                "epic",
            )
        await _leave_current_sprint_check(session, access, item, index)
        await writer.write(item, {"sprint_id": sprint.id})
    await session.flush()
    return await _view(session, access, sprint)


async def _leave_current_sprint_check(
    session: AsyncSession, access: ProjectAccess, item: Item, index: int
) -> None:
    """An item in a completed or cancelled sprint stays part of its record."""
    if item.sprint_id is None:
        return
    current = await repository.get_sprint_by_id(session, access.project_id, item.sprint_id)
    if current is not None:
        check_may_leave_sprint(item, current.number, current.state, f"body.items.{index}")


async def remove_items(
    session: AsyncSession, access: ProjectAccess, number: int, data: SprintItems
) -> SprintView:
    """Send items of a planned or active sprint back to the backlog, all or none."""
    sprint = await sprint_by_number(session, access, number, for_update=True)
    if not sprint.state.is_open:
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
    return await _view(session, access, sprint)


async def start_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> SprintView:
    """Start a planned sprint: at most one is active, and its commitment is frozen now."""
    sprint = await locked_sprint(session, access, number, if_match)
    if sprint.state != SprintState.PLANNED:
        raise Conflict(f"Sprint {number} is {sprint.state}; only planned sprints start.")
    if sprint.start_date is None or sprint.end_date is None:
        raise Conflict(f"Sprint {number} needs a start and end date before it starts.")
    assert sprint.id is not None
    items = await items_repository.items_in_sprint(session, access.project_id, sprint.id)
    # Taken with the sprint and its items locked: later scope changes log larger ids.
    start_event_id = await items_repository.event_position(session)
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
    public_events.publish(session, access, sprint, EventType.SPRINT_STARTED)
    return await _view(session, access, sprint)


async def cancel_sprint(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> SprintView:
    """Cancel a planned or active sprint: its items return to the backlog, its dates free up."""
    sprint = await locked_sprint(session, access, number, if_match)
    if not sprint.state.is_open:
        raise Conflict(f"Sprint {number} is {sprint.state}; only planned or active sprints cancel.")
    await _return_items_to_backlog(session, access, sprint)
    sprint.state = SprintState.CANCELLED
    bump(sprint)
    await session.flush()
    public_events.publish(session, access, sprint, EventType.SPRINT_CANCELLED)
    return await _view(session, access, sprint)


async def complete_sprint(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: SprintComplete,
    if_match: Versions | None,
) -> SprintView:
    """Complete the active sprint: freeze what was done, carry the rest over."""
    sprint = await locked_sprint(session, access, number, if_match)
    if sprint.state != SprintState.ACTIVE:
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
        if target.state != SprintState.PLANNED:
            raise Conflict(
                f"Sprint {target.number} is {target.state}; carry over into a planned sprint.",
                errors=[
                    FieldError(field="body.carry_over", message="not planned", type="not_planned")
                ],
            )
    assert sprint.id is not None
    items = await items_repository.items_in_sprint(session, access.project_id, sprint.id)
    done_status_ids = await workflow_repository.done_status_ids(session, access.project_id)
    unfinished = [item for item in items if item.status_id not in done_status_ids]
    carried_to: int | str = target.number if target is not None else "backlog"
    # Computed with the items locked and before carry-over, then kept verbatim.
    kept = await report.freeze(session, access.project_id, sprint, carried_to)
    await workload.freeze(session, access, sprint)
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
    sprint.close_event_id = await items_repository.event_position(session)
    sprint.state = SprintState.COMPLETED
    sprint.completed_at = clock.now()
    # Items done before they joined the sprint were completed elsewhere: not counted here.
    sprint.completed_items = kept.completed.count
    sprint.completed_points = kept.completed.points
    sprint.goal_outcome = data.goal_outcome
    sprint.review_notes = data.review_notes
    sprint.carried_over_to = target.number if target is not None else None
    sprint.person_days = (await recorded_person_days(session, access.project, [sprint])).get(
        sprint.id
    )
    sprint.done_status_ids = sorted(done_status_ids)
    bump(sprint)
    await session.flush()
    if target is None:
        await items_bulk.to_top_of_backlog(session, access, unfinished)
    else:
        writer = Writer(session, access)
        for item in unfinished:
            await writer.write(item, {"sprint_id": target.id})
    await session.flush()
    public_events.publish(session, access, sprint, EventType.SPRINT_COMPLETED)
    return await _view(session, access, sprint)
