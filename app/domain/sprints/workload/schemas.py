"""API shapes for the sprint workload (the body is also what completion keeps)."""

from pydantic import BaseModel, ConfigDict, Field

from app.domain.sprints.capacity.schemas import TwoDecimals
from app.domain.sprints.models import SprintState


class WorkloadItem(BaseModel):
    """An item of the sprint."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    key: str
    title: str
    points: float | None = Field(description="Null for an unestimated item (counts 0).")


class MemberWorkload(BaseModel):
    """One person's items, points, capacity and load in the sprint."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    display_name: str
    member: bool = Field(description="Still a member of the project (false for ex-members).")
    items: list[WorkloadItem] = Field(description="Assigned items of the sprint, in rank order.")
    assigned_points: TwoDecimals
    person_days: TwoDecimals = Field(
        description="From the sprint's capacity (recorded, or the default proposal); 0 for "
        "someone with items but no capacity."
    )
    capacity_points: TwoDecimals | None = Field(
        description="person_days × the team's recent points per person-day; null without "
        "enough history."
    )
    load: TwoDecimals | None = Field(
        description="assigned_points / capacity_points (1 = full); null when unknown."
    )
    over_allocated: bool = Field(
        description="Load above 1, or points assigned with no person-days."
    )


class UnassignedWork(BaseModel):
    """Items of the sprint nobody carries."""

    model_config = ConfigDict(from_attributes=True)

    items: list[WorkloadItem]
    points: TwoDecimals
    flagged: bool = Field(description="Some item of the sprint has nobody assigned.")


class WorkloadTotals(BaseModel):
    """The team's figures."""

    model_config = ConfigDict(from_attributes=True)

    points: TwoDecimals = Field(description="Points of every item in the sprint.")
    assigned_points: TwoDecimals
    unassigned_points: TwoDecimals
    person_days: TwoDecimals
    capacity_points: TwoDecimals | None
    load: TwoDecimals | None = Field(description="points / capacity_points; null when unknown.")


class WorkloadBody(BaseModel):
    """A workload as computed (and, for a completed sprint, as kept at completion)."""

    model_config = ConfigDict(from_attributes=True)

    recorded_capacity: bool = Field(
        description="Whether capacity was saved; if not, every member who is no viewer is "
        "counted at 100 %."
    )
    points_per_person_day: TwoDecimals | None = Field(
        description="The team's recent rate, as the capacity's suggestion computes it."
    )
    members: list[MemberWorkload] = Field(
        description="Everyone with capacity or items in the sprint, by user id."
    )
    over_allocated: list[int] = Field(description="User ids of over-allocated people.")
    unassigned: UnassignedWork
    totals: WorkloadTotals


class SprintWorkload(WorkloadBody):
    """Who carries what in a sprint: live while planned or active, frozen at completion."""

    number: int = Field(description="The sprint's number.")
    state: SprintState
    frozen: bool = Field(description="Kept as it was at completion; it never changes.")
