"""Imports every table model so SQLModel.metadata (and Alembic) sees them all."""

from app.domain.items.models import Comment, Item, ItemEvent
from app.domain.projects.models import Project, ProjectInvitation, ProjectMember
from app.domain.retros.models import Retro
from app.domain.sprints.models import Sprint, SprintCapacity, SprintCommitment, SprintOutcome
from app.domain.users.models import ApiToken, User
from app.domain.workflow.models import Status
from app.http.idempotency.models import IdempotencyRecord
from app.http.throttle.models import ThrottleBucket

__all__ = [
    "ApiToken",
    "Comment",
    "IdempotencyRecord",
    "Item",
    "ItemEvent",
    "Project",
    "ProjectInvitation",
    "ProjectMember",
    "Retro",
    "Sprint",
    "SprintCapacity",
    "SprintCommitment",
    "SprintOutcome",
    "Status",
    "ThrottleBucket",
    "User",
]
