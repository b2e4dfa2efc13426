"""What a sprint's lifecycle publishes: sprint.created, updated, started, completed, cancelled."""

from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import (
    Change,
    EventType,
    SprintCancelled,
    SprintCompleted,
    SprintCreated,
    SprintRef,
    SprintStarted,
    SprintUpdated,
)
from app.domain.projects.access import ProjectAccess
from app.domain.sprints.models import Sprint

_VERBS = {
    EventType.SPRINT_CREATED: "planned",
    EventType.SPRINT_UPDATED: "changed",
    EventType.SPRINT_STARTED: "started",
    EventType.SPRINT_COMPLETED: "completed",
    EventType.SPRINT_CANCELLED: "cancelled",
}


def publish(
    session: AsyncSession,
    access: ProjectAccess,
    sprint: Sprint,
    event_type: EventType,
    changes: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    """Publish one step of a sprint's life (`changes`: field -> (old, new), for updates)."""
    ref = SprintRef.model_validate(sprint, from_attributes=True)
    payload: BaseModel
    if event_type == EventType.SPRINT_UPDATED:
        payload = SprintUpdated(
            sprint=ref,
            changes={
                name: Change(old=old, new=new) for name, (old, new) in (changes or {}).items()
            },
        )
    elif event_type == EventType.SPRINT_STARTED:
        payload = SprintStarted(
            sprint=ref,
            committed_points=sprint.committed_points or 0.0,
            committed_items=sprint.committed_items or 0,
        )
    elif event_type == EventType.SPRINT_COMPLETED:
        payload = SprintCompleted(
            sprint=ref,
            committed_points=sprint.committed_points,
            completed_points=sprint.completed_points,
            completed_items=sprint.completed_items,
            carried_over_to=sprint.carried_over_to,
        )
    elif event_type == EventType.SPRINT_CANCELLED:
        payload = SprintCancelled(sprint=ref)
    else:
        payload = SprintCreated(sprint=ref)
    summary = f"{events.actor_name(access.user.display_name)} {_VERBS[event_type]} {sprint.name}"
    if event_type == EventType.SPRINT_UPDATED:
        summary += f": {', '.join(changes or {})}"
    events.publish(
        session,
        access.project_id,
        event_type,
        payload,
        actor_id=access.user.id,
        summary=summary,
        sprint=sprint.number,
    )
