"""API shapes for project invitations."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.domain.kernel.pagination import Page
from app.domain.projects.models import InvitationState, Role


class InvitationPublic(BaseModel):
    """An invitation to join a project, as its project's owners and its invitee see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    project_key: str = Field(description="The key of the project the invitation is to.")
    project_name: str
    email: str = Field(description="The address invited, lower-cased.")
    role: Role = Field(description="The role the invitee gets on accepting.")
    state: InvitationState = Field(
        description="`pending` until accepted, declined or revoked; `expired` once a pending "
        "invitation is past `expires_at`."
    )
    invited_by: int | None = Field(
        description="The user id of the owner who sent (or last renewed) it; null once their "
        "account is gone."
    )
    invited_by_name: str | None = Field(description="That owner's display name.")
    created_at: datetime
    updated_at: datetime
    expires_at: datetime = Field(
        description="When a pending invitation stops being valid (14 days after it was sent "
        "or last renewed)."
    )
    version: int


class InvitationPage(Page[InvitationPublic]):
    """A page of invitations."""
