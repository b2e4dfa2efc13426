"""SQL for the forecast: open items in rank order, completed sprints, the calendar, the log."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.items.models import EventKind, Item, ItemEvent, ItemType
from app.domain.sprints.models import Sprint, SprintState
from app.domain.workflow.models import Status, StatusCategory

# The fields of the item log that decide an item's place in a forecast's scope.
SCOPE_FIELDS = ("type", "title", "points", "status", "rank", "parent")


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


@dataclass(frozen=True)
class CalendarSprint:
    """A sprint's dates and when it started and completed, for laying out future sprints."""

    number: int
    state: SprintState
    start_date: date
    end_date: date
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


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


async def calendar(session: AsyncSession, project_id: int) -> list[CalendarSprint]:
    """The project's sprints that are not cancelled and have dates, by start date."""
    stmt = (
        select(
            col(Sprint.number),
            col(Sprint.state),
            col(Sprint.start_date),
            col(Sprint.end_date),
            col(Sprint.created_at),
            col(Sprint.started_at),
            col(Sprint.completed_at),
        )
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state) != SprintState.CANCELLED,
            col(Sprint.start_date).is_not(None),
            col(Sprint.end_date).is_not(None),
        )
        .order_by(col(Sprint.start_date), col(Sprint.number))
    )
    return [
        CalendarSprint(
            number=row[0],
            state=row[1],
            start_date=row[2],
            end_date=row[3],
            created_at=row[4],
            started_at=row[5],
            completed_at=row[6],
        )
        for row in (await session.execute(stmt)).all()
        if row[2] is not None and row[3] is not None
    ]


async def status_categories(session: AsyncSession, project_id: int) -> dict[int, str]:
    """The category of each of the project's statuses, by id."""
    stmt = select(col(Status.id), col(Status.category)).where(col(Status.project_id) == project_id)
    return {row[0]: row[1] for row in (await session.execute(stmt)).all() if row[0] is not None}


async def scope_log(
    session: AsyncSession, project_id: int, before: datetime
) -> Sequence[tuple[int, int, str, str | None, Any]]:
    """(item id, number, kind, field, new value) of scope-relevant events before a time."""
    stmt = (
        select(
            col(ItemEvent.item_id),
            col(ItemEvent.item_number),
            col(ItemEvent.kind),
            col(ItemEvent.field),
            ItemEvent.new_value,
        )
        .where(
            col(ItemEvent.project_id) == project_id,
            col(ItemEvent.occurred_at) < before,
            or_(
                col(ItemEvent.kind).in_([EventKind.CREATED, EventKind.DELETED]),
                col(ItemEvent.field).in_(SCOPE_FIELDS),
            ),
        )
        .order_by(col(ItemEvent.id))
    )
    return [(r[0], r[1], r[2], r[3], r[4]) for r in (await session.execute(stmt)).all()]
