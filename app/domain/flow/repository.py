"""SQL for flow metrics: the slice of the item event log that moves items through the flow."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.metrics.flow import ChangeKind, ItemChange

# The project and time bounds and the ORDER BY follow ix_item_events_project_id_occurred_at_id,
# so a project's slice is one index range, read in order when PostgreSQL takes the index. Ids
# break ties: the events of one transaction share a timestamp (clock.transaction_time). Times
# come as integer microseconds, which asyncpg decodes far faster than timestamps.
_FLOW_LOG = """
SELECT (extract(epoch FROM occurred_at) * 1000000)::bigint, item_id, item_number,
       CASE WHEN kind IN ('created', 'deleted') THEN kind ELSE field END,
       CASE WHEN kind = 'created' AND jsonb_typeof(new_value -> 'status') = 'number'
                THEN (new_value -> 'status')::bigint
            WHEN field = 'status' AND jsonb_typeof(new_value) = 'number'
                THEN new_value::bigint END,
       CASE WHEN kind = 'created' THEN new_value ->> 'type'
            WHEN field = 'type' THEN new_value #>> '{}' END
FROM item_events
WHERE project_id = $1 AND occurred_at < $2
  AND (kind IN ('created', 'deleted') OR field IN ('status', 'type'))
ORDER BY occurred_at, id
"""

_KINDS = {kind.value: kind for kind in ChangeKind}


async def flow_changes(
    session: AsyncSession, project_id: int, before: datetime
) -> list[ItemChange]:
    """Creations, status and type changes and deletions of a project's items before an instant.

    Tens of thousands of rows are read per request, so they skip SQLAlchemy's row processing:
    asyncpg's records, on the session's own connection and transaction.
    """
    connection = await session.connection()
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    records: Sequence[Any] = await driver.fetch(_FLOW_LOG, project_id, before)
    kinds = _KINDS
    return [
        ItemChange(at, item_id, number, kinds[kind], status_id, item_type)
        for at, item_id, number, kind, status_id, item_type in records
    ]
