"""The catalogue of public events: each type, its payload (version 1) and its envelope.

docs/events.md describes the same catalogue for people; the OpenAPI document carries these
shapes as components (an activity entry is a union discriminated by `type`). A payload may
gain fields within a version; removing or changing one bumps `version`.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field


class EventType(StrEnum):
    """What happened in a project, as events name it."""

    ITEM_CREATED = "item.created"
    ITEM_UPDATED = "item.updated"
    ITEM_MOVED = "item.moved"
    ITEM_DELETED = "item.deleted"
    COMMENT_CREATED = "comment.created"
    SPRINT_CREATED = "sprint.created"
    SPRINT_UPDATED = "sprint.updated"
    SPRINT_STARTED = "sprint.started"
    SPRINT_COMPLETED = "sprint.completed"
    SPRINT_CANCELLED = "sprint.cancelled"
    SPRINT_SCOPE_CHANGED = "sprint.scope_changed"
    RETRO_CREATED = "retro.created"
    RETRO_PHASE_CHANGED = "retro.phase_changed"
    ACTION_CREATED = "action.created"
    ACTION_COMPLETED = "action.completed"
    ACTION_DROPPED = "action.dropped"
    MEMBER_ADDED = "member.added"
    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"
    PROJECT_PHASE_CHANGED = "project.phase_changed"
    # Only ever sent to a webhook by `POST .../webhooks/{id}/ping`; never in the log.
    WEBHOOK_PING = "webhook.ping"


# The payload of every event is versioned on its own; all are at version 1.
PAYLOAD_VERSION = 1


class _Payload(BaseModel):
    """A payload or a part of one (built from rows: other attributes are ignored)."""


class ItemRef(_Payload):
    """The item an event is about."""

    number: int
    key: str = Field(description="The item's key, e.g. `WEB-42`.")
    title: str


class ItemSnapshot(ItemRef):
    """An item's tracked fields when it was created."""

    type: str
    status_id: int
    status: str = Field(description="The status's name.")
    points: float | None
    priority: str
    labels: list[str]
    assignee_id: int | None
    sprint: int | None = Field(description="The sprint's number.")
    parent: int | None = Field(description="The parent epic's number.")
    release: int | None = Field(description="The release's number.")


class Change(_Payload):
    """A field's value before and after (as the item history shows them)."""

    old: Any
    new: Any


class SprintRef(_Payload):
    """The sprint an event is about."""

    number: int
    name: str
    goal: str
    state: str
    start_date: date | None
    end_date: date | None


class RetroRef(_Payload):
    """A retro, briefly."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    sprint: int | None = Field(description="Number of its sprint; null for a project retro.")


class ActionRef(_Payload):
    """The action item an event is about."""

    number: int
    title: str
    owner_id: int | None
    due_date: date | None
    status: str
    retro: int | None = Field(description="The retro's number it came from.")


class MemberRef(_Payload):
    """The member an event is about."""

    user_id: int
    display_name: str
    role: str | None = Field(description="The role (null once removed).")


class ItemCreated(_Payload):
    """`item.created`: a backlog item was created."""

    item: ItemSnapshot


class ItemUpdated(_Payload):
    """`item.updated`: tracked fields of an item changed, each with its old and new value."""

    item: ItemRef
    changes: dict[str, Change] = Field(
        description="By field: type, title, points, original_estimate and remaining_hours "
        "(hours), priority, labels, assignee (a user id), parent, sprint and release (numbers), "
        "status (a status id)."
    )
    status: str | None = Field(
        default=None, description="The new status's name, when the status changed."
    )


class ItemMoved(_Payload):
    """`item.moved`: an item's rank changed (it moved up or down the backlog)."""

    item: ItemRef
    rank: Change


class ItemDeleted(_Payload):
    """`item.deleted`: an item was deleted."""

    item: ItemRef


class CommentRef(_Payload):
    """A comment."""

    id: int
    body: str
    author_id: int | None


class CommentCreated(_Payload):
    """`comment.created`: a comment was added to an item."""

    item: ItemRef
    comment: CommentRef


class SprintCreated(_Payload):
    """`sprint.created`."""

    sprint: SprintRef


class SprintUpdated(_Payload):
    """`sprint.updated`: a sprint's name, goal or dates changed."""

    sprint: SprintRef
    changes: dict[str, Change]


class SprintStarted(_Payload):
    """`sprint.started`: the commitment is frozen."""

    sprint: SprintRef
    committed_points: float
    committed_items: int


class SprintCompleted(_Payload):
    """`sprint.completed`: the report is frozen."""

    sprint: SprintRef
    committed_points: float | None
    completed_points: float | None
    completed_items: int | None
    carried_over_to: int | None = Field(
        description="The sprint number unfinished items went to (null: the backlog)."
    )


class SprintCancelled(_Payload):
    """`sprint.cancelled`."""

    sprint: SprintRef


class SprintScopeChanged(_Payload):
    """`sprint.scope_changed`: items joined or left an active sprint after it started."""

    sprint: SprintRef
    added: list[int] = Field(description="Numbers of the items that joined.")
    removed: list[int] = Field(description="Numbers of the items that left.")


class RetroCreated(_Payload):
    """`retro.created`."""

    retro: RetroRef


class RetroPhaseChanged(_Payload):
    """`retro.phase_changed`: the facilitator moved the retro to another phase."""

    retro: RetroRef
    old: str
    new: str


class ActionChanged(_Payload):
    """`action.created`, `action.completed` and `action.dropped`."""

    action: ActionRef


class MemberChanged(_Payload):
    """`member.added`, `member.role_changed` and `member.removed`."""

    member: MemberRef


class ProjectPhaseChanged(_Payload):
    """`project.phase_changed`: an owner moved the project to another phase (or reopened it)."""

    old: str
    new: str
    kind: str = Field(description="`advance`, `back` or `reopen`.")


class WebhookPing(_Payload):
    """`webhook.ping`: a test delivery."""

    webhook_id: int


PAYLOADS: dict[EventType, type[BaseModel]] = {
    EventType.ITEM_CREATED: ItemCreated,
    EventType.ITEM_UPDATED: ItemUpdated,
    EventType.ITEM_MOVED: ItemMoved,
    EventType.ITEM_DELETED: ItemDeleted,
    EventType.COMMENT_CREATED: CommentCreated,
    EventType.SPRINT_CREATED: SprintCreated,
    EventType.SPRINT_UPDATED: SprintUpdated,
    EventType.SPRINT_STARTED: SprintStarted,
    EventType.SPRINT_COMPLETED: SprintCompleted,
    EventType.SPRINT_CANCELLED: SprintCancelled,
    EventType.SPRINT_SCOPE_CHANGED: SprintScopeChanged,
    EventType.RETRO_CREATED: RetroCreated,
    EventType.RETRO_PHASE_CHANGED: RetroPhaseChanged,
    EventType.ACTION_CREATED: ActionChanged,
    EventType.ACTION_COMPLETED: ActionChanged,
    EventType.ACTION_DROPPED: ActionChanged,
    EventType.MEMBER_ADDED: MemberChanged,
    EventType.MEMBER_ROLE_CHANGED: MemberChanged,
    EventType.MEMBER_REMOVED: MemberChanged,
    EventType.PROJECT_PHASE_CHANGED: ProjectPhaseChanged,
    EventType.WEBHOOK_PING: WebhookPing,
}


class Actor(BaseModel):
    """Who made the change (null for the system, or a user since deleted)."""

    id: int
    display_name: str


class EventEnvelope(BaseModel):
    """What every event carries, whichever its type."""

    id: int = Field(description="Unique across projects; webhook receivers dedupe by it.")
    seq: int = Field(
        description="The project's event number: 1, 2, 3... in commit order, with no gaps. "
        "The live stream's `id:`."
    )
    type: EventType
    version: int = Field(description="The payload's schema version.")
    project: str = Field(description="The project's key.")
    occurred_at: datetime
    actor: Actor | None
    item: int | None = Field(description="The item's number, when the event is about an item.")
    sprint: int | None = Field(description="The sprint's number, when it is about a sprint.")
    summary: str = Field(description="One readable line, e.g. `Ada moved WEB-42 to Done`.")


class EventPublic(EventEnvelope):
    """An event as the activity feed, the live stream and webhooks carry it."""

    payload: dict[str, Any] = Field(
        description="The type's payload: the `<Type>` components (`ItemCreated`, ...) and "
        "docs/events.md describe each."
    )


P = TypeVar("P", bound=BaseModel)


class TypedEvent(EventEnvelope, Generic[P]):
    """An event of one type with its payload's schema (the OpenAPI `webhooks` use these)."""

    payload: P

    @classmethod
    def model_parametrized_name(cls, params: tuple[Any, ...]) -> str:
        """`ItemCreatedEvent`, not `TypedEvent[ItemCreated]`: plain schema names for SDKs."""
        return f"{params[0].__name__}Event"
