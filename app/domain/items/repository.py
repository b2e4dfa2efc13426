"""SQL for the items table: the backlog's queries and filters, ranks, the items of sprints,
and the item event log."""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, Literal
from typing import cast as type_cast

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Float,
    Row,
    Text,
    any_,
    bindparam,
    cast,
    delete,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.domain.items.blockers.models import ItemBlocker
from app.domain.items.models import SEARCH_CONFIG, Item, ItemEvent, ItemType
from app.domain.kernel import clock
from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import AnyRow, AnySelect, PageRequest, SortColumn, fetch_page
from app.domain.releases.models import Release
from app.domain.sprints.models import Sprint, SprintState
from app.domain.users.models import User
from app.domain.workflow.models import Status, StatusCategory

Parent = aliased(Item, name="parent_item")


@dataclass(frozen=True)
class ItemRow:
    """An item with what its public shape needs from other tables."""

    item: Item
    status: Status
    assignee: User | None
    parent_number: int | None
    sprint_number: int | None
    release_number: int | None = None


@dataclass(frozen=True)
class EpicTotals:
    """An epic's children: how many, their points, and the points of the done ones."""

    children: int = 0
    points_total: float = 0.0
    points_done: float = 0.0


@dataclass(frozen=True)
class ItemRef:
    """An item named in the query: its id, type and rank now."""

    id: int
    number: int
    type: str
    rank: str


@dataclass(frozen=True)
class ScopeItem:
    """An unfinished item as the forecast counts it."""

    number: int
    title: str
    type: str
    points: float | None
    rank: str


@dataclass
class ItemFilter:
    """Backlog list filters; every one narrows the result."""

    types: list[ItemType] = field(default_factory=list)
    status_ids: list[int] = field(default_factory=list)
    categories: list[StatusCategory] = field(default_factory=list)
    assignee_ids: list[int] = field(default_factory=list)
    unassigned: bool = False
    labels: list[str] = field(default_factory=list)
    parent_id: int | None = None
    no_parent: bool = False
    estimated: bool | None = None
    query: str | None = None
    nothing: bool = False
    exclude_epics: bool = False
    backlog_only: bool = False
    sprint_id: int | None = None
    release_id: int | None = None
    no_release: bool = False


def _row(row: AnyRow) -> ItemRow:
    return ItemRow(
        item=row[0],
        status=row[1],
        assignee=row[2],
        parent_number=row[3],
        sprint_number=row[4],
        release_number=row[5],
    )


def _item_select(project_id: int) -> AnySelect:
    return (
        select(Item, Status, User, col(Parent.number), col(Sprint.number), col(Release.number))
        .join(Status, col(Status.id) == col(Item.status_id))
        .outerjoin(User, col(User.id) == col(Item.assignee_id))
        .outerjoin(Parent, col(Parent.id) == col(Item.parent_id))
        .outerjoin(Sprint, col(Sprint.id) == col(Item.sprint_id))
        .outerjoin(Release, col(Release.id) == col(Item.release_id))
        .where(col(Item.project_id) == project_id)
    )


def _ts_query(query: str) -> ColumnElement[Any]:
    return func.websearch_to_tsquery(cast(SEARCH_CONFIG, REGCONFIG), query)


def _apply_filter(stmt: AnySelect, filters: ItemFilter) -> AnySelect:
    if filters.nothing:
        return stmt.where(false())
    if filters.types:
        stmt = stmt.where(col(Item.type).in_(filters.types))
    if filters.status_ids:
        stmt = stmt.where(col(Item.status_id).in_(filters.status_ids))
    if filters.categories:
        stmt = stmt.where(col(Status.category).in_(filters.categories))
    if filters.assignee_ids or filters.unassigned:
        conditions = []
        if filters.assignee_ids:
            conditions.append(col(Item.assignee_id).in_(filters.assignee_ids))
        if filters.unassigned:
            conditions.append(col(Item.assignee_id).is_(None))
        stmt = stmt.where(conditions[0] if len(conditions) == 1 else conditions[0] | conditions[1])
    if filters.labels:
        stmt = stmt.where(col(Item.labels).contains(filters.labels))
    if filters.parent_id is not None:
        stmt = stmt.where(col(Item.parent_id) == filters.parent_id)
    if filters.no_parent:
        stmt = stmt.where(col(Item.parent_id).is_(None))
    if filters.estimated is not None:
        points = col(Item.points)
        stmt = stmt.where(points.is_not(None) if filters.estimated else points.is_(None))
    if filters.query:
        stmt = stmt.where(col(Item.search).op("@@")(_ts_query(filters.query)))
    if filters.exclude_epics:
        stmt = stmt.where(col(Item.type) != ItemType.EPIC)
    if filters.backlog_only:
        stmt = stmt.where(col(Item.sprint_id).is_(None))
    if filters.sprint_id is not None:
        stmt = stmt.where(col(Item.sprint_id) == filters.sprint_id)
    if filters.release_id is not None:
        stmt = stmt.where(col(Item.release_id) == filters.release_id)
    if filters.no_release:
        stmt = stmt.where(col(Item.release_id).is_(None))
    return stmt


SORTS: dict[str, tuple[list[SortColumn], bool]] = {
    "rank": ([col(Item.rank)], False),
    "priority": ([col(Item.priority), col(Item.rank)], False),
    "-priority": ([col(Item.priority), col(Item.rank)], True),
    "created": ([col(Item.created_at), col(Item.id)], False),
    "-created": ([col(Item.created_at), col(Item.id)], True),
    "updated": ([col(Item.updated_at), col(Item.id)], False),
    "-updated": ([col(Item.updated_at), col(Item.id)], True),
    "points": ([func.coalesce(col(Item.points), -1.0, type_=Float), col(Item.rank)], False),
    "-points": ([func.coalesce(col(Item.points), -1.0, type_=Float), col(Item.rank)], True),
}

_SORT_KEYS: dict[str, Any] = {
    "rank": lambda item: [item.rank],
    "priority": lambda item: [item.priority, item.rank],
    "created": lambda item: [item.created_at, item.id],
    "updated": lambda item: [item.updated_at, item.id],
    "points": lambda item: [item.points if item.points is not None else -1.0, item.rank],
}


async def list_items(
    session: AsyncSession, project_id: int, filters: ItemFilter, sort: str, page: PageRequest
) -> tuple[list[ItemRow], str | None]:
    """A filtered, sorted page of a project's items."""
    stmt = _apply_filter(_item_select(project_id), filters)
    if sort == "relevance":
        assert filters.query
        score = func.ts_rank(col(Item.search), _ts_query(filters.query), type_=Float)
        stmt = stmt.add_columns(score.label("score"))
        rows, cursor = await fetch_page(
            session,
            stmt,
            [score, col(Item.id)],
            page,
            lambda row: [row[6], row[0].id],
            descending=True,
        )
    else:
        order_by, descending = SORTS[sort]
        key_of = _SORT_KEYS[sort.lstrip("-")]
        rows, cursor = await fetch_page(
            session, stmt, order_by, page, lambda row: key_of(row[0]), descending=descending
        )
    return [_row(row) for row in rows], cursor


async def board_items(session: AsyncSession, project_id: int, filters: ItemFilter) -> list[ItemRow]:
    """Every item in a board's scope, in backlog order (one query for the whole board)."""
    stmt = _apply_filter(_item_select(project_id), filters).order_by(col(Item.rank))
    return [_row(row) for row in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class BoardRowVersions:
    """Digests of the row versions a board is built from, one per table, as `count:md5`."""

    items: str
    statuses: str
    users: str
    parents: str
    sprints: str
    caller_assigned: bool
    # The open blockers of the items in scope: raising or clearing one flags or unflags a card.
    blockers: str


BoardScope = Literal["backlog", "active", "number"]


def _row_versions(ids: Any, xmins: ColumnElement[Any]) -> ColumnElement[str]:
    """`count:md5` of (id, xmin) over the rows a query selects, in id order."""
    # `xmin` is the id of the transaction that wrote the row's version: any committed update
    # moves it. An insert or a delete changes the set of ids (and the count).
    entries = cast(ids, Text) + ":" + cast(xmins, Text)
    aggregate = func.string_agg(entries, aggregate_order_by(literal(","), ids))
    return cast(func.count(), Text) + ":" + func.coalesce(func.md5(aggregate), "")


def _xmin(table: Any) -> ColumnElement[Any]:
    """A table's `xmin` system column."""
    return literal_column(f"{table.__tablename__}.xmin")


@cache
def _board_versions(scope: BoardScope) -> AnySelect:
    """The query of `board_row_versions` for a kind of scope, built once (it is a big tree)."""
    project_id: BindParameter[int] = bindparam("project_id")
    number: BindParameter[int] = bindparam("number")
    sprint = select(col(Sprint.id)).where(col(Sprint.project_id) == project_id)
    if scope == "active":
        in_scope = (
            col(Item.sprint_id)
            == sprint.where(col(Sprint.state) == SprintState.ACTIVE).scalar_subquery()
        )
    elif scope == "number":
        in_scope = (
            col(Item.sprint_id) == sprint.where(col(Sprint.number) == number).scalar_subquery()
        )
    else:
        in_scope = col(Item.sprint_id).is_(None)
    # The items `board_items` selects with the board's filter: no epics, in the scope.
    scoped = (
        select(
            col(Item.id),
            _xmin(Item).label("xmin"),
            col(Item.status_id),
            col(Item.assignee_id),
            col(Item.parent_id),
            col(Item.sprint_id),
        )
        .where(col(Item.project_id) == project_id, col(Item.type) != ItemType.EPIC, in_scope)
        .cte("scoped")
    )
    found = (
        select(col(Sprint.id))
        .where(col(Sprint.project_id) == project_id, col(Sprint.number) == number)
        .exists()
        if scope == "number"
        else true()
    )
    return select(
        select(_row_versions(scoped.c.id, scoped.c.xmin)).scalar_subquery(),
        select(_row_versions(col(Status.id), _xmin(Status)))
        .where(
            (col(Status.project_id) == project_id) | col(Status.id).in_(select(scoped.c.status_id))
        )
        .scalar_subquery(),
        select(_row_versions(col(User.id), _xmin(User)))
        .where(col(User.id).in_(select(scoped.c.assignee_id)))
        .scalar_subquery(),
        select(_row_versions(col(Parent.id), literal_column("parent_item.xmin")))
        .where(col(Parent.id).in_(select(scoped.c.parent_id)))
        .scalar_subquery(),
        select(_row_versions(col(Sprint.id), _xmin(Sprint)))
        .where(
            (col(Sprint.project_id) == project_id) | col(Sprint.id).in_(select(scoped.c.sprint_id))
        )
        .scalar_subquery(),
        select(scoped.c.id).where(scoped.c.assignee_id == bindparam("caller_id")).exists(),
        found,
        select(_row_versions(col(ItemBlocker.id), _xmin(ItemBlocker)))
        .where(
            col(ItemBlocker.project_id) == project_id,
            col(ItemBlocker.item_id).in_(select(scoped.c.id)),
            col(ItemBlocker.cleared_at).is_(None),
        )
        .scalar_subquery(),
    )


async def board_row_versions(
    session: AsyncSession, project_id: int, scope: BoardScope, number: int | None, caller_id: int
) -> BoardRowVersions | None:
    """The versions of every row a board reads, in one query; None for a sprint that is not."""
    # This reads the items', statuses', users' and sprints' tables: it lives here, with the
    # board's own query (`board_items`), whose joins it follows. It covers:
    # - the items in scope (every field of a card, its rank, and which items there are);
    # - the project's statuses (every column is drawn, empty ones too) and the items' statuses;
    # - the assignees (a card shows their display name);
    # - the parents (a card shows the parent's number);
    # - the project's sprints and the items' sprints (a card shows its sprint's number, and
    #   `active` resolves through which sprint is active).
    # The project row is not here: the board reads it from `ProjectAccess`, loaded before this.
    params: dict[str, Any] = {"project_id": project_id, "caller_id": caller_id}
    if scope == "number":
        params["number"] = number
    row = (await session.execute(_board_versions(scope), params)).one()
    if not row[6]:
        return None
    return BoardRowVersions(
        items=str(row[0]),
        statuses=str(row[1]),
        users=str(row[2]),
        parents=str(row[3]),
        sprints=str(row[4]),
        caller_assigned=bool(row[5]),
        blockers=str(row[7]),
    )


async def get_item_row(session: AsyncSession, project_id: int, number: int) -> ItemRow | None:
    """One item with its status, assignee, parent and sprint."""
    # A number out of range names no item (and would not fit the query's parameter).
    if not is_number(number):
        return None
    stmt = _item_select(project_id).where(col(Item.number) == number)
    row = (await session.execute(stmt)).one_or_none()
    return _row(row) if row else None


async def item_rows_by_ids(
    session: AsyncSession, project_id: int, ids: Sequence[int]
) -> list[ItemRow]:
    """Items by id, with their joins (order not guaranteed)."""
    if not ids:
        return []
    stmt = _item_select(project_id).where(col(Item.id).in_(list(ids)))
    return [_row(row) for row in (await session.execute(stmt)).all()]


async def get_item(
    session: AsyncSession, project_id: int, number: int, *, for_update: bool = False
) -> Item | None:
    """One item by number."""
    if not is_number(number):
        return None
    stmt = select(Item).where(col(Item.project_id) == project_id, col(Item.number) == number)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_items_by_numbers(
    session: AsyncSession, project_id: int, numbers: Sequence[int], *, share_lock: bool = False
) -> dict[int, Item]:
    """Items by number; `share_lock` keeps them from changing or vanishing until commit."""
    numbers = [number for number in numbers if is_number(number)]
    if not numbers:
        return {}
    stmt = select(Item).where(
        col(Item.project_id) == project_id, col(Item.number).in_(list(numbers))
    )
    if share_lock:
        stmt = stmt.with_for_update(read=True).execution_options(populate_existing=True)
    return {item.number: item for item in (await session.execute(stmt)).scalars().all()}


async def get_items_by_external_ids(
    session: AsyncSession, project_id: int, external_ids: Sequence[str]
) -> dict[str, Item]:
    """Items by external id, locked for update."""
    if not external_ids:
        return {}
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.external_id).in_(list(external_ids)))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    items = (await session.execute(stmt)).scalars().all()
    return {item.external_id: item for item in items if item.external_id is not None}


async def external_id_taken(
    session: AsyncSession, project_id: int, external_id: str, except_id: int | None
) -> bool:
    """Whether another item of the project has this external id."""
    stmt = (
        select(func.count())
        .select_from(Item)
        .where(col(Item.project_id) == project_id, col(Item.external_id) == external_id)
    )
    if except_id is not None:
        stmt = stmt.where(col(Item.id) != except_id)
    return bool((await session.execute(stmt)).scalar_one())


async def item_ref(session: AsyncSession, project_id: int, number: int) -> ItemRef | None:
    """An item by number."""
    stmt = select(col(Item.id), col(Item.number), col(Item.type), col(Item.rank)).where(
        col(Item.project_id) == project_id, col(Item.number) == number
    )
    row = (await session.execute(stmt)).first()
    if row is None or row[0] is None:
        return None
    return ItemRef(id=row[0], number=row[1], type=row[2], rank=row[3])


async def open_items(
    session: AsyncSession, project_id: int, parent_id: int | None, until_rank: str | None
) -> list[ScopeItem]:
    """Unfinished items that are no epics, by rank (optionally an epic's, down to a rank)."""
    stmt = (
        select(col(Item.number), col(Item.title), col(Item.type), col(Item.points), col(Item.rank))
        .join(Status, col(Status.id) == col(Item.status_id))
        .where(
            col(Item.project_id) == project_id,
            col(Status.project_id) == project_id,
            col(Item.type) != ItemType.EPIC,
            col(Status.category) != StatusCategory.DONE,
        )
    )
    if parent_id is not None:
        stmt = stmt.where(col(Item.parent_id) == parent_id)
    if until_rank is not None:
        # The column's "C" collation decides, as it does for the backlog's order.
        stmt = stmt.where(col(Item.rank) <= until_rank)
    rows = (await session.execute(stmt.order_by(col(Item.rank)))).all()
    return [ScopeItem(*row) for row in rows]


async def current_items(
    session: AsyncSession, project_id: int, item_ids: Sequence[int]
) -> list[Row[Any]]:
    """Id, number, title, type, points, status and sprint of the given items that still exist."""
    if not item_ids:
        return []
    stmt = select(
        col(Item.id),
        col(Item.number),
        col(Item.title),
        col(Item.type),
        col(Item.points),
        col(Item.status_id),
        col(Item.sprint_id),
    ).where(
        col(Item.project_id) == project_id,
        col(Item.id) == any_(bindparam("ids", list(item_ids), type_=ARRAY(BigInteger))),
    )
    return type_cast("list[Row[Any]]", list((await session.execute(stmt)).all()))


async def sprint_totals(
    session: AsyncSession, project_id: int, sprint_ids: Sequence[int]
) -> dict[int, tuple[int, float]]:
    """Per sprint: how many items it holds now and their points."""
    if not sprint_ids:
        return {}
    stmt = (
        select(col(Item.sprint_id), func.count(), func.coalesce(func.sum(col(Item.points)), 0.0))
        .where(col(Item.project_id) == project_id, col(Item.sprint_id).in_(list(sprint_ids)))
        .group_by(col(Item.sprint_id))
    )
    return {
        row[0]: (int(row[1]), float(row[2] or 0.0))
        for row in (await session.execute(stmt)).all()
        if row[0] is not None
    }


async def items_in_sprint(session: AsyncSession, project_id: int, sprint_id: int) -> list[Item]:
    """A sprint's items, locked in id order."""
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.sprint_id) == sprint_id)
        .order_by(col(Item.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def items_in_release(session: AsyncSession, project_id: int, release_id: int) -> list[Item]:
    """The items whose own release is this one, locked in id order."""
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.release_id) == release_id)
        .order_by(col(Item.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def lock_items_by_numbers(
    session: AsyncSession, project_id: int, numbers: Sequence[int]
) -> dict[int, Item]:
    """Items by number, locked in id order."""
    wanted = [number for number in numbers if is_number(number)]
    if not wanted:
        return {}
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.number).in_(wanted))
        .order_by(col(Item.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {item.number: item for item in (await session.execute(stmt)).scalars().all()}


async def edge_rank(
    session: AsyncSession, project_id: int, *, last: bool, exclude_id: int | None = None
) -> str | None:
    """The first (or last) rank in the project."""
    rank = col(Item.rank)
    stmt = select(func.max(rank) if last else func.min(rank)).where(
        col(Item.project_id) == project_id
    )
    if exclude_id is not None:
        stmt = stmt.where(col(Item.id) != exclude_id)
    value = (await session.execute(stmt)).scalar_one_or_none()
    return str(value) if value is not None else None


async def neighbour_rank(
    session: AsyncSession, project_id: int, rank: str, *, below: bool, exclude_id: int
) -> str | None:
    """The rank just after (below=True) or just before `rank`, skipping one item."""
    column = col(Item.rank)
    stmt = select(func.min(column) if below else func.max(column)).where(
        col(Item.project_id) == project_id,
        column > rank if below else column < rank,
        col(Item.id) != exclude_id,
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    return str(value) if value is not None else None


# Namespace (first key) of the per-project advisory lock that serializes moves.
_RANK_LOCK_NAMESPACE = 0x52414E4B


async def lock_ranks(session: AsyncSession, project_id: int) -> None:
    """Take the project's move lock until the transaction ends."""
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :project_id)"),
        {"namespace": _RANK_LOCK_NAMESPACE, "project_id": project_id},
    )


async def items_in_rank_order(session: AsyncSession, project_id: int) -> list[tuple[int, int, str]]:
    """(id, number, rank) of every item, locked, in rank order (for a rebalance)."""
    stmt = (
        select(col(Item.id), col(Item.number), col(Item.rank))
        .where(col(Item.project_id) == project_id)
        .order_by(col(Item.rank))
        .with_for_update()
    )
    rows = [(row[0], row[1], row[2]) for row in (await session.execute(stmt)).all() if row[0]]
    # Sorted again after locking: a row changed by a transaction this one waited for comes back
    # with its new rank but in its old place (PostgreSQL's ORDER BY ... FOR UPDATE caveat).
    # Python orders ASCII keys bytewise, as the "C" collation does.
    return sorted(rows, key=lambda row: row[2])


async def reload_items(session: AsyncSession, ids: Sequence[int]) -> None:
    """Re-read loaded items from the database (after a bulk SQL update)."""
    if ids:
        stmt = select(Item).where(col(Item.id).in_(list(ids)))
        await session.execute(stmt.execution_options(populate_existing=True))


@asynccontextmanager
async def ranks_checked_together(session: AsyncSession) -> AsyncIterator[None]:
    """Check rank uniqueness once at the end of the block, not per row.

    Rewriting several ranks can pass a key from one item to another: row by row, the first
    write would collide with a key its neighbour has not left yet. A real collision still
    raises IntegrityError when the check runs at the end.
    """
    await session.execute(text("SET CONSTRAINTS uq_items_project_id_rank DEFERRED"))
    yield
    await session.flush()
    await session.execute(text("SET CONSTRAINTS uq_items_project_id_rank IMMEDIATE"))


async def set_ranks(session: AsyncSession, ranks: Sequence[tuple[int, str]]) -> None:
    """Rewrite many ranks at once."""
    if not ranks:
        return  # an executemany of no rows is an error, not a no-op
    table = Item.__table__  # type: ignore[attr-defined]
    async with ranks_checked_together(session):
        await session.execute(
            table.update().where(table.c.id == bindparam("item_id")).values(rank=bindparam("rank")),
            [{"item_id": item_id, "rank": rank} for item_id, rank in ranks],
        )


async def ancestor_ids(session: AsyncSession, item_id: int) -> list[int]:
    """The chain of parents above an item (to refuse cycles)."""
    stmt = text(
        """
        WITH RECURSIVE chain(id, parent_id, depth) AS (
            SELECT id, parent_id, 0 FROM items WHERE id = :start
            UNION ALL
            SELECT i.id, i.parent_id, c.depth + 1
            FROM items i JOIN chain c ON i.id = c.parent_id
            WHERE c.depth < 100
        )
        SELECT id FROM chain
        """
    )
    return [row[0] for row in (await session.execute(stmt, {"start": item_id})).all()]


async def children(session: AsyncSession, project_id: int, parent_id: int) -> list[Item]:
    """An epic's children, locked."""
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.parent_id) == parent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def items_in_status(session: AsyncSession, project_id: int, status_id: int) -> list[Item]:
    """Items in a status, locked."""
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.status_id) == status_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def count_in_status(
    session: AsyncSession, project_id: int, status_id: int, exclude_id: int | None = None
) -> int:
    """How many items are in a status."""
    stmt = (
        select(func.count())
        .select_from(Item)
        .where(col(Item.project_id) == project_id, col(Item.status_id) == status_id)
    )
    if exclude_id is not None:
        stmt = stmt.where(col(Item.id) != exclude_id)
    return int((await session.execute(stmt)).scalar_one())


async def set_done_for_status(
    session: AsyncSession, project_id: int, status_id: int, *, done: bool
) -> None:
    """Stamp (or clear) done_at on a status's items after its category changed; bumps them.

    The bulk form of `writer.enter_status`, for a status that starts or stops counting as done.
    """
    stmt = (
        update(Item)
        .where(
            col(Item.project_id) == project_id,
            col(Item.status_id) == status_id,
            col(Item.done_at).is_(None) if done else col(Item.done_at).is_not(None),
        )
        .values(
            done_at=clock.now() if done else None,
            version=col(Item.version) + 1,
            updated_at=clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    await session.execute(stmt)


async def epic_progress(
    session: AsyncSession, project_id: int, epic_ids: Sequence[int]
) -> dict[int, EpicTotals]:
    """The children of each epic that has any, counted (one query)."""
    if not epic_ids:
        return {}
    done = col(Status.category) == StatusCategory.DONE
    points = func.coalesce(col(Item.points), 0.0)
    stmt = (
        select(
            col(Item.parent_id),
            func.count(),
            func.coalesce(func.sum(points), 0.0),
            func.coalesce(func.sum(points).filter(done), 0.0),
        )
        .join(Status, col(Status.id) == col(Item.status_id))
        .where(col(Item.project_id) == project_id, col(Item.parent_id).in_(list(epic_ids)))
        .group_by(col(Item.parent_id))
    )
    return {
        row[0]: EpicTotals(int(row[1]), float(row[2]), float(row[3]))
        for row in (await session.execute(stmt)).all()
        if row[0] is not None
    }


async def delete_item(session: AsyncSession, item_id: int) -> None:
    """Delete an item row (its comments cascade; its events stay)."""
    await session.execute(delete(Item).where(col(Item.id) == item_id))


async def list_events(
    session: AsyncSession, project_id: int, item_id: int, page: PageRequest
) -> tuple[list[ItemEvent], str | None]:
    """An item's events, oldest first."""
    stmt = select(ItemEvent).where(
        col(ItemEvent.project_id) == project_id, col(ItemEvent.item_id) == item_id
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(ItemEvent.id)], page, lambda row: [row[0].id]
    )
    return [row[0] for row in rows], cursor


async def event_position(session: AsyncSession) -> int:
    """A fresh position in the item event log: every event written later has a larger id."""
    stmt = text("SELECT nextval(pg_get_serial_sequence('item_events', 'id'))")
    return int((await session.execute(stmt)).scalar_one())


async def items_assigned_to(session: AsyncSession, project_id: int, user_id: int) -> list[Item]:
    """A user's assigned items in a project, locked in id order."""
    stmt = (
        select(Item)
        .where(col(Item.project_id) == project_id, col(Item.assignee_id) == user_id)
        .order_by(col(Item.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return list((await session.execute(stmt)).scalars().all())


async def count_estimates_off(
    session: AsyncSession, project_id: int, allowed: Sequence[float]
) -> int:
    """How many items carry an estimate that is not one of `allowed`."""
    stmt = (
        select(func.count())
        .select_from(Item)
        .where(
            col(Item.project_id) == project_id,
            col(Item.points).is_not(None),
            col(Item.points).not_in(list(allowed)),
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def first_rank_excluding(
    session: AsyncSession, project_id: int, exclude_ids: set[int | None]
) -> str | None:
    """The smallest rank in the project among items other than `exclude_ids`."""
    stmt = select(func.min(col(Item.rank))).where(
        col(Item.project_id) == project_id,
        col(Item.id).not_in([item_id for item_id in exclude_ids if item_id is not None]),
    )
    value = (await session.execute(stmt)).scalar_one_or_none()
    return str(value) if value is not None else None


async def backdate_created(
    session: AsyncSession, project_id: int, created: Mapping[int, datetime]
) -> None:
    """Give items just made by an import the created time they had where they came from."""
    if not created:
        return
    # created_at is not a tracked field (no event): it says when the work was first written
    # down, while the item's history starts with its `created` event at the import.
    table = Item.__table__  # type: ignore[attr-defined]
    await session.execute(
        table.update()
        .where(table.c.project_id == project_id, table.c.id == bindparam("item_id"))
        .values(created_at=bindparam("created")),
        [{"item_id": item_id, "created": moment} for item_id, moment in created.items()],
    )
