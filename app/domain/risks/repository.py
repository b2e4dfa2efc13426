"""SQL for risks, their links and their history (the owning repository of all three tables)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.items.models import Item
from app.domain.kernel.inputs import is_number
from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.releases.models import Release
from app.domain.risks.models import OPEN_STATUSES, Risk, RiskEvent, RiskLink, RiskStatus
from app.domain.sprints.models import Sprint
from app.domain.users.models import User

LinkKind = Literal["items", "sprints", "releases"]
LINK_KINDS: tuple[LinkKind, ...] = ("items", "sprints", "releases")

# Each kind of link: the column of risk_links naming it, and the table it names.
_TARGETS: dict[LinkKind, tuple[Any, Any]] = {
    "items": (RiskLink.item_id, Item),
    "sprints": (RiskLink.sprint_id, Sprint),
    "releases": (RiskLink.release_id, Release),
}

_COLUMN_NAMES: dict[LinkKind, str] = {
    "items": "item_id",
    "sprints": "sprint_id",
    "releases": "release_id",
}

# The fields the trend replays: creation gives the start, the rest change exposure or openness.
TREND_FIELDS = ("created", "probability", "impact", "status")


@dataclass
class Links:
    """A risk's links, each kind as sorted numbers."""

    items: list[int] = field(default_factory=list)
    sprints: list[int] = field(default_factory=list)
    releases: list[int] = field(default_factory=list)


@dataclass
class RiskFilter:
    """What a list of risks is narrowed to (None: not narrowed)."""

    statuses: Sequence[RiskStatus] | None = None
    owner_id: int | None = None
    category: str | None = None
    # Open or mitigating with a review date before `today` (True), or not (False).
    review_overdue: bool | None = None
    today: date | None = None
    item_id: int | None = None
    sprint_id: int | None = None
    release_id: int | None = None


def _rows(project_id: int) -> AnySelect:
    return (
        select(Risk, User)
        .outerjoin(User, col(User.id) == col(Risk.owner_id))
        .where(col(Risk.project_id) == project_id)
    )


def _review_overdue(today: date) -> ColumnElement[bool]:
    return col(Risk.status).in_(list(OPEN_STATUSES)) & (col(Risk.review_date) < today)


def _linked_to(project_id: int, column: Any, target_id: int) -> ColumnElement[bool]:
    return exists().where(
        col(RiskLink.project_id) == project_id,
        col(RiskLink.risk_id) == col(Risk.id),
        col(column) == target_id,
    )


# The list order: exposure descending, then number. Keyset pagination takes one direction, so
# the key is (-exposure, number) ascending.
_ORDER = (-col(Risk.exposure), col(Risk.number))


async def list_risks(
    session: AsyncSession, project_id: int, filters: RiskFilter, page: PageRequest
) -> tuple[list[tuple[Risk, User | None]], str | None]:
    """A project's risks by exposure (highest first), then number, narrowed by `filters`."""
    stmt = _rows(project_id)
    if filters.statuses:
        stmt = stmt.where(col(Risk.status).in_(list(filters.statuses)))
    if filters.owner_id is not None:
        stmt = stmt.where(col(Risk.owner_id) == filters.owner_id)
    if filters.category is not None:
        stmt = stmt.where(col(Risk.category) == filters.category)
    if filters.review_overdue is not None and filters.today is not None:
        overdue = _review_overdue(filters.today)
        # A null review date makes the comparison null: "not overdue" must count it in.
        stmt = stmt.where(
            overdue if filters.review_overdue else func.coalesce(overdue, False).is_(False)
        )
    for column, target_id in (
        (RiskLink.item_id, filters.item_id),
        (RiskLink.sprint_id, filters.sprint_id),
        (RiskLink.release_id, filters.release_id),
    ):
        if target_id is not None:
            stmt = stmt.where(_linked_to(project_id, column, target_id))
    rows, cursor = await fetch_page(
        session, stmt, _ORDER, page, lambda row: [-row[0].exposure, row[0].number]
    )
    return [(row[0], row[1]) for row in rows], cursor


async def get_risk_row(
    session: AsyncSession, project_id: int, number: int
) -> tuple[Risk, User | None] | None:
    """One risk by number, with its owner."""
    if not is_number(number):
        return None
    row = (await session.execute(_rows(project_id).where(col(Risk.number) == number))).one_or_none()
    return (row[0], row[1]) if row else None


async def lock_risk(session: AsyncSession, project_id: int, number: int) -> Risk | None:
    """One risk by number, locked until commit."""
    if not is_number(number):
        return None
    stmt = (
        select(Risk)
        .where(col(Risk.project_id) == project_id, col(Risk.number) == number)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def links_of(
    session: AsyncSession, project_id: int, risk_ids: Sequence[int]
) -> dict[int, Links]:
    """The links of each of the risks, as numbers (every risk asked for has an entry)."""
    found = {risk_id: Links() for risk_id in risk_ids}
    if not risk_ids:
        return found
    for kind, (column, table) in _TARGETS.items():
        stmt = (
            select(col(RiskLink.risk_id), col(table.number))
            .join(table, col(table.id) == col(column))
            .where(col(RiskLink.project_id) == project_id, col(RiskLink.risk_id).in_(risk_ids))
            .order_by(col(RiskLink.risk_id), col(table.number))
        )
        for row in (await session.execute(stmt)).all():
            getattr(found[int(row[0])], kind).append(int(row[1]))
    return found


async def target_ids(
    session: AsyncSession, project_id: int, kind: LinkKind, numbers: Sequence[int]
) -> dict[int, int]:
    """Ids by number of the project's items, sprints or releases with these numbers, each
    key-share locked so it cannot vanish before the links to it are written."""
    wanted = sorted({number for number in numbers if is_number(number)})
    if not wanted:
        return {}
    table = _TARGETS[kind][1]
    stmt = (
        select(col(table.number), col(table.id))
        .where(col(table.project_id) == project_id, col(table.number).in_(wanted))
        .with_for_update(read=True, key_share=True)
    )
    return {int(row[0]): int(row[1]) for row in (await session.execute(stmt)).all()}


async def replace_links(
    session: AsyncSession, project_id: int, risk_id: int, kind: LinkKind, ids: Sequence[int]
) -> None:
    """Make a risk's links of one kind exactly these targets."""
    column = _TARGETS[kind][0]
    await session.execute(
        delete(RiskLink).where(
            col(RiskLink.project_id) == project_id,
            col(RiskLink.risk_id) == risk_id,
            col(column).is_not(None),
        )
    )
    if ids:
        name = _COLUMN_NAMES[kind]
        rows = [{"project_id": project_id, "risk_id": risk_id, name: target} for target in ids]
        await session.execute(insert(RiskLink), rows)


async def delete_risk(session: AsyncSession, project_id: int, risk_id: int) -> None:
    """Delete a risk; its links and history go with it."""
    await session.execute(
        delete(Risk).where(col(Risk.project_id) == project_id, col(Risk.id) == risk_id)
    )


async def list_events(
    session: AsyncSession, project_id: int, risk_id: int, page: PageRequest
) -> tuple[list[tuple[RiskEvent, User | None]], str | None]:
    """A risk's history with its actors, oldest first."""
    stmt = (
        select(RiskEvent, User)
        .outerjoin(User, col(User.id) == col(RiskEvent.actor_id))
        .where(col(RiskEvent.project_id) == project_id, col(RiskEvent.risk_id) == risk_id)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(RiskEvent.id)], page, lambda row: [row[0].id]
    )
    return [(row[0], row[1]) for row in rows], cursor


async def trend_changes(
    session: AsyncSession, project_id: int, before: datetime | None
) -> list[tuple[int, datetime, str, Any]]:
    """The project's logged creations and probability, impact and status changes as
    (risk id, time, field, new value), in the order they happened (all, or before `before`)."""
    stmt = select(
        col(RiskEvent.risk_id),
        col(RiskEvent.occurred_at),
        col(RiskEvent.field),
        col(RiskEvent.new_value),
    ).where(col(RiskEvent.project_id) == project_id, col(RiskEvent.field).in_(TREND_FIELDS))
    if before is not None:
        stmt = stmt.where(col(RiskEvent.occurred_at) < before)
    stmt = stmt.order_by(col(RiskEvent.occurred_at), col(RiskEvent.id))
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(stmt)).all()]


async def open_risks_linked(
    session: AsyncSession,
    project_id: int,
    *,
    sprint_id: int | None = None,
    release_id: int | None = None,
) -> list[Risk]:
    """The open or mitigating risks linked to a sprint or a release (to either, when both are
    given), by exposure descending, then number."""
    targets = []
    if sprint_id is not None:
        targets.append(col(RiskLink.sprint_id) == sprint_id)
    if release_id is not None:
        targets.append(col(RiskLink.release_id) == release_id)
    if not targets:
        return []
    linked = select(col(RiskLink.risk_id)).where(
        col(RiskLink.project_id) == project_id,
        targets[0] if len(targets) == 1 else targets[0] | targets[1],
    )
    stmt = (
        select(Risk)
        .where(
            col(Risk.project_id) == project_id,
            col(Risk.status).in_(list(OPEN_STATUSES)),
            col(Risk.id).in_(linked),
        )
        .order_by(col(Risk.exposure).desc(), col(Risk.number))
    )
    return list((await session.execute(stmt)).scalars().all())


async def risks_with_status(
    session: AsyncSession, project_id: int, status: RiskStatus
) -> list[Risk]:
    """The project's risks in one status, by exposure descending, then number."""
    stmt = (
        select(Risk)
        .where(col(Risk.project_id) == project_id, col(Risk.status) == status)
        .order_by(col(Risk.exposure).desc(), col(Risk.number))
    )
    return list((await session.execute(stmt)).scalars().all())
