"""API shapes for projects and members."""

import re
from datetime import datetime
from functools import cache
from typing import Annotated
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    field_validator,
    model_validator,
)

from app.domain.kernel.calendar import WEEK_ORDER, Weekday
from app.domain.kernel.inputs import BodyBool, BodyInt, InputModel
from app.domain.kernel.pagination import Page
from app.domain.projects.models import EstimationScale, ProjectPhase, Role

KEY_PATTERN = r"^[A-Z0-9]{2,10}$"
_KEY_RE = re.compile(KEY_PATTERN)


DEFAULT_WORKING_DAYS = [Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU, Weekday.FRI]


@cache
def _known_time_zones() -> frozenset[str]:
    # System zone folders can add aliases that are no IANA zone names.
    return frozenset(available_timezones()) - {"localtime", "posixrules", "Factory"}


def _valid_time_zone(name: str) -> str:
    # Checking the IANA list (not just ZoneInfo(name)) rejects file paths and "localtime".
    if name not in _known_time_zones():
        raise ValueError(f"unknown IANA time zone {name!r}; use a name like 'Europe/Berlin'")
    return name


def _valid_working_days(days: list[Weekday]) -> list[Weekday]:
    if not days:
        raise ValueError("at least one working day is required")
    if len(set(days)) != len(days):
        raise ValueError("working days must not repeat")
    return sorted(days, key=WEEK_ORDER.index)


TimeZoneName = Annotated[str, Field(max_length=64), AfterValidator(_valid_time_zone)]
WorkingDays = Annotated[list[Weekday], AfterValidator(_valid_working_days)]


class ProjectCreate(InputModel):
    """A new project; the caller becomes its owner."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "key": "WEB",
                    "name": "Web shop",
                    "description": "The customer-facing shop: catalogue, cart and checkout.",
                    "estimation_scale": "fibonacci",
                    "sprint_length_days": 14,
                    "working_days": ["mon", "tue", "wed", "thu", "fri"],
                    "time_zone": "Europe/Berlin",
                    "enforce_wip_limits": True,
                },
                {"key": "APP", "name": "Mobile app"},
            ]
        }
    )

    key: str = Field(
        pattern=KEY_PATTERN,
        description="2–10 upper-case letters or digits; immutable.",
        examples=["WEB"],
    )
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=10_000)
    estimation_scale: EstimationScale = EstimationScale.FIBONACCI
    sprint_length_days: BodyInt = Field(default=14, ge=1, le=60)
    working_days: WorkingDays = Field(default_factory=lambda: list(DEFAULT_WORKING_DAYS))
    time_zone: TimeZoneName = "UTC"
    enforce_wip_limits: BodyBool = Field(
        default=False, description="Refuse moves into a status that is at its WIP limit."
    )


class ProjectUpdate(InputModel):
    """Changes to a project's settings; the key cannot change."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"name": "Web shop (EU)", "time_zone": "Europe/Dublin"},
                {"sprint_length_days": 10, "enforce_wip_limits": False},
            ]
        }
    )

    key: str | None = Field(default=None, description="Immutable: any change is rejected.")
    name: str | None = Field(default=None, min_length=1, max_length=120)
    description: str | None = Field(default=None, max_length=10_000)
    estimation_scale: EstimationScale | None = None
    sprint_length_days: BodyInt | None = Field(default=None, ge=1, le=60)
    working_days: WorkingDays | None = None
    time_zone: TimeZoneName | None = None
    enforce_wip_limits: BodyBool | None = None

    @field_validator("key")
    @classmethod
    def _key_is_immutable(cls, value: str | None) -> str | None:
        if value is not None:
            raise ValueError("the project key is immutable")
        return value


class ScaleValuePublic(BaseModel):
    """An allowed estimate."""

    model_config = ConfigDict(from_attributes=True)

    label: str
    value: float


class ProjectPublic(BaseModel):
    """A project as its members see it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    name: str
    description: str
    estimation_scale: EstimationScale
    scale_values: list[ScaleValuePublic]
    sprint_length_days: int
    working_days: list[Weekday]
    time_zone: str
    enforce_wip_limits: bool
    phase: ProjectPhase = Field(
        description="Where the project is in its life (`GET .../phases`); in `closing` and "
        "`post_mortem` it is closed: read-only but for its lifecycle and retros."
    )
    role: Role = Field(description="The caller's role in this project.")
    created_at: datetime
    updated_at: datetime
    version: int


class ProjectPage(Page[ProjectPublic]):
    """A page of projects."""


class MemberAdd(InputModel):
    """Add a user by id, or invite an email address (exactly one of the two)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"email": "grace@example.com", "role": "member"},
                {"user_id": 7, "role": "viewer"},
            ]
        }
    )

    user_id: BodyInt | None = Field(
        default=None, description="Add this user (someone you share a project with) at once."
    )
    email: EmailStr | None = Field(
        default=None,
        description="Invite this address: whoever signs in with it can accept within 14 days.",
    )
    role: Role = Field(default=Role.MEMBER, description="The role in the project.")

    @model_validator(mode="after")
    def _exactly_one_identity(self) -> "MemberAdd":
        if (self.user_id is None) == (self.email is None):
            raise ValueError("give exactly one of user_id or email")
        return self


class MemberUpdate(InputModel):
    """Change a member's role."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "owner"}]})

    role: Role


class MemberPublic(BaseModel):
    """A member of a project."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    email: str
    display_name: str
    role: Role
    created_at: datetime
    version: int


class MemberPage(Page[MemberPublic]):
    """A page of members."""


def is_valid_key(key: str) -> bool:
    """Whether a string is a well-formed project key."""
    return bool(_KEY_RE.fullmatch(key))
