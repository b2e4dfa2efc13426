"""Follow-up figures of action items: how many were done, dropped or are open, and how fast."""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from statistics import median
from typing import Literal, TypeVar

K = TypeVar("K", bound=Hashable)

ActionState = Literal["open", "done", "dropped"]


@dataclass(frozen=True)
class ActionFacts:
    """One action item as the figures see it: its status and its days (project time zone)."""

    status: ActionState
    created_on: date
    # The day it was done; None unless done.
    done_on: date | None = None


@dataclass(frozen=True)
class ActionTally:
    """Counts over some action items, the share done, and the median days to close."""

    created: int
    done: int
    dropped: int
    open: int
    completion_rate: float | None
    median_days_to_close: float | None


def tally(actions: Iterable[ActionFacts]) -> ActionTally:
    """The figures of a set of action items.

    completion_rate = done / created (None when there are none); median_days_to_close = the
    median over done actions of (done_on − created_on) in calendar days (None when none is done).
    """
    facts = list(actions)
    counts = {state: sum(1 for fact in facts if fact.status == state) for state in _STATES}
    days = [
        (fact.done_on - fact.created_on).days
        for fact in facts
        if fact.status == "done" and fact.done_on is not None
    ]
    return ActionTally(
        created=len(facts),
        done=counts["done"],
        dropped=counts["dropped"],
        open=counts["open"],
        completion_rate=counts["done"] / len(facts) if facts else None,
        median_days_to_close=float(median(days)) if days else None,
    )


_STATES: tuple[ActionState, ...] = ("open", "done", "dropped")


def tally_by(groups: Iterable[K], actions: Iterable[tuple[K, ActionFacts]]) -> dict[K, ActionTally]:
    """The figures per group (every group named in `groups`, empty ones included)."""
    grouped: dict[K, list[ActionFacts]] = {group: [] for group in groups}
    for group, fact in actions:
        grouped.setdefault(group, []).append(fact)
    return {group: tally(facts) for group, facts in grouped.items()}
