"""SQL for projects and members: the item and sprint numbering, memberships and roles."""

from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import delete, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlmodel import col

from app.domain.kernel.inputs import is_id
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.projects.models import Project, ProjectMember, Role
from app.domain.users.models import User


async def project_with_role(
    session: AsyncSession, key: str, user_id: int
) -> tuple[Project, Role] | None:
    """A project by key with the user's role in it, or None if not a member (one query)."""
    stmt = (
        select(Project, col(ProjectMember.role))
        .join(ProjectMember, col(ProjectMember.project_id) == col(Project.id))
        .where(col(Project.key) == key, col(ProjectMember.user_id) == user_id)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def lock_project(session: AsyncSession, project_id: int) -> None:
    """Queue up with the project's item and sprint creators, who hold its row until commit.

    Taking an item or sprint number updates the project row; this takes the same row lock
    (FOR NO KEY UPDATE), so checks made under it run one at a time with those writers.
    """
    await session.execute(
        select(col(Project.id)).where(col(Project.id) == project_id).with_for_update(key_share=True)
    )


# The counter each numbered series takes its next number from.
_NUMBER_SERIES = {
    "item": Project.next_item_number,
    "sprint": Project.next_sprint_number,
    "retro": Project.next_retro_number,
    "action": Project.next_action_number,
    "release": Project.next_release_number,
    "risk": Project.next_risk_number,
}


async def take_numbers(
    session: AsyncSession,
    project_id: int,
    series: Literal["item", "sprint", "retro", "action", "release", "risk"],
    count: int = 1,
) -> int:
    """Reserve `count` numbers of one series; returns the first. Locks the project row until
    commit."""
    counter = col(_NUMBER_SERIES[series])
    stmt = (
        update(Project)
        .where(col(Project.id) == project_id)
        .values({counter: counter + count})
        .returning(counter)
    )
    last = int((await session.execute(stmt)).scalar_one())
    return last - count + 1


async def key_exists(session: AsyncSession, key: str) -> bool:
    """Whether any project has this key."""
    stmt = select(func.count()).select_from(Project).where(col(Project.key) == key)
    return bool((await session.execute(stmt)).scalar_one())


async def list_for_user(
    session: AsyncSession, user_id: int, page: PageRequest
) -> tuple[list[tuple[Project, Role]], str | None]:
    """The user's projects with their role, by key."""
    stmt = (
        select(Project, col(ProjectMember.role))
        .join(ProjectMember, col(ProjectMember.project_id) == col(Project.id))
        .where(col(ProjectMember.user_id) == user_id)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(Project.key)], page, lambda row: [row[0].key]
    )
    return [(row[0], row[1]) for row in rows], cursor


async def count_owned(session: AsyncSession, user_id: int) -> int:
    """How many projects the user is an owner of."""
    stmt = (
        select(func.count())
        .select_from(ProjectMember)
        .where(col(ProjectMember.user_id) == user_id, col(ProjectMember.role) == Role.OWNER)
    )
    return int((await session.execute(stmt)).scalar_one())


async def delete_project(session: AsyncSession, project_id: int) -> None:
    """Delete a project; its members and everything project-scoped cascade."""
    await session.execute(delete(Project).where(col(Project.id) == project_id))


async def get_member(
    session: AsyncSession, project_id: int, user_id: int, *, for_update: bool = False
) -> tuple[ProjectMember, User] | None:
    """A membership with its user."""
    stmt = (
        select(ProjectMember, User)
        .join(User, col(User.id) == col(ProjectMember.user_id))
        .where(
            col(ProjectMember.project_id) == project_id,
            col(ProjectMember.user_id) == user_id,
        )
    )
    if for_update:
        stmt = stmt.with_for_update(of=ProjectMember)
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def list_members(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[tuple[ProjectMember, User]], str | None]:
    """A project's members by user id."""
    stmt = (
        select(ProjectMember, User)
        .join(User, col(User.id) == col(ProjectMember.user_id))
        .where(col(ProjectMember.project_id) == project_id)
    )
    rows, cursor = await fetch_page(
        session, stmt, [col(ProjectMember.user_id)], page, lambda row: [row[0].user_id]
    )
    return [(row[0], row[1]) for row in rows], cursor


async def planning_members(session: AsyncSession, project_id: int) -> list[User]:
    """The project's members who may plan (every role but viewer), by user id."""
    stmt = (
        select(User)
        .join(ProjectMember, col(ProjectMember.user_id) == col(User.id))
        .where(
            col(ProjectMember.project_id) == project_id,
            col(ProjectMember.role) != Role.VIEWER,
        )
        .order_by(col(User.id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def member_ids(session: AsyncSession, project_id: int, user_ids: Sequence[int]) -> set[int]:
    """Those of the given users who are members of the project (any role)."""
    # No row has an id outside the bigint range; filtering keeps asyncpg from refusing one.
    wanted = [user_id for user_id in user_ids if is_id(user_id)]
    if not wanted:
        return set()
    stmt = select(col(ProjectMember.user_id)).where(
        col(ProjectMember.project_id) == project_id, col(ProjectMember.user_id).in_(wanted)
    )
    return set((await session.execute(stmt)).scalars().all())


async def lock_owners(session: AsyncSession, project_id: int) -> int:
    """Lock the project's owner rows and count them, so two demotions cannot both pass."""
    # A fixed lock order, so concurrent callers queue instead of deadlocking.
    stmt = (
        select(col(ProjectMember.user_id))
        .where(
            col(ProjectMember.project_id) == project_id,
            col(ProjectMember.role) == Role.OWNER,
        )
        .order_by(col(ProjectMember.user_id))
        .with_for_update()
    )
    return len((await session.execute(stmt)).all())


async def delete_member(session: AsyncSession, project_id: int, user_id: int) -> None:
    """Remove a membership."""
    await session.execute(
        delete(ProjectMember).where(
            col(ProjectMember.project_id) == project_id,
            col(ProjectMember.user_id) == user_id,
        )
    )


async def add(session: AsyncSession, row: Any) -> None:
    """Insert a row and flush."""
    session.add(row)
    await session.flush()


async def share_a_project(session: AsyncSession, user_id: int, other_id: int) -> bool:
    """Whether two users are members of at least one project together."""
    mine = aliased(ProjectMember)
    theirs = aliased(ProjectMember)
    stmt = select(
        exists().where(
            col(mine.user_id) == user_id,
            col(theirs.user_id) == other_id,
            col(theirs.project_id) == col(mine.project_id),
        )
    )
    return bool((await session.execute(stmt)).scalar_one())


# Writes to a project hold its phase lock shared; closing it takes the lock exclusively, so a
# write either commits before the close or, arriving after, sees the project closed. By key:
# the lock is taken before the project row is read (a read after it sees a close committed
# while waiting). A transaction-level advisory lock: no row is written, writers never wait for
# each other, and it is gone at commit.
_PHASE_LOCK_KEY = "hashtextextended('project-phase ' || :key, 0)"


async def share_phase_lock(session: AsyncSession, key: str) -> None:
    """Hold the project's phase lock shared until commit (every write to a project does)."""
    await session.execute(
        text(f"SELECT pg_advisory_xact_lock_shared({_PHASE_LOCK_KEY})"), {"key": key}
    )


async def take_phase_lock(session: AsyncSession, key: str) -> None:
    """Hold the project's phase lock exclusively until commit: waits for the writes under way."""
    await session.execute(text(f"SELECT pg_advisory_xact_lock({_PHASE_LOCK_KEY})"), {"key": key})
