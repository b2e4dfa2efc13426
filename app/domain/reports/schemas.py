"""API shapes for velocity and burn charts."""

from datetime import date, datetime

from pydantic import BaseModel, Field

from app.domain.metrics.burndown import Unit
from app.domain.sprints.models import SprintState


class VelocitySprint(BaseModel):
    """One completed sprint's frozen figures."""

    number: int
    name: str
    start_date: date | None
    end_date: date | None
    completed_at: datetime | None
    committed: float = Field(description="Points (or items) frozen at start.")
    completed: float = Field(description="Points (or items) completed in it, frozen at close.")
    say_do: float | None = Field(description="Completed / committed; null when nothing was.")
    person_days: float | None = Field(description="From the sprint's capacity, when recorded.")
    completed_per_person_day: float | None


class VelocitySummary(BaseModel):
    """The spread of completed work over the sprints listed."""

    sprints: int
    mean: float | None
    median: float | None
    standard_deviation: float | None = Field(description="Sample standard deviation (n − 1).")
    last_3_average: float | None = Field(description="Mean completed of the latest three.")
    completed_per_person_day: float | None = Field(
        description="Completed over person-days, summed over the sprints that recorded capacity."
    )


class Velocity(BaseModel):
    """Committed and completed work per completed sprint, oldest first."""

    unit: Unit
    sprints: list[VelocitySprint]
    summary: VelocitySummary


class BurnTotals(BaseModel):
    """The sprint's scope split by state at one moment."""

    remaining: float = Field(description="In the sprint and not done.")
    done: float = Field(description="Done, having been finished while in the sprint.")
    done_outside: float = Field(description="Done, but already done when it joined the sprint.")
    scope: float = Field(description="Everything in the sprint: remaining + done + done_outside.")


class BurnDay(BurnTotals):
    """The sprint at the end of one day in the project's time zone."""

    date: date
    working_day: bool = Field(description="Non-working days repeat the day before.")
    ideal: float = Field(description="The committed value falling evenly to 0 over working days.")
    completed: float = Field(description="Change in `done` that day (negative when reopened).")
    scope_change: float = Field(
        description="Change in `scope` that day: items added or removed, estimates changed."
    )


class BurnChart(BaseModel):
    """A sprint's burndown / burnup series: one point per day from its start."""

    number: int
    name: str
    state: SprintState
    unit: Unit
    time_zone: str
    start_date: date
    end_date: date
    committed: float = Field(description="Frozen at start: the ideal line's starting value.")
    working_days: int = Field(description="Working days from start_date to end_date.")
    start: BurnTotals = Field(description="The sprint at the moment it started.")
    days: list[BurnDay]
