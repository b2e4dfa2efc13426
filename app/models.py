"""Imports every table model so SQLModel.metadata (and Alembic) sees them all."""

from app.domain.budgets.models import Budget, MemberRate
from app.domain.estimation.models import EstimationRound, EstimationSession, EstimationVote
from app.domain.events.models import EventSequence, ProjectEvent
from app.domain.items.blockers.models import ItemBlocker
from app.domain.items.models import Comment, Item, ItemEvent
from app.domain.meetings.models import MeetingSchedule
from app.domain.notifications.models import ItemWatcher, Notification, NotificationPreference
from app.domain.projects.lifecycle.models import (
    GateApprover,
    PhaseChange,
    PhaseSignoff,
    ProjectClosing,
)
from app.domain.projects.models import Project, ProjectInvitation, ProjectMember
from app.domain.releases.models import Release
from app.domain.retros.actions.models import ActionEvent, ActionItem
from app.domain.retros.models import Retro, RetroCard, RetroGroup, RetroVote
from app.domain.risks.models import Risk, RiskEvent, RiskLink
from app.domain.sprints.models import Sprint, SprintCapacity, SprintCommitment, SprintOutcome
from app.domain.standups.models import StandupEntry
from app.domain.streams.models import StreamTicket
from app.domain.timesheets.models import Worklog
from app.domain.users.models import ApiToken, User
from app.domain.webhooks.models import Webhook, WebhookDelivery
from app.domain.workflow.models import Status
from app.http.idempotency.models import IdempotencyRecord
from app.http.throttle.models import ThrottleBucket

__all__ = [
    "ActionEvent",
    "ActionItem",
    "ApiToken",
    "Budget",
    "Comment",
    "EstimationRound",
    "EstimationSession",
    "EstimationVote",
    "EventSequence",
    "GateApprover",
    "IdempotencyRecord",
    "Item",
    "ItemBlocker",
    "ItemEvent",
    "ItemWatcher",
    "MeetingSchedule",
    "MemberRate",
    "Notification",
    "NotificationPreference",
    "PhaseChange",
    "PhaseSignoff",
    "Project",
    "ProjectClosing",
    "ProjectEvent",
    "ProjectInvitation",
    "ProjectMember",
    "Release",
    "Retro",
    "RetroCard",
    "RetroGroup",
    "RetroVote",
    "Risk",
    "RiskEvent",
    "RiskLink",
    "Sprint",
    "SprintCapacity",
    "SprintCommitment",
    "SprintOutcome",
    "StandupEntry",
    "Status",
    "StreamTicket",
    "ThrottleBucket",
    "User",
    "Webhook",
    "WebhookDelivery",
    "Worklog",
]
