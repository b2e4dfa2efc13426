"""SQL for budgets and member rates (their owning repository), and the money spent on work
logs priced at those rates."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Numeric,
    delete,
    func,
    literal,
    literal_column,
    null,
    nulls_last,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.budgets.models import Budget, MemberRate
from app.domain.sprints.models import Sprint, SprintState
from app.domain.timesheets.models import Worklog
from app.domain.users.models import User

# Sprints that ran: their dates hold the burn.
RAN = (SprintState.ACTIVE, SprintState.COMPLETED)


@dataclass(frozen=True)
class Spent:
    """Hours logged in a project and what they cost at its rates."""

    hours: Decimal
    # Hours times each member's rate, else the default rate; None when no hour has a rate.
    amount: Decimal | None
    # Hours with no rate to price them (no member rate and no default rate).
    unpriced_hours: Decimal


async def get_budget(
    session: AsyncSession, project_id: int, *, for_update: bool = False
) -> Budget | None:
    """The project's budget, if one was set."""
    stmt = select(Budget).where(col(Budget.project_id) == project_id)
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


@dataclass(frozen=True)
class SprintSpent:
    """What was logged within one sprint's dates."""

    number: int
    name: str
    state: SprintState
    start_date: date
    end_date: date
    spent: Spent


def _spent_columns(default_rate: Decimal | None) -> list[ColumnElement[Any]]:
    """Hours, their cost at the rates, and the hours without a rate (summed over worklogs)."""
    rate = func.coalesce(col(MemberRate.rate), literal(default_rate, Numeric(9, 2)))
    return [
        func.coalesce(func.sum(col(Worklog.hours)), 0),
        func.sum(col(Worklog.hours) * rate),
        func.coalesce(func.sum(col(Worklog.hours)).filter(rate.is_(None)), 0),
    ]


def _rate_of_log(project_id: int) -> ColumnElement[bool]:
    return (col(MemberRate.project_id) == project_id) & (
        col(MemberRate.user_id) == col(Worklog.user_id)
    )


def _spent(hours: Any, amount: Any, unpriced: Any) -> Spent:
    return Spent(Decimal(hours), None if amount is None else Decimal(amount), Decimal(unpriced))


async def spent(session: AsyncSession, project_id: int, default_rate: Decimal | None) -> Spent:
    """Every hour logged in the project and its cost (one statement)."""
    stmt = (
        select(*_spent_columns(default_rate))
        .select_from(Worklog)
        .outerjoin(MemberRate, _rate_of_log(project_id))
        .where(col(Worklog.project_id) == project_id)
    )
    return _spent(*(await session.execute(stmt)).one())


async def spent_and_burn(
    session: AsyncSession, project_id: int, default_rate: Decimal | None
) -> tuple[Spent, list[SprintSpent]]:
    """Every hour logged in the project and its cost, and every active or completed sprint
    (by number) with what was logged within its dates: one statement, one pass over the logs."""
    rate = func.coalesce(col(MemberRate.rate), literal(default_rate, Numeric(9, 2)))
    days = (
        select(
            col(Worklog.work_date).label("day"),
            func.sum(col(Worklog.hours)).label("hours"),
            func.sum(col(Worklog.hours) * rate).label("amount"),
            func.sum(col(Worklog.hours)).filter(rate.is_(None)).label("unpriced"),
        )
        .select_from(Worklog)
        .outerjoin(MemberRate, _rate_of_log(project_id))
        .where(col(Worklog.project_id) == project_id)
        .group_by(col(Worklog.work_date))
        .cte("days")
    )
    sums = [
        func.coalesce(func.sum(days.c.hours), 0),
        func.sum(days.c.amount),
        func.coalesce(func.sum(days.c.unpriced), 0),
    ]
    per_sprint = (
        select(
            col(Sprint.number),
            col(Sprint.name),
            col(Sprint.state),
            col(Sprint.start_date),
            col(Sprint.end_date),
            *sums,
        )
        .select_from(Sprint)
        .outerjoin(
            days, (days.c.day >= col(Sprint.start_date)) & (days.c.day <= col(Sprint.end_date))
        )
        .where(
            col(Sprint.project_id) == project_id,
            col(Sprint.state).in_(RAN),
            col(Sprint.start_date).is_not(None),
            col(Sprint.end_date).is_not(None),
        )
        .group_by(col(Sprint.id))
    )
    # The project's total is the row without a sprint, last.
    total = select(null(), null(), null(), null(), null(), *sums).select_from(days)
    stmt = union_all(per_sprint, total).order_by(nulls_last(literal_column("number")))
    rows: list[Any] = list((await session.execute(stmt)).all())
    *sprints, (_, _, _, _, _, hours, amount, unpriced) = rows
    burn = [
        SprintSpent(number, name, SprintState(state), start, end, _spent(*figures))
        for number, name, state, start, end, *figures in sprints
    ]
    return _spent(hours, amount, unpriced), burn


async def locked_budget(session: AsyncSession, project_id: int) -> Budget:
    """The project's budget row, created empty if it has none, locked until commit."""
    # ON CONFLICT DO NOTHING: two first writers both get the one row, never a 500.
    await session.execute(
        insert(Budget)
        .values(project_id=project_id)
        .on_conflict_do_nothing(index_elements=[col(Budget.project_id)])
    )
    stmt = (
        select(Budget)
        .where(col(Budget.project_id) == project_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one()


async def list_rates(session: AsyncSession, project_id: int) -> list[tuple[MemberRate, User]]:
    """The project's member rates with their users, by user id."""
    stmt = (
        select(MemberRate, User)
        .join(User, col(User.id) == col(MemberRate.user_id))
        .where(col(MemberRate.project_id) == project_id)
        .order_by(col(MemberRate.user_id))
    )
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def count_rates(session: AsyncSession, project_id: int) -> int:
    """How many member rates the project has."""
    stmt = select(func.count()).where(col(MemberRate.project_id) == project_id)
    return int((await session.execute(stmt)).scalar_one())


async def lock_rate(session: AsyncSession, project_id: int, user_id: int) -> MemberRate | None:
    """One member's rate, locked until commit."""
    stmt = (
        select(MemberRate)
        .where(col(MemberRate.project_id) == project_id, col(MemberRate.user_id) == user_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def add_rate(session: AsyncSession, rate: MemberRate) -> None:
    """Insert a member rate."""
    session.add(rate)
    await session.flush()


async def delete_rate(session: AsyncSession, project_id: int, user_id: int) -> None:
    """Delete one member's rate."""
    await session.execute(
        delete(MemberRate).where(
            col(MemberRate.project_id) == project_id, col(MemberRate.user_id) == user_id
        )
    )
