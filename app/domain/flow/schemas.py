"""API shapes for flow metrics."""

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field

from app.domain.workflow.models import StatusCategory

# Durations are shown to 4 decimals of a day (about 9 s); the metrics compute them unrounded.
FourDecimals = Annotated[float, AfterValidator(lambda value: round(value, 4))]
# The metrics name a day's date `day`.
_DATE = AliasChoices("date", "day")


class FlowStatusPublic(BaseModel):
    """A workflow status, in workflow order, with the category the metrics read it by."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: StatusCategory


class StatusCountPublic(BaseModel):
    """How many items were in one status."""

    model_config = ConfigDict(from_attributes=True)

    status_id: int = Field(validation_alias=AliasChoices("status_id", "id"))
    name: str
    count: int


class CategoryCountsPublic(BaseModel):
    """How many items were in each category's statuses."""

    todo: int
    in_progress: int
    done: int


class FlowDayPublic(BaseModel):
    """The live non-epic items per status at the end of one day (project time zone)."""

    model_config = ConfigDict(from_attributes=True)

    date: dt.date = Field(validation_alias=_DATE)
    statuses: list[StatusCountPublic] = Field(description="Every status, in workflow order.")
    categories: CategoryCountsPublic
    other: int = Field(
        description="Items in statuses deleted since: no name or category to count them under."
    )
    total: int = Field(description="All live non-epic items: the statuses' counts plus `other`.")


class WipDayPublic(BaseModel):
    """Work in progress at the end of one day."""

    model_config = ConfigDict(from_attributes=True)

    date: dt.date = Field(validation_alias=_DATE)
    items: int = Field(
        validation_alias=AliasChoices("items", "wip"),
        description="Items in an `in_progress`-category status.",
    )


class ThroughputWeekPublic(BaseModel):
    """Items finished in one ISO week (Monday start), on its days inside the range."""

    model_config = ConfigDict(from_attributes=True)

    week_start: dt.date = Field(description="The Monday of the week.")
    days_in_range: int = Field(description="From 1 to 7: the first and last weeks may be partial.")
    items: int = Field(description="Entries into a done-category status from a status that is not.")


class DurationSummaryPublic(BaseModel):
    """Durations in days: count, nearest-rank percentiles and mean (null without values)."""

    model_config = ConfigDict(from_attributes=True)

    count: int
    p50: FourDecimals | None
    p85: FourDecimals | None
    p95: FourDecimals | None
    mean: FourDecimals | None


class CycleTimePublic(DurationSummaryPublic):
    """Cycle times, and how many finished items never were in an in-progress status."""

    straight_to_done: int = Field(description="Finished items that have no cycle time.")


class FinishedItemPublic(BaseModel):
    """An item whose latest finish fell in the range and that was still done at its end."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    finished_at: dt.datetime
    cycle_days: FourDecimals | None = Field(
        description="From its first entry into an in-progress status; null if there was none."
    )
    lead_days: FourDecimals = Field(description="From its creation.")


class FlowPublic(BaseModel):
    """Cumulative flow, WIP, throughput, cycle and lead time of a project over a date range."""

    model_config = ConfigDict(from_attributes=True, validate_by_name=True, validate_by_alias=True)

    from_: dt.date = Field(alias="from", description="First day, in the project's time zone.")
    to: dt.date = Field(description="Last day (never after today), in the project's time zone.")
    time_zone: str = Field(description="The project's time zone: days end at its midnight.")
    statuses: list[FlowStatusPublic] = Field(description="Workflow order, as charts stack them.")
    cumulative_flow: list[FlowDayPublic] = Field(description="One entry per day, oldest first.")
    wip: list[WipDayPublic] = Field(
        validation_alias=AliasChoices("wip", "days"), description="One entry per day, oldest first."
    )
    throughput: list[ThroughputWeekPublic] = Field(
        validation_alias=AliasChoices("throughput", "weeks"),
        description="Weeks overlapping the range.",
    )
    cycle_time: CycleTimePublic = Field(description="In days, over `items` that have one.")
    lead_time: DurationSummaryPublic = Field(description="In days, over all of `items`.")
    items: list[FinishedItemPublic] = Field(
        validation_alias=AliasChoices("items", "finished"), description="Ordered by finish time."
    )
