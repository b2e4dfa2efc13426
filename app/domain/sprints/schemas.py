"""API shapes for sprints: planning, changing, filling and completing them."""

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain.kernel.inputs import BodyInt, InputModel, IsoDate
from app.domain.kernel.pagination import Page
from app.domain.sprints.models import GoalOutcome, SprintState


class SprintCreate(InputModel):
    """A new sprint; without dates it takes the next slot after the latest sprint."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "Sprint 14",
                    "goal": "Shoppers can check out with a saved card",
                    "start_date": "2025-03-03",
                    "end_date": "2025-03-14",
                },
                {"goal": "Cut checkout drop-off on mobile"},
            ]
        }
    )

    name: str | None = Field(default=None, min_length=1, max_length=120)
    goal: str = Field(default="", max_length=10_000)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None

    @model_validator(mode="after")
    def _both_dates_or_neither(self) -> "SprintCreate":
        if (self.start_date is None) != (self.end_date is None):
            raise ValueError("give both start_date and end_date, or neither")
        return self


class SprintUpdate(InputModel):
    """Changes to a sprint (dates only while it is planned or active)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"goal": "Shoppers can check out with a saved card, on web and mobile"},
                {"end_date": "2025-03-17"},
            ]
        }
    )

    name: str | None = Field(default=None, min_length=1, max_length=120)
    goal: str | None = Field(default=None, max_length=10_000)
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None


class SprintItems(InputModel):
    """Item numbers to add to or remove from a sprint, all or none."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [12, 15, 18]}]})

    items: list[BodyInt] = Field(min_length=1, max_length=500)


class SprintComplete(InputModel):
    """Close an active sprint: where unfinished items go, and how the goal went."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "carry_over": "backlog",
                    "goal_outcome": "partially_met",
                    "review_notes": "Saved cards work on web; the mobile flow moves to Sprint 15.",
                },
                {"carry_over": 15, "goal_outcome": "met"},
            ]
        }
    )

    carry_over: Literal["backlog"] | BodyInt = Field(
        default="backlog",
        description='`"backlog"` (top of the backlog, in their order) or a planned sprint number.',
    )
    goal_outcome: GoalOutcome | None = None
    review_notes: str = Field(default="", max_length=64 * 1024)


class SprintPublic(BaseModel):
    """A sprint."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    goal: str
    start_date: date | None
    end_date: date | None
    state: SprintState
    started_at: datetime | None
    committed_items: int | None = Field(description="Items in the sprint when it started.")
    committed_points: float | None = Field(description="Their points at start (frozen).")
    completed_at: datetime | None
    completed_items: int | None = Field(description="Items done at completion (frozen).")
    completed_points: float | None = Field(description="Their points at completion (frozen).")
    goal_outcome: GoalOutcome | None
    review_notes: str
    carried_over_to: int | None = Field(
        description="Sprint number unfinished items went to; null: the backlog."
    )
    item_count: int = Field(description="Items in the sprint now.")
    points: float = Field(description="Their points now (unestimated count 0).")
    created_at: datetime
    updated_at: datetime
    version: int


class SprintPage(Page[SprintPublic]):
    """A page of sprints, by number."""
