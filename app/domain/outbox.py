"""What a transaction sends out as it commits: its public events, and what they set off.

`flush` runs in every session's `before_commit` (so no commit path can skip it), inside the
transaction: the events and the work they set off (webhook deliveries, notifications) commit
with the change or not at all. A caller may flush earlier itself (the demo does, to back-date
what it wrote); what is flushed is gone from the pending list, so nothing is written twice.
"""

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession, async_session
from sqlalchemy.orm import Session
from sqlalchemy.util import await_only

from app.domain.events import service as events
from app.domain.events.models import ProjectEvent
from app.domain.notifications import service as notifications
from app.domain.webhooks import service as webhooks


async def flush(session: AsyncSession) -> list[ProjectEvent]:
    """Write this transaction's events and everything they set off, in the same transaction."""
    if not events.has_pending(session):
        return []
    # Every other write first: the event counter is then the last lock the transaction takes,
    # held only for the few statements below, and never while it waits for another lock (two
    # writers could otherwise each hold what the other waits for).
    await session.flush()
    written = await events.write_pending(session)
    if written:
        await webhooks.enqueue(session, written)
        await notifications.derive(session, written)
    return written


@event.listens_for(Session, "before_commit")
def _flush_before_commit(session: Session) -> None:
    """Run `flush` as the transaction commits (SQLAlchemy emits the final flush after this)."""
    # SQLAlchemy calls this for a savepoint's release too: only the real commit writes.
    if session.in_nested_transaction() or not events.has_pending(session):
        return
    owner = async_session(session)
    if owner is None:
        raise events.UnpublishedEventsError(
            "events were published on a session with no async owner"
        )
    # The commit runs in SQLAlchemy's greenlet: await_only runs the async flush from here.
    await_only(flush(owner))
