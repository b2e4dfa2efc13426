"""API shapes for the sprint report and the scope ledger."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, AliasPath, BaseModel, ConfigDict, Field

from app.domain.risks.schemas import RiskSummary
from app.domain.sprints.models import GoalOutcome, SprintState


class ScopeChangeKind(StrEnum):
    """How a change moved a sprint's scope."""

    ADDED = "added"
    REMOVED = "removed"
    RE_ESTIMATED = "re_estimated"


class ScopeChangePublic(BaseModel):
    """One change to a sprint's scope after it started."""

    model_config = ConfigDict(from_attributes=True)

    event_id: int
    occurred_at: datetime
    actor_id: int | None
    item_number: int
    # Read from the domain's `kind`; shown as `change`.
    change: ScopeChangeKind = Field(validation_alias="kind")
    points_before: float | None
    points_after: float | None


class ScopeLedger(BaseModel):
    """A sprint's scope changes in the order they happened (empty before it starts)."""

    data: list[ScopeChangePublic]


# Totals are kept to 6 decimals; the report computes them unrounded. Rounding again, as a kept
# report is read back, changes nothing.
SixDecimals = Annotated[float, AfterValidator(lambda value: round(value, 6))]
# Each shape reads a kept report by its own names, and a computed one (`metrics.report`, whose
# tallies name their count `items`) through the aliases after them.
_COUNT = AliasChoices("count", "items")


class Tally(BaseModel):
    """How many items and their points (unestimated items count 0)."""

    model_config = ConfigDict(from_attributes=True)

    count: int = Field(validation_alias=_COUNT)
    points: SixDecimals


class ReportLinePublic(BaseModel):
    """One item in a section of the sprint report."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str | None = Field(description="The title at close (at deletion for deleted items).")
    type: str | None
    added_after_start: bool = Field(description="Joined the sprint after it started.")
    points_at_start: float | None = Field(
        description="The estimate when the sprint started, or when the item was added."
    )
    points_at_close: float | None = Field(
        description="The estimate at close (now, while active), or when the item was removed."
    )
    status: str | None = Field(description="The status at close (now, while active).")
    carried_to: Literal["backlog"] | int | None = Field(
        description="Where an unfinished item went at close: `backlog` or a sprint number."
    )
    deleted: bool = Field(description="Removed by being deleted during the sprint.")


class ReportSection(BaseModel):
    """Items of one kind in the report; points at close (or when removed)."""

    model_config = ConfigDict(from_attributes=True)

    count: int = Field(validation_alias=AliasChoices("count", AliasPath("tally", "items")))
    points: float = Field(validation_alias=AliasChoices("points", AliasPath("tally", "points")))
    items: list[ReportLinePublic] = Field(validation_alias=AliasChoices("items", "lines"))


class ReEstimates(BaseModel):
    """Estimate changes of items while they were in the sprint."""

    model_config = ConfigDict(from_attributes=True)

    count: int = Field(validation_alias=_COUNT)
    points: SixDecimals = Field(description="The net change in points.")


class ScopeChangeTotals(BaseModel):
    """Everything that changed the sprint's scope after it started, summed."""

    model_config = ConfigDict(from_attributes=True)

    added: Tally = Field(description="Items joining after start; points when they joined.")
    removed: Tally = Field(description="Items leaving before close; points when they left.")
    # A computed report's `re_estimated` is the net change alone: its tally comes first.
    re_estimated: ReEstimates = Field(
        validation_alias=AliasChoices("re_estimates_tally", "re_estimated")
    )


class ReportBody(BaseModel):
    """The numbers of a sprint report; kept verbatim at completion."""

    model_config = ConfigDict(from_attributes=True)

    committed: Tally = Field(description="Items in the sprint at start, their points then.")
    scope_change: ScopeChangeTotals = Field(
        validation_alias=AliasChoices("scope_change", "movement")
    )
    scope: Tally = Field(
        description="In the sprint at close (now, while active): committed + added − removed, "
        "with re-estimates."
    )
    completed: ReportSection = Field(
        description="In the sprint at close and done, having been finished while in it."
    )
    not_completed: ReportSection = Field(description="In the sprint at close, not done.")
    completed_outside: ReportSection = Field(
        description="In the sprint at close and done, but already done when they joined it; "
        "not counted as completed."
    )
    removed: ReportSection = Field(
        description="In the sprint after start but not at close, whatever their status."
    )
    say_do: float | None = Field(
        description="Completed points / committed points; null when nothing was committed."
    )


class SprintReport(ReportBody):
    """A sprint report: live while the sprint is active, frozen from its completion on."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    goal: str
    state: SprintState
    start_date: date | None
    end_date: date | None
    started_at: datetime | None
    completed_at: datetime | None
    goal_outcome: GoalOutcome | None
    review_notes: str
    frozen: bool = Field(description="True once the sprint completed: the numbers never change.")
    open_risks: list[RiskSummary] = Field(
        description="The open or mitigating risks linked to the sprint, highest exposure first: "
        "a live view read at each request, not part of the numbers kept at completion."
    )
