"""Imports every table model so SQLModel.metadata (and Alembic) sees them all."""

from app.domain.estimation.models import EstimationRound, EstimationSession, EstimationVote
from app.domain.items.blockers.models import ItemBlocker
from app.domain.items.models import Comment, Item, ItemEvent
from app.domain.meetings.models import MeetingSchedule
from app.domain.projects.models import Project, ProjectInvitation, ProjectMember
from app.domain.retros.actions.models import ActionEvent, ActionItem
from app.domain.retros.models import Retro, RetroCard, RetroGroup, RetroVote
from app.domain.sprints.models import Sprint, SprintCapacity, SprintCommitment, SprintOutcome
from app.domain.standups.models import StandupEntry
from app.domain.users.models import ApiToken, User
from app.domain.workflow.models import Status
from app.http.idempotency.models import IdempotencyRecord
from app.http.throttle.models import ThrottleBucket

__all__ = [
    "ActionEvent",
    "ActionItem",
    "ApiToken",
    "Comment",
    "EstimationRound",
    "EstimationSession",
    "EstimationVote",
    "IdempotencyRecord",
    "Item",
    "ItemBlocker",
    "ItemEvent",
    "MeetingSchedule",
    "Project",
    "ProjectInvitation",
    "ProjectMember",
    "Retro",
    "RetroCard",
    "RetroGroup",
    "RetroVote",
    "Sprint",
    "SprintCapacity",
    "SprintCommitment",
    "SprintOutcome",
    "StandupEntry",
    "Status",
    "ThrottleBucket",
    "User",
]
