"""SQL of webhooks and deliveries: management, enqueueing with the events, and the claims."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.events.models import ProjectEvent
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.projects.models import Project
from app.domain.users.models import User
from app.domain.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery

# The channel the dispatchers listen on: new deliveries are announced at commit.
CHANNEL = "timebox_webhooks"

_OUTSTANDING = (DeliveryStatus.PENDING.value, DeliveryStatus.SENDING.value)


async def get_webhook(
    session: AsyncSession, project_id: int, webhook_id: int, *, lock: bool = False
) -> Webhook | None:
    """A project's webhook by id (locked against other writers of it when `lock`)."""
    stmt = select(Webhook).where(
        col(Webhook.project_id) == project_id, col(Webhook.id) == webhook_id
    )
    if lock:
        # FOR NO KEY UPDATE, not FOR UPDATE: the latter conflicts with the FOR KEY SHARE that
        # every write of the project takes on its webhooks (the deliveries' fan-out and its
        # foreign-key checks), so a PATCH would hold them all up until it commits.
        stmt = stmt.with_for_update(key_share=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def page_of_webhooks(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[Webhook], str | None]:
    """A page of a project's webhooks by id."""
    stmt = select(Webhook).where(col(Webhook.project_id) == project_id)
    rows, cursor = await fetch_page(session, stmt, [col(Webhook.id)], page, lambda row: [row[0].id])
    return [row[0] for row in rows], cursor


async def count_webhooks(session: AsyncSession, project_id: int) -> int:
    """How many webhooks a project has."""
    stmt = select(func.count()).where(col(Webhook.project_id) == project_id)
    return int((await session.execute(stmt)).scalar_one())


async def _announce(session: AsyncSession) -> None:
    # Delivered when (and only if) the transaction commits, like the event notifications.
    await session.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})


async def enqueue_events(session: AsyncSession, event_ids: Sequence[int], now: datetime) -> int:
    """One delivery per event and matching active webhook, in one statement; returns how many."""
    if not event_ids:
        return 0
    event, hook = ProjectEvent, Webhook
    chosen = (
        select(
            col(event.project_id),
            col(hook.id),
            col(event.id),
            col(event.seq),
            col(event.type),
            text("'pending'"),
            text("0"),
            text(":now"),
            text(":now"),
        )
        .join(hook, col(hook.project_id) == col(event.project_id))
        .where(
            col(event.id).in_(list(event_ids)),
            col(hook.active),
            or_(
                func.cardinality(col(hook.event_types)) == 0,
                col(event.type) == func.any(col(hook.event_types)),
            ),
        )
        # A locking read: if a webhook is being deleted meanwhile, this waits for the delete
        # and then skips the row gone, where a plain read would still see it in its snapshot
        # and the insert's foreign-key check would fail (a 500 for an unrelated write).
        .with_for_update(of=hook, read=True, key_share=True)
    )
    columns = [
        "project_id",
        "webhook_id",
        "event_id",
        "seq",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "created_at",
    ]
    stmt = (
        WebhookDelivery.__table__.insert()  # type: ignore[attr-defined]
        .from_select(columns, chosen)
        .returning(WebhookDelivery.__table__.c.id)  # type: ignore[attr-defined]
    )
    inserted = len((await session.execute(stmt, {"now": now})).all())
    if inserted:
        await _announce(session)
    return inserted


async def add_delivery(session: AsyncSession, delivery: WebhookDelivery) -> WebhookDelivery:
    """Store one delivery (a ping or a redelivery) and announce it at commit."""
    session.add(delivery)
    await session.flush()
    await _announce(session)
    return delivery


async def get_delivery(
    session: AsyncSession, project_id: int, webhook_id: int, delivery_id: int
) -> WebhookDelivery | None:
    """One delivery of a project's webhook."""
    stmt = select(WebhookDelivery).where(
        col(WebhookDelivery.project_id) == project_id,
        col(WebhookDelivery.webhook_id) == webhook_id,
        col(WebhookDelivery.id) == delivery_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def page_of_deliveries(
    session: AsyncSession,
    project_id: int,
    webhook_id: int,
    page: PageRequest,
    statuses: Sequence[DeliveryStatus] | None = None,
) -> tuple[list[WebhookDelivery], str | None]:
    """A page of a webhook's deliveries, newest first."""
    stmt = select(WebhookDelivery).where(
        col(WebhookDelivery.project_id) == project_id,
        col(WebhookDelivery.webhook_id) == webhook_id,
    )
    if statuses:
        stmt = stmt.where(col(WebhookDelivery.status).in_([s.value for s in statuses]))
    rows, cursor = await fetch_page(
        session,
        stmt,
        [col(WebhookDelivery.id)],
        page,
        lambda row: [row[0].id],
        descending=True,
    )
    return [row[0] for row in rows], cursor


@dataclass(frozen=True)
class Claimed:
    """A delivery claimed for one attempt, with all it needs to be sent."""

    delivery: WebhookDelivery
    webhook: Webhook
    project_key: str
    event: ProjectEvent | None
    actor: User | None


async def give_up_exhausted(
    session: AsyncSession, now: datetime, max_attempts: int, reason: str
) -> list[tuple[int, int | None]]:
    """Mark failed the due deliveries that have had every attempt already (their last never
    reported back, or the limit was lowered); returns their webhook and event ids."""
    exhausted = (
        select(col(WebhookDelivery.id))
        .where(
            col(WebhookDelivery.status).in_(_OUTSTANDING),
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookDelivery.attempts) >= max_attempts,
        )
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_(exhausted.scalar_subquery()))
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=reason)
        .returning(col(WebhookDelivery.webhook_id), col(WebhookDelivery.event_id))
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def claim_due(
    session: AsyncSession, now: datetime, lease_until: datetime, limit: int, max_attempts: int
) -> list[Claimed]:
    """Claim up to `limit` due deliveries for one attempt each (commit to make it stick).

    Due: pending and past `next_attempt_at`, or sending with its lease run out (a process
    died mid-attempt), and with an attempt left (`give_up_exhausted` fails the others).
    Only a webhook's first outstanding delivery by seq is ever due, so its deliveries go out
    in order; pings (no seq) go at once. `SKIP LOCKED`: a row another dispatcher is claiming
    is left to it.
    """
    # Each webhook's first outstanding delivery by seq, found per webhook on the partial
    # index: a backlog of thousands costs one index probe per webhook, not a scan of it all.
    first = (
        select(col(WebhookDelivery.id))
        .where(
            col(WebhookDelivery.webhook_id) == col(Webhook.id),
            col(WebhookDelivery.status).in_(_OUTSTANDING),
            col(WebhookDelivery.seq).is_not(None),
        )
        .order_by(col(WebhookDelivery.seq))
        .limit(1)
        .correlate(Webhook)
        .scalar_subquery()
    )
    heads = select(first).select_from(Webhook).where(col(Webhook.active))
    due = (
        select(col(WebhookDelivery.id))
        .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
        .where(
            col(WebhookDelivery.status).in_(_OUTSTANDING),
            col(WebhookDelivery.next_attempt_at) <= now,
            col(WebhookDelivery.attempts) < max_attempts,
            or_(col(Webhook.active), col(WebhookDelivery.event_id).is_(None)),
            or_(col(WebhookDelivery.seq).is_(None), col(WebhookDelivery.id).in_(heads)),
        )
        .order_by(col(WebhookDelivery.next_attempt_at), col(WebhookDelivery.id))
        .limit(limit)
        .with_for_update(of=WebhookDelivery, skip_locked=True)
    )
    stmt = (
        update(WebhookDelivery)
        .where(col(WebhookDelivery.id).in_(due.scalar_subquery()))
        .values(
            status=DeliveryStatus.SENDING,
            attempts=col(WebhookDelivery.attempts) + 1,
            next_attempt_at=lease_until,
            last_attempt_at=now,
        )
        .returning(col(WebhookDelivery.id))
    )
    ids = list((await session.execute(stmt)).scalars().all())
    if not ids:
        return []
    rows = (
        await session.execute(
            select(WebhookDelivery, Webhook, col(Project.key), ProjectEvent, User)
            .join(Webhook, col(Webhook.id) == col(WebhookDelivery.webhook_id))
            .join(Project, col(Project.id) == col(WebhookDelivery.project_id))
            .outerjoin(ProjectEvent, col(ProjectEvent.id) == col(WebhookDelivery.event_id))
            .outerjoin(User, col(User.id) == col(ProjectEvent.actor_id))
            .where(col(WebhookDelivery.id).in_(ids))
            .order_by(col(WebhookDelivery.id))
            .execution_options(populate_existing=True)
        )
    ).all()
    return [Claimed(row[0], row[1], row[2], row[3], row[4]) for row in rows]


async def settle(
    session: AsyncSession,
    delivery_id: int,
    attempt: int,
    values: dict[str, object],
) -> bool:
    """Record an attempt's outcome, unless the lease was taken over meanwhile."""
    stmt = (
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.attempts) == attempt,
            col(WebhookDelivery.status) == DeliveryStatus.SENDING,
        )
        .values(**values)
        .returning(col(WebhookDelivery.id))
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def count_success(session: AsyncSession, webhook_id: int) -> None:
    """A delivered delivery ends a webhook's run of failures."""
    await session.execute(
        update(Webhook)
        .where(col(Webhook.id) == webhook_id, col(Webhook.consecutive_failures) > 0)
        .values(consecutive_failures=0)
    )


async def count_failure(
    session: AsyncSession, webhook_id: int, disable_after: int, reason: str, now: datetime
) -> bool:
    """Count a delivery given up; disable the webhook at `disable_after` in a row. Returns
    whether this disabled it."""
    failures = col(Webhook.consecutive_failures) + 1
    stmt = (
        update(Webhook)
        .where(col(Webhook.id) == webhook_id)
        .values(consecutive_failures=failures)
        .returning(col(Webhook.consecutive_failures), col(Webhook.active))
    )
    row = (await session.execute(stmt)).one()
    if not (row[1] and row[0] >= disable_after):
        return False
    await session.execute(
        update(Webhook)
        .where(col(Webhook.id) == webhook_id)
        .values(
            active=False,
            disabled_at=now,
            disabled_reason=reason,
            version=col(Webhook.version) + 1,
            updated_at=now,
        )
    )
    return True
