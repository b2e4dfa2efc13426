"""Rules for backlog items; the single write path that logs every tracked change."""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import ranking, repository
from app.domain.items.events import TRACKED, log_value, snapshot
from app.domain.items.models import (
    PRIORITY_BY_NAME,
    EventKind,
    Item,
    ItemEvent,
    ItemType,
)
from app.domain.items.schemas import ItemBatch, ItemCreate, ItemFields, ItemMove, Position
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import bump, check_version
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.scales import scale_values
from app.domain.workflow import repository as workflow_repository
from app.domain.workflow.models import Status, StatusCategory

_RANK_CONSTRAINT = "uq_items_project_id_rank"
# Ids are `bigint`: one outside this range names nothing (and must not reach the database).
_ID_RANGE = range(-(2**63), 2**63)
_PLACEMENT_ATTEMPTS = 8


@dataclass
class Writer:
    """One request's view of a project for item writes: its statuses, scale and actor."""

    session: AsyncSession
    access: ProjectAccess
    statuses: dict[int, Status] = field(default_factory=dict)
    _parent_numbers: dict[int, int] = field(default_factory=dict)
    _sprint_numbers: dict[int, int] = field(default_factory=dict)
    # New items of this request bound for each status, not inserted yet (WIP counting).
    _arriving: dict[int, int] = field(default_factory=dict)

    @property
    def project_id(self) -> int:
        """The project written to."""
        return self.access.project_id

    @property
    def actor_id(self) -> int | None:
        """Who is writing."""
        return self.access.user.id

    async def load_statuses(self) -> dict[int, Status]:
        """The project's statuses by id (loaded once per request)."""
        if not self.statuses:
            rows = await workflow_repository.list_statuses(self.session, self.project_id)
            self.statuses = {row.id: row for row in rows if row.id is not None}
        return self.statuses

    async def default_status(self) -> Status:
        """Where new items start: the first `todo` status, else the first status."""
        statuses = sorted((await self.load_statuses()).values(), key=lambda s: s.position)
        todo = [s for s in statuses if s.category == StatusCategory.TODO.value]
        if not statuses:
            raise Conflict("The project has no workflow statuses.")
        return (todo or statuses)[0]

    def event(self, item: Item, kind: EventKind, name: str | None, old: Any, new: Any) -> None:
        """Append one event for `item` to this transaction."""
        assert item.id is not None
        self.session.add(
            ItemEvent(
                project_id=self.project_id,
                item_id=item.id,
                item_number=item.number,
                actor_id=self.actor_id,
                kind=kind.value,
                field=name,
                old_value=old,
                new_value=new,
            )
        )

    async def sprint_number(self, sprint_id: int | None) -> int | None:
        """The number of a sprint (cached)."""
        if sprint_id is None:
            return None
        if sprint_id not in self._sprint_numbers:
            numbers = await repository.sprint_numbers(self.session, self.project_id, [sprint_id])
            self._sprint_numbers.update(numbers)
        return self._sprint_numbers[sprint_id]

    async def parent_number(self, parent_id: int | None) -> int | None:
        """The number of a parent item (cached)."""
        if parent_id is None:
            return None
        if parent_id not in self._parent_numbers:
            rows = await repository.item_rows_by_ids(self.session, self.project_id, [parent_id])
            self._parent_numbers[parent_id] = rows[0].item.number
        return self._parent_numbers[parent_id]

    async def write(self, item: Item, changes: dict[str, Any]) -> bool:
        """Apply column changes to a stored item, logging each tracked one; bumps the version.

        This is the only way item fields change after creation.
        """
        changed = False
        for column, value in changes.items():
            old = getattr(item, column)
            if old == value:
                continue
            if column == "status_id":
                await self._enter_status(item, value)
            setattr(item, column, value)
            changed = True
            if column in TRACKED:
                if column == "parent_id":
                    old_value: Any = await self.parent_number(old)
                    new_value: Any = await self.parent_number(value)
                elif column == "sprint_id":
                    old_value = await self.sprint_number(old)
                    new_value = await self.sprint_number(value)
                else:
                    old_value, new_value = log_value(column, old), log_value(column, value)
                kind = EventKind.MOVED if column == "rank" else EventKind.UPDATED
                self.event(item, kind, TRACKED[column], old_value, new_value)
        if changed:
            bump(item)
        return changed

    async def _enter_status(self, item: Item, status_id: int) -> None:
        """Keep done_at in step with the status category."""
        statuses = await self.load_statuses()
        was_done = (
            item.status_id in statuses
            and statuses[item.status_id].category == StatusCategory.DONE.value
        )
        is_done = statuses[status_id].category == StatusCategory.DONE.value
        if is_done and not was_done:
            item.done_at = clock.now()
        elif was_done and not is_done:
            item.done_at = None

    async def check_wip(self, status_id: int, item_id: int | None, field_name: str) -> None:
        """Lock the status an item enters; 409 when WIP limits are enforced and it is full."""
        status = (await self.load_statuses())[status_id]
        enforced = self.access.project.enforce_wip_limits and status.wip_limit is not None
        # An exclusive lock keeps two moves into the last free slot from both passing; a shared
        # one keeps a concurrent deletion of the status from turning this write into a 500.
        if not await workflow_repository.lock_status(self.session, status_id, exclusive=enforced):
            raise InvalidInput.for_field(
                field_name, f"Status {status_id} has just been deleted.", "unknown"
            )
        if not enforced or status.wip_limit is None:
            return
        # A batch's earlier entries count too: flush its updates, add its pending new items.
        await self.session.flush()
        count = await repository.count_in_status(
            self.session, self.project_id, status_id, exclude_id=item_id
        ) + self._arriving.get(status_id, 0)
        if count >= status.wip_limit:
            raise Conflict(
                f"'{status.name}' is at its WIP limit of {status.wip_limit}.",
                errors=[
                    FieldError(
                        field=field_name,
                        message=f"WIP limit {status.wip_limit} reached",
                        type="wip_limit",
                    )
                ],
            )
        if item_id is None:
            self._arriving[status_id] = self._arriving.get(status_id, 0) + 1


def _points_value(scale: str, points: float | str | None, field_name: str) -> float | None:
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


async def _resolve(
    writer: Writer, data: ItemFields, item: Item | None, prefix: str
) -> dict[str, Any]:
    """Validate the fields a request set and turn them into column values."""
    fields = data.model_fields_set - {"position"}
    if item is None:
        # A new item always has a type and title (the schema's defaults count as set).
        fields |= {"type", "title"}
    session, project_id = writer.session, writer.project_id
    changes: dict[str, Any] = {}

    def bad(name: str, message: str, code: str = "invalid") -> InvalidInput:
        return InvalidInput.for_field(f"{prefix}.{name}", message, code)

    for name in ("type", "title", "priority", "status_id"):
        if name in fields and getattr(data, name) is None:
            raise bad(name, "May not be null.", "null")
    if "type" in fields:
        assert data.type is not None
        new_type = ItemType(data.type)
        if item is not None and item.type == ItemType.EPIC and new_type != ItemType.EPIC:
            assert item.id is not None
            if await repository.children(session, project_id, item.id):
                raise Conflict(
                    f"Epic {item.number} has children; move them before changing its type."
                )
        changes["type"] = new_type.value
    if "title" in fields:
        changes["title"] = data.title
    if "description" in fields:
        changes["description"] = data.description or ""
    if "points" in fields:
        changes["points"] = _points_value(
            writer.access.project.estimation_scale, data.points, f"{prefix}.points"
        )
    if "priority" in fields:
        assert data.priority is not None
        changes["priority"] = PRIORITY_BY_NAME[data.priority].value
    if "labels" in fields:
        changes["labels"] = data.labels or []
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
            data.assignee_id not in _ID_RANGE
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
    return changes


async def _sprint_id(
    writer: Writer, data: ItemFields, item: Item | None, prefix: str
) -> int | None:
    """Check a sprint for an item: planned or active, never for epics, never out of a closed one."""
    name = f"{prefix}.sprint"
    if item is not None and item.sprint_id is not None:
        current = await repository.sprint_state(writer.session, writer.project_id, item.sprint_id)
        if current is not None and current[1] not in ("planned", "active"):
            raise Conflict(
                f"Item {item.number} belongs to sprint {current[0]}, which is {current[1]}.",
                errors=[FieldError(field=name, message="closed sprint", type="closed")],
            )
    if data.sprint is None:
        return None
    item_type = data.type or (item.type if item is not None else ItemType.STORY)
    if item_type == ItemType.EPIC:
        raise InvalidInput.for_field(name, "Epics stay out of sprints.", "epic")
    sprint_id = await repository.sprint_id_by_number(writer.session, writer.project_id, data.sprint)
    if sprint_id is None:
        raise InvalidInput.for_field(name, f"No sprint {data.sprint} in this project.", "unknown")
    state = await repository.sprint_state(writer.session, writer.project_id, sprint_id)
    assert state is not None
    if state[1] not in ("planned", "active"):
        raise Conflict(
            f"Sprint {data.sprint} is {state[1]}; its items can no longer change.",
            errors=[FieldError(field=name, message="closed sprint", type="closed")],
        )
    writer._sprint_numbers[sprint_id] = data.sprint
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
    writer._parent_numbers[parent.id] = parent.number
    return parent.id


async def _with_rank_retry(
    session: AsyncSession,
    attempt: Callable[[], Awaitable[None]],
    on_retry: Callable[[], Awaitable[None]],
) -> None:
    """Run a rank-writing step in a savepoint, retrying when a concurrent write took the key."""
    for _ in range(_PLACEMENT_ATTEMPTS):
        try:
            async with session.begin_nested():
                await attempt()
            return
        except IntegrityError as exc:
            if _RANK_CONSTRAINT not in str(exc.orig):
                raise
            await on_retry()
    raise Conflict("The backlog is being reordered too quickly; retry.")


async def _maybe_rebalance(writer: Writer, key: str) -> bool:
    """Respread every rank of the project when keys have grown long (rare); True if it did."""
    if not ranking.needs_rebalance(key):
        return False

    async def again() -> None:
        """A create committed a key the respread wanted: the next attempt includes its item."""

    await _with_rank_retry(writer.session, lambda: _rebalance(writer), again)
    return True


async def _rebalance(writer: Writer) -> None:
    """Give every item of the project an evenly spread key, in one transaction."""
    rows = await repository.items_in_rank_order(writer.session, writer.project_id)
    keys = ranking.keys_between(None, None, len(rows))
    # Rows whose key happens to stay the same are neither written nor logged.
    changed = [(row, new) for row, new in zip(rows, keys, strict=True) if row[2] != new]
    await repository.set_ranks(writer.session, [(row[0], new) for row, new in changed])
    for (item_id, number, old), new in changed:
        writer.session.add(
            ItemEvent(
                project_id=writer.project_id,
                item_id=item_id,
                item_number=number,
                actor_id=writer.actor_id,
                kind=EventKind.MOVED.value,
                field="rank",
                old_value=old,
                new_value=new,
            )
        )
    await writer.session.flush()


async def _insert(
    writer: Writer, items: Sequence[Item], parent_numbers: Sequence[int | None]
) -> None:
    """Insert new items and their `created` events."""
    writer.session.add_all(items)
    await writer.session.flush()
    for item, parent_number in zip(items, parent_numbers, strict=True):
        sprint_number = await writer.sprint_number(item.sprint_id)
        writer.event(
            item, EventKind.CREATED, None, None, snapshot(item, parent_number, sprint_number)
        )
    await writer.session.flush()


async def create_item(session: AsyncSession, access: ProjectAccess, data: ItemCreate) -> Item:
    """Create one item at the bottom (or top) of the backlog."""
    writer = Writer(session, access)
    created = await _create_many(writer, [data], prefixes=["body"])
    return created[0]


async def _new_item(writer: Writer, data: ItemCreate, number: int, prefix: str) -> Item:
    changes = await _resolve(writer, data, None, prefix)
    status_id = changes.pop("status_id", None) or (await writer.default_status()).id
    assert status_id is not None
    await writer.check_wip(status_id, None, f"{prefix}.status_id")
    item = Item(
        project_id=writer.project_id,
        number=number,
        status_id=status_id,
        rank="",
        created_by=writer.actor_id,
        **changes,
    )
    if writer.statuses[status_id].category == StatusCategory.DONE.value:
        item.done_at = clock.now()
    return item


async def _create_many(
    writer: Writer, inputs: Sequence[ItemCreate], prefixes: Sequence[str]
) -> list[Item]:
    """Validate and insert new items, ranked in input order at the top or bottom."""
    first = await repository.take_item_numbers(writer.session, writer.project_id, len(inputs))
    items = [
        await _new_item(writer, data, first + index, prefix)
        for index, (data, prefix) in enumerate(zip(inputs, prefixes, strict=True))
    ]
    parent_numbers = [await writer.parent_number(item.parent_id) for item in items]
    top = [item for item, data in zip(items, inputs, strict=True) if data.position == Position.TOP]
    bottom = [item for item in items if item not in top]

    async def place() -> None:
        first_rank = await repository.edge_rank(writer.session, writer.project_id, last=False)
        if first_rank is None:
            # An empty backlog has no edge to place against: one run of keys, top items first
            # (two runs from the same open ends would repeat keys).
            ordered = top + bottom
            for item, key in zip(
                ordered, ranking.keys_between(None, None, len(ordered)), strict=True
            ):
                item.rank = key
            await _insert(writer, items, parent_numbers)
            return
        if top:
            for item, key in zip(
                top, ranking.keys_between(None, first_rank, len(top)), strict=True
            ):
                item.rank = key
        if bottom:
            last_rank = await repository.edge_rank(writer.session, writer.project_id, last=True)
            for item, key in zip(
                bottom, ranking.keys_between(last_rank, None, len(bottom)), strict=True
            ):
                item.rank = key
        await _insert(writer, items, parent_numbers)

    async def forget() -> None:
        for item in items:
            item.id = None

    await _with_rank_retry(writer.session, place, forget)
    longest = max(items, key=lambda item: len(item.rank))
    if await _maybe_rebalance(writer, longest.rank):
        # The respread rewrote the ranks in SQL; the loaded items still hold the old keys.
        await repository.reload_items(writer.session, [item.id for item in items if item.id])
    return items


async def get_item(session: AsyncSession, access: ProjectAccess, number: int) -> repository.ItemRow:
    """One item of the project, or 404."""
    row = await repository.get_item_row(session, access.project_id, number)
    if row is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return row


async def _locked_item(session: AsyncSession, access: ProjectAccess, number: int) -> Item:
    item = await repository.get_item(session, access.project_id, number, for_update=True)
    if item is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return item


async def update_item(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: ItemFields,
    if_match: int | None,
) -> Item:
    """Change an item's fields; every tracked change is logged."""
    writer = Writer(session, access)
    if "external_id" in data.model_fields_set and data.external_id is not None:
        # Serialize with creators (and in their lock order: project, then items) so that the
        # external_id check cannot race with another write of the same id into a 500.
        await repository.lock_project(session, access.project_id)
    item = await _locked_item(session, access, number)
    check_version(item.version, if_match)
    changes = await _resolve(writer, data, item, "body")
    if "status_id" in changes and changes["status_id"] != item.status_id:
        await writer.check_wip(changes["status_id"], item.id, "body.status_id")
    await writer.write(item, changes)
    await session.flush()
    return item


async def move_item(
    session: AsyncSession, access: ProjectAccess, number: int, data: ItemMove, if_match: int | None
) -> Item:
    """Re-rank an item before/after another item, or to the top or bottom."""
    writer = Writer(session, access)
    # Moves of one project queue up: a move reads its neighbours' ranks unlocked, so two at
    # once could each see the other's old place and produce an order no serial run gives;
    # and writers racing for one gap (the top, say) would collide until one ran out of tries.
    await repository.lock_ranks(session, access.project_id)
    item = await _locked_item(session, access, number)
    check_version(item.version, if_match)
    assert item.id is not None
    item_id = item.id
    anchor_rank: str | None = None
    if data.before is not None or data.after is not None:
        anchor_number = data.before if data.before is not None else data.after
        name = "body.before" if data.before is not None else "body.after"
        assert anchor_number is not None
        if anchor_number == number:
            raise InvalidInput.for_field(name, "An item cannot move relative to itself.", "self")
        anchors = await repository.get_items_by_numbers(session, access.project_id, [anchor_number])
        if anchor_number not in anchors:
            raise InvalidInput.for_field(
                name, f"No item {anchor_number} in this project.", "unknown"
            )

    async def target_key() -> str | None:
        nonlocal anchor_rank
        if data.top:
            first = await repository.edge_rank(
                session, access.project_id, last=False, exclude_id=item_id
            )
            return None if first is None or item.rank < first else ranking.key_between(None, first)
        if data.bottom:
            last = await repository.edge_rank(
                session, access.project_id, last=True, exclude_id=item_id
            )
            return None if last is None or item.rank > last else ranking.key_between(last, None)
        anchor_number = data.before if data.before is not None else data.after
        assert anchor_number is not None
        anchor = (
            await repository.get_items_by_numbers(session, access.project_id, [anchor_number])
        )[anchor_number]
        await session.refresh(anchor)
        if data.before is not None:
            lower = await repository.neighbour_rank(
                session, access.project_id, anchor.rank, below=False, exclude_id=item_id
            )
            if (lower is None or lower < item.rank) and item.rank < anchor.rank:
                return None
            return ranking.key_between(lower, anchor.rank)
        upper = await repository.neighbour_rank(
            session, access.project_id, anchor.rank, below=True, exclude_id=item_id
        )
        if anchor.rank < item.rank and (upper is None or item.rank < upper):
            return None
        return ranking.key_between(anchor.rank, upper)

    async def place() -> None:
        key = await target_key()
        if key is not None:
            await writer.write(item, {"rank": key})
            await session.flush()

    async def reload() -> None:
        await session.refresh(item)

    await _with_rank_retry(session, place, reload)
    await _maybe_rebalance(writer, item.rank)
    await session.refresh(item)
    return item


async def delete_item(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: int | None
) -> None:
    """Delete an item; an epic's children are detached first (each change logged)."""
    writer = Writer(session, access)
    item = await _locked_item(session, access, number)
    check_version(item.version, if_match)
    assert item.id is not None
    for child in await repository.children(session, access.project_id, item.id):
        await writer.write(child, {"parent_id": None})
    parent_number = await writer.parent_number(item.parent_id)
    sprint_number = await writer.sprint_number(item.sprint_id)
    writer.event(item, EventKind.DELETED, None, snapshot(item, parent_number, sprint_number), None)
    await session.flush()
    await repository.delete_item(session, item.id)


async def batch(
    session: AsyncSession, access: ProjectAccess, data: ItemBatch
) -> tuple[list[Item], int, int]:
    """Create (or with upsert, update) up to 500 items atomically; errors name the index."""
    writer = Writer(session, access)
    seen: dict[str, int] = {}
    for index, entry in enumerate(data.items):
        if entry.external_id is None:
            continue
        if entry.external_id in seen:
            raise InvalidInput.for_field(
                f"body.items.{index}.external_id",
                f"Repeats items.{seen[entry.external_id]}.external_id.",
                "duplicate",
            )
        seen[entry.external_id] = index
    # Before any item is locked: concurrent runs of one upsert script then run one after the
    # other (the later one updates what the earlier created instead of failing on it).
    await repository.lock_project(session, access.project_id)
    existing = await repository.get_items_by_external_ids(session, access.project_id, list(seen))
    if existing and data.upsert is None:
        index = min(seen[external_id] for external_id in existing)
        raise Conflict(
            f'items.{index}.external_id exists already; send "upsert": "external_id" to update.',
            errors=[
                FieldError(
                    field=f"body.items.{index}.external_id",
                    message="already used in this project",
                    type="duplicate",
                )
            ],
        )
    results: list[Item | None] = [None] * len(data.items)
    updated = 0
    for index, entry in enumerate(data.items):
        target = existing.get(entry.external_id) if entry.external_id else None
        if target is None:
            continue
        prefix = f"body.items.{index}"
        changes = await _resolve(writer, entry, target, prefix)
        if "status_id" in changes and changes["status_id"] != target.status_id:
            await writer.check_wip(changes["status_id"], target.id, f"{prefix}.status_id")
        if await writer.write(target, changes):
            updated += 1
        results[index] = target
    new_indexes = [index for index, result in enumerate(results) if result is None]
    if new_indexes:
        created = await _create_many(
            writer,
            [data.items[index] for index in new_indexes],
            [f"body.items.{index}" for index in new_indexes],
        )
        for index, item in zip(new_indexes, created, strict=True):
            results[index] = item
    await session.flush()
    return [item for item in results if item is not None], len(new_indexes), updated


async def list_items(
    session: AsyncSession,
    access: ProjectAccess,
    filters: repository.ItemFilter,
    sort: str | None,
    page: PageRequest,
) -> tuple[list[repository.ItemRow], str | None]:
    """A page of the backlog: rank order by default, relevance first when searching."""
    chosen = sort or ("relevance" if filters.query else "rank")
    if chosen == "relevance" and not filters.query:
        raise InvalidInput.for_field("query.sort", "Sorting by `relevance` needs `q`.", "sort")
    return await repository.list_items(session, access.project_id, filters, chosen, page)


async def history(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[ItemEvent], str | None]:
    """An item's events, oldest first."""
    row = await get_item(session, access, number)
    assert row.item.id is not None
    return await repository.list_events(session, access.project_id, row.item.id, page)


async def epic_progress(
    session: AsyncSession, access: ProjectAccess, rows: Sequence[repository.ItemRow]
) -> dict[int, tuple[int, float, float]]:
    """Children counts and points for the epics among `rows` (one query)."""
    epic_ids = [row.item.id for row in rows if row.item.type == ItemType.EPIC and row.item.id]
    return await repository.epic_progress(session, access.project_id, epic_ids)


async def move_out_of_status(
    session: AsyncSession, access: ProjectAccess, status_id: int, target_id: int
) -> int:
    """Move every item of one status to another (logged per item); returns how many."""
    writer = Writer(session, access)
    items = await repository.items_in_status(session, access.project_id, status_id)
    for item in items:
        await writer.write(item, {"status_id": target_id})
    await session.flush()
    return len(items)


async def rows_for(
    session: AsyncSession, access: ProjectAccess, items: Sequence[Item]
) -> list[repository.ItemRow]:
    """Items re-read with their joins, in the given order (one query)."""
    ids = [item.id for item in items if item.id is not None]
    by_id = {
        row.item.id: row
        for row in await repository.item_rows_by_ids(session, access.project_id, ids)
    }
    return [by_id[item_id] for item_id in ids]


@dataclass(frozen=True)
class BoardData:
    """What a board needs: statuses in order and the items in scope."""

    statuses: list[Status]
    rows: list[repository.ItemRow]


async def board(session: AsyncSession, access: ProjectAccess, sprint: str) -> BoardData:
    """Statuses and the items of a sprint scope (epics never), in two queries whatever the size."""
    filters = await build_filter(session, access, sprint=sprint)
    filters.exclude_epics = True
    statuses = await workflow_repository.list_statuses(session, access.project_id)
    rows = await repository.board_items(session, access.project_id, filters)
    return BoardData(statuses=statuses, rows=rows)


def _is_small_number(text: str) -> bool:
    """ASCII digits short enough to parse cheaply (Python refuses ints of 4,300+ digits)."""
    return text.isascii() and text.isdigit() and len(text) <= 18


SPRINT_BACKLOG = "backlog"
SPRINT_ACTIVE = "active"


async def build_filter(
    session: AsyncSession,
    access: ProjectAccess,
    *,
    types: Sequence[str] = (),
    status_ids: Sequence[int] = (),
    categories: Sequence[str] = (),
    assignees: Sequence[str] = (),
    labels: Sequence[str] = (),
    sprint: str | None = None,
    parent: str | None = None,
    estimated: bool | None = None,
    query: str | None = None,
) -> repository.ItemFilter:
    """Turn list query parameters into a filter, naming the parameter that is wrong."""
    filters = repository.ItemFilter(
        types=list(types),
        status_ids=list(status_ids),
        categories=list(categories),
        labels=list(labels),
        estimated=estimated,
        query=query.strip() if query and query.strip() else None,
    )
    if any(status_id not in _ID_RANGE for status_id in status_ids):
        raise InvalidInput.for_field("query.status", "No such status id.", "unknown")
    for value in assignees:
        if value == "me":
            assert access.user.id is not None
            filters.assignee_ids.append(access.user.id)
        elif value == "none":
            filters.unassigned = True
        elif _is_small_number(value) and int(value) in _ID_RANGE:
            filters.assignee_ids.append(int(value))
        else:
            raise InvalidInput.for_field(
                "query.assignee", "Use a user id, `me` or `none`.", "assignee"
            )
    if parent is not None:
        if parent == "none":
            filters.no_parent = True
        elif _is_small_number(parent):
            epics = await repository.get_items_by_numbers(session, access.project_id, [int(parent)])
            epic = epics.get(int(parent))
            if epic is None:
                filters.nothing = True
            else:
                filters.parent_id = epic.id
        else:
            raise InvalidInput.for_field("query.parent", "Use an epic number or `none`.", "parent")
    if sprint is not None:
        if sprint == SPRINT_BACKLOG:
            filters.backlog_only = True
        elif sprint == SPRINT_ACTIVE:
            active = await repository.active_sprint_id(session, access.project_id)
            if active is None:
                filters.nothing = True
            else:
                filters.sprint_id = active
        elif _is_small_number(sprint):
            found = await repository.sprint_id_by_number(session, access.project_id, int(sprint))
            if found is None:
                raise InvalidInput.for_field(
                    "query.sprint", f"No sprint {sprint} in {access.project.key}.", "unknown"
                )
            filters.sprint_id = found
        else:
            raise InvalidInput.for_field(
                "query.sprint", "Use `backlog`, `active` or a sprint number.", "sprint"
            )
    return filters


async def unassign_user(session: AsyncSession, access: ProjectAccess, user_id: int) -> int:
    """Clear `user_id` as assignee of every item in the project (logged); returns how many."""
    writer = Writer(session, access)
    assigned = await repository.items_assigned_to(session, access.project_id, user_id)
    for item in assigned:
        await writer.write(item, {"assignee_id": None})
    await session.flush()
    return len(assigned)


async def to_top_of_backlog(
    session: AsyncSession, access: ProjectAccess, items: Sequence[Item]
) -> None:
    """Take items out of their sprint and rank them at the top, keeping their order (logged)."""
    if not items:
        return
    writer = Writer(session, access)
    await repository.lock_ranks(session, access.project_id)
    ordered = sorted(items, key=lambda item: item.rank)
    moved_ids = {item.id for item in ordered}

    async def place() -> None:
        first = await repository.first_rank_excluding(session, access.project_id, moved_ids)
        for item, key in zip(ordered, ranking.keys_between(None, first, len(ordered)), strict=True):
            await writer.write(item, {"sprint_id": None, "rank": key})
        await session.flush()

    async def reload() -> None:
        for item in ordered:
            await session.refresh(item)

    await _with_rank_retry(session, place, reload)
    await _maybe_rebalance(writer, max((item.rank for item in ordered), key=len))
