"""API shapes for releases and milestones, their scope and forecast, and the roadmap."""

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from app.domain.forecast.schemas import PercentileForecast
from app.domain.kernel.inputs import InputModel, IsoDate
from app.domain.kernel.pagination import Page
from app.domain.releases.models import DESCRIPTION_MAX, NAME_MAX, ReleaseKind, ReleaseState
from app.domain.risks.schemas import RiskSummary

Name = Annotated[str, Field(min_length=1, max_length=NAME_MAX)]
# Descriptions keep their whitespace (markdown).
Description = Annotated[str, StringConstraints(strip_whitespace=False, max_length=DESCRIPTION_MAX)]

_KIND = "`release` ships something; `milestone` is a checkpoint on the roadmap that ships nothing."
_START = "The day work on it starts, or null."
_TARGET = "The day it is due, or null; never before `start_date`."
_EXAMPLE: dict[str, JsonValue] = {
    "name": "2.0 — saved cards",
    "description": "Checkout with saved cards, on web and mobile.",
    "start_date": "2026-01-05",
    "target_date": "2026-03-27",
}


class ReleaseCreate(InputModel):
    """A new release or milestone: a name (unique in the project, whatever its case), a kind,
    and optionally a description, a start date and a target date."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {"name": "Beta sign-off", "kind": "milestone", "target_date": "2026-02-13"},
            ]
        }
    )

    name: Name
    kind: ReleaseKind = Field(default=ReleaseKind.RELEASE, description=_KIND)
    description: Description = Field(default="", description="Markdown.")
    start_date: IsoDate | None = Field(default=None, description=_START)
    target_date: IsoDate | None = Field(default=None, description=_TARGET)


class ReleaseUpdate(InputModel):
    """Changes to a release: only the fields sent change; null clears a date."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"target_date": "2026-04-10"},
                {"state": "archived"},
                {"name": "2.0", "kind": "release", "start_date": None},
            ]
        }
    )

    name: Name | None = None
    kind: ReleaseKind | None = Field(default=None, description=_KIND)
    description: Description | None = None
    start_date: IsoDate | None = Field(default=None, description=_START)
    target_date: IsoDate | None = Field(default=None, description=_TARGET)
    state: ReleaseState | None = Field(
        default=None,
        description="`archived` hides a planned or released release from the roadmap; "
        "`planned` reopens an archived release or un-releases a released one (its release "
        "date is cleared); `released` brings back an archived release that had shipped. "
        "Releasing is `POST .../release`.",
    )


class ReleaseRecord(InputModel):
    """The day a release shipped (or a milestone was reached)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"released_on": "2026-03-26"}, {}]})

    released_on: IsoDate | None = Field(
        default=None,
        description="The day it shipped, not after today; default today in the project's time "
        "zone.",
    )


class ReleaseScopePublic(BaseModel):
    """The work in a release: its items and the children of its epics, counted now."""

    model_config = ConfigDict(from_attributes=True)

    items: int = Field(
        description="Items in scope (epics are containers and do not count themselves)."
    )
    points: float = Field(description="Their points (unestimated items count 0).")
    done_items: int = Field(description="Items in scope whose status is in the done category.")
    done_points: float = Field(description="Their points.")
    remaining_items: int = Field(description="Items in scope not done yet.")
    remaining_points: float = Field(description="Their points: what the forecast counts.")
    unestimated_items: int = Field(
        description="Remaining items without an estimate: the forecast leaves them out."
    )


class ReleaseForecastPublic(BaseModel):
    """When the release's remaining points will be done, and how likely by its target date."""

    model_config = ConfigDict(from_attributes=True)

    seed: int = Field(description="Send it back as `seed` to repeat this exact run.")
    trials: int
    history_sprints: int = Field(
        description="How many of the latest completed sprints were sampled."
    )
    forecast_date: date = Field(description="Today in the project's time zone.")
    remaining_points: float = Field(description="The points simulated (remaining, estimated).")
    unestimated_left_out: int = Field(description="Remaining items without an estimate.")
    percentiles: list[PercentileForecast] = Field(
        description="Sprints needed and the completion date at 50, 70, 85 and 95 %."
    )
    target_date: date | None
    target_sprints: int | None = Field(
        description="How many of the coming sprints end on or before the target date (0 when "
        "none does); null without a target date."
    )
    target_probability: float | None = Field(
        description="Share of trials done within those sprints, 0 to 1: the probability of "
        "meeting the target date. Null without a target date."
    )


class ReleasePublic(BaseModel):
    """A release or milestone, with the scope it holds now."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="The release's number in its project.")
    kind: ReleaseKind
    name: str
    description: str
    state: ReleaseState
    start_date: date | None
    target_date: date | None
    released_on: date | None = Field(
        description="The day it shipped (or was reached), in the project's time zone."
    )
    released_at: datetime | None = Field(description="When that was recorded.")
    scope: ReleaseScopePublic
    version: int
    created_at: datetime
    updated_at: datetime


class ReleaseDetailPublic(ReleasePublic):
    """A release with its forecast and the open risks linked to it."""

    forecast: ReleaseForecastPublic | None = Field(
        description="Null when there is nothing to forecast; `forecast_unavailable` says why."
    )
    forecast_unavailable: str | None = Field(
        description="Why there is no forecast (shipped, archived, or too little history)."
    )
    risks: list[RiskSummary] = Field(
        description="Open and mitigating risks linked to it, by exposure, highest first."
    )


class ReleasePage(Page[ReleasePublic]):
    """A page of releases and milestones, by number."""


class RoadmapProgress(BaseModel):
    """How far a release is: done and total points and items of its scope."""

    model_config = ConfigDict(from_attributes=True)

    done_points: float
    points: float
    done_items: int
    items: int
    unestimated_items: int = Field(description="Remaining items without an estimate.")


class RoadmapConfidence(BaseModel):
    """The forecast of one roadmap entry, briefly."""

    model_config = ConfigDict(from_attributes=True)

    target_probability: float | None = Field(
        description="The probability of meeting the target date, 0 to 1; null without one."
    )
    date_85: date | None = Field(
        description="The day the scope is done with 85 % confidence (null beyond 1,000 sprints)."
    )
    sprints_85: int | None = Field(description="The sprints that takes.")


class RoadmapEntry(BaseModel):
    """One release or milestone on the roadmap."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    kind: ReleaseKind
    name: str
    state: ReleaseState
    start_date: date | None
    target_date: date | None
    released_on: date | None
    progress: RoadmapProgress
    confidence: RoadmapConfidence | None = Field(
        description="Null for released and archived entries, and without enough history."
    )


class RoadmapPublic(BaseModel):
    """Releases and milestones in date order, with progress and forecast confidence."""

    model_config = ConfigDict(from_attributes=True)

    entries: list[RoadmapEntry] = Field(
        description="By target date (undated last), then number; archived only when asked."
    )
    forecast_date: date = Field(description="Today in the project's time zone.")
    seed: int = Field(description="The seed every entry's forecast used.")
    trials: int
    history_sprints: int = Field(description="Completed sprints sampled (0 without a forecast).")
    forecast_unavailable: str | None = Field(
        description="Why no entry has a confidence (too little history), or null."
    )
