"""API shapes for flow metrics."""

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from app.domain.workflow.models import StatusCategory


class FlowStatusPublic(BaseModel):
    """A workflow status, in workflow order, with the category the metrics read it by."""

    id: int
    name: str
    category: StatusCategory


class StatusCountPublic(BaseModel):
    """How many items were in one status."""

    status_id: int
    name: str
    count: int


class CategoryCountsPublic(BaseModel):
    """How many items were in each category's statuses."""

    todo: int
    in_progress: int
    done: int


class FlowDayPublic(BaseModel):
    """The live non-epic items per status at the end of one day (project time zone)."""

    date: dt.date
    statuses: list[StatusCountPublic] = Field(description="Every status, in workflow order.")
    categories: CategoryCountsPublic
    other: int = Field(
        description="Items in statuses deleted since: no name or category to count them under."
    )
    total: int = Field(description="All live non-epic items: the statuses' counts plus `other`.")


class WipDayPublic(BaseModel):
    """Work in progress at the end of one day."""

    date: dt.date
    items: int = Field(description="Items in an `in_progress`-category status.")


class ThroughputWeekPublic(BaseModel):
    """Items finished in one ISO week (Monday start), on its days inside the range."""

    week_start: dt.date = Field(description="The Monday of the week.")
    days_in_range: int = Field(description="From 1 to 7: the first and last weeks may be partial.")
    items: int = Field(description="Entries into a done-category status from a status that is not.")


class DurationSummaryPublic(BaseModel):
    """Durations in days: count, nearest-rank percentiles and mean (null without values)."""

    count: int
    p50: float | None
    p85: float | None
    p95: float | None
    mean: float | None


class CycleTimePublic(DurationSummaryPublic):
    """Cycle times, and how many finished items never were in an in-progress status."""

    straight_to_done: int = Field(description="Finished items that have no cycle time.")


class FinishedItemPublic(BaseModel):
    """An item whose latest finish fell in the range and that was still done at its end."""

    number: int
    finished_at: dt.datetime
    cycle_days: float | None = Field(
        description="From its first entry into an in-progress status; null if there was none."
    )
    lead_days: float = Field(description="From its creation.")


class FlowPublic(BaseModel):
    """Cumulative flow, WIP, throughput, cycle and lead time of a project over a date range."""

    model_config = ConfigDict(validate_by_name=True, validate_by_alias=True)

    from_: dt.date = Field(alias="from", description="First day, in the project's time zone.")
    to: dt.date = Field(description="Last day (never after today), in the project's time zone.")
    time_zone: str = Field(description="The project's time zone: days end at its midnight.")
    statuses: list[FlowStatusPublic] = Field(description="Workflow order, as charts stack them.")
    cumulative_flow: list[FlowDayPublic] = Field(description="One entry per day, oldest first.")
    wip: list[WipDayPublic] = Field(description="One entry per day, oldest first.")
    throughput: list[ThroughputWeekPublic] = Field(description="Weeks overlapping the range.")
    cycle_time: CycleTimePublic = Field(description="In days, over `items` that have one.")
    lead_time: DurationSummaryPublic = Field(description="In days, over all of `items`.")
    items: list[FinishedItemPublic] = Field(description="Ordered by finish time.")
