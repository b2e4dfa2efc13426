"""SQL the sprint report reads: the sprint's slice of the item event log, the commitment frozen
at its start and the outcome frozen at its completion (the items as they are now come from the
items repository)."""

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.sprints.models import SprintCommitment, SprintOutcome

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


async def outcomes(session: AsyncSession, project_id: int, sprint_id: int) -> list[SprintOutcome]:
    """The frozen outcome of a completed sprint."""
    stmt = select(SprintOutcome).where(
        col(SprintOutcome.project_id) == project_id, col(SprintOutcome.sprint_id) == sprint_id
    )
    return list((await session.execute(stmt)).scalars().all())
