"""Rules for the budget: who sees it, what may be set, what has been spent, the burn per sprint
and the projection at the current burn rate."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.budgets import repository
from app.domain.budgets.models import Budget, MemberRate
from app.domain.budgets.repository import Spent, SprintSpent
from app.domain.budgets.schemas import (
    BudgetReplace,
    EndDateSource,
    MemberRateReplace,
    ProjectionReason,
)
from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from app.domain.kernel.inputs import is_id
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Project
from app.domain.releases import repository as releases_repository
from app.domain.releases.models import ReleaseState
from app.domain.sprints.models import SprintState
from app.domain.timesheets import repository as timesheets_repository
from app.domain.users import repository as users_repository
from app.domain.users.models import User

# The burn rate is measured over at most this many of the last completed sprints.
BURN_SPRINTS = 3
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    """Rounded to the hundredth, halves away from zero (as invoices round)."""
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class BudgetTotals:
    """A project's budget against what it spent: hours, and money when the budget has a
    currency (None where not set)."""

    planned_hours: Decimal | None
    spent_hours: Decimal
    planned_amount: Decimal | None
    # Hours priced at each member's rate, else the default rate; None without a currency.
    spent_amount: Decimal | None
    currency: str | None

    def to_json(self) -> dict[str, str | None]:
        """The figures as JSON-safe values: decimals as strings (`"1250.00"`), else null."""
        return {
            "planned_hours": _text(self.planned_hours),
            "spent_hours": _text(self.spent_hours),
            "planned_amount": _text(self.planned_amount),
            "spent_amount": _text(self.spent_amount),
            "currency": self.currency,
        }


def _text(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


@dataclass(frozen=True)
class RateView(RowView):
    """A member's hourly rate, with the member."""

    ROW = "rate"

    rate: MemberRate
    member: User

    version = FromRow[int]()

    @property
    def hourly_rate(self) -> Decimal:
        """The rate per hour, in the budget's currency."""
        return self.rate.rate


@dataclass(frozen=True)
class SpentView:
    """Hours logged and their cost (None without a currency)."""

    hours: Decimal
    amount: Decimal | None
    unpriced_hours: Decimal


@dataclass(frozen=True)
class RemainingView:
    """Budget minus spent, where there is a budget."""

    hours: Decimal | None
    amount: Decimal | None


@dataclass(frozen=True)
class BurnSprint:
    """A sprint, briefly."""

    number: int
    name: str
    state: SprintState
    start_date: date
    end_date: date


@dataclass(frozen=True)
class SprintBurnView:
    """What was logged within one sprint's dates."""

    sprint: BurnSprint
    hours: Decimal
    amount: Decimal | None


@dataclass(frozen=True)
class BurnRateView:
    """The average burn per working day over the last completed sprints (unrounded)."""

    hours_per_day_exact: Decimal
    amount_per_day_exact: Decimal | None
    sprints: list[int]
    working_days: int

    @property
    def hours_per_day(self) -> Decimal:
        """Hours per working day, to the hundredth."""
        return _cents(self.hours_per_day_exact)

    @property
    def amount_per_day(self) -> Decimal | None:
        """Money per working day, to the cent."""
        exact = self.amount_per_day_exact
        return None if exact is None else _cents(exact)


@dataclass(frozen=True)
class ProjectionView:
    """Spent so far plus the burn rate over the working days left."""

    end_date: date
    end_date_source: EndDateSource
    working_days_left: int
    hours: Decimal
    amount: Decimal | None


@dataclass(frozen=True)
class BudgetView(RowView):
    """The budget page."""

    ROW = "budget"

    budget: Budget
    rates: list[RateView]
    spent: SpentView
    remaining: RemainingView
    burn: list[SprintBurnView]
    burn_rate: BurnRateView | None
    projection: ProjectionView | None
    projection_reason: ProjectionReason | None
    projected_over_budget: bool | None

    version = FromRow[int]()

    @property
    def default_hourly_rate(self) -> Decimal | None:
        """The rate of members without their own."""
        return self.budget.default_rate


def _empty(project_id: int) -> Budget:
    """The budget of a project that never saved one (not stored)."""
    # The row's first version and times, so a first PUT may send If-Match: "1".
    epoch = datetime.fromtimestamp(0, tz=clock.now().tzinfo)
    return Budget(project_id=project_id, version=1, created_at=epoch, updated_at=epoch)


async def _budget(session: AsyncSession, project_id: int) -> Budget:
    return await repository.get_budget(session, project_id) or _empty(project_id)


def _priced(spent: Spent, currency: str | None) -> Decimal | None:
    """The cost of the hours, to the cent; None without a currency."""
    if currency is None:
        return None
    return _cents(spent.amount or Decimal(0))


async def spent_vs_planned(session: AsyncSession, project: Project) -> BudgetTotals:
    """The project's planned and spent hours and money (for the closing summary)."""
    assert project.id is not None
    budget = await _budget(session, project.id)
    spent = await repository.spent(session, project.id, budget.default_rate)
    return BudgetTotals(
        planned_hours=budget.hours,
        spent_hours=spent.hours,
        planned_amount=budget.amount,
        spent_amount=_priced(spent, budget.currency),
        currency=budget.currency,
    )


def _burn_rate(
    burn: list[SprintSpent], currency: str | None, working_weekdays: frozenset[int]
) -> BurnRateView | ProjectionReason:
    """The average per working day over the last completed sprints with time logged, or why
    there is none."""
    # Sprints with nothing logged are left out: a team that starts logging mid-project would
    # otherwise see its rate diluted by the sprints before it logged anything.
    completed = sorted(
        (
            sprint
            for sprint in burn
            if sprint.state == SprintState.COMPLETED and sprint.spent.hours > 0
        ),
        key=lambda sprint: (sprint.end_date, sprint.number),
    )[-BURN_SPRINTS:]
    if not completed:
        return ProjectionReason.NO_COMPLETED_SPRINT
    days = sum(
        len(calendar.working_dates(sprint.start_date, sprint.end_date, working_weekdays))
        for sprint in completed
    )
    if days == 0:
        return ProjectionReason.NO_WORKING_DAYS
    hours = sum((sprint.spent.hours for sprint in completed), Decimal(0))
    amount = (
        None
        if currency is None
        else sum((sprint.spent.amount or Decimal(0) for sprint in completed), Decimal(0))
    )
    return BurnRateView(
        hours_per_day_exact=hours / days,
        amount_per_day_exact=None if amount is None else amount / days,
        sprints=sorted(sprint.number for sprint in completed),
        working_days=days,
    )


async def _end_date(
    session: AsyncSession, budget: Budget, project_id: int
) -> tuple[date, EndDateSource] | None:
    """Where the projection runs to: the planned end date, else the latest target date of a
    planned release or milestone."""
    if budget.planned_end_date is not None:
        return budget.planned_end_date, EndDateSource.PLANNED_END_DATE
    releases = await releases_repository.roadmap_releases(session, project_id, archived=False)
    targets = [
        release.target_date
        for release in releases
        if release.state == ReleaseState.PLANNED and release.target_date is not None
    ]
    return (max(targets), EndDateSource.RELEASE) if targets else None


def _over_budget(budget: Budget, projection: ProjectionView) -> bool | None:
    """Whether a projected total passes a budget; None when there is no budget to pass."""
    checks = []
    if budget.hours is not None:
        checks.append(projection.hours > budget.hours)
    if budget.amount is not None and projection.amount is not None:
        checks.append(projection.amount > budget.amount)
    return any(checks) if checks else None


async def get_budget(session: AsyncSession, access: ProjectAccess) -> BudgetView:
    """The budget page: budget, rates, spent, remaining, burn per sprint, burn rate and the
    projected total at that rate."""
    project = access.project
    budget = await _budget(session, access.project_id)
    currency = budget.currency
    rates = [
        RateView(rate, user)
        for rate, user in await repository.list_rates(session, access.project_id)
    ]
    spent, burn = await repository.spent_and_burn(session, access.project_id, budget.default_rate)
    spent_amount = _priced(spent, currency)
    remaining = RemainingView(
        hours=None if budget.hours is None else budget.hours - spent.hours,
        amount=None
        if budget.amount is None or spent_amount is None
        else budget.amount - spent_amount,
    )
    weekdays = calendar.weekday_numbers(project.working_days)
    rate = _burn_rate(burn, currency, weekdays)
    burn_rate = rate if isinstance(rate, BurnRateView) else None
    projection: ProjectionView | None = None
    reason = rate if isinstance(rate, ProjectionReason) else None
    if burn_rate is not None:
        end = await _end_date(session, budget, access.project_id)
        if end is None:
            reason = ProjectionReason.NO_END_DATE
        else:
            today = clock.today(project.time_zone)
            left = len(calendar.working_dates(today + timedelta(days=1), end[0], weekdays))
            amount_rate = burn_rate.amount_per_day_exact
            projection = ProjectionView(
                end_date=end[0],
                end_date_source=end[1],
                working_days_left=left,
                hours=_cents(spent.hours + burn_rate.hours_per_day_exact * left),
                amount=None
                if spent_amount is None or amount_rate is None
                else _cents(spent_amount + amount_rate * left),
            )
    return BudgetView(
        budget=budget,
        rates=rates,
        spent=SpentView(spent.hours, spent_amount, spent.unpriced_hours),
        remaining=remaining,
        burn=[
            SprintBurnView(
                BurnSprint(row.number, row.name, row.state, row.start_date, row.end_date),
                row.spent.hours,
                _priced(row.spent, currency),
            )
            for row in burn
        ],
        burn_rate=burn_rate,
        projection=projection,
        projection_reason=reason,
        projected_over_budget=None if projection is None else _over_budget(budget, projection),
    )


def _money_needs_currency(data: BudgetReplace) -> None:
    if data.currency is None:
        for name in ("amount", "default_hourly_rate"):
            if getattr(data, name) is not None:
                raise InvalidInput.for_field(
                    "body.currency",
                    f"A currency is required with `{name}`: amounts and rates are money in it.",
                    "currency_required",
                )


async def replace_budget(
    session: AsyncSession, access: ProjectAccess, data: BudgetReplace, if_match: Versions | None
) -> BudgetView:
    """Replace the whole budget (fields left out are cleared)."""
    _money_needs_currency(data)
    budget = await repository.locked_budget(session, access.project_id)
    check_version(budget.version, if_match)
    if data.currency is None and await repository.count_rates(session, access.project_id):
        raise Conflict(
            "Members have hourly rates in the budget's currency: delete them before clearing it.",
            errors=[
                FieldError(field="body.currency", message="member rates exist", type="rates_exist")
            ],
        )
    wanted = {
        "hours": None if data.hours is None else Decimal(str(data.hours)),
        "amount": data.amount,
        "currency": data.currency,
        "default_rate": data.default_hourly_rate,
        "planned_end_date": data.planned_end_date,
    }
    changed = False
    for column, value in wanted.items():
        if getattr(budget, column) != value:
            setattr(budget, column, value)
            changed = True
    if changed:
        bump(budget)
    await session.flush()
    return await get_budget(session, access)


async def _rate_user(session: AsyncSession, access: ProjectAccess, user_id: int) -> User:
    """A user who may have a rate here: a member, or someone whose logged time it prices."""
    found = (
        await projects_repository.get_member(session, access.project_id, user_id)
        if is_id(user_id)
        else None
    )
    if found is not None:
        return found[1]
    if is_id(user_id) and await timesheets_repository.logged_users(
        session, access.project_id, [user_id]
    ):
        user = await users_repository.get_user(session, user_id)
        if user is not None:
            return user
    raise NotFound(f"No member {user_id} in {access.project.key}.")


async def replace_member_rate(
    session: AsyncSession,
    access: ProjectAccess,
    user_id: int,
    data: MemberRateReplace,
    if_match: Versions | None,
) -> tuple[RateView, bool]:
    """Set one member's hourly rate (True when it is new); the budget must have a currency."""
    user = await _rate_user(session, access, user_id)
    # The budget row first: rate writes of a project queue behind it, so two first writes of
    # one rate cannot both insert.
    budget = await repository.locked_budget(session, access.project_id)
    if budget.currency is None:
        raise Conflict(
            f"{access.project.key}'s budget has no currency yet: set one (PUT .../budget) "
            "before member rates."
        )
    rate = await repository.lock_rate(session, access.project_id, user_id)
    if rate is None:
        if if_match is not None:
            raise PreconditionFailed(f"User {user_id} has no hourly rate to match yet.")
        rate = MemberRate(project_id=access.project_id, user_id=user_id, rate=data.hourly_rate)
        await repository.add_rate(session, rate)
        return RateView(rate, user), True
    check_version(rate.version, if_match)
    if rate.rate != data.hourly_rate:
        rate.rate = data.hourly_rate
        bump(rate)
        await session.flush()
    return RateView(rate, user), False


async def delete_member_rate(
    session: AsyncSession, access: ProjectAccess, user_id: int, if_match: Versions | None
) -> None:
    """Delete one member's rate: their hours are priced at the default rate from now on."""
    rate = (
        await repository.lock_rate(session, access.project_id, user_id) if is_id(user_id) else None
    )
    if rate is None:
        raise NotFound(f"User {user_id} has no hourly rate in {access.project.key}.")
    check_version(rate.version, if_match)
    await repository.delete_rate(session, access.project_id, user_id)
