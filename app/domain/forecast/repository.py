"""SQL for the forecast: the slice of the item event log that decides the scope of a past day.

The open items, the sprint calendar and the status categories it also reads come from their
owning repositories (items, sprints, workflow).
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.items.models import EventKind, ItemEvent

# The fields of the item log that decide an item's place in a forecast's scope.
SCOPE_FIELDS = ("type", "title", "points", "status", "rank", "parent", "release")


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
