"""SQL of archives: a project's rows table by table, fresh ids, and set-based inserts.

Generic over the format's tables (as the demo's back-dating is): one statement per table,
whatever the table, so a table another area adds is read and written without code here.
"""

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import Row, bindparam, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.archive.format import TableSpec
from app.domain.projects.models import Project
from app.domain.users.models import User

# Rows fetched and encoded at a time: enough to keep round trips few, little to hold.
BATCH = 1000


async def read_snapshot(session: AsyncSession) -> None:
    """Make this (new) transaction read one consistent snapshot of everything, read-only."""
    await session.connection(
        execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    )


async def project_row(session: AsyncSession, spec: TableSpec, project_id: int) -> Row[Any] | None:
    """The project's archived columns."""
    columns = [spec.table.c[column.name] for column in spec.columns]
    stmt = select(*columns).where(spec.table.c.id == project_id)
    return (await session.execute(stmt)).one_or_none()


async def table_rows(
    session: AsyncSession, spec: TableSpec, project_id: int
) -> AsyncIterator[Sequence[Row[Any]]]:
    """A table's rows of the project in primary-key order, a batch at a time (a cursor)."""
    table = spec.table
    columns = [table.c[column.name] for column in spec.columns]
    stmt = (
        select(*columns)
        .where(table.c.project_id == project_id)
        .order_by(*table.primary_key.columns)
        .execution_options(yield_per=BATCH)
    )
    result = await session.stream(stmt)
    async for batch in result.partitions(BATCH):
        yield batch


async def users_by_ids(
    session: AsyncSession, user_ids: Sequence[int]
) -> Sequence[Row[int | None, str, str]]:
    """Id, email and display name of these accounts (those that exist), by id."""
    if not user_ids:
        return []
    stmt = (
        select(col(User.id), col(User.email), col(User.display_name))
        .where(col(User.id).in_(sorted(user_ids)))
        .order_by(col(User.id))
    )
    return (await session.execute(stmt)).all()


async def user_ids_by_email(session: AsyncSession, emails: Sequence[str]) -> dict[str, int]:
    """The accounts with these (lower-cased) emails, by email."""
    if not emails:
        return {}
    stmt = select(col(User.email), col(User.id)).where(col(User.email).in_(sorted(emails)))
    found: dict[str, int] = {}
    for email, user_id in (await session.execute(stmt)).all():
        assert user_id is not None
        found[email] = user_id
    return found


async def allocate_ids(session: AsyncSession, table: str, count: int) -> list[int]:
    """`count` fresh ids from a table's identity sequence, ascending."""
    if count == 0:
        return []
    stmt = text(
        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)"
    ).bindparams(bindparam("table"), bindparam("count"))
    values: list[int] = list(
        (await session.execute(stmt, {"table": table, "count": count})).scalars().all()
    )
    return sorted(values)


async def insert_project(session: AsyncSession, values: dict[str, Any]) -> int:
    """Insert the project row; returns its id."""
    stmt = insert(Project).values(values).returning(col(Project.id))
    project_id = (await session.execute(stmt)).scalar_one()
    assert project_id is not None
    return project_id


async def insert_rows(session: AsyncSession, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    """Insert rows of one table, all of them in one batched statement."""
    if rows:
        await session.execute(insert(spec.table), rows)
