"""Rules for webhooks: owners manage them, events enqueue deliveries in their transaction,
and the dispatcher's attempts are scheduled, recorded and counted here."""

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import PAYLOAD_VERSION, EventPublic, EventType, WebhookPing
from app.domain.events.models import ProjectEvent
from app.domain.events.repository import EventRow
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, InvalidInput, NotFound
from app.domain.kernel.inputs import is_id
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, apply_changes, bump, check_version
from app.domain.projects.access import ProjectAccess
from app.domain.webhooks import repository, signing, targets
from app.domain.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery, WebhookKind
from app.domain.webhooks.repository import Claimed
from app.domain.webhooks.schemas import WebhookCreate, WebhookUpdate

# At most this many webhooks per project: each one multiplies every event's deliveries.
MAX_WEBHOOKS = 20
# The longest error text kept on a delivery.
_ERROR_MAX = 500


@dataclass(frozen=True)
class CreatedWebhook:
    """A webhook just created, with the secret to show this once."""

    webhook: Webhook
    secret: str

    def __getattr__(self, name: str) -> object:
        return getattr(self.webhook, name)


async def _check_url(url: str, *, allow_private: bool) -> None:
    """422 on `body.url` for a URL that is not http(s) or that reaches a refused address."""
    try:
        await targets.resolve(url, allow_private=allow_private)
    except targets.UnsafeTarget as exc:
        raise InvalidInput.for_field("body.url", str(exc), "unsafe_url") from None


async def _find(
    session: AsyncSession, access: ProjectAccess, webhook_id: int, *, lock: bool = False
) -> Webhook:
    found = (
        await repository.get_webhook(session, access.project_id, webhook_id, lock=lock)
        if is_id(webhook_id)
        else None
    )
    if found is None:
        raise NotFound(f"{access.project.key} has no webhook {webhook_id}.")
    return found


async def create_webhook(
    session: AsyncSession, access: ProjectAccess, data: WebhookCreate, *, allow_private: bool
) -> CreatedWebhook:
    """Add a webhook to the project; its secret is generated unless given."""
    await _check_url(data.url, allow_private=allow_private)
    if data.secret is not None and not signing.valid_secret(data.secret):
        raise InvalidInput.for_field(
            "body.secret", "The secret must be `whsec_` and base64 of 24 to 64 bytes.", "secret"
        )
    if await repository.count_webhooks(session, access.project_id) >= MAX_WEBHOOKS:
        raise Conflict(f"{access.project.key} has {MAX_WEBHOOKS} webhooks already.")
    secret = data.secret or signing.new_secret()
    webhook = Webhook(
        project_id=access.project_id,
        url=data.url,
        kind=data.kind,
        event_types=[event_type.value for event_type in dict.fromkeys(data.event_types)],
        secret=secret,
        active=data.active,
        description=data.description,
        created_by=access.user.id,
    )
    session.add(webhook)
    await session.flush()
    return CreatedWebhook(webhook, secret)


async def list_webhooks(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> tuple[list[Webhook], str | None]:
    """The project's webhooks by id."""
    return await repository.page_of_webhooks(session, access.project_id, page)


async def get_webhook(session: AsyncSession, access: ProjectAccess, webhook_id: int) -> Webhook:
    """One webhook of the project."""
    return await _find(session, access, webhook_id)


async def update_webhook(
    session: AsyncSession,
    access: ProjectAccess,
    webhook_id: int,
    data: WebhookUpdate,
    expected: Versions | None,
    *,
    allow_private: bool,
) -> Webhook:
    """Change a webhook; re-enabling it clears why it was disabled and its failure count."""
    webhook = await _find(session, access, webhook_id, lock=True)
    check_version(webhook.version, expected)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("url") is not None:
        await _check_url(changes["url"], allow_private=allow_private)
    if changes.get("event_types") is not None:
        changes["event_types"] = [str(value) for value in dict.fromkeys(changes["event_types"])]
    changed = apply_changes(webhook, changes)
    if changes.get("active") is True and (webhook.consecutive_failures or webhook.disabled_at):
        webhook.consecutive_failures = 0
        webhook.disabled_reason = None
        webhook.disabled_at = None
        if not changed:
            bump(webhook)
    await session.flush()
    return webhook


async def delete_webhook(
    session: AsyncSession, access: ProjectAccess, webhook_id: int, expected: Versions | None
) -> None:
    """Delete a webhook and its deliveries (pending ones are never sent)."""
    webhook = await _find(session, access, webhook_id, lock=True)
    check_version(webhook.version, expected)
    await session.delete(webhook)
    await session.flush()


async def ping(session: AsyncSession, access: ProjectAccess, webhook_id: int) -> WebhookDelivery:
    """Queue a `webhook.ping` delivery (sent even while the webhook is disabled)."""
    webhook = await _find(session, access, webhook_id)
    assert webhook.id is not None
    delivery = WebhookDelivery(
        project_id=access.project_id,
        webhook_id=webhook.id,
        event_type=EventType.WEBHOOK_PING.value,
        next_attempt_at=clock.now(),
    )
    return await repository.add_delivery(session, delivery)


async def list_deliveries(
    session: AsyncSession,
    access: ProjectAccess,
    webhook_id: int,
    page: PageRequest,
    statuses: Sequence[DeliveryStatus] | None = None,
) -> tuple[list[WebhookDelivery], str | None]:
    """A webhook's deliveries, newest first."""
    webhook = await _find(session, access, webhook_id)
    assert webhook.id is not None
    return await repository.page_of_deliveries(
        session, access.project_id, webhook.id, page, statuses
    )


async def redeliver(
    session: AsyncSession, access: ProjectAccess, webhook_id: int, delivery_id: int
) -> WebhookDelivery:
    """Queue a delivered or failed delivery's event again, as a new delivery."""
    webhook = await _find(session, access, webhook_id)
    assert webhook.id is not None
    found = (
        await repository.get_delivery(session, access.project_id, webhook.id, delivery_id)
        if is_id(delivery_id)
        else None
    )
    if found is None:
        raise NotFound(f"Webhook {webhook_id} has no delivery {delivery_id}.")
    if found.status.is_outstanding:
        raise Conflict(f"Delivery {delivery_id} is still {found.status.value}; it will be sent.")
    delivery = WebhookDelivery(
        project_id=access.project_id,
        webhook_id=webhook.id,
        event_id=found.event_id,
        seq=found.seq,
        event_type=found.event_type,
        next_attempt_at=clock.now(),
    )
    return await repository.add_delivery(session, delivery)


async def enqueue(session: AsyncSession, written: Sequence[ProjectEvent]) -> int:
    """Queue a delivery of each event just written to each active webhook that wants it."""
    ids = [event.id for event in written if event.id is not None]
    return await repository.enqueue_events(session, ids, clock.now())


# --- What the dispatcher (app.webhooks_worker) asks of the domain ---------------------------


def retry_delay(attempt: int, base_seconds: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): base x 3^(attempt-1), +-25 %."""
    jitter = (rng or random).uniform(0.75, 1.25)
    return float(base_seconds * 3 ** (attempt - 1) * jitter)


async def claim(
    session: AsyncSession,
    *,
    limit: int,
    lease_seconds: float,
    max_attempts: int,
    disable_after: int,
) -> list[Claimed]:
    """Claim due deliveries for one attempt each (the caller commits before sending); a due
    one with no attempt left is given up instead, as `record` gives up a last failure."""
    now = clock.now()
    # Only a lease run out gets here with every attempt made (or a lowered limit): claiming
    # it again would send it past the limit, and for ever if its receiver never answers.
    reason = f"Given up: attempt {max_attempts} of {max_attempts} never reported back."
    for webhook_id, event_id in await repository.give_up_exhausted(
        session, now, max_attempts, reason
    ):
        if event_id is not None:
            await repository.count_failure(
                session,
                webhook_id,
                disable_after,
                _disabled_reason(now, disable_after, reason),
                now,
            )
    return await repository.claim_due(
        session, now, now + timedelta(seconds=lease_seconds), limit, max_attempts
    )


def _disabled_reason(now: datetime, disable_after: int, last: object) -> str:
    return (
        f"Disabled on {now:%Y-%m-%d %H:%M} UTC after {disable_after} deliveries in a row "
        f"failed every attempt; the last: {last}."
    )


def message_id(claimed: Claimed) -> str:
    """The `webhook-id`: the event's id, the same on every attempt (pings: their own)."""
    if claimed.event is not None:
        return str(claimed.event.id)
    return f"ping_{claimed.delivery.id}"


def event_of(claimed: Claimed) -> EventPublic:
    """The event a delivery carries, as the API shows it (a ping gets one of its own)."""
    if claimed.event is not None:
        return events.public(EventRow(claimed.event, claimed.actor), claimed.project_key)
    assert claimed.webhook.id is not None
    return EventPublic(
        id=0,
        seq=0,
        type=EventType.WEBHOOK_PING,
        version=PAYLOAD_VERSION,
        project=claimed.project_key,
        occurred_at=claimed.delivery.created_at,
        actor=None,
        item=None,
        sprint=None,
        summary=f"Ping from Timebox to webhook {claimed.webhook.id}",
        payload=WebhookPing(webhook_id=claimed.webhook.id).model_dump(mode="json"),
    )


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(event: EventPublic, public_url: str | None) -> tuple[str, str] | None:
    """The API URL of what an event is about and its label, when a public URL is set."""
    if not public_url:
        return None
    base = f"{public_url.rstrip('/')}/api/v1/projects/{event.project}"
    if event.item is not None:
        return f"{base}/items/{event.item}", f"{event.project}-{event.item}"
    if event.sprint is not None:
        return f"{base}/sprints/{event.sprint}", f"Sprint {event.sprint}"
    retro = event.payload.get("retro")
    if isinstance(retro, dict) and isinstance(retro.get("number"), int):
        return f"{base}/retros/{retro['number']}", f"Retro {retro['number']}"
    action = event.payload.get("action")
    if isinstance(action, dict) and isinstance(action.get("number"), int):
        return f"{base}/actions/{action['number']}", f"Action {action['number']}"
    return base, event.project


def body(claimed: Claimed, public_url: str | None) -> str:
    """The JSON body of a delivery: the event, or a Slack-compatible message line."""
    event = event_of(claimed)
    if claimed.webhook.kind == WebhookKind.SLACK:
        text = _slack_escape(event.summary)
        link = _link(event, public_url)
        if link is not None:
            text += f" <{link[0]}|{_slack_escape(link[1])}>"
        return json.dumps({"text": text}, ensure_ascii=False)
    return event.model_dump_json()


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status code (None: no answer) and how long it took."""

    response_code: int | None
    latency_ms: int
    error: str | None

    @property
    def succeeded(self) -> bool:
        """2xx is success; anything else, or no answer, is a failure."""
        return self.response_code is not None and 200 <= self.response_code < 300


async def record(
    session: AsyncSession,
    claimed: Claimed,
    outcome: Outcome,
    *,
    max_attempts: int,
    retry_base_seconds: float,
    disable_after: int,
) -> DeliveryStatus | None:
    """Record an attempt: delivered, due again after a backoff, or failed for good (which
    counts towards disabling the webhook). None when the lease was taken over meanwhile."""
    delivery = claimed.delivery
    assert delivery.id is not None
    now = clock.now()
    values: dict[str, object] = {
        "response_code": outcome.response_code,
        "latency_ms": outcome.latency_ms,
        "last_error": None if outcome.error is None else outcome.error[:_ERROR_MAX],
    }
    if outcome.succeeded:
        status = DeliveryStatus.DELIVERED
        values |= {"status": status, "next_attempt_at": None, "delivered_at": now}
    elif delivery.attempts >= max_attempts:
        status = DeliveryStatus.FAILED
        values |= {"status": status, "next_attempt_at": None}
    else:
        status = DeliveryStatus.PENDING
        delay = retry_delay(delivery.attempts, retry_base_seconds)
        values |= {"status": status, "next_attempt_at": now + timedelta(seconds=delay)}
    if not await repository.settle(session, delivery.id, delivery.attempts, values):
        return None
    webhook_id = delivery.webhook_id
    if status == DeliveryStatus.DELIVERED and claimed.webhook.consecutive_failures:
        await repository.count_success(session, webhook_id)
    elif status == DeliveryStatus.FAILED and delivery.event_id is not None:
        reason = _disabled_reason(now, disable_after, values["last_error"] or outcome.response_code)
        await repository.count_failure(session, webhook_id, disable_after, reason, now)
    return status
