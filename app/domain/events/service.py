"""Publishing public events with the change, and reading them back as the API shows them."""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, SessionTransaction

from app.domain.events import repository
from app.domain.events.catalogue import PAYLOAD_VERSION, Actor, EventPublic, EventType
from app.domain.events.models import ProjectEvent
from app.domain.events.repository import EventFilter, EventRow
from app.domain.kernel import clock
from app.domain.kernel.pagination import PageRequest

# Where a session keeps the events its transaction will write (app.domain.outbox writes them),
# and the mergeable ones by key (a request that touches thousands of items looks each up).
_PENDING = "timebox.pending_events"
_MERGEABLE = "timebox.mergeable_events"


@dataclass
class PendingEvent:
    """An event of this transaction, numbered and written just before commit."""

    project_id: int
    type: EventType
    payload: dict[str, Any]
    actor_id: int | None
    summary: str
    item_number: int | None = None
    sprint_number: int | None = None
    # For item.updated: one event per item and transaction, whatever the number of fields.
    merge_key: tuple[Any, ...] | None = field(default=None, repr=False)


class UnpublishedEventsError(RuntimeError):
    """Events were published on a session that cannot write them (no async session)."""


def actor_name(display_name: str | None) -> str:
    """How a summary line names who acted."""
    return display_name or "Timebox"


def _pending(session: AsyncSession | Session) -> list[PendingEvent]:
    pending: list[PendingEvent] = session.info.setdefault(_PENDING, [])
    return pending


def publish(
    session: AsyncSession,
    project_id: int,
    event_type: EventType,
    payload: BaseModel,
    *,
    actor_id: int | None,
    summary: str,
    item: int | None = None,
    sprint: int | None = None,
) -> None:
    """Add a public event to this transaction (numbered and written when it commits)."""
    _pending(session).append(
        PendingEvent(
            project_id,
            event_type,
            payload.model_dump(mode="json"),
            actor_id,
            summary,
            item,
            sprint,
        )
    )


def merged(
    session: AsyncSession, key: tuple[Any, ...], make: Callable[[], PendingEvent]
) -> PendingEvent:
    """This transaction's pending event with `key`, made by `make` the first time: one event
    for many changes (every field of an item, every item joining a sprint)."""
    mergeable: dict[tuple[Any, ...], PendingEvent] = session.info.setdefault(_MERGEABLE, {})
    entry = mergeable.get(key)
    if entry is None:
        entry = make()
        entry.merge_key = key
        _pending(session).append(entry)
        mergeable[key] = entry
    return entry


def discard(session: AsyncSession, entry: PendingEvent) -> None:
    """Drop a pending event whose changes cancelled out."""
    _pending(session).remove(entry)
    if entry.merge_key is not None:
        session.info.get(_MERGEABLE, {}).pop(entry.merge_key, None)


def has_pending(session: AsyncSession | Session) -> bool:
    """Whether this transaction has events not written yet."""
    return bool(session.info.get(_PENDING))


async def write_pending(session: AsyncSession) -> list[ProjectEvent]:
    """Number and write this transaction's events (and announce them at commit)."""
    pending: list[PendingEvent] = session.info.pop(_PENDING, [])
    session.info.pop(_MERGEABLE, None)
    if not pending:
        return []
    by_project: dict[int, list[PendingEvent]] = defaultdict(list)
    for entry in pending:
        by_project[entry.project_id].append(entry)
    rows: list[dict[str, Any]] = []
    now = clock.now()
    # Projects in id order, so two transactions that touch the same projects cannot deadlock.
    for project_id in sorted(by_project):
        entries = by_project[project_id]
        first = await repository.take_seqs(session, project_id, len(entries))
        rows.extend(
            {
                "project_id": project_id,
                "seq": first + offset,
                "type": entry.type.value,
                "version": PAYLOAD_VERSION,
                "actor_id": entry.actor_id,
                "item_number": entry.item_number,
                "sprint_number": entry.sprint_number,
                "summary": entry.summary,
                "payload": entry.payload,
                "occurred_at": now,
            }
            for offset, entry in enumerate(entries)
        )
    return await repository.append(session, rows)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    """A rolled-back transaction's events never happened."""
    if previous_transaction.parent is None:
        session.info.pop(_PENDING, None)
        session.info.pop(_MERGEABLE, None)


def public(row: EventRow, project_key: str) -> EventPublic:
    """An event as the API shows it."""
    event = row.event
    assert event.id is not None
    return EventPublic(
        id=event.id,
        seq=event.seq,
        type=EventType(event.type),
        version=event.version,
        project=project_key,
        occurred_at=event.occurred_at,
        actor=(
            Actor(id=row.actor.id, display_name=row.actor.display_name)
            if row.actor is not None and row.actor.id is not None
            else None
        ),
        item=event.item_number,
        sprint=event.sprint_number,
        summary=event.summary,
        payload=event.payload,
    )


async def page_of_activity(
    session: AsyncSession,
    project_id: int,
    project_key: str,
    filters: EventFilter,
    page: PageRequest,
) -> tuple[list[EventPublic], str | None]:
    """A page of a project's activity, newest first."""
    rows, cursor = await repository.page_of_events(session, project_id, filters, page)
    return [public(row, project_key) for row in rows], cursor


async def events_after(
    session: AsyncSession,
    project_id: int,
    project_key: str,
    after_seq: int,
    types: Sequence[str] | None = None,
    limit: int = 500,
) -> list[EventPublic]:
    """A project's events after `after_seq`, oldest first (replay and fan-out)."""
    rows = await repository.events_after(session, project_id, after_seq, types, limit)
    return [public(row, project_key) for row in rows]


async def last_seq(session: AsyncSession, project_id: int) -> int:
    """The number of a project's newest committed event (0 before any)."""
    return await repository.last_seq(session, project_id)
