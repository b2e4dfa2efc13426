"""API shapes for sprint capacity."""

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.domain.kernel.inputs import ID_MAX, ID_MIN, BodyInt, InputModel, IsoDate

MAX_MEMBERS = 200
# Days off must be distinct dates inside the sprint; this only bounds the body before that check.
MAX_DAYS_OFF = 366

# Person-days and rates are shown to 2 decimals; the domain computes them unrounded.
TwoDecimals = Annotated[float, AfterValidator(lambda value: round(value, 2))]


class MemberCapacityEntry(InputModel):
    """One member's availability for the sprint."""

    user_id: BodyInt = Field(gt=ID_MIN - 1, lt=ID_MAX + 1, description="A member of the project.")
    availability: BodyInt = Field(
        default=100, ge=0, le=100, description="Share of their time, in percent."
    )
    days_off: list[IsoDate] = Field(
        default_factory=list,
        max_length=MAX_DAYS_OFF,
        description="Distinct dates inside the sprint; those on non-working days do not count.",
    )


class SprintCapacityReplace(InputModel):
    """The sprint's whole capacity: one entry per member (an empty list clears it)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "members": [
                        {"user_id": 3, "availability": 100, "days_off": ["2025-03-07"]},
                        {"user_id": 5, "availability": 50},
                        {"user_id": 8},
                    ]
                }
            ]
        }
    )

    members: list[MemberCapacityEntry] = Field(max_length=MAX_MEMBERS)


class MemberCapacityPublic(BaseModel):
    """One member's capacity in the sprint."""

    model_config = ConfigDict(from_attributes=True)

    user_id: int
    display_name: str
    email: str
    availability: int = Field(description="Share of their time, in percent.")
    days_off: list[date]
    days_off_counted: int = Field(description="Days off that are working days of the sprint.")
    person_days: TwoDecimals = Field(
        description="(working_days − days_off_counted) × availability / 100, to 2 decimals."
    )


class PastSprintPublic(BaseModel):
    """A completed sprint a suggestion was computed from."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    completed_points: float = Field(description="Points done at completion (frozen).")
    person_days: TwoDecimals = Field(description="Its recorded capacity, to 2 decimals.")


class CommitmentSuggestionPublic(BaseModel):
    """A suggested commitment from the team's recent rate, and how it was computed."""

    model_config = ConfigDict(from_attributes=True)

    points: TwoDecimals | None = Field(
        description="points_per_person_day × total_person_days, to 2 decimals; null without "
        "enough history or without person-days."
    )
    points_per_person_day: TwoDecimals | None = Field(
        description="Completed points / person-days over `sprints_used`, to 2 decimals."
    )
    sprints_used: list[PastSprintPublic] = Field(
        description="The 3–5 latest completed earlier sprints with capacity, latest first."
    )
    explanation: str = Field(description="The computation in one sentence, with its numbers.")


class SprintCapacityPublic(BaseModel):
    """A sprint's capacity per member and in total, with a suggested commitment."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="The sprint's number.")
    start_date: date
    end_date: date
    working_days: int = Field(description="The project's working days from start to end.")
    recorded: bool = Field(
        description="Whether capacity was saved; if not, `members` is a proposal: every "
        "member who is not a viewer at 100 % with no days off."
    )
    members: list[MemberCapacityPublic] = Field(description="By user id.")
    total_person_days: TwoDecimals = Field(
        description="Sum of the members' person-days, 2 decimals."
    )
    suggestion: CommitmentSuggestionPublic
    version: int = Field(
        description="The sprint's version (also the ETag): send it as If-Match when replacing."
    )
