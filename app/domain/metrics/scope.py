"""The scope ledger of a sprint: what was added, removed or re-estimated after it started."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from operator import attrgetter
from typing import Any, NamedTuple


class ScopeChangeKind(StrEnum):
    """How a sprint's scope changed."""

    ADDED = "added"
    REMOVED = "removed"
    RE_ESTIMATED = "re_estimated"


class LoggedChange(NamedTuple):
    """One event of the item log, as plain data (a tuple: thousands are built per report).

    `occurred_at` is None when the log was read without times (the report does not need them).
    """

    event_id: int
    occurred_at: datetime | None
    actor_id: int | None
    item_id: int
    item_number: int
    field: str | None
    old_value: Any
    new_value: Any


@dataclass(frozen=True)
class ScopeChange:
    """One change to a sprint's scope."""

    event_id: int
    occurred_at: datetime
    actor_id: int | None
    item_number: int
    kind: ScopeChangeKind
    points_before: float | None
    points_after: float | None


def points_at_start(
    current: dict[int, float | None], changes: Iterable[LoggedChange]
) -> dict[int, float | None]:
    """Each item's estimate at the sprint's start: its current one with later changes undone."""
    points = dict(current)
    for change in sorted(changes, key=attrgetter("event_id"), reverse=True):
        if change.field == "points":
            points[change.item_id] = change.old_value
    return points


def scope_ledger(
    sprint_number: int,
    committed: set[int],
    start_points: dict[int, float | None],
    changes: Iterable[LoggedChange],
) -> list[ScopeChange]:
    """Replay sprint, points and deletion events (in log order) from the commitment at start.

    `committed` holds the ids of the items in the sprint at start; `start_points` every
    involved item's estimate at that moment. A deleted member counts as removed.
    """
    points = dict(start_points)
    members = set(committed)
    ledger: list[ScopeChange] = []
    for change in changes:
        if change.field == "points":
            before, after = points.get(change.item_id), change.new_value
            points[change.item_id] = after
            if change.item_id in members:
                ledger.append(_entry(change, ScopeChangeKind.RE_ESTIMATED, before, after))
        elif change.field is None and change.item_id in members:
            # A member deleted during the sprint leaves its scope.
            members.discard(change.item_id)
            ledger.append(_entry(change, ScopeChangeKind.REMOVED, points.get(change.item_id), None))
        elif change.field == "sprint":
            joined = change.new_value == sprint_number and change.old_value != sprint_number
            left = change.old_value == sprint_number and change.new_value != sprint_number
            current = points.get(change.item_id)
            if joined:
                members.add(change.item_id)
                ledger.append(_entry(change, ScopeChangeKind.ADDED, None, current))
            elif left:
                members.discard(change.item_id)
                ledger.append(_entry(change, ScopeChangeKind.REMOVED, current, None))
    return ledger


def _entry(
    change: LoggedChange,
    kind: ScopeChangeKind,
    before: float | None,
    after: float | None,
) -> ScopeChange:
    if change.occurred_at is None:
        raise ValueError("the scope ledger needs the log read with times")
    return ScopeChange(
        event_id=change.event_id,
        occurred_at=change.occurred_at,
        actor_id=change.actor_id,
        item_number=change.item_number,
        kind=kind,
        points_before=before,
        points_after=after,
    )
