"""API shapes for the budget, hourly rates, burn and projection.

Money travels as decimal strings with two decimals (`"1250.00"`), never as floats, so no
amount drifts; requests may send a string or a JSON number with at most two decimals. Hours
are JSON numbers, exact to the hundredth.
"""

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

from app.domain.budgets.models import AMOUNT_MAX, HOURS_BUDGET_MAX, RATE_MAX
from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import BodyFloat, InputModel, IsoDate
from app.domain.sprints.models import SprintState

_MONEY_TEXT = r"^-?[0-9]+\.[0-9]{2}$"


def _hundredths(value: float) -> float:
    # Stored exact to the hundredth: a finer value would be rounded silently.
    if round(value, 2) != value:
        raise ValueError("at most two decimals (hundredths of an hour)")
    return value


def _money_text(value: Decimal) -> str:
    return f"{value:.2f}"


# Money in a response: a decimal string with exactly two decimals.
Money = Annotated[
    Decimal,
    PlainSerializer(_money_text, return_type=str),
    WithJsonSchema({"type": "string", "pattern": _MONEY_TEXT, "examples": ["1250.00"]}),
]
# Money in a request: a decimal string or a JSON number, at most two decimals, not negative.
AmountInput = Annotated[
    Decimal, Field(ge=0, le=AMOUNT_MAX, max_digits=15, decimal_places=2, allow_inf_nan=False)
]
RateInput = Annotated[
    Decimal, Field(ge=0, le=RATE_MAX, max_digits=9, decimal_places=2, allow_inf_nan=False)
]
BudgetHours = Annotated[
    BodyFloat, Field(ge=0, le=float(HOURS_BUDGET_MAX)), AfterValidator(_hundredths)
]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]

_EXAMPLE: dict[str, JsonValue] = {
    "hours": 2400,
    "amount": "180000.00",
    "currency": "EUR",
    "default_hourly_rate": "75.00",
    "planned_end_date": "2027-03-31",
}


class BudgetReplace(InputModel):
    """The whole budget: every field left out is cleared (null)."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE, {"hours": 800}]})

    hours: BudgetHours | None = Field(
        default=None, description="Budget in hours (to the hundredth), or null."
    )
    amount: AmountInput | None = Field(
        default=None,
        description='Money budget in `currency`: a decimal string like `"180000.00"` or a '
        "number, at most two decimals; null for none.",
    )
    currency: Currency | None = Field(
        default=None,
        description="ISO 4217 code of every amount and rate (3 upper-case letters, e.g. `EUR`); "
        "required with an amount, a default rate or member rates.",
    )
    default_hourly_rate: RateInput | None = Field(
        default=None, description="Rate for members without one of their own, or null."
    )
    planned_end_date: IsoDate | None = Field(
        default=None,
        description="When the work should end; the projection runs to it (else to the latest "
        "target date of the planned releases).",
    )


class MemberRateReplace(InputModel):
    """One member's hourly rate, in the budget's currency."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"hourly_rate": "92.50"}, {"hourly_rate": 80}]}
    )

    hourly_rate: RateInput = Field(
        description='A decimal string like `"92.50"` or a number, at most two decimals.'
    )


class MemberRatePublic(BaseModel):
    """One member's hourly rate."""

    model_config = ConfigDict(from_attributes=True)

    member: UserRef
    hourly_rate: Money
    version: int


class SpentPublic(BaseModel):
    """What the project has spent: every hour logged, priced at the rates."""

    model_config = ConfigDict(from_attributes=True)

    hours: float
    amount: Money | None = Field(
        description="Each log's hours × its member's rate, else the default rate; null "
        "without a currency."
    )
    unpriced_hours: float = Field(
        description="Hours of members with no rate while there is no default rate: not in `amount`."
    )


class RemainingPublic(BaseModel):
    """Budget minus spent (negative once over); null where there is no budget."""

    model_config = ConfigDict(from_attributes=True)

    hours: float | None
    amount: Money | None


class BurnSprint(BaseModel):
    """A sprint, briefly."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    state: SprintState
    start_date: date
    end_date: date


class SprintBurnPublic(BaseModel):
    """What was logged within one sprint's dates."""

    model_config = ConfigDict(from_attributes=True)

    sprint: BurnSprint
    hours: float
    amount: Money | None = Field(description="Those hours priced; null without a currency.")


class BurnRatePublic(BaseModel):
    """The current burn rate: the average per working day over the last (at most three)
    completed sprints with time logged."""

    model_config = ConfigDict(from_attributes=True)

    hours_per_day: float = Field(
        description="Hours per working day, to the hundredth (the projection uses it unrounded)."
    )
    amount_per_day: Money | None = Field(
        description="Money per working day; null without a currency."
    )
    sprints: list[int] = Field(
        description="The completed sprints it is measured over (at most 3, by number)."
    )
    working_days: int = Field(description="Working days in those sprints' dates.")


class EndDateSource(StrEnum):
    """Where the projection's end date comes from."""

    PLANNED_END_DATE = "planned_end_date"
    RELEASE = "release"


class ProjectionPublic(BaseModel):
    """Spent so far plus the burn rate over the working days left."""

    model_config = ConfigDict(from_attributes=True)

    end_date: date
    end_date_source: EndDateSource = Field(
        description="`planned_end_date` (the budget's) or `release` (the latest target date of "
        "a planned release or milestone)."
    )
    working_days_left: int = Field(description="Working days after today up to the end date.")
    hours: float = Field(description="Projected total hours.")
    amount: Money | None = Field(description="Projected total amount; null without a currency.")


class ProjectionReason(StrEnum):
    """Why there is no projection."""

    NO_COMPLETED_SPRINT = "no_completed_sprint"
    NO_WORKING_DAYS = "no_working_days"
    NO_END_DATE = "no_end_date"


class BudgetPublic(BaseModel):
    """The budget page: what was planned, spent and remains, the burn and where it leads."""

    model_config = ConfigDict(from_attributes=True)

    hours: float | None = Field(description="Budget in hours, or null.")
    amount: Money | None = Field(description="Money budget, or null.")
    currency: str | None
    default_hourly_rate: Money | None
    planned_end_date: date | None
    rates: list[MemberRatePublic] = Field(description="Members' own rates, by user id.")
    version: int = Field(description="1 until the budget is first saved.")
    spent: SpentPublic
    remaining: RemainingPublic
    burn: list[SprintBurnPublic] = Field(
        description="Every active or completed sprint, by number: what was logged in its dates."
    )
    burn_rate: BurnRatePublic | None = Field(
        description="Null without a completed sprint with time logged."
    )
    projection: ProjectionPublic | None = Field(
        description="Null when there is not enough to project; `projection_reason` says why."
    )
    projection_reason: ProjectionReason | None = Field(
        description="`no_completed_sprint` (no completed sprint with time logged yet), "
        "`no_working_days` (those sprints hold no working day), `no_end_date` (no planned end "
        "date and no planned release with a target date); null when there is a projection."
    )
    projected_over_budget: bool | None = Field(
        description="Whether the projected hours pass the hours budget or the projected amount "
        "the money budget; null without a projection or without a budget."
    )
