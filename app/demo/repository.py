"""SQL for the demo: moving what a simulated moment wrote back to that moment."""

from datetime import datetime
from functools import cache

from sqlalchemy import BindParameter, DateTime, Select, bindparam, case, literal, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table registered, so none is missed below)


@cache
def _backdate_statement() -> Select[int]:
    """One statement that moves every project-scoped timestamp written since `since` to `at`."""
    # Rows written in the simulation carry the clock's real time (kernel.clock); every
    # timestamp at or after the run's real start is moved to the simulated moment it belongs
    # to. Derived from the models, so a new table's timestamps are moved without a list to edit;
    # one UPDATE per table, all in one statement (data-modifying CTEs run whether read or not),
    # so a moment costs one round trip however many tables there are.
    since: BindParameter[datetime] = bindparam("since")
    at: BindParameter[datetime] = bindparam("at")
    statement = select(literal(1))
    for table in SQLModel.metadata.sorted_tables:
        scope = table.c.id if table.name == "projects" else table.c.get("project_id")
        stamps = [column for column in table.columns if isinstance(column.type, DateTime)]
        if scope is None or not stamps:
            continue
        update = (
            table.update()
            .where(scope == bindparam("project"), or_(*(stamp >= since for stamp in stamps)))
            .values({stamp: case((stamp >= since, at), else_=stamp) for stamp in stamps})
        )
        statement = statement.add_cte(update.returning(literal(1)).cte(f"moved_{table.name}"))
    return statement


async def backdate(session: AsyncSession, project_id: int, since: datetime, at: datetime) -> None:
    """Move every timestamp the run wrote since `since` in the project to `at`."""
    await session.execute(_backdate_statement(), {"at": at, "project": project_id, "since": since})
