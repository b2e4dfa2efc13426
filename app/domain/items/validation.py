"""Checks on the fields a request sets, turning them into column values (errors name the field)."""

from typing import Any

from app.domain.items import repository
from app.domain.items.models import PRIORITY_BY_NAME, Item, ItemType
from app.domain.items.schemas import ItemFields
from app.domain.items.writer import Writer
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput
from app.domain.kernel.inputs import is_id
from app.domain.projects import repository as projects_repository
from app.domain.projects.models import EstimationScale
from app.domain.projects.scales import scale_values
from app.domain.releases import repository as releases_repository
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.models import SprintState

# Fields that may be left out but never sent as null.
_NOT_NULL = ("type", "title", "priority", "status_id")


def points_value(
    scale: EstimationScale, points: float | str | None, field_name: str
) -> float | None:
    """An estimate as the number the scale maps it to: by label ("M", "5") or by value."""
    if points is None:
        return None
    values = scale_values(scale)
    for value in values:
        if isinstance(points, str):
            if points.strip().upper() == value.label:
                return value.value
        elif float(points) == value.value:
            return value.value
    allowed = ", ".join(v.label for v in values)
    shown = f"{points:g}" if isinstance(points, float | int) else repr(points)
    raise InvalidInput.for_field(
        field_name, f"{shown} is not on the {scale} scale ({allowed}).", "points_not_on_scale"
    )


async def resolve(
    writer: Writer, data: ItemFields, item: Item | None, prefix: str
) -> dict[str, Any]:
    """Validate the fields a request set (for a new item when `item` is None) into columns."""
    fields = data.model_fields_set - {"position"}
    if item is None:
        # A new item always has a type and title (the schema's defaults count as set).
        fields |= {"type", "title"}
    session, project_id = writer.session, writer.project_id
    changes: dict[str, Any] = {}

    def bad(name: str, message: str, code: str = "invalid") -> InvalidInput:
        return InvalidInput.for_field(f"{prefix}.{name}", message, code)

    for name in _NOT_NULL:
        if name in fields and getattr(data, name) is None:
            raise InvalidInput.null(f"{prefix}.{name}")
    if "type" in fields:
        assert data.type is not None
        new_type = ItemType(data.type)
        if item is not None and item.type == ItemType.EPIC and new_type != ItemType.EPIC:
            assert item.id is not None
            if await repository.children(session, project_id, item.id):
                raise Conflict(
                    f"Epic {item.number} has children; move them before changing its type."
                )
        changes["type"] = new_type
    if "title" in fields:
        changes["title"] = data.title
    if "description" in fields:
        changes["description"] = data.description or ""
    if "points" in fields:
        changes["points"] = points_value(
            writer.access.project.estimation_scale, data.points, f"{prefix}.points"
        )
    if "priority" in fields:
        assert data.priority is not None
        changes["priority"] = PRIORITY_BY_NAME[data.priority].value
    if "labels" in fields:
        changes["labels"] = data.labels or []
    for hours in ("original_estimate_hours", "remaining_hours"):
        if hours in fields:
            changes[hours] = getattr(data, hours)
    if "external_id" in fields:
        if data.external_id is not None and await repository.external_id_taken(
            session, project_id, data.external_id, item.id if item else None
        ):
            raise Conflict(
                f"Another item already has external_id {data.external_id!r}.",
                errors=[
                    FieldError(
                        field=f"{prefix}.external_id",
                        message="already used in this project",
                        type="duplicate",
                    )
                ],
            )
        changes["external_id"] = data.external_id
    if "assignee_id" in fields:
        if data.assignee_id is not None and (
            not is_id(data.assignee_id)
            or await projects_repository.get_member(session, project_id, data.assignee_id) is None
        ):
            raise bad("assignee_id", "The assignee must be a member of the project.", "not_member")
        changes["assignee_id"] = data.assignee_id
    if "status_id" in fields:
        assert data.status_id is not None
        if data.status_id not in await writer.load_statuses():
            raise bad("status_id", f"No status {data.status_id} in this project.", "unknown")
        changes["status_id"] = data.status_id
    if "parent" in fields:
        changes["parent_id"] = await _parent_id(writer, data.parent, item, prefix)
    if "sprint" in fields:
        changes["sprint_id"] = await _sprint_id(writer, data, item, prefix)
    if "release" in fields:
        changes["release_id"] = await _release_id(writer, data.release, item, prefix)
    return changes


async def _release_id(
    writer: Writer, number: int | None, item: Item | None, prefix: str
) -> int | None:
    """Check a release for an item: a planned one to join; done work stays in a closed one."""
    name = f"{prefix}.release"
    session, project_id = writer.session, writer.project_id
    # Share-locked: the release cannot ship, close or vanish under this change.
    joining = (
        None
        if number is None
        else await releases_repository.get_release(session, project_id, number, lock="share")
    )
    if number is not None and joining is None:
        raise InvalidInput.for_field(name, f"No release {number} in this project.", "unknown")
    release_id = None if joining is None else joining.id
    if item is not None and item.release_id == release_id:
        return release_id
    if item is not None and item.release_id is not None:
        # Share-locked: the release cannot ship or close under this change.
        current = await releases_repository.share_lock_state(session, project_id, item.release_id)
        if current is not None and not current[1].is_open and item.done_at is not None:
            raise Conflict(
                f"Item {item.number} is done and belongs to release {current[0]}, which is "
                f"{current[1]}: shipped work stays with it.",
                errors=[FieldError(field=name, message="closed release", type="closed")],
            )
    if joining is None or release_id is None:
        return None
    if not joining.state.is_open:
        raise Conflict(
            f"Release {joining.number} is {joining.state}; only planned releases take items.",
            errors=[FieldError(field=name, message="closed release", type="closed")],
        )
    writer.know_release(release_id, joining.number)
    return release_id


def check_may_leave_sprint(
    item: Item, sprint_number: int, sprint_state: SprintState, field_name: str
) -> None:
    """An item in a completed or cancelled sprint stays part of its record (409 otherwise)."""
    if not sprint_state.is_open:
        raise Conflict(
            f"Item {item.number} belongs to sprint {sprint_number}, which is {sprint_state}.",
            errors=[FieldError(field=field_name, message="closed sprint", type="closed")],
        )


async def _sprint_id(
    writer: Writer, data: ItemFields, item: Item | None, prefix: str
) -> int | None:
    """Check a sprint for an item: an open one, never for epics, never out of a closed one."""
    name = f"{prefix}.sprint"
    session, project_id = writer.session, writer.project_id
    if item is not None and item.sprint_id is not None:
        current = await sprints_repository.share_lock_state(session, project_id, item.sprint_id)
        if current is not None:
            check_may_leave_sprint(item, *current, name)
    if data.sprint is None:
        return None
    item_type = data.type or (item.type if item is not None else ItemType.STORY)
    if item_type == ItemType.EPIC:
        raise InvalidInput.for_field(name, "Epics stay out of sprints.", "epic")
    sprint_id = await sprints_repository.sprint_id_by_number(session, project_id, data.sprint)
    if sprint_id is None:
        raise InvalidInput.for_field(name, f"No sprint {data.sprint} in this project.", "unknown")
    state = await sprints_repository.share_lock_state(session, project_id, sprint_id)
    assert state is not None
    if not state[1].is_open:
        raise Conflict(
            f"Sprint {data.sprint} is {state[1]}; its items can no longer change.",
            errors=[FieldError(field=name, message="closed sprint", type="closed")],
        )
    writer.know_sprint(sprint_id, data.sprint)
    return sprint_id


async def _parent_id(
    writer: Writer, number: int | None, item: Item | None, prefix: str
) -> int | None:
    """Check a parent epic: same project, an epic, not the item itself, no cycle."""
    if number is None:
        return None
    name = f"{prefix}.parent"
    # Share-locked: a concurrent type change, delete or re-parenting of the epic waits for us.
    parents = await repository.get_items_by_numbers(
        writer.session, writer.project_id, [number], share_lock=True
    )
    parent = parents.get(number)
    if parent is None:
        raise InvalidInput.for_field(name, f"No item {number} in this project.", "unknown")
    if parent.type != ItemType.EPIC:
        raise InvalidInput.for_field(name, f"Item {number} is not an epic.", "not_epic")
    assert parent.id is not None
    if item is not None:
        if parent.id == item.id:
            raise InvalidInput.for_field(name, "An item cannot be its own parent.", "cycle")
        if item.id in await repository.ancestor_ids(writer.session, parent.id):
            raise InvalidInput.for_field(
                name, f"Epic {number} is inside item {item.number}: that would be a cycle.", "cycle"
            )
    writer.know_parent(parent.id, parent.number)
    return parent.id
