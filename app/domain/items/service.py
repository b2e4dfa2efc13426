"""Rules for backlog items: create (one or a batch), read, list, change, move and delete."""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app import __version__
from app.domain.items import public_events, ranking, repository
from app.domain.items.blockers import repository as blockers_repository
from app.domain.items.events import snapshot
from app.domain.items.filters import BACKLOG, ItemQuery, build_filter
from app.domain.items.models import EventKind, Item, ItemEvent, ItemType
from app.domain.items.schemas import ItemBatch, ItemCreate, ItemFields, ItemMove, Position
from app.domain.items.validation import resolve
from app.domain.items.views import BoardView, ItemView, board_view, item_view
from app.domain.items.writer import Writer, enter_status
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, check_version
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.sprints.models import SprintState
from app.domain.workflow import repository as workflow_repository


@dataclass(frozen=True)
class BatchView:
    """What a batch did: how many items it created and updated, and every item in input order."""

    created: int
    updated: int
    data: list[ItemView]


async def views(
    session: AsyncSession, access: ProjectAccess, rows: Sequence[repository.ItemRow]
) -> list[ItemView]:
    """Items as the API shows them, with epic progress counted in one query for all of them."""
    epic_ids = [row.item.id for row in rows if row.item.type == ItemType.EPIC and row.item.id]
    progress = await repository.epic_progress(session, access.project_id, epic_ids)
    return [item_view(access.project, row, progress) for row in rows]


async def _views_of(
    session: AsyncSession, access: ProjectAccess, items: Sequence[Item]
) -> list[ItemView]:
    """Items re-read with their joins, in the given order (two queries whatever the count)."""
    ids = [item.id for item in items if item.id is not None]
    by_id = {
        row.item.id: row
        for row in await repository.item_rows_by_ids(session, access.project_id, ids)
    }
    return await views(session, access, [by_id[item_id] for item_id in ids])


async def _insert(
    writer: Writer, items: Sequence[Item], parent_numbers: Sequence[int | None]
) -> None:
    """Insert new items and their `created` events."""
    writer.session.add_all(items)
    await writer.session.flush()
    for item, parent_number in zip(items, parent_numbers, strict=True):
        sprint_number = await writer.sprint_number(item.sprint_id)
        release_number = await writer.release_number(item.release_id)
        values = snapshot(item, parent_number, sprint_number, release_number)
        writer.event(item, EventKind.CREATED, None, None, values)
        status_name = (await writer.load_statuses())[item.status_id].name
        public_events.created(writer.session, writer.access, item, values, status_name)
        active = await writer.active_sprint() if item.sprint_id is not None else None
        if active is not None and active.id == item.sprint_id:
            public_events.scope_changed(writer.session, writer.access, active, item, joined=True)
    await writer.session.flush()


async def _new_item(writer: Writer, data: ItemCreate, prefix: str) -> Item:
    """A validated item, numbered by the caller before it is added to the session."""
    changes = await resolve(writer, data, None, prefix)
    status_id = changes.pop("status_id", None) or (await writer.default_status()).id
    assert status_id is not None
    await writer.check_wip(status_id, None, f"{prefix}.status_id")
    item = Item(
        project_id=writer.project_id,
        number=0,
        status_id=status_id,
        rank="",
        created_by=writer.actor_id,
        **changes,
    )
    enter_status(item, writer.statuses[status_id])
    return item


def _locks_more(data: ItemCreate) -> bool:
    """Whether validating a new item locks rows other writers lock after the project row."""
    return (
        bool(data.external_id)
        or data.sprint is not None
        or data.parent is not None
        or data.release is not None
    )


async def _create_many(
    writer: Writer, inputs: Sequence[ItemCreate], prefixes: Sequence[str]
) -> list[Item]:
    """Validate and insert new items, ranked in input order at the top or bottom."""
    if writer.access.project.enforce_wip_limits or any(map(_locks_more, inputs)):
        # Queue with the project's other writers first, in their lock order (project, then
        # sprint, status and items), so the checks below see every earlier write and the
        # locks they take cannot deadlock with a sprint's or an item's update.
        await projects_repository.lock_project(writer.session, writer.project_id)
    items = [
        await _new_item(writer, data, prefix) for data, prefix in zip(inputs, prefixes, strict=True)
    ]
    parent_numbers = [await writer.parent_number(item.parent_id) for item in items]
    # Taking numbers locks the project row until commit, and every create of the project
    # queues for it: taken after the checks, the lock covers the writes alone.
    first = await projects_repository.take_numbers(
        writer.session, writer.project_id, "item", len(inputs)
    )
    for index, item in enumerate(items):
        item.number = first + index
    top = [item for item, data in zip(items, inputs, strict=True) if data.position == Position.TOP]
    bottom = [item for item in items if item not in top]

    async def place() -> None:
        await ranking.rank_new_items(writer.session, writer.project_id, top, bottom)
        await _insert(writer, items, parent_numbers)

    async def forget() -> None:
        for item in items:
            item.id = None

    await ranking.with_rank_retry(writer.session, place, forget)
    longest = max(items, key=lambda item: len(item.rank))
    if await ranking.maybe_rebalance(writer, longest.rank):
        # The respread rewrote the ranks in SQL; the loaded items still hold the old keys.
        await repository.reload_items(writer.session, [item.id for item in items if item.id])
    return items


async def create_item(session: AsyncSession, access: ProjectAccess, data: ItemCreate) -> ItemView:
    """Create one item at the bottom (or top) of the backlog."""
    writer = Writer(session, access)
    created = await _create_many(writer, [data], prefixes=["body"])
    return (await _views_of(session, access, created))[0]


async def get_item(session: AsyncSession, access: ProjectAccess, number: int) -> ItemView:
    """One item of the project, or 404."""
    row = await repository.get_item_row(session, access.project_id, number)
    if row is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return (await views(session, access, [row]))[0]


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
    if_match: Versions | None,
) -> ItemView:
    """Change an item's fields; every tracked change is logged."""
    writer = Writer(session, access)
    if (
        "external_id" in data.model_fields_set and data.external_id is not None
    ) or "release" in data.model_fields_set:
        # Serialize with creators (and in their lock order: project, then items) so that the
        # external_id check cannot race with another write of the same id into a 500, and a
        # release change with a release's deletion (project, release, then its items).
        await projects_repository.lock_project(session, access.project_id)
    item = await _locked_item(session, access, number)
    check_version(item.version, if_match)
    changes = await resolve(writer, data, item, "body")
    if "status_id" in changes and changes["status_id"] != item.status_id:
        await writer.check_wip(changes["status_id"], item.id, "body.status_id")
    await writer.write(item, changes)
    await session.flush()
    return (await _views_of(session, access, [item]))[0]


async def move_item(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: ItemMove,
    if_match: Versions | None,
) -> ItemView:
    """Re-rank an item before/after another item, or to the top or bottom."""
    writer = Writer(session, access)
    # Moves of one project queue up: a move reads its neighbours' ranks unlocked, so two at
    # once could each see the other's old place and produce an order no serial run gives;
    # and writers racing for one gap (the top, say) would collide until one ran out of tries.
    await repository.lock_ranks(session, access.project_id)
    item = await _locked_item(session, access, number)
    check_version(item.version, if_match)
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

    async def place() -> None:
        key = await ranking.move_key(session, access.project_id, item, data)
        if key is not None:
            await writer.write(item, {"rank": key})
            await session.flush()

    async def reload() -> None:
        await session.refresh(item)

    await ranking.with_rank_retry(session, place, reload)
    await ranking.maybe_rebalance(writer, item.rank)
    await session.refresh(item)
    return (await _views_of(session, access, [item]))[0]


async def delete_item(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
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
    release_number = await writer.release_number(item.release_id)
    writer.event(
        item,
        EventKind.DELETED,
        None,
        snapshot(item, parent_number, sprint_number, release_number),
        None,
    )
    public_events.deleted(session, access, item)
    active = await writer.active_sprint() if item.sprint_id is not None else None
    if active is not None and active.id == item.sprint_id:
        public_events.scope_changed(session, access, active, item, joined=False)
    await session.flush()
    await repository.delete_item(session, item.id)


async def batch(session: AsyncSession, access: ProjectAccess, data: ItemBatch) -> BatchView:
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
    await projects_repository.lock_project(session, access.project_id)
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
        changes = await resolve(writer, entry, target, prefix)
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
    written = [item for item in results if item is not None]
    return BatchView(
        created=len(new_indexes), updated=updated, data=await _views_of(session, access, written)
    )


async def list_items(
    session: AsyncSession,
    access: ProjectAccess,
    query: ItemQuery,
    sort: str | None,
    page: PageRequest,
) -> tuple[list[ItemView], str | None]:
    """A page of the backlog: rank order by default, relevance first when searching."""
    filters = await build_filter(session, access, query)
    chosen = sort or ("relevance" if filters.query else "rank")
    if chosen == "relevance" and not filters.query:
        raise InvalidInput.for_field("query.sort", "Sorting by `relevance` needs `q`.", "sort")
    rows, cursor = await repository.list_items(session, access.project_id, filters, chosen, page)
    return await views(session, access, rows), cursor


async def history(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[ItemEvent], str | None]:
    """An item's events, oldest first."""
    item = await repository.get_item(session, access.project_id, number)
    if item is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    assert item.id is not None
    return await repository.list_events(session, access.project_id, item.id, page)


async def board(session: AsyncSession, access: ProjectAccess, sprint: str) -> BoardView:
    """The statuses and the items of a sprint scope (epics never), in a few queries at any size."""
    filters = await build_filter(session, access, ItemQuery(sprint=sprint))
    filters.exclude_epics = True
    statuses = await workflow_repository.list_statuses(session, access.project_id)
    rows = await repository.board_items(session, access.project_id, filters)
    blocked = await blockers_repository.open_blockers(
        session, access.project_id, [row.item.id for row in rows if row.item.id is not None]
    )
    return board_view(sprint, statuses, await views(session, access, rows), blocked)


async def board_validator(session: AsyncSession, access: ProjectAccess, sprint: str) -> str | None:
    """A tag for the board `board` would build now, in one query; None for a scope it refuses."""
    number: int | None = None
    scope: repository.BoardScope
    if sprint == BACKLOG:
        scope = "backlog"
    elif sprint == SprintState.ACTIVE:
        scope = "active"
    elif sprint.isascii() and sprint.isdigit() and len(sprint) <= 18 and is_number(int(sprint)):
        scope, number = "number", int(sprint)
    else:
        return None
    assert access.user.id is not None
    # Taken before the board's own queries, each of which sees what is committed when it runs
    # (READ COMMITTED): a change in between can only give a newer body this older tag, which
    # costs one more 200 later. Taken after, it could give an older body a newer tag, and every
    # later poll a 304 for what is no longer so.
    versions = await repository.board_row_versions(
        session, access.project_id, scope, number, access.user.id
    )
    if versions is None:
        return None
    digest = hashlib.blake2b(digest_size=16)
    parts = [
        # A deploy may change the representation, and `sprint=03` echoes its scope as given.
        __version__,
        sprint,
        # The project as loaded with the access check, which is what the board shows of it
        # (its key, its estimation scale), read before the rows above.
        json.dumps(access.project.model_dump(mode="json"), sort_keys=True),
        # The caller as loaded by authentication: the session hands the board that same object
        # for the caller's cards, not the row as it is now.
        f"{access.user.id}:{access.user.display_name}" if versions.caller_assigned else "",
        versions.items,
        versions.statuses,
        versions.users,
        versions.parents,
        versions.sprints,
        versions.blockers,
    ]
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()
