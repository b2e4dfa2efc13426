"""Where ids hide in values that are no foreign key: JSON documents, logs and texts.

Each rule walks one column's value and hands every id it holds to a `Remap`: on export one
that notes the people named (they go into the archive's `users`), on import one that first
notes the ids to allocate, then one that rewrites them. A rule is written once for all three,
so what export lists, import allocates and rewrites are the same places.
"""

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from fractional_indexing import BASE_62_DIGITS, FIError, validate_order_key

from app.domain.archive.codecs import BadValue
from app.domain.events.catalogue import PAYLOADS, EventType

USERS = "users"


class Remap(Protocol):
    """What a rule does with the ids and keys it finds."""

    def user(self, value: Any, *, required: bool = False) -> Any:
        """A person by their archive ref (`required`: the document needs a number, not null)."""

    def ref(self, table: str, value: Any) -> Any:
        """The id of a row of `table`, which may since have been deleted."""

    def key(self, value: Any) -> Any:
        """An item key (`WEB-42`), as a whole string."""

    def keys_in(self, value: Any) -> Any:
        """A text the system wrote that may name the project by its key, alone or in an item's
        key (`Ada moved WEB-42 to Done`, `Ada moved WEB to execution`)."""


# (value, the row it is in, remap) -> the value with its ids remapped.
Rule = Callable[[Any, Mapping[str, Any], Remap], Any]


def _field_values(ids: Mapping[str, str], keys: frozenset[str] = frozenset()) -> Rule:
    """A log's old or new value, read by the row's `field`: a snapshot (a dict of fields) for
    `created` and `deleted`, else the one field's value."""

    def one(name: str, value: Any, remap: Remap) -> Any:
        target = ids.get(name)
        if target == USERS:
            return remap.user(value)
        if target is not None:
            return remap.ref(target, value)
        if name in keys:
            return remap.key(value)
        return value

    def rule(value: Any, row: Mapping[str, Any], remap: Remap) -> Any:
        field = row.get("field")
        if (field is None or field == "created") and isinstance(value, dict):
            return {name: one(name, entry, remap) for name, entry in value.items()}
        if isinstance(field, str):
            return one(field, value, remap)
        return value

    return rule


# Item history (items.events.TRACKED): assignees by user id, statuses by id; parents and
# sprints by number. A created or deleted event holds a snapshot with the same names.
_item_event_value = _field_values({"assignee": USERS, "status": "statuses"})
# Action history: owners by user id, the backlog item made from it by key.
_action_event_value = _field_values({"owner": USERS}, frozenset({"item"}))
# Risk history: owners by user id; linked items, sprints and releases by number.
_risk_event_value = _field_values({"owner": USERS})


def _dict(value: Any, name: str) -> dict[str, Any] | None:
    """`value[name]` when both are objects (payloads are walked where they have the part)."""
    if isinstance(value, dict):
        found = value.get(name)
        if isinstance(found, dict):
            return found
    return None


def _payload(value: Any, row: Mapping[str, Any], remap: Remap) -> Any:
    """A public event's payload (events.catalogue): the ids and keys of its version 1."""
    if not isinstance(value, dict):
        return value
    payload = dict(value)
    kind = row.get("type")
    item = _dict(payload, "item")
    if item is not None:
        item = payload["item"] = dict(item)
        if "key" in item:
            item["key"] = remap.key(item["key"])
        if "status_id" in item:
            item["status_id"] = remap.ref("statuses", item["status_id"])
        if "assignee_id" in item:
            item["assignee_id"] = remap.user(item["assignee_id"])
    changes = _dict(payload, "changes")
    if kind == EventType.ITEM_UPDATED and changes is not None:
        changes = payload["changes"] = dict(changes)
        for name, target in (("assignee", USERS), ("status", "statuses")):
            change = _dict(changes, name)
            if change is None:
                continue
            changes[name] = {
                side: (remap.user(entry) if target == USERS else remap.ref(target, entry))
                if side in ("old", "new")
                else entry
                for side, entry in change.items()
            }
    comment = _dict(payload, "comment")
    if comment is not None:
        comment = payload["comment"] = dict(comment)
        if "id" in comment:
            comment["id"] = remap.ref("comments", comment["id"])
        if "author_id" in comment:
            comment["author_id"] = remap.user(comment["author_id"])
    action = _dict(payload, "action")
    if action is not None and "owner_id" in action:
        payload["action"] = {**action, "owner_id": remap.user(action["owner_id"])}
    member = _dict(payload, "member")
    if member is not None and "user_id" in member:
        payload["member"] = {**member, "user_id": remap.user(member["user_id"], required=True)}
    return payload


def _workload_items(items: Any, remap: Remap) -> Any:
    if not isinstance(items, list):
        return items
    return [
        {**entry, "key": remap.key(entry["key"])}
        if isinstance(entry, dict) and "key" in entry
        else entry
        for entry in items
    ]


def _workload(value: Any, row: Mapping[str, Any], remap: Remap) -> Any:
    """A sprint's workload as kept at completion (sprints.workload.schemas.WorkloadBody)."""
    if not isinstance(value, dict):
        return value
    kept = dict(value)
    members = kept.get("members")
    if isinstance(members, list):
        kept["members"] = [
            {
                **member,
                "user_id": remap.user(member.get("user_id"), required=True),
                "items": _workload_items(member.get("items"), remap),
            }
            if isinstance(member, dict)
            else member
            for member in members
        ]
    over = kept.get("over_allocated")
    if isinstance(over, list):
        kept["over_allocated"] = [remap.user(user, required=True) for user in over]
    unassigned = _dict(kept, "unassigned")
    if unassigned is not None:
        kept["unassigned"] = {
            **unassigned,
            "items": _workload_items(unassigned.get("items"), remap),
        }
    return kept


def _summary(value: Any, row: Mapping[str, Any], remap: Remap) -> Any:
    return remap.keys_in(value)


# (table, column) -> its rule. `tests/api/test_export_import.py` checks that every JSON, array
# and unreferenced bigint column of an exported table is named here or in format.PLAIN.
RULES: dict[tuple[str, str], Rule] = {
    ("item_events", "old_value"): _item_event_value,
    ("item_events", "new_value"): _item_event_value,
    ("action_events", "old_value"): _action_event_value,
    ("action_events", "new_value"): _action_event_value,
    ("action_events", "via"): _summary,
    ("risk_events", "old_value"): _risk_event_value,
    ("risk_events", "new_value"): _risk_event_value,
    ("project_events", "payload"): _payload,
    ("project_events", "summary"): _summary,
    ("sprints", "workload"): _workload,
}


# Pings go to webhooks only, never into the log.
_LOGGED_TYPES = frozenset(kind.value for kind in EventType if kind != EventType.WEBHOOK_PING)


def check_event(row: Mapping[str, Any]) -> tuple[str, BadValue] | None:
    """A public event the activity feed can show: a known type with its payload's shape."""
    kind = row.get("type")
    if kind not in _LOGGED_TYPES:
        return "type", BadValue("Not an event type of the catalogue (docs/events.md).", "enum")
    model = PAYLOADS[EventType(kind)]
    try:
        model.model_validate(row.get("payload"))
    except ValueError as exc:
        return "payload", BadValue(f"Not a {kind} payload: {exc}".splitlines()[0], "payload")
    return None


def check_rank(row: Mapping[str, Any]) -> tuple[str, BadValue] | None:
    """A backlog rank the ranking can place items around: a base-62 fractional index."""
    rank = row.get("rank")
    bad = BadValue("Not a rank key (a base-62 fractional index, e.g. `a0`).", "rank")
    if not isinstance(rank, str) or not rank or not set(rank) <= _BASE_62:
        return "rank", bad
    try:
        validate_order_key(rank)
    except FIError:
        return "rank", bad
    return None


_BASE_62 = frozenset(BASE_62_DIGITS)

# Rows the readers rely on beyond their columns' types, by table: (column, problem) or None.
CHECKS: dict[str, Callable[[Mapping[str, Any]], tuple[str, BadValue] | None]] = {
    "project_events": check_event,
    "items": check_rank,
}
