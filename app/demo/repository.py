"""SQL for the demo: moving what a simulated moment wrote back to that moment."""

from datetime import datetime
from functools import cache

from sqlalchemy import DateTime, Update, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel

import app.models  # noqa: F401  (every table registered, so none is missed below)


@cache
def _backdate_statements() -> tuple[Update, ...]:
    """One UPDATE per timestamp column of every project-scoped table, and the project's own."""
    # Rows written in the simulation carry the clock's real time (kernel.clock); every
    # timestamp at or after the run's real start is moved to the simulated moment it belongs
    # to. Derived from the models, so a new table's timestamps are moved without a list to edit.
    statements = []
    for table in SQLModel.metadata.sorted_tables:
        scope = table.c.get("project_id")
        if table.name == "projects":
            scope = table.c.id
        if scope is None:
            continue
        for column in table.columns:
            if isinstance(column.type, DateTime):
                statements.append(
                    table.update()
                    .where(scope == bindparam("project"), column >= bindparam("since"))
                    .values({column: bindparam("at")})
                )
    return tuple(statements)


async def backdate(session: AsyncSession, project_id: int, since: datetime, at: datetime) -> None:
    """Move every timestamp the run wrote since `since` in the project to `at`."""
    for statement in _backdate_statements():
        await session.execute(statement, {"at": at, "project": project_id, "since": since})
