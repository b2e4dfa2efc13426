"""Projects, their members and the invitations to join them."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, DateTime, Index, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    updated_at_field,
    version_field,
)


class EstimationScale(StrEnum):
    """The story-point scales a project can estimate in."""

    FIBONACCI = "fibonacci"
    POWERS_OF_TWO = "powers_of_two"
    LINEAR = "linear"
    TSHIRT = "tshirt"


class Role(StrEnum):
    """A member's role in one project; later roles include the earlier ones' rights."""

    VIEWER = "viewer"
    MEMBER = "member"
    OWNER = "owner"

    @property
    def rank(self) -> int:
        """Ordering used for `at least this role` checks."""
        return _ROLE_RANK[self]


_ROLE_RANK = {Role.VIEWER: 0, Role.MEMBER: 1, Role.OWNER: 2}


class ProjectPhase(StrEnum):
    """Where a project is in its life; `closing` and `post_mortem` are the closed phases."""

    KICKOFF = "kickoff"
    PLANNING = "planning"
    EXECUTION = "execution"
    CLOSING = "closing"
    POST_MORTEM = "post_mortem"

    @property
    def position(self) -> int:
        """1 for kickoff ... 5 for post-mortem."""
        return PHASE_ORDER.index(self) + 1

    @property
    def next(self) -> "ProjectPhase | None":
        """The phase after this one (None after the post-mortem)."""
        return PHASE_ORDER[self.position] if self.position < len(PHASE_ORDER) else None

    @property
    def previous(self) -> "ProjectPhase | None":
        """The phase before this one (None before the kick-off)."""
        return PHASE_ORDER[self.position - 2] if self.position > 1 else None

    @property
    def is_closed(self) -> bool:
        """Whether the project is closed (read-only but for its lifecycle and retros)."""
        return self in (ProjectPhase.CLOSING, ProjectPhase.POST_MORTEM)

    @property
    def has_gate(self) -> bool:
        """Whether moving into this phase goes through a gate (all but the first phase)."""
        return self is not ProjectPhase.KICKOFF


PHASE_ORDER: tuple[ProjectPhase, ...] = tuple(ProjectPhase)
PHASE_VALUES = ", ".join(f"'{phase.value}'" for phase in PHASE_ORDER)


class Project(SQLModel, table=True):
    """A team's workspace, addressed by its immutable key."""

    __tablename__ = "projects"
    __table_args__ = (
        CheckConstraint("key ~ '^[A-Z0-9]{2,10}$'", name="key_format"),
        CheckConstraint("sprint_length_days BETWEEN 1 AND 60", name="sprint_length"),
        CheckConstraint(f"phase IN ({PHASE_VALUES})", name="phase_valid"),
    )

    id: int | None = id_field()
    key: str = Field(sa_type=String(10), unique=True)
    name: str = Field(sa_type=String(120))
    description: str = Field(default="", sa_type=Text)
    estimation_scale: EstimationScale = enum_field(EstimationScale, EstimationScale.FIBONACCI, 20)
    sprint_length_days: int = Field(default=14)
    working_days: list[str] = Field(sa_column=Column(ARRAY(String(3)), nullable=False))
    time_zone: str = Field(default="UTC", sa_type=String(64))
    enforce_wip_limits: bool = Field(default=False, sa_column_kwargs={"server_default": "false"})
    # Where the project is in its life (app.domain.projects.lifecycle); closed phases are
    # read-only but for the lifecycle routes and retros.
    phase: ProjectPhase = enum_field(ProjectPhase, ProjectPhase.KICKOFF, 12)
    # The last item number handed out; bumped with UPDATE ... RETURNING so numbers never repeat.
    next_item_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_sprint_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_retro_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_action_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_release_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    next_risk_number: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class ProjectMember(SQLModel, table=True):
    """A user's role in a project."""

    __tablename__ = "project_members"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'member', 'viewer')", name="role_valid"),
        Index("ix_project_members_user_id", "user_id"),
    )

    project_id: int = fk_field("projects.id", primary_key=True)
    user_id: int = fk_field("users.id", primary_key=True)
    role: Role = enum_field(Role, None, 10)
    version: int = version_field()
    created_at: datetime = created_at_field()


class InvitationState(StrEnum):
    """Where an invitation stands; `expired` is never stored, it is a pending one past expiry."""

    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    REVOKED = "revoked"
    EXPIRED = "expired"

    def at(self, expires_at: datetime, now: datetime) -> "InvitationState":
        """The state as of `now`: a stored `pending` past its expiry reads as `expired`."""
        if self is InvitationState.PENDING and expires_at <= now:
            return InvitationState.EXPIRED
        return self


class ProjectInvitation(SQLModel, table=True):
    """An invitation to join a project with a role, addressed to an email, not to an account."""

    __tablename__ = "project_invitations"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'member', 'viewer')", name="role_valid"),
        CheckConstraint(
            "state IN ('pending', 'accepted', 'declined', 'revoked')", name="state_valid"
        ),
        # One open invitation per address and project: inviting again refreshes it.
        Index(
            "uq_project_invitations_pending_email",
            "project_id",
            "email",
            unique=True,
            postgresql_where=text("state = 'pending'"),
        ),
        Index("ix_project_invitations_project_id_id", "project_id", "id"),
        # The invitee's inbox (GET /me/invitations) reads by address.
        Index(
            "ix_project_invitations_pending_by_email",
            "email",
            "id",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    email: str = Field(sa_type=String(320))
    role: Role = enum_field(Role, None, 10)
    state: InvitationState = enum_field(InvitationState, InvitationState.PENDING, 10)
    invited_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
