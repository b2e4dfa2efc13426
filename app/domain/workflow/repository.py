"""SQL for workflow statuses."""

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.workflow.models import Status, StatusCategory

# Namespace (first key) of the per-project advisory lock that serializes workflow changes.
_WORKFLOW_LOCK_NAMESPACE = 0x53544154


async def lock_workflow(session: AsyncSession, project_id: int) -> None:
    """Take the project's workflow lock until the transaction ends."""
    # Locking the status rows alone would not do: a status added meanwhile is not among them.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:namespace, :project_id)"),
        {"namespace": _WORKFLOW_LOCK_NAMESPACE, "project_id": project_id},
    )


async def list_statuses(
    session: AsyncSession, project_id: int, *, for_update: bool = False
) -> list[Status]:
    """A project's statuses in workflow order."""
    stmt = (
        select(Status)
        .where(col(Status.project_id) == project_id)
        .order_by(col(Status.position), col(Status.id))
    )
    if for_update:
        stmt = stmt.with_for_update()
    return list((await session.execute(stmt)).scalars().all())


async def get_status(session: AsyncSession, project_id: int, status_id: int) -> Status | None:
    """One status of a project."""
    stmt = select(Status).where(col(Status.project_id) == project_id, col(Status.id) == status_id)
    return (await session.execute(stmt)).scalar_one_or_none()


async def done_status_ids(session: AsyncSession, project_id: int) -> set[int]:
    """The project's statuses in the done category."""
    stmt = select(col(Status.id)).where(
        col(Status.project_id) == project_id, col(Status.category) == StatusCategory.DONE
    )
    return {status_id for status_id in (await session.execute(stmt)).scalars() if status_id}


async def status_categories(session: AsyncSession, project_id: int) -> dict[int, str]:
    """The category of each of the project's statuses, by id."""
    stmt = select(col(Status.id), col(Status.category)).where(col(Status.project_id) == project_id)
    return {row[0]: row[1] for row in (await session.execute(stmt)).all() if row[0] is not None}


async def name_taken(
    session: AsyncSession, project_id: int, name: str, except_id: int | None = None
) -> bool:
    """Whether another status of the project has this name (case-insensitive)."""
    stmt = (
        select(func.count())
        .select_from(Status)
        .where(col(Status.project_id) == project_id, func.lower(col(Status.name)) == name.lower())
    )
    if except_id is not None:
        stmt = stmt.where(col(Status.id) != except_id)
    return bool((await session.execute(stmt)).scalar_one())


async def delete_status(session: AsyncSession, project_id: int, status_id: int) -> None:
    """Delete a status row."""
    await session.execute(
        delete(Status).where(col(Status.project_id) == project_id, col(Status.id) == status_id)
    )


async def lock_status(session: AsyncSession, status_id: int, *, exclusive: bool = True) -> bool:
    """Lock a status row until the transaction ends (exclusive, or only against deletion).

    False when the status no longer exists (a deletion committed while this waited).
    """
    stmt = select(col(Status.id)).where(col(Status.id) == status_id)
    # FOR KEY SHARE only blocks the row's deletion, so writers into one column do not queue.
    stmt = stmt.with_for_update() if exclusive else stmt.with_for_update(read=True, key_share=True)
    return (await session.execute(stmt)).scalar_one_or_none() is not None
