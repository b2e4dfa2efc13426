"""SQL of the public event log: numbering, writing with a notification, and reading back."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.events.models import EventSequence, ProjectEvent
from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.users.models import User

# The channel every process's live-stream hub listens on; the payload is `project_id:last_seq`.
CHANNEL = "timebox_events"


@dataclass(frozen=True)
class EventRow:
    """An event with its actor (None for the system, or a user since deleted)."""

    event: ProjectEvent
    actor: User | None


async def take_seqs(session: AsyncSession, project_id: int, count: int) -> int:
    """Reserve `count` event numbers of a project; returns the first. Locks the project's
    counter until commit, so numbers follow commit order."""
    stmt = (
        pg_insert(EventSequence)
        .values(project_id=project_id, last_seq=count)
        .on_conflict_do_update(
            index_elements=[col(EventSequence.project_id)],
            set_={"last_seq": col(EventSequence.last_seq) + count},
        )
        .returning(col(EventSequence.last_seq))
    )
    last = int((await session.execute(stmt)).scalar_one())
    return last - count + 1


_ROWS_PER_INSERT = 2000


async def append(session: AsyncSession, rows: Sequence[dict[str, Any]]) -> list[ProjectEvent]:
    """Insert events (already numbered), a few thousand per statement, and announce them at
    commit."""
    events: list[ProjectEvent] = []
    # One statement's bind parameters are capped at 32,767 (PostgreSQL's protocol), and an
    # event row takes about ten: a large import publishes more events than fit in one.
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        stmt = (
            insert(ProjectEvent)
            .values(list(rows[start : start + _ROWS_PER_INSERT]))
            .returning(ProjectEvent)
        )
        events.extend((await session.execute(stmt)).scalars().all())
    last: dict[int, int] = {}
    for event in events:
        last[event.project_id] = max(last.get(event.project_id, 0), event.seq)
    for project_id, seq in last.items():
        # NOTIFY is delivered when (and only if) the transaction commits.
        await session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": f"{project_id}:{seq}"},
        )
    return events


def _rows(project_id: int) -> AnySelect:
    return (
        select(ProjectEvent, User)
        .outerjoin(User, col(User.id) == col(ProjectEvent.actor_id))
        .where(col(ProjectEvent.project_id) == project_id)
    )


@dataclass
class EventFilter:
    """What a list of events is narrowed to (None: not narrowed)."""

    types: Sequence[str] | None = None
    actor_id: int | None = None
    item_number: int | None = None
    sprint_number: int | None = None
    since: datetime | None = None


def _filtered(stmt: AnySelect, filters: EventFilter) -> AnySelect:
    if filters.types:
        stmt = stmt.where(col(ProjectEvent.type).in_(list(filters.types)))
    if filters.actor_id is not None:
        stmt = stmt.where(col(ProjectEvent.actor_id) == filters.actor_id)
    if filters.item_number is not None:
        stmt = stmt.where(col(ProjectEvent.item_number) == filters.item_number)
    if filters.sprint_number is not None:
        stmt = stmt.where(col(ProjectEvent.sprint_number) == filters.sprint_number)
    if filters.since is not None:
        stmt = stmt.where(col(ProjectEvent.occurred_at) >= filters.since)
    return stmt


async def page_of_events(
    session: AsyncSession, project_id: int, filters: EventFilter, page: PageRequest
) -> tuple[list[EventRow], str | None]:
    """A page of a project's events, newest first."""
    stmt = _filtered(_rows(project_id), filters)
    rows, cursor = await fetch_page(
        session, stmt, [col(ProjectEvent.seq)], page, lambda row: [row[0].seq], descending=True
    )
    return [EventRow(row[0], row[1]) for row in rows], cursor


async def events_after(
    session: AsyncSession,
    project_id: int,
    after_seq: int,
    types: Sequence[str] | None = None,
    limit: int = 500,
) -> list[EventRow]:
    """A project's events after `after_seq`, oldest first (replay and fan-out)."""
    stmt = _filtered(_rows(project_id), EventFilter(types=types)).where(
        col(ProjectEvent.seq) > after_seq
    )
    rows = (await session.execute(stmt.order_by(col(ProjectEvent.seq)).limit(limit))).all()
    return [EventRow(row[0], row[1]) for row in rows]


async def last_seq(session: AsyncSession, project_id: int) -> int:
    """The number of a project's newest event (0 before any)."""
    stmt = select(func.coalesce(func.max(col(ProjectEvent.seq)), 0)).where(
        col(ProjectEvent.project_id) == project_id
    )
    return int((await session.execute(stmt)).scalar_one())
