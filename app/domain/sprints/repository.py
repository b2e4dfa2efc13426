"""SQL for sprints and their commitments."""

import json
from collections.abc import Collection, Sequence
from datetime import date
from typing import Any, cast

from sqlalchemy import BigInteger, Row, any_, bindparam, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.items.models import Item
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.projects.models import Project
from app.domain.sprints.models import Sprint, SprintCommitment, SprintOutcome, SprintState
from app.domain.workflow.models import Status, StatusCategory

NUMBER_RANGE = range(1, 2**31)


async def take_sprint_number(session: AsyncSession, project_id: int) -> int:
    """Reserve the next sprint number; locks the project row until commit."""
    stmt = (
        update(Project)
        .where(col(Project.id) == project_id)
        .values(next_sprint_number=col(Project.next_sprint_number) + 1)
        .returning(col(Project.next_sprint_number))
    )
    return int((await session.execute(stmt)).scalar_one())


async def lock_project(session: AsyncSession, project_id: int) -> None:
    """Take the project row lock that sprint creation holds, so date checks run one at a time."""
    await session.execute(
        select(col(Project.id)).where(col(Project.id) == project_id).with_for_update(key_share=True)
    )


async def get_sprint(
    session: AsyncSession, project_id: int, number: int, *, for_update: bool = False
) -> Sprint | None:
    """A sprint by number."""
    if number not in NUMBER_RANGE:
        return None
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id, col(Sprint.number) == number)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_sprint_by_id(session: AsyncSession, project_id: int, sprint_id: int) -> Sprint | None:
    """A sprint by id."""
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id, col(Sprint.id) == sprint_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def latest_end(session: AsyncSession, project_id: int) -> date | None:
    """The last end date of the project's non-cancelled sprints."""
    stmt = select(func.max(col(Sprint.end_date))).where(
        col(Sprint.project_id) == project_id, col(Sprint.state) != SprintState.CANCELLED.value
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def overlapping(
    session: AsyncSession, project_id: int, start: date, end: date, except_id: int | None
) -> Sprint | None:
    """A non-cancelled sprint whose dates overlap [start, end]."""
    stmt = select(Sprint).where(
        col(Sprint.project_id) == project_id,
        col(Sprint.state) != SprintState.CANCELLED.value,
        col(Sprint.start_date) <= end,
        col(Sprint.end_date) >= start,
    )
    if except_id is not None:
        stmt = stmt.where(col(Sprint.id) != except_id)
    return (await session.execute(stmt.order_by(col(Sprint.number)).limit(1))).scalar_one_or_none()


async def list_sprints(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[Sprint], str | None]:
    """A project's sprints by number."""
    stmt = select(Sprint).where(col(Sprint.project_id) == project_id)
    rows, cursor = await fetch_page(
        session, stmt, [col(Sprint.number)], page, lambda row: [row[0].number]
    )
    return [row[0] for row in rows], cursor


async def scope_totals(
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


async def lock_items_by_numbers(
    session: AsyncSession, project_id: int, numbers: Sequence[int]
) -> dict[int, Item]:
    """Items by number, locked in id order."""
    wanted = [number for number in numbers if number in NUMBER_RANGE]
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


async def done_status_ids(session: AsyncSession, project_id: int) -> set[int]:
    """The project's statuses in the done category."""
    stmt = select(col(Status.id)).where(
        col(Status.project_id) == project_id, col(Status.category) == StatusCategory.DONE.value
    )
    return {status_id for status_id in (await session.execute(stmt)).scalars() if status_id}


async def event_position(session: AsyncSession) -> int:
    """A fresh position in the item event log: every event written later has a larger id."""
    stmt = text("SELECT nextval(pg_get_serial_sequence('item_events', 'id'))")
    return int((await session.execute(stmt)).scalar_one())


# Positions of the columns `sprint_log` returns.
LOG_ID, LOG_OCCURRED_AT, LOG_ACTOR_ID, LOG_ITEM_ID, LOG_ITEM_NUMBER, LOG_KIND, LOG_FIELD = range(7)
LOG_OLD, LOG_NEW, LOG_CREATED_SPRINT, LOG_DELETED_POINTS, LOG_DELETED_TITLE = range(7, 12)
LOG_DELETED_TYPE, LOG_DELETED_STATUS = 12, 13

_SPRINT_LOG = """
SELECT id, CASE WHEN $4 THEN occurred_at END, actor_id, item_id, item_number, kind, field,
       CASE WHEN jsonb_typeof(old_value) = 'number' THEN old_value::float8 END,
       CASE WHEN jsonb_typeof(new_value) = 'number' THEN new_value::float8 END,
       CASE WHEN jsonb_typeof(new_value -> 'sprint') = 'number'
            THEN (new_value -> 'sprint')::float8 END,
       CASE WHEN jsonb_typeof(old_value -> 'points') = 'number'
            THEN (old_value -> 'points')::float8 END,
       old_value ->> 'title',
       old_value ->> 'type',
       CASE WHEN jsonb_typeof(old_value -> 'status') = 'number'
            THEN (old_value -> 'status')::float8 END
FROM item_events
WHERE project_id = $1 AND id > $2
  AND (field IN ('sprint', 'points') OR kind IN ('created', 'deleted')
       OR (field = 'status' AND ($3::jsonb IS NULL
           OR ($3::jsonb @> jsonb_build_array(new_value)
               AND NOT $3::jsonb @> jsonb_build_array(old_value)))))
ORDER BY id
"""


async def sprint_log(
    session: AsyncSession,
    project_id: int,
    after: int,
    done_statuses: Collection[int] | None = (),
    *,
    with_times: bool = True,
) -> Sequence[Any]:
    """Creations, deletions, sprint and points changes of a project's items after a position,
    and their moves into one of `done_statuses` from a status outside them (every status
    change when `done_statuses` is None).

    Rows are tuples (positions `LOG_*`) with values as plain numbers: old and new values of
    field changes, the sprint an item was created in, and a deleted item's points, title, type
    and status; `occurred_at` only `with_times`. The whole window is read in one index range;
    picking the sprint's items is the caller's job (an item-id list in SQL made PostgreSQL
    compare every row with every id). A report reads thousands of these, so they skip
    SQLAlchemy's row processing: asyncpg's records, on the session's own connection and
    transaction.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    done = None if done_statuses is None else json.dumps(sorted(done_statuses))
    records: Sequence[Any] = await driver.fetch(_SPRINT_LOG, project_id, after, done, with_times)
    return records


async def commitment_points(
    session: AsyncSession, project_id: int, sprint_id: int
) -> dict[int, tuple[int, float | None]]:
    """The frozen commitment of a sprint: item id -> (number, points at start)."""
    stmt = select(
        col(SprintCommitment.item_id),
        col(SprintCommitment.item_number),
        col(SprintCommitment.points),
    ).where(
        col(SprintCommitment.project_id) == project_id,
        col(SprintCommitment.sprint_id) == sprint_id,
    )
    return {row[0]: (row[1], row[2]) for row in (await session.execute(stmt)).all()}


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
    return cast("list[Row[Any]]", list((await session.execute(stmt)).all()))


async def statuses(session: AsyncSession, project_id: int) -> list[Status]:
    """The project's statuses."""
    stmt = select(Status).where(col(Status.project_id) == project_id)
    return list((await session.execute(stmt)).scalars().all())


async def outcomes(session: AsyncSession, project_id: int, sprint_id: int) -> list[SprintOutcome]:
    """The frozen outcome of a completed sprint."""
    stmt = select(SprintOutcome).where(
        col(SprintOutcome.project_id) == project_id, col(SprintOutcome.sprint_id) == sprint_id
    )
    return list((await session.execute(stmt)).scalars().all())
