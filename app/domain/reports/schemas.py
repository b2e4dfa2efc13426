"""API shapes for velocity and burn charts."""

import datetime as dt
from typing import Annotated

from pydantic import (
    AfterValidator,
    AliasChoices,
    AliasGenerator,
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
)

from app.domain.metrics.burndown import Unit
from app.domain.sprints.models import SprintState

# Ratios are shown to 4 decimals, person-days to 2 and burn totals to 6; the metrics compute
# them unrounded.
TwoDecimals = Annotated[float, AfterValidator(lambda value: round(value, 2))]
FourDecimals = Annotated[float, AfterValidator(lambda value: round(value, 4))]
SixDecimals = Annotated[float, AfterValidator(lambda value: round(value, 6))]


class VelocitySprint(BaseModel):
    """One completed sprint's frozen figures."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    start_date: dt.date | None
    end_date: dt.date | None
    completed_at: dt.datetime | None
    committed: float = Field(description="Points (or items) frozen at start.")
    completed: float = Field(description="Points (or items) completed in it, frozen at close.")
    say_do: FourDecimals | None = Field(description="Completed / committed; null when nothing was.")
    person_days: TwoDecimals | None = Field(
        description="From the sprint's capacity, when recorded."
    )
    completed_per_person_day: FourDecimals | None


class VelocitySummary(BaseModel):
    """The spread of completed work over the sprints listed."""

    model_config = ConfigDict(from_attributes=True)

    sprints: int
    mean: FourDecimals | None
    median: FourDecimals | None
    standard_deviation: FourDecimals | None = Field(
        description="Sample standard deviation (n − 1)."
    )
    last_3_average: FourDecimals | None = Field(description="Mean completed of the latest three.")
    completed_per_person_day: FourDecimals | None = Field(
        description="Completed over person-days, summed over the sprints that recorded capacity."
    )


class Velocity(BaseModel):
    """Committed and completed work per completed sprint, oldest first."""

    model_config = ConfigDict(from_attributes=True)

    unit: Unit
    sprints: list[VelocitySprint]
    summary: VelocitySummary


class BurnTotals(BaseModel):
    """The sprint's scope split by state at one moment."""

    model_config = ConfigDict(from_attributes=True)

    remaining: SixDecimals = Field(description="In the sprint and not done.")
    done: SixDecimals = Field(description="Done, having been finished while in the sprint.")
    done_outside: SixDecimals = Field(
        description="Done, but already done when it joined the sprint."
    )
    scope: SixDecimals = Field(
        description="Everything in the sprint: remaining + done + done_outside."
    )


def _or_in_totals(name: str) -> AliasChoices:
    """The metric's day nests its totals (`totals.remaining`); the public day has them flat."""
    return AliasChoices(name, AliasPath("totals", name))


class BurnDay(BurnTotals):
    """The sprint at the end of one day in the project's time zone."""

    model_config = ConfigDict(
        from_attributes=True, alias_generator=AliasGenerator(validation_alias=_or_in_totals)
    )

    date: dt.date = Field(validation_alias=AliasChoices("date", "day"))
    working_day: bool = Field(description="Non-working days repeat the day before.")
    ideal: FourDecimals = Field(
        description="The committed value falling evenly to 0 over working days."
    )
    completed: SixDecimals = Field(
        description="Change in `done` that day (negative when reopened)."
    )
    scope_change: SixDecimals = Field(
        description="Change in `scope` that day: items added or removed, estimates changed."
    )


class BurnChart(BaseModel):
    """A sprint's burndown / burnup series: one point per day from its start."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    state: SprintState
    unit: Unit
    time_zone: str
    start_date: dt.date
    end_date: dt.date
    committed: float = Field(description="Frozen at start: the ideal line's starting value.")
    working_days: int = Field(description="Working days from start_date to end_date.")
    start: BurnTotals = Field(description="The sprint at the moment it started.")
    days: list[BurnDay]
