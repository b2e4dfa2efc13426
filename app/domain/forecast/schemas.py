"""API shapes for the Monte Carlo forecast."""

from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class ForecastScope(StrEnum):
    """What work a forecast is about."""

    BACKLOG = "backlog"
    EPIC = "epic"
    RELEASE = "release"


class ForecastUnit(StrEnum):
    """What a forecast counts: story points, or items whatever their size."""

    POINTS = "points"
    ITEMS = "items"


class ForecastItem(BaseModel):
    """One item counted in the forecast's scope, in rank order."""

    model_config = ConfigDict(from_attributes=True)

    position: int = Field(description="1 for the top-ranked counted item, then 2, 3, …")
    number: int
    title: str
    type: str
    points: float | None
    value: float = Field(description="What the item counts: its points, or 1 with `unit=items`.")
    cumulative: float = Field(description="The values of this item and all above it.")


class ForecastScopePublic(BaseModel):
    """The work the forecast is about, and exactly which items were counted."""

    model_config = ConfigDict(from_attributes=True)

    kind: ForecastScope
    epic: int | None = Field(description="The epic whose children are counted (`kind=epic`).")
    release: int | None = Field(
        description="The release or milestone whose scope is counted (`kind=release`)."
    )
    until: int | None = Field(description="The cut-off item: only items ranked at or above it.")
    count: int = Field(description="How many items were counted.")
    total: float = Field(description="Their points (or their number, with `unit=items`).")
    items: list[ForecastItem]


class HistorySprint(BaseModel):
    """A completed sprint the forecast sampled from."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    completed_at: datetime
    value: float = Field(description="Points (or items) it completed, as frozen at completion.")


class ForecastHistory(BaseModel):
    """The sprints sampled: the latest completed ones, most recent first."""

    model_config = ConfigDict(from_attributes=True)

    requested: int = Field(description="The `history` asked for: at most this many sprints.")
    used: int = Field(description="How many completed sprints there were to sample.")
    mean: float = Field(description="The mean of their values.")
    sprints: list[HistorySprint]


class PercentileForecast(BaseModel):
    """How many sprints finish the scope with a given confidence, and when."""

    model_config = ConfigDict(from_attributes=True)

    percentile: int = Field(description="50, 70, 85 or 95: the share of trials that finished.")
    sprints: int | None = Field(
        description="The fewest sprints within which at least `percentile` % of trials "
        "finished; null if that many did not finish within the cap of 1,000 sprints."
    )
    completion_date: date | None = Field(
        description="The end date of that sprint; the forecast's day when nothing remains."
    )


class HistogramEntry(BaseModel):
    """How many trials needed exactly `sprints` sprints."""

    model_config = ConfigDict(from_attributes=True)

    sprints: int
    trials: int
    probability: float
    cumulative_probability: float = Field(description="Share of trials done within `sprints`.")


class ReverseLevel(BaseModel):
    """What will be done within the given sprints with one confidence."""

    model_config = ConfigDict(from_attributes=True)

    confidence: int = Field(description="50, 85 or 95 (percent of trials).")
    value: float = Field(
        description="Points (or items) at least `confidence` % of trials completed."
    )
    items: list[int] = Field(
        description="Numbers of the ranked scope items that fit completely within `value`."
    )


class ReverseForecast(BaseModel):
    """The reverse question: how much gets done in the next `sprints` sprints."""

    model_config = ConfigDict(from_attributes=True)

    sprints: int
    end_date: date = Field(description="The end date of the last of those sprints.")
    levels: list[ReverseLevel]


class ForecastPublic(BaseModel):
    """A Monte Carlo forecast: when the scope will be done, and what K sprints will do."""

    model_config = ConfigDict(from_attributes=True)

    unit: ForecastUnit
    scope: ForecastScopePublic
    unestimated_left_out: int = Field(
        description="Items in scope without an estimate, not counted (always 0 for items)."
    )
    history: ForecastHistory
    trials: int
    seed: int = Field(description="Send it back as `seed` to repeat this exact run.")
    as_of: date | None = Field(description="The replayed day, if any.")
    forecast_date: date = Field(
        description="The day the forecast is made for: `as_of`, or today in the project's zone."
    )
    percentiles: list[PercentileForecast]
    histogram: list[HistogramEntry] = Field(description="One entry per sprint count that occurred.")
    unfinished_trials: int = Field(description="Trials not finished within 1,000 sprints.")
    reverse: ReverseForecast | None = Field(description="Only when `sprints` was given.")
    method: str = Field(description="How the numbers were computed, in words.")
