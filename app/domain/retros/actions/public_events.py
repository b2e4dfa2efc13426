"""What action items publish: action.created, action.completed, action.dropped."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import ActionChanged, ActionRef, EventType

_VERBS = {
    EventType.ACTION_CREATED: "created",
    EventType.ACTION_COMPLETED: "completed",
    EventType.ACTION_DROPPED: "dropped",
}


def publish(
    session: AsyncSession,
    project_id: int,
    event_type: EventType,
    action: ActionRef,
    *,
    actor_id: int | None,
    actor: str | None,
    via: str | None = None,
) -> None:
    """Publish an action item's creation or closing (`via`: the item that finished it)."""
    who = f"{actor} " if actor else ""
    summary = f"{who}{_VERBS[event_type]} action {action.number} “{action.title}”"
    if via:
        summary += f" (via {via})"
    events.publish(
        session,
        project_id,
        event_type,
        ActionChanged(action=action),
        actor_id=actor_id,
        summary=summary[0].upper() + summary[1:],
    )
