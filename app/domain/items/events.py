"""The item event log's vocabulary, and the guard that keeps it complete."""

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from app.domain.items.models import Item, ItemEvent, Priority

# Item column -> field name in the event log. Every change to these is logged.
TRACKED: dict[str, str] = {
    "type": "type",
    "title": "title",
    "points": "points",
    "original_estimate_hours": "original_estimate",
    "remaining_hours": "remaining_hours",
    "priority": "priority",
    "labels": "labels",
    "assignee_id": "assignee",
    "parent_id": "parent",
    "status_id": "status",
    "rank": "rank",
    "sprint_id": "sprint",
    "release_id": "release",
}


class UnloggedChangeError(RuntimeError):
    """A tracked item field changed without an event: a bug in a write path."""


def log_value(column: str, value: Any) -> Any:
    """How a column value is written into the log (JSON; priorities by name)."""
    if column == "priority" and value is not None:
        return Priority(value).name.lower()
    if column == "labels" and value is not None:
        return list(value)
    return value


def snapshot(
    item: Item,
    parent_number: int | None,
    sprint_number: int | None = None,
    release_number: int | None = None,
) -> dict[str, Any]:
    """The tracked fields of an item as the log records them (parent, sprint and release by
    number)."""
    values = {name: log_value(column, getattr(item, column)) for column, name in TRACKED.items()}
    values["parent"] = parent_number
    values["sprint"] = sprint_number
    values["release"] = release_number
    return values


@event.listens_for(Session, "before_flush")
def _tracked_changes_are_logged(
    session: Session, flush_context: UOWTransaction, instances: object
) -> None:
    """Refuse to flush a tracked item change that has no event beside it."""
    logged = {(entry.item_id, entry.field) for entry in session.new if isinstance(entry, ItemEvent)}
    for obj in session.dirty:
        if not isinstance(obj, Item):
            continue
        state = inspect(obj)
        for column, name in TRACKED.items():
            if state.attrs[column].history.has_changes() and (obj.id, name) not in logged:
                raise UnloggedChangeError(f"item {obj.id}: {column} changed without an event")
