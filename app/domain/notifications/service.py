"""Rules for notifications: who hears of what, mentions, watching, preferences, reminders.

Notifications are derived in the transaction that makes the change: `derive` reads the public
events the outbox has just written, so a notification exists exactly when its event does.
Nobody is notified of their own change; only current project members are notified; a kind
switched off in the user's preferences is not made at all.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events.catalogue import EventType
from app.domain.events.models import ProjectEvent
from app.domain.events.service import actor_name
from app.domain.items import repository as items_repository
from app.domain.kernel import clock
from app.domain.kernel.errors import NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.views import RowView
from app.domain.notifications import repository
from app.domain.notifications.models import Notification, NotificationKind
from app.domain.notifications.repository import (
    DIRECT,
    SPRINT,
    WATCHERS,
    NotificationFilter,
    NotificationRow,
)
from app.domain.notifications.schemas import NotificationPreferencesReplace, NotificationPublic
from app.domain.projects.access import ProjectAccess
from app.domain.users import repository as users_repository
from app.domain.users.models import User

# `@` and a handle: a member's email local part or display name without spaces, in any case.
# Not after a word character, `.` or `@`, so `ada@example.com` mentions nobody.
_MENTION = re.compile(r"(?<![\w.@])@([A-Za-z0-9](?:[A-Za-z0-9._+-]*[A-Za-z0-9_])?)")
# At most this many different handles of one text are looked up.
MAX_MENTIONS = 50
# How much of a comment a mention's summary quotes.
_EXCERPT = 80


@dataclass(frozen=True)
class NotificationView(RowView):
    """A notification with its project's key, its actor and its links."""

    ROW = "notification"

    notification: Notification
    project: str
    actor: User | None

    @property
    def item(self) -> int | None:
        """The item's number."""
        return self.notification.item_number

    @property
    def sprint(self) -> int | None:
        """The sprint's number."""
        return self.notification.sprint_number

    @property
    def retro(self) -> int | None:
        """The retro's number."""
        return self.notification.retro_number

    @property
    def action(self) -> int | None:
        """The action item's number."""
        return self.notification.action_number


@dataclass(frozen=True)
class WatchView:
    """Whether the caller watches an item."""

    item: int
    watching: bool


def _view(row: NotificationRow) -> NotificationView:
    return NotificationView(row.notification, row.project_key, row.actor)


def mention_handles(text: str) -> list[str]:
    """The different handles `text` mentions (`@ada`, `@Ada.Lovelace`), lower-cased, in order."""
    found = dict.fromkeys(match.lower() for match in _MENTION.findall(text))
    return list(found)[:MAX_MENTIONS]


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _EXCERPT else flat[: _EXCERPT - 1] + "…"


# --- deriving from events --------------------------------------------------------------------


@dataclass
class _Derivation:
    """What one transaction's events set off: notification candidates and automatic watches."""

    names: dict[int, User]
    candidates: list[dict[str, Any]]
    watches: list[tuple[int, int, int]]

    def actor(self, event: ProjectEvent) -> str:
        user = self.names.get(event.actor_id) if event.actor_id is not None else None
        return actor_name(user.display_name if user is not None else None)

    def watch(self, event: ProjectEvent, user_id: Any) -> None:
        if isinstance(user_id, int) and event.item_number is not None:
            self.watches.append((event.project_id, event.item_number, user_id))

    def add(
        self, event: ProjectEvent, kind: NotificationKind, fan_out: str, summary: str, **more: Any
    ) -> None:
        self.candidates.append(
            {
                "fan_out": fan_out,
                "project_id": event.project_id,
                "kind": kind.value,
                "exclude_id": event.actor_id,
                "actor_id": event.actor_id,
                "event_seq": event.seq,
                "item_number": event.item_number,
                "sprint_number": event.sprint_number,
                "summary": summary,
                **more,
            }
        )

    def assigned(self, event: ProjectEvent, item: dict[str, Any], assignee: Any) -> None:
        if not isinstance(assignee, int):
            return
        self.watch(event, assignee)
        summary = f"{self.actor(event)} assigned you {item['key']} “{item['title']}”"
        self.add(event, NotificationKind.ASSIGNED, DIRECT, summary, user_id=assignee)


def _derive_one(derivation: _Derivation, event: ProjectEvent) -> None:
    payload = event.payload
    actor = derivation.actor(event)
    match event.type:
        case EventType.ITEM_CREATED:
            derivation.watch(event, event.actor_id)
            derivation.assigned(event, payload["item"], payload["item"].get("assignee_id"))
        case EventType.ITEM_UPDATED:
            changes: dict[str, Any] = payload.get("changes", {})
            if "assignee" in changes:
                derivation.assigned(event, payload["item"], changes["assignee"].get("new"))
            if "status" in changes:
                derivation.add(event, NotificationKind.STATUS_CHANGED, WATCHERS, event.summary)
        case EventType.COMMENT_CREATED:
            comment, item = payload["comment"], payload["item"]
            derivation.watch(event, comment.get("author_id", event.actor_id))
            handles = mention_handles(comment["body"])
            if handles:
                summary = f"{actor} mentioned you on {item['key']}: “{_excerpt(comment['body'])}”"
                derivation.add(event, NotificationKind.MENTIONED, DIRECT, summary, handles=handles)
        case EventType.SPRINT_STARTED | EventType.SPRINT_COMPLETED:
            sprint = payload["sprint"]
            started = event.type == EventType.SPRINT_STARTED
            kind = NotificationKind.SPRINT_STARTED if started else NotificationKind.SPRINT_COMPLETED
            verb = "started" if started else "completed"
            summary = f"{actor} {verb} sprint {sprint['number']} “{sprint['name']}”"
            derivation.add(event, kind, SPRINT, summary, sprint_number=sprint["number"])
        case _:
            pass


async def derive(session: AsyncSession, events: Sequence[ProjectEvent]) -> int:
    """Make the notifications (and automatic watches) the events just written set off; how many.

    A few statements per transaction, whatever the number of events or recipients.
    """
    if not events:
        return 0
    actor_ids = sorted({event.actor_id for event in events if event.actor_id is not None})
    derivation = _Derivation(await users_repository.users_by_id(session, actor_ids), [], [])
    for event in events:
        _derive_one(derivation, event)
    made = await repository.insert_for_candidates(session, derivation.candidates, clock.now())
    # Watches after the notifications: someone assigned by this very change is told once, of
    # the assignment, not of its status change too.
    await repository.watch_many(session, derivation.watches)
    return len(made)


async def notify_mentions(
    session: AsyncSession,
    project_id: int,
    text: str,
    *,
    retro_number: int,
    retro_title: str,
    actor_id: int | None,
    author_id: int | None,
    previous: str = "",
) -> int:
    """Notify the members a retro card mentions (those `previous`, its old text, did not); how
    many. `actor_id` is None on an anonymous retro: the notice then names nobody, while
    `author_id` still keeps authors from being told of their own card."""
    already = set(mention_handles(previous))
    handles = [handle for handle in mention_handles(text) if handle not in already]
    if not handles:
        return 0
    who = "Someone"
    if actor_id is not None:
        user = (await users_repository.users_by_id(session, [actor_id])).get(actor_id)
        who = actor_name(user.display_name if user is not None else None)
    summary = f"{who} mentioned you on a card in retro {retro_number} “{retro_title}”"
    candidate = {
        "fan_out": DIRECT,
        "project_id": project_id,
        "kind": NotificationKind.MENTIONED.value,
        "handles": handles,
        "exclude_id": author_id,
        "actor_id": actor_id,
        "retro_number": retro_number,
        "summary": summary,
    }
    return len(await repository.insert_for_candidates(session, [candidate], clock.now()))


async def scan_due_actions(session: AsyncSession) -> int:
    """Remind owners of open action items due today or overdue (today in each project's time
    zone); each reminder is made once per action, due date and owner. How many were made."""
    return len(await repository.insert_due_reminders(session, clock.now()))


# --- the inbox -------------------------------------------------------------------------------


async def list_notifications(
    session: AsyncSession, user: User, page: PageRequest, filters: NotificationFilter
) -> tuple[list[NotificationView], str | None, int]:
    """A page of the user's notifications (unread first, then newest), and the unread count."""
    assert user.id is not None
    rows, cursor = await repository.page_of_notifications(session, user.id, filters, page)
    unread = await repository.count_unread(session, user.id, filters)
    return [_view(row) for row in rows], cursor, unread


async def mark_read(session: AsyncSession, user: User, notification_id: int) -> NotificationView:
    """Mark one of the user's notifications read (again is a no-op); 404 if not theirs."""
    assert user.id is not None
    if not await repository.mark_read(session, user.id, notification_id, clock.now()):
        raise NotFound(f"No notification {notification_id}.")
    row = await repository.get_notification(session, user.id, notification_id)
    assert row is not None
    return _view(row)


async def mark_all_read(session: AsyncSession, user: User, project_key: str | None) -> int:
    """Mark all the user's unread notifications read (of one project, when given); how many."""
    assert user.id is not None
    return await repository.mark_all_read(session, user.id, clock.now(), project_key)


async def notifications_after(
    session: AsyncSession, user_id: int, after_id: int, limit: int = 500
) -> list[NotificationPublic]:
    """A user's notifications after `after_id`, oldest first (the personal stream's replay)."""
    rows = await repository.notifications_after(session, user_id, after_id, limit)
    return [NotificationPublic.model_validate(_view(row)) for row in rows]


async def latest_notification_id(session: AsyncSession, user_id: int) -> int:
    """Where a personal stream opened without `Last-Event-ID` starts (0 before any)."""
    return await repository.latest_id(session, user_id)


# --- preferences -----------------------------------------------------------------------------


async def get_preferences(session: AsyncSession, user: User) -> dict[str, bool]:
    """The user's switch for every kind (on unless switched off)."""
    assert user.id is not None
    stored = await repository.preferences(session, user.id)
    return {kind.value: stored.get(kind, True) for kind in NotificationKind}


async def replace_preferences(
    session: AsyncSession, user: User, data: NotificationPreferencesReplace
) -> dict[str, bool]:
    """Set the user's switch for every kind: those left out are on."""
    assert user.id is not None
    choices = {kind: bool(getattr(data, kind.value)) for kind in NotificationKind}
    await repository.replace_preferences(session, user.id, choices)
    return {kind.value: on for kind, on in choices.items()}


# --- watching --------------------------------------------------------------------------------


async def _item_id(session: AsyncSession, access: ProjectAccess, number: int) -> int:
    item = await items_repository.get_item(session, access.project_id, number)
    if item is None or item.id is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return item.id


async def watch(session: AsyncSession, access: ProjectAccess, number: int) -> WatchView:
    """Watch an item (any role: it concerns only the caller); watching again is a no-op."""
    assert access.user.id is not None
    item_id = await _item_id(session, access, number)
    await repository.watch(session, access.project_id, item_id, access.user.id)
    return WatchView(item=number, watching=True)


async def unwatch(session: AsyncSession, access: ProjectAccess, number: int) -> None:
    """Stop watching an item; a no-op when not watching it."""
    assert access.user.id is not None
    item_id = await _item_id(session, access, number)
    await repository.unwatch(session, access.project_id, item_id, access.user.id)


async def list_watchers(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[User], str | None]:
    """An item's watchers (current members only), by user id."""
    item_id = await _item_id(session, access, number)
    return await repository.list_watchers(session, access.project_id, item_id, page)
