"""Rules for workflow statuses."""

from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.projects.access import ProjectAccess
from app.domain.workflow import repository
from app.domain.workflow.models import Status, StatusCategory
from app.domain.workflow.schemas import StatusCreate, StatusUpdate

# Statuses one project's workflow may have: more columns than any board can show.
MAX_STATUSES = 50


class StatusItems(Protocol):
    """What status changes need from the items in a status: `app.domain.items.bulk`.

    Items sit above workflow (they import this area), so the caller passes them in.
    """

    async def count_in_status(
        self, session: AsyncSession, access: ProjectAccess, status_id: int
    ) -> int:
        """How many items are in the status."""

    async def move_out_of_status(
        self, session: AsyncSession, access: ProjectAccess, status_id: int, target_id: int
    ) -> int:
        """Move every item of the status to another one (each move logged)."""

    async def follow_status_category(
        self, session: AsyncSession, access: ProjectAccess, status_id: int, *, done: bool
    ) -> None:
        """Stamp (or clear) its items' done_at once the status starts (or stops) being done."""


def _name_taken(name: str) -> Conflict:
    return Conflict(
        f"A status named {name!r} exists already.",
        errors=[FieldError(field="body.name", message="already used", type="duplicate")],
    )


def _renumber(statuses: list[Status], moved: Status, position: int) -> None:
    """Put `moved` at `position` and number every status 0..n-1 in order."""
    ordered = [s for s in statuses if s is not moved]
    ordered.insert(min(position, len(ordered)), moved)
    for index, status in enumerate(ordered):
        if status.position != index:
            status.position = index
            if status is not moved:
                bump(status)


async def list_statuses(session: AsyncSession, access: ProjectAccess) -> list[Status]:
    """The project's statuses in workflow order."""
    return await repository.list_statuses(session, access.project_id)


async def get_status(session: AsyncSession, access: ProjectAccess, status_id: int) -> Status:
    """One status, or 404."""
    status = await repository.get_status(session, access.project_id, status_id)
    if status is None:
        raise NotFound(f"No status {status_id} in {access.project.key}.")
    return status


async def create_status(session: AsyncSession, access: ProjectAccess, data: StatusCreate) -> Status:
    """Add a status (last unless a position is given); 409 once the workflow has the most."""
    # Under the lock, the statuses read are all there are: the count and positions hold.
    await repository.lock_workflow(session, access.project_id)
    statuses = await repository.list_statuses(session, access.project_id, for_update=True)
    if len(statuses) >= MAX_STATUSES:
        raise Conflict(
            f"{access.project.key} has {MAX_STATUSES} statuses, the most a workflow may have. "
            "Delete one it does not need (DELETE .../statuses/{id}, moving its items with "
            "?move_items_to=) to make room."
        )
    if await repository.name_taken(session, access.project_id, data.name):
        raise _name_taken(data.name)
    status = Status(
        project_id=access.project_id,
        name=data.name,
        category=data.category,
        position=len(statuses),
        wip_limit=data.wip_limit,
    )
    session.add(status)
    if data.position is not None:
        _renumber([*statuses, status], status, data.position)
    await session.flush()
    return status


async def _locked_workflow(
    session: AsyncSession, access: ProjectAccess, status_id: int, if_match: Versions | None
) -> tuple[list[Status], Status]:
    """All statuses of the project, locked, and the one asked for (404, 412 as due)."""
    await repository.lock_workflow(session, access.project_id)
    statuses = await repository.list_statuses(session, access.project_id, for_update=True)
    status = next((s for s in statuses if s.id == status_id), None)
    if status is None:
        raise NotFound(f"No status {status_id} in {access.project.key}.")
    check_version(status.version, if_match)
    return statuses, status


async def update_status(
    session: AsyncSession,
    access: ProjectAccess,
    status_id: int,
    data: StatusUpdate,
    if_match: Versions | None,
    items: StatusItems,
) -> Status:
    """Rename, recategorise, re-limit or move a status."""
    statuses, status = await _locked_workflow(session, access, status_id, if_match)
    changes = data.model_dump(exclude_unset=True)
    for name in ("name", "category", "position"):
        if name in changes and changes[name] is None:
            raise InvalidInput.null(f"body.{name}")
    changed = False
    if "name" in changes and changes["name"] != status.name:
        if await repository.name_taken(session, access.project_id, changes["name"], status_id):
            raise _name_taken(changes["name"])
        status.name = changes["name"]
        changed = True
    if "category" in changes and changes["category"] != status.category:
        was_done = status.category == StatusCategory.DONE
        status.category = changes["category"]
        is_done = status.category == StatusCategory.DONE
        if was_done != is_done:
            # An item is done exactly when its status is: keep done_at in step.
            await items.follow_status_category(session, access, status_id, done=is_done)
        changed = True
    if "wip_limit" in changes and changes["wip_limit"] != status.wip_limit:
        status.wip_limit = changes["wip_limit"]
        changed = True
    if "position" in changes and changes["position"] != status.position:
        _renumber(statuses, status, changes["position"])
        changed = True
    if changed:
        bump(status)
    await session.flush()
    return status


async def delete_status(
    session: AsyncSession,
    access: ProjectAccess,
    status_id: int,
    move_items_to: int | None,
    if_match: Versions | None,
    items: StatusItems,
) -> None:
    """Delete a status; items still in it need `move_items_to` (another status id)."""
    statuses, status = await _locked_workflow(session, access, status_id, if_match)
    if len(statuses) == 1:
        raise Conflict("A project needs at least one status.")
    in_use = await items.count_in_status(session, access, status_id)
    if in_use:
        if move_items_to is None:
            raise Conflict(
                f"{in_use} item(s) are in '{status.name}'; name where they go with "
                "?move_items_to=<status id>.",
                errors=[
                    FieldError(
                        field="query.move_items_to",
                        message="required: status in use",
                        type="in_use",
                    )
                ],
            )
        if move_items_to == status_id or all(s.id != move_items_to for s in statuses):
            raise InvalidInput.for_field(
                "query.move_items_to",
                f"No other status {move_items_to} in this project.",
                "unknown",
            )
        await items.move_out_of_status(session, access, status_id, move_items_to)
    await repository.delete_status(session, access.project_id, status_id)
    remaining = [s for s in statuses if s.id != status_id]
    for index, other in enumerate(remaining):
        if other.position != index:
            other.position = index
            bump(other)
    await session.flush()
