"""API shapes for risks, their history and the project's risk trend."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import BodyInt, InputModel, IsoDate
from app.domain.kernel.pagination import Page
from app.domain.risks.models import (
    SCORE_MAX,
    SCORE_MIN,
    TEXT_MAX,
    TITLE_MAX,
    RiskCategory,
    RiskStatus,
)

# Long texts keep their whitespace (markdown); titles are stripped, so a blank one is too short.
Text = Annotated[str, StringConstraints(strip_whitespace=False, max_length=TEXT_MAX)]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]
Score = Annotated[int, Field(strict=True, ge=SCORE_MIN, le=SCORE_MAX)]
# At most this many links of each kind: a risk is tied to a few things, not to a backlog.
MAX_LINKS = 100
Links = Annotated[list[BodyInt], Field(max_length=MAX_LINKS)]

_PROBABILITY = "How likely it is: 1 rare, 2 unlikely, 3 possible, 4 likely, 5 almost certain."
_IMPACT = "How bad it would be: 1 negligible, 2 minor, 3 moderate, 4 major, 5 severe."
_CATEGORY = (
    "`technical`, `schedule`, `budget`, `scope`, `resource` (people, skills, equipment), "
    "`external` (vendors, regulation, other teams) or `other`."
)
_STATUS = (
    "`open` (identified), `mitigating` (the mitigation plan is under way), `occurred` (it "
    "happened: the contingency plan applies) or `closed` (no longer a threat). Open and "
    "mitigating risks count in the open exposure; moves between any two are allowed."
)
_OWNER = "User id of a project member (role member or owner) who answers for it, or null."
_ITEMS = "Numbers of backlog items of the project it threatens; replaces the whole list."
_SPRINTS = "Numbers of sprints of the project it threatens; replaces the whole list."
_RELEASES = "Numbers of releases or milestones of the project it threatens; replaces the list."

_EXAMPLE: dict[str, JsonValue] = {
    "title": "Payment provider changes its API before launch",
    "description": "The provider announced v3; v2 may be switched off in the spring.",
    "category": "external",
    "probability": 3,
    "impact": 4,
    "owner_id": 3,
    "mitigation_plan": "Build against v3 in the sandbox now.",
    "contingency_plan": "Keep the invoice-only checkout ready to switch on.",
    "review_date": "2026-12-15",
    "items": [42],
    "sprints": [7],
    "releases": [2],
}


class RiskCreate(InputModel):
    """A new risk: a title, its probability and impact (1–5 each), and optionally the rest."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {"title": "Lead developer away in March", "probability": 2, "impact": 3},
            ]
        }
    )

    title: Title
    description: Text = Field(default="", description=f"Markdown, at most {TEXT_MAX} characters.")
    category: RiskCategory = Field(default=RiskCategory.OTHER, description=_CATEGORY)
    probability: Score = Field(description=_PROBABILITY)
    impact: Score = Field(description=_IMPACT)
    owner_id: BodyInt | None = Field(default=None, description=_OWNER)
    mitigation_plan: Text = Field(default="", description="How the risk is being made smaller.")
    contingency_plan: Text = Field(default="", description="What to do if it happens.")
    status: RiskStatus = Field(default=RiskStatus.OPEN, description=_STATUS)
    review_date: IsoDate | None = Field(
        default=None, description="When to look at it again, or null."
    )
    items: Links = Field(default_factory=list, description=_ITEMS)
    sprints: Links = Field(default_factory=list, description=_SPRINTS)
    releases: Links = Field(default_factory=list, description=_RELEASES)


class RiskUpdate(InputModel):
    """Changes to a risk: only the fields sent change; null clears owner and review date; a link
    list sent replaces the whole list (`[]` unlinks everything of that kind)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"status": "mitigating", "probability": 2},
                {"impact": 5, "review_date": "2027-01-10"},
                {"sprints": [8, 9], "items": []},
            ]
        }
    )

    title: Title | None = None
    description: Text | None = None
    category: RiskCategory | None = Field(default=None, description=_CATEGORY)
    probability: Score | None = Field(default=None, description=_PROBABILITY)
    impact: Score | None = Field(default=None, description=_IMPACT)
    owner_id: BodyInt | None = Field(default=None, description=_OWNER)
    mitigation_plan: Text | None = None
    contingency_plan: Text | None = None
    status: RiskStatus | None = Field(default=None, description=_STATUS)
    review_date: IsoDate | None = None
    items: Links | None = Field(default=None, description=_ITEMS)
    sprints: Links | None = Field(default=None, description=_SPRINTS)
    releases: Links | None = Field(default=None, description=_RELEASES)


class RiskSummary(BaseModel):
    """A risk, briefly: what a sprint report or a release page lists."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="The risk's number in its project.")
    title: str
    probability: int = Field(description="How likely it is, 1 (rare) to 5 (almost certain).")
    impact: int = Field(description="How bad it would be, 1 (negligible) to 5 (severe).")
    exposure: int = Field(description="probability × impact, 1 to 25.")
    status: RiskStatus
    owner_id: int | None = Field(description="User id of its owner, or null.")
    review_date: date | None = Field(description="When it is next to be reviewed, or null.")


class RiskPublic(BaseModel):
    """A risk: what could go wrong, how likely and how bad, who owns it, and the plans."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="The risk's number in its project.")
    title: str
    description: str
    category: RiskCategory = Field(description=_CATEGORY)
    probability: int = Field(description=_PROBABILITY)
    impact: int = Field(description=_IMPACT)
    exposure: int = Field(description="probability × impact, 1 to 25; lists sort by it.")
    status: RiskStatus = Field(description=_STATUS)
    owner: UserRef | None = Field(description="Who answers for it, or null.")
    mitigation_plan: str
    contingency_plan: str
    review_date: date | None = Field(description="When to look at it again, or null.")
    review_overdue: bool = Field(
        description="Open or mitigating, with a review date before today (today in the "
        "project's time zone)."
    )
    items: list[int] = Field(description="Numbers of the backlog items it is linked to.")
    sprints: list[int] = Field(description="Numbers of the sprints it is linked to.")
    releases: list[int] = Field(description="Numbers of the releases it is linked to.")
    version: int
    created_at: datetime
    updated_at: datetime


class RiskPage(Page[RiskPublic]):
    """A page of risks, by exposure (highest first), then number."""


class RiskEventPublic(BaseModel):
    """One change in a risk's history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: UserRef | None = Field(description="Who made the change (null once they are gone).")
    field: str = Field(
        description="`created` (new value: the risk's fields then), `title`, `description`, "
        "`category`, `probability`, `impact`, `status`, `owner`, `mitigation_plan`, "
        "`contingency_plan`, `review_date`, `items`, `sprints` or `releases`."
    )
    old_value: Any = Field(
        description="Owners by user id, dates ISO, links as sorted lists of numbers."
    )
    new_value: Any


class RiskEventPage(Page[RiskEventPublic]):
    """A page of a risk's history, oldest first."""


class RiskTrendWeek(BaseModel):
    """The open risks at the end of one ISO week."""

    model_config = ConfigDict(from_attributes=True)

    week: str = Field(description="The ISO week, e.g. `2026-W49`.")
    start: date = Field(description="Its Monday.")
    end: date = Field(description="Its Sunday.")
    as_of: datetime = Field(
        description="The moment measured: the end of the Sunday in the project's time zone, "
        "or now for the week under way."
    )
    open_exposure: int = Field(
        description="The sum of the exposure of the risks open or mitigating at `as_of`."
    )
    open_risks: int = Field(description="How many risks were open or mitigating at `as_of`.")


class RiskTrend(BaseModel):
    """Open exposure per ISO week, rebuilt from the risks' history."""

    model_config = ConfigDict(from_attributes=True)

    weeks: list[RiskTrendWeek] = Field(description="Oldest first, one per ISO week.")
