"""SQL for action items and their history (the owning repository of both tables)."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.events.catalogue import ActionRef, EventType
from app.domain.items.models import Item
from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.retros.actions import public_events
from app.domain.retros.actions.models import ActionEvent, ActionItem, ActionStatus
from app.domain.retros.models import Retro
from app.domain.sprints.models import Sprint
from app.domain.users.models import User


@dataclass(frozen=True)
class ActionRow:
    """An action item with its owner, its retro's number and its linked item's number."""

    action: ActionItem
    owner: User | None
    retro_number: int | None
    item_number: int | None


@dataclass
class ActionFilter:
    """What a list of actions is narrowed to (None: not narrowed)."""

    statuses: Sequence[ActionStatus] | None = None
    owner_id: int | None = None
    retro_id: int | None = None
    # Open and due before `today` (True), or not (False).
    overdue: bool | None = None
    today: date | None = None


def _rows(project_id: int) -> AnySelect:
    return (
        select(ActionItem, User, col(Retro.number), col(Item.number))
        .outerjoin(User, col(User.id) == col(ActionItem.owner_id))
        .outerjoin(Retro, col(Retro.id) == col(ActionItem.retro_id))
        .outerjoin(Item, col(Item.id) == col(ActionItem.item_id))
        .where(col(ActionItem.project_id) == project_id)
    )


def _row(row: Any) -> ActionRow:
    return ActionRow(row[0], row[1], row[2], row[3])


def _overdue(today: date) -> ColumnElement[bool]:
    return (col(ActionItem.status) == ActionStatus.OPEN) & (col(ActionItem.due_date) < today)


async def list_actions(
    session: AsyncSession, project_id: int, filters: ActionFilter, page: PageRequest
) -> tuple[list[ActionRow], str | None]:
    """A project's action items by number, narrowed by `filters`."""
    stmt = _rows(project_id)
    if filters.statuses:
        stmt = stmt.where(col(ActionItem.status).in_(list(filters.statuses)))
    if filters.owner_id is not None:
        stmt = stmt.where(col(ActionItem.owner_id) == filters.owner_id)
    if filters.retro_id is not None:
        stmt = stmt.where(col(ActionItem.retro_id) == filters.retro_id)
    if filters.overdue is not None and filters.today is not None:
        overdue = _overdue(filters.today)
        # A null due date makes the comparison null: "not overdue" must count it in.
        stmt = stmt.where(overdue if filters.overdue else func.coalesce(overdue, False).is_(False))
    rows, cursor = await fetch_page(
        session, stmt, [col(ActionItem.number)], page, lambda row: [row[0].number]
    )
    return [_row(row) for row in rows], cursor


async def get_action_row(session: AsyncSession, project_id: int, number: int) -> ActionRow | None:
    """One action item by number, with its owner, retro and item numbers."""
    stmt = _rows(project_id).where(col(ActionItem.number) == number)
    row = (await session.execute(stmt)).one_or_none()
    return _row(row) if row else None


async def action_rows_by_ids(
    session: AsyncSession, project_id: int, action_ids: Sequence[int]
) -> list[ActionRow]:
    """Action items by id, by number."""
    stmt = _rows(project_id).where(col(ActionItem.id).in_(list(action_ids)))
    rows = (await session.execute(stmt.order_by(col(ActionItem.number)))).all()
    return [_row(row) for row in rows]


async def lock_action(session: AsyncSession, project_id: int, number: int) -> ActionItem | None:
    """One action item by number, locked until commit."""
    stmt = (
        select(ActionItem)
        .where(col(ActionItem.project_id) == project_id, col(ActionItem.number) == number)
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def retro_action_rows(
    session: AsyncSession, project_id: int, retro_id: int
) -> list[ActionRow]:
    """A retro's action items, by number."""
    stmt = _rows(project_id).where(col(ActionItem.retro_id) == retro_id)
    rows = (await session.execute(stmt.order_by(col(ActionItem.number)))).all()
    return [_row(row) for row in rows]


async def open_actions_before(
    session: AsyncSession, project_id: int, retro: Retro
) -> list[ActionRow]:
    """Open action items from the project's retros created before `retro`, oldest first."""
    earlier = tuple_(col(Retro.created_at), col(Retro.id)) < tuple_(retro.created_at, retro.id)
    stmt = _rows(project_id).where(
        col(ActionItem.status) == ActionStatus.OPEN,
        col(ActionItem.retro_id).is_not(None),
        col(ActionItem.retro_id) != retro.id,
        earlier,
    )
    ordered = stmt.order_by(col(ActionItem.created_at), col(ActionItem.number))
    return [_row(row) for row in (await session.execute(ordered)).all()]


async def count_open(session: AsyncSession, project_id: int) -> int:
    """How many of the project's action items are open."""
    stmt = (
        select(func.count())
        .select_from(ActionItem)
        .where(
            col(ActionItem.project_id) == project_id,
            col(ActionItem.status) == ActionStatus.OPEN,
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def delete_action(session: AsyncSession, project_id: int, action_id: int) -> None:
    """Delete an action item; its history goes with it."""
    await session.execute(
        delete(ActionItem).where(
            col(ActionItem.project_id) == project_id, col(ActionItem.id) == action_id
        )
    )


async def list_events(
    session: AsyncSession, project_id: int, action_id: int, page: PageRequest
) -> tuple[list[tuple[ActionEvent, User | None]], str | None]:
    """An action item's history with its actors, oldest first."""
    stmt = (
        select(ActionEvent, User)
        .outerjoin(User, col(User.id) == col(ActionEvent.actor_id))
        .where(col(ActionEvent.project_id) == project_id, col(ActionEvent.action_id) == action_id)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(ActionEvent.id)], page, lambda row: [row[0].id]
    )
    return [(row[0], row[1]) for row in rows], cursor


async def stats_facts(
    session: AsyncSession, project_id: int
) -> list[tuple[int | None, ActionStatus, datetime, datetime | None]]:
    """Every action item of the project as (retro id, status, created_at, done_at)."""
    stmt = select(
        col(ActionItem.retro_id),
        col(ActionItem.status),
        col(ActionItem.created_at),
        col(ActionItem.done_at),
    ).where(col(ActionItem.project_id) == project_id)
    return [(row[0], row[1], row[2], row[3]) for row in (await session.execute(stmt)).all()]


async def retro_refs(
    session: AsyncSession, project_id: int
) -> list[tuple[int, int, str, int | None]]:
    """Every retro of the project as (id, number, title, sprint number), by number."""
    stmt = (
        select(col(Retro.id), col(Retro.number), col(Retro.title), col(Sprint.number))
        .outerjoin(Sprint, col(Sprint.id) == col(Retro.sprint_id))
        .where(col(Retro.project_id) == project_id)
        .order_by(col(Retro.number))
    )
    found: list[tuple[int, int, str, int | None]] = []
    for retro_id, number, title, sprint in (await session.execute(stmt)).all():
        assert retro_id is not None
        found.append((retro_id, number, title, sprint))
    return found


async def _complete_where(
    session: AsyncSession,
    project_id: int,
    project_key: str,
    which: ColumnElement[bool],
    actor_id: int | None,
    at: datetime,
) -> int:
    """Mark done the open actions linked to the items `which` picks, with a history row each."""
    stmt = (
        update(ActionItem)
        .where(
            col(ActionItem.project_id) == project_id,
            col(ActionItem.item_id) == col(Item.id),
            col(Item.project_id) == project_id,
            col(ActionItem.status) == ActionStatus.OPEN,
            which,
        )
        .values(
            status=ActionStatus.DONE,
            done_at=at,
            closed_at=at,
            version=col(ActionItem.version) + 1,
            updated_at=at,
        )
        .returning(
            col(ActionItem.id),
            col(Item.number).label("item_number"),
            col(ActionItem.number),
            col(ActionItem.title),
            col(ActionItem.owner_id),
            col(ActionItem.due_date),
            select(col(Retro.number))
            .where(col(Retro.id) == col(ActionItem.retro_id))
            .scalar_subquery()
            .label("retro"),
        )
        .execution_options(synchronize_session=False)
    )
    finished = (await session.execute(stmt)).all()
    for row in finished:
        values = row._mapping
        public_events.publish(
            session,
            project_id,
            EventType.ACTION_COMPLETED,
            ActionRef.model_validate({**values, "status": ActionStatus.DONE.value}),
            actor_id=actor_id,
            actor=None,
            via=f"{project_key}-{values['item_number']}",
        )
    if finished:
        events = [
            {
                "project_id": project_id,
                "action_id": action_id,
                "actor_id": actor_id,
                "occurred_at": at,
                "field": "status",
                "old_value": ActionStatus.OPEN.value,
                "new_value": ActionStatus.DONE.value,
                "via": f"item {project_key}-{item_number}",
            }
            for action_id, item_number, *_ in finished
        ]
        await session.execute(insert(ActionEvent), events)
    return len(finished)


async def complete_for_items(
    session: AsyncSession,
    project_id: int,
    project_key: str,
    item_ids: Sequence[int],
    actor_id: int | None,
    at: datetime,
) -> int:
    """The items were finished: their linked open actions become done (logged `via item`)."""
    if not item_ids:
        return 0
    which = col(Item.id).in_(list(item_ids))
    return await _complete_where(session, project_id, project_key, which, actor_id, at)


async def complete_for_status(
    session: AsyncSession,
    project_id: int,
    project_key: str,
    status_id: int,
    actor_id: int | None,
    at: datetime,
) -> int:
    """A status started counting as done: the open actions linked to its items become done."""
    which = col(Item.status_id) == status_id
    return await _complete_where(session, project_id, project_key, which, actor_id, at)
