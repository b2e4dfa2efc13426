"""SQL for releases and milestones (the owning repository of the table), and their scope.

A release's scope is read here, from the items it holds: its own items, and the children of
its epics that have no release of their own. `_scope` is that rule, written once; the totals
of many releases at once and the ranked open items of one are both read through it.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BindParameter,
    Subquery,
    bindparam,
    delete,
    func,
    nulls_last,
    select,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.domain.items.models import Item, ItemType
from app.domain.items.repository import ScopeItem
from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.releases.models import Release, ReleaseKind, ReleaseState
from app.domain.workflow.models import Status, StatusCategory

Lock = Literal["update", "share"] | None


@dataclass(frozen=True)
class ScopeTotals:
    """A release's scope counted: items and points, done and remaining, unestimated."""

    items: int = 0
    points: float = 0.0
    done_items: int = 0
    done_points: float = 0.0
    unestimated_items: int = 0

    @property
    def remaining_items(self) -> int:
        """Items not done yet."""
        return self.items - self.done_items

    @property
    def remaining_points(self) -> float:
        """Points not done yet (rounded: sums of fractional estimates carry float error)."""
        return round(self.points - self.done_points, 6)


async def list_releases(
    session: AsyncSession,
    project_id: int,
    page: PageRequest,
    *,
    states: Sequence[ReleaseState] = (),
    kinds: Sequence[ReleaseKind] = (),
) -> tuple[list[Release], str | None]:
    """A project's releases by number, narrowed to some states and kinds."""
    stmt = select(Release).where(col(Release.project_id) == project_id)
    if states:
        stmt = stmt.where(col(Release.state).in_(list(states)))
    if kinds:
        stmt = stmt.where(col(Release.kind).in_(list(kinds)))
    rows, cursor = await fetch_page(
        session, stmt, [col(Release.number)], page, lambda row: [row[0].number]
    )
    return [row[0] for row in rows], cursor


async def get_release(
    session: AsyncSession, project_id: int, number: int, *, lock: Lock = None
) -> Release | None:
    """One release by number, locked for update or share-locked if asked."""
    if not is_number(number):
        return None
    stmt = select(Release).where(
        col(Release.project_id) == project_id, col(Release.number) == number
    )
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share").execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def share_lock_state(
    session: AsyncSession, project_id: int, release_id: int
) -> tuple[int, ReleaseState] | None:
    """A release's number and state, share-locked so it cannot ship under an item's change."""
    stmt = (
        select(col(Release.number), col(Release.state))
        .where(col(Release.project_id) == project_id, col(Release.id) == release_id)
        .with_for_update(read=True)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def release_numbers(
    session: AsyncSession, project_id: int, release_ids: Sequence[int]
) -> dict[int, int]:
    """Release numbers by id."""
    if not release_ids:
        return {}
    stmt = select(col(Release.id), col(Release.number)).where(
        col(Release.project_id) == project_id, col(Release.id).in_(list(release_ids))
    )
    return {row[0]: row[1] for row in (await session.execute(stmt)).all() if row[0] is not None}


async def name_taken(
    session: AsyncSession, project_id: int, name: str, except_id: int | None = None
) -> bool:
    """Whether another release of the project has this name, whatever its case."""
    stmt = select(func.count()).where(
        col(Release.project_id) == project_id,
        func.lower(col(Release.name)) == name.lower(),
    )
    if except_id is not None:
        stmt = stmt.where(col(Release.id) != except_id)
    return bool((await session.execute(stmt)).scalar_one())


async def shipped_releases(session: AsyncSession, project_id: int) -> list[Release]:
    """The releases of kind `release` that shipped (state released), by release date."""
    stmt = (
        select(Release)
        .where(
            col(Release.project_id) == project_id,
            col(Release.kind) == ReleaseKind.RELEASE,
            col(Release.state) == ReleaseState.RELEASED,
        )
        .order_by(col(Release.released_on), col(Release.number))
    )
    return list((await session.execute(stmt)).scalars().all())


async def roadmap_releases(
    session: AsyncSession, project_id: int, *, archived: bool
) -> list[Release]:
    """Releases and milestones by target date (undated last), then number."""
    stmt = select(Release).where(col(Release.project_id) == project_id)
    if not archived:
        stmt = stmt.where(col(Release.state) != ReleaseState.ARCHIVED)
    stmt = stmt.order_by(nulls_last(col(Release.target_date)), col(Release.number))
    return list((await session.execute(stmt)).scalars().all())


async def delete_release(session: AsyncSession, project_id: int, release_id: int) -> None:
    """Delete a release row (its items must have left it)."""
    await session.execute(
        delete(Release).where(col(Release.project_id) == project_id, col(Release.id) == release_id)
    )


def _scope() -> Subquery:
    """The items that count in the releases `release_ids` of project `project_id` (bound
    parameters), each with the release it counts for.

    An item counts in its own release. An item without one counts in its parent epic's
    release, if the epic has one: so a child whose own release is another one counts there
    only, never twice. Epics themselves are containers and never count.
    """
    project_id: BindParameter[int] = bindparam("project_id")
    ids: BindParameter[list[int]] = bindparam("release_ids", expanding=True)
    columns = (
        col(Item.id),
        col(Item.number),
        col(Item.title),
        col(Item.type),
        col(Item.points),
        col(Item.rank),
        col(Item.status_id),
    )
    own: AnySelect = select(*columns, col(Item.release_id).label("release_id")).where(
        col(Item.project_id) == project_id,
        col(Item.release_id).in_(ids),
        col(Item.type) != ItemType.EPIC,
    )
    epic = aliased(Item, name="epic")
    children: AnySelect = (
        select(*columns, col(epic.release_id).label("release_id"))
        .join(epic, col(epic.id) == col(Item.parent_id))
        .where(
            col(Item.project_id) == project_id,
            col(epic.project_id) == project_id,
            col(epic.release_id).in_(ids),
            col(Item.release_id).is_(None),
            col(Item.type) != ItemType.EPIC,
        )
    )
    return union_all(own, children).subquery("scope")


# Built once: a union over aliased tables costs more to construct than to run.
@cache
def _totals_statement() -> AnySelect:
    found = _scope()
    done = col(Status.category) == StatusCategory.DONE
    points = func.coalesce(found.c.points, 0.0)
    return (
        select(
            found.c.release_id,
            func.count(),
            func.coalesce(func.sum(points), 0.0),
            func.count().filter(done),
            func.coalesce(func.sum(points).filter(done), 0.0),
            func.count().filter(~done, found.c.points.is_(None)),
        )
        .join(Status, col(Status.id) == found.c.status_id)
        .where(col(Status.project_id) == bindparam("project_id"))
        .group_by(found.c.release_id)
    )


@cache
def _open_items_statement(until: bool) -> AnySelect:
    found = _scope()
    stmt = (
        select(found.c.number, found.c.title, found.c.type, found.c.points, found.c.rank)
        .join(Status, col(Status.id) == found.c.status_id)
        .where(
            col(Status.project_id) == bindparam("project_id"),
            col(Status.category) != StatusCategory.DONE,
        )
    )
    if until:
        stmt = stmt.where(found.c.rank <= bindparam("until_rank"))
    # The rank column's "C" collation carries through the union: the backlog's order.
    return stmt.order_by(found.c.rank)


async def scope_totals(
    session: AsyncSession, project_id: int, release_ids: Sequence[int]
) -> dict[int, ScopeTotals]:
    """The scope of each of the given releases, counted in one query (none: empty totals)."""
    if not release_ids:
        return {}
    params = {"project_id": project_id, "release_ids": list(release_ids)}
    return {
        row[0]: ScopeTotals(int(row[1]), float(row[2]), int(row[3]), float(row[4]), int(row[5]))
        for row in (await session.execute(_totals_statement(), params)).all()
    }


async def open_scope_items(
    session: AsyncSession, project_id: int, release_id: int, until_rank: str | None = None
) -> list[ScopeItem]:
    """The unfinished items of a release's scope by rank (down to a rank, if given)."""
    params: dict[str, Any] = {"project_id": project_id, "release_ids": [release_id]}
    if until_rank is not None:
        params["until_rank"] = until_rank
    rows = (await session.execute(_open_items_statement(until_rank is not None), params)).all()
    return [ScopeItem(row[0], row[1], row[2], row[3], row[4]) for row in rows]
