"""What the item write path publishes: item.created/updated/moved/deleted, sprint.scope_changed."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import (
    Change,
    EventType,
    ItemCreated,
    ItemDeleted,
    ItemMoved,
    ItemRef,
    ItemSnapshot,
    SprintRef,
)
from app.domain.events.service import PendingEvent
from app.domain.items.models import Item
from app.domain.projects.access import ProjectAccess
from app.domain.sprints.models import Sprint


def item_ref(access: ProjectAccess, item: Item) -> ItemRef:
    """The item as events name it."""
    return ItemRef(number=item.number, key=f"{access.project.key}-{item.number}", title=item.title)


def sprint_ref(sprint: Sprint) -> dict[str, Any]:
    """The sprint as events name it (JSON)."""
    return SprintRef.model_validate(sprint, from_attributes=True).model_dump(mode="json")


def _actor(access: ProjectAccess) -> str:
    return events.actor_name(access.user.display_name)


def created(
    session: AsyncSession,
    access: ProjectAccess,
    item: Item,
    values: dict[str, Any],
    status_name: str,
) -> None:
    """An item was created (`values`: its snapshot in the item log)."""
    ref = item_ref(access, item)
    snapshot = ItemSnapshot(
        **ref.model_dump(),
        type=values["type"],
        status_id=item.status_id,
        status=status_name,
        points=item.points,
        priority=values["priority"],
        labels=values["labels"],
        assignee_id=item.assignee_id,
        sprint=values["sprint"],
        release=values["release"],
        parent=values["parent"],
    )
    events.publish(
        session,
        access.project_id,
        EventType.ITEM_CREATED,
        ItemCreated(item=snapshot),
        actor_id=access.user.id,
        summary=f"{_actor(access)} created {ref.key} “{item.title}”",
        item=item.number,
    )


def deleted(session: AsyncSession, access: ProjectAccess, item: Item) -> None:
    """An item was deleted."""
    ref = item_ref(access, item)
    events.publish(
        session,
        access.project_id,
        EventType.ITEM_DELETED,
        ItemDeleted(item=ref),
        actor_id=access.user.id,
        summary=f"{_actor(access)} deleted {ref.key} “{item.title}”",
        item=item.number,
    )


def moved(session: AsyncSession, access: ProjectAccess, item: Item, old: str, new: str) -> None:
    """An item's rank changed."""
    ref = item_ref(access, item)
    key = (access.project_id, EventType.ITEM_MOVED, item.number)
    entry = events.merged(
        session,
        key,
        lambda: PendingEvent(
            access.project_id,
            EventType.ITEM_MOVED,
            {},
            access.user.id,
            f"{_actor(access)} re-ranked {ref.key}",
            item.number,
        ),
    )
    first = entry.payload.get("rank", {}).get("old", old)
    entry.payload = ItemMoved(item=ref, rank=Change(old=first, new=new)).model_dump(mode="json")


def changed(
    session: AsyncSession,
    access: ProjectAccess,
    item: Item,
    name: str,
    old: Any,
    new: Any,
    status_name: str | None = None,
) -> None:
    """One tracked field changed: one `item.updated` per item and transaction."""
    ref = item_ref(access, item)
    key = (access.project_id, EventType.ITEM_UPDATED, item.number)
    entry = events.merged(
        session,
        key,
        lambda: PendingEvent(
            access.project_id,
            EventType.ITEM_UPDATED,
            {"item": None, "changes": {}, "status": None},
            access.user.id,
            "",
            item.number,
        ),
    )
    changes: dict[str, Any] = entry.payload["changes"]
    # Changed twice in one transaction: the first old value and the last new one.
    first = changes[name]["old"] if name in changes else old
    if first == new:
        changes.pop(name, None)
    else:
        changes[name] = {"old": first, "new": new}
    if not changes:
        events.discard(session, entry)
        return
    if status_name is not None:
        entry.payload["status"] = status_name
    entry.payload["item"] = ref.model_dump(mode="json")
    entry.summary = _updated_summary(_actor(access), ref, changes, entry.payload["status"])


def _updated_summary(actor: str, item: ItemRef, changes: dict[str, Any], status: str | None) -> str:
    others = [name for name in changes if name != "status"]
    if "status" in changes and status:
        line = f"{actor} moved {item.key} to {status}"
        return line + (f" and changed {', '.join(others)}" if others else "")
    return f"{actor} changed {', '.join(changes)} of {item.key}"


def scope_changed(
    session: AsyncSession, access: ProjectAccess, sprint: Sprint, item: Item, joined: bool
) -> None:
    """An item joined or left the active sprint: one `sprint.scope_changed` per transaction."""
    key = (access.project_id, EventType.SPRINT_SCOPE_CHANGED, sprint.number)
    entry = events.merged(
        session,
        key,
        lambda: PendingEvent(
            access.project_id,
            EventType.SPRINT_SCOPE_CHANGED,
            {"sprint": sprint_ref(sprint), "added": [], "removed": []},
            access.user.id,
            "",
            sprint_number=sprint.number,
        ),
    )
    added: list[int] = entry.payload["added"]
    removed: list[int] = entry.payload["removed"]
    into, out_of = (added, removed) if joined else (removed, added)
    if item.number in out_of:
        # Joined and left again within one transaction: no change of scope.
        out_of.remove(item.number)
    else:
        into.append(item.number)
    if not added and not removed:
        events.discard(session, entry)
        return
    parts = [f"added {len(added)}"] if added else []
    parts += [f"removed {len(removed)}"] if removed else []
    entry.summary = f"{_actor(access)} {' and '.join(parts)} item(s) in {sprint.name}"
