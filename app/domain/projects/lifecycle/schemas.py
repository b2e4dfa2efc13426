"""API shapes for the lifecycle: phases and gates, sign-offs, moves, handing over, closings."""

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.domain.kernel.inputs import ID_MAX, ID_MIN, BodyBool, BodyInt, InputModel
from app.domain.kernel.pagination import Page
from app.domain.projects.lifecycle.models import COMMENT_MAX, MAX_APPROVERS, Decision
from app.domain.projects.models import ProjectPhase
from app.domain.projects.schemas import MemberPublic

UserId = Annotated[BodyInt, Field(ge=ID_MIN, le=ID_MAX)]


class PhaseMove(InputModel):
    """The phase to move to: the next one (through its gate), or the previous open one."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"phase": "planning"}]})

    phase: ProjectPhase


class ApproversReplace(InputModel):
    """The whole list of approvers of a gate; an empty list removes the gate's approvers."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_ids": [3, 7]}, {"user_ids": []}]}
    )

    user_ids: list[UserId] = Field(
        max_length=MAX_APPROVERS,
        description="Members with the member or owner role, at most 20, each once.",
    )


class SignoffCreate(InputModel):
    """An approver's decision on the gate into a phase; a rejection needs a comment."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"decision": "approved", "comment": "Scope and budget agreed."},
                {"decision": "rejected", "comment": "The test plan is missing."},
            ]
        }
    )

    decision: Decision
    comment: str = Field(default="", max_length=COMMENT_MAX)


class OwnershipTransfer(InputModel):
    """Hand the project to another member."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"user_id": 7}, {"user_id": 7, "stay_owner": True}]}
    )

    user_id: UserId = Field(description="A current member (any role); they become an owner.")
    stay_owner: BodyBool = Field(
        default=False,
        description="Keep your owner role as well; by default you become a member.",
    )


class ApproverPublic(BaseModel):
    """An approver of a gate and their latest decision in its current round."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    display_name: str
    decision: Decision | None = Field(
        description="Null while they have not signed off (or the gate is not the next one)."
    )
    comment: str | None
    decided_at: datetime | None


class GatePublic(BaseModel):
    """The gate into a phase: who must approve, and where their sign-offs stand."""

    model_config = ConfigDict(from_attributes=True)

    phase: ProjectPhase = Field(description="The phase this gate leads into.")
    accepting_signoffs: bool = Field(
        description="Whether this is the gate into the next phase: the only one approvers sign."
    )
    approvers: list[ApproverPublic] = Field(
        description="Empty: the owner's move into the phase is the sign-off."
    )
    pending: list[int] = Field(description="User ids of approvers who have not signed off.")
    rejected: list[int] = Field(description="User ids of approvers whose latest decision is no.")
    ready: bool = Field(
        description="Whether an owner's move into this phase would pass the gate now."
    )


class PhaseStepPublic(BaseModel):
    """One phase of the project's life."""

    model_config = ConfigDict(from_attributes=True)

    phase: ProjectPhase
    position: int = Field(description="1 (kickoff) to 5 (post_mortem).")
    state: Literal["done", "current", "upcoming"]
    gate: GatePublic | None = Field(description="Null for the kickoff, which has no gate.")


class LifecyclePublic(BaseModel):
    """Where the project is in its life and the gates ahead of it."""

    model_config = ConfigDict(from_attributes=True)

    phase: ProjectPhase
    closed: bool = Field(
        description="In `closing` or `post_mortem`: read-only but for the lifecycle and retros."
    )
    since: datetime = Field(description="When the project entered its current phase.")
    next_phase: ProjectPhase | None = Field(description="Where a move forward goes.")
    previous_phase: ProjectPhase | None = Field(
        description="Where a step back goes; null in the kickoff and while closed (reopen)."
    )
    phases: list[PhaseStepPublic]
    version: int = Field(description="The project's version (moves bump it).")


class SignoffPublic(BaseModel):
    """One decision of an approver on a gate."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    phase: ProjectPhase
    user_id: int | None = Field(description="The approver (null if their account is gone).")
    display_name: str | None
    decision: Decision
    comment: str
    current: bool = Field(
        description="Whether it counts: made since the project last changed phase. A passed "
        "gate, or one left by a step back, needs new sign-offs."
    )
    created_at: datetime


class SignoffPage(Page[SignoffPublic]):
    """A page of sign-offs, oldest first."""


class TransferPublic(BaseModel):
    """The two memberships a hand-over changed."""

    model_config = ConfigDict(from_attributes=True)

    previous_owner: MemberPublic
    new_owner: MemberPublic


# --- the closing summary (kept as JSON in the closing's row) --------------------------------


class VelocityFigures(BaseModel):
    """Completed story points per completed sprint."""

    mean: float | None = Field(description="Mean over every completed sprint; null if none.")
    last: float | None = Field(description="The last completed sprint's; null if none.")


class ShippedRelease(BaseModel):
    """A release that shipped."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    released_on: date | None


class BudgetFigures(BaseModel):
    """The budget against what was spent (decimals as strings; null where not set)."""

    planned_hours: str | None
    spent_hours: str | None
    planned_amount: str | None
    spent_amount: str | None
    currency: str | None


class OccurredRisk(BaseModel):
    """A risk that occurred."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    exposure: int


class ActionFigures(BaseModel):
    """How the retro action items were followed up."""

    total: int
    done: int
    dropped: int
    open: int
    completion_rate: float | None = Field(description="done / total; null without actions.")


class ClosingFigures(BaseModel):
    """What a project had achieved when it closed."""

    sprints_completed: int
    velocity: VelocityFigures
    releases_shipped: list[ShippedRelease]
    budget: BudgetFigures | None = Field(
        description="Owners only: null for the other roles, as budgets and rates are."
    )
    risks_occurred: list[OccurredRisk] = Field(description="By exposure, highest first.")
    actions: ActionFigures


class ClosingSummaryPublic(ClosingFigures):
    """One closing of the project, with the figures kept at that moment."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="1 for the first closing, 2 after a reopening, ...")
    closed_at: datetime
    closed_by: int | None = Field(description="The owner who closed it (user id).")
    reopened_at: datetime | None
    reopened_by: int | None
    post_mortem_retro: int | None = Field(
        description="Number of the post-mortem retro this closing opened."
    )


class ClosingSummaryPage(Page[ClosingSummaryPublic]):
    """A page of closings, newest first."""
