"""SQL for planning poker: estimation rounds, their votes, and estimation sessions."""

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.estimation.models import (
    EstimationRound,
    EstimationSession,
    EstimationVote,
    RoundState,
    SessionState,
)
from app.domain.kernel import clock
from app.domain.kernel.inputs import is_id, is_number
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.users.models import User


async def last_round_number(session: AsyncSession, project_id: int, item_id: int) -> int:
    """The highest round number of an item (0 before its first round)."""
    stmt = select(func.coalesce(func.max(col(EstimationRound.number)), 0)).where(
        col(EstimationRound.project_id) == project_id, col(EstimationRound.item_id) == item_id
    )
    return int((await session.execute(stmt)).scalar_one())


async def open_round(
    session: AsyncSession, project_id: int, item_id: int, *, for_update: bool = False
) -> EstimationRound | None:
    """The item's open round (voting, or revealed and not yet re-voted or accepted)."""
    stmt = select(EstimationRound).where(
        col(EstimationRound.project_id) == project_id,
        col(EstimationRound.item_id) == item_id,
        col(EstimationRound.closed_at).is_(None),
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def get_round(
    session: AsyncSession, project_id: int, item_id: int, number: int, *, for_update: bool = False
) -> EstimationRound | None:
    """One round of an item by number."""
    if not is_number(number):
        return None
    stmt = select(EstimationRound).where(
        col(EstimationRound.project_id) == project_id,
        col(EstimationRound.item_id) == item_id,
        col(EstimationRound.number) == number,
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_rounds(
    session: AsyncSession, project_id: int, item_id: int, page: PageRequest
) -> tuple[list[EstimationRound], str | None]:
    """An item's rounds, latest first."""
    stmt = select(EstimationRound).where(
        col(EstimationRound.project_id) == project_id, col(EstimationRound.item_id) == item_id
    )
    rows, cursor = await fetch_page(
        session,
        stmt,
        [col(EstimationRound.number)],
        page,
        lambda row: [row[0].number],
        descending=True,
    )
    return [row[0] for row in rows], cursor


async def latest_rounds(
    session: AsyncSession, project_id: int, item_ids: Sequence[int]
) -> dict[int, EstimationRound]:
    """Each item's latest round, by item id."""
    if not item_ids:
        return {}
    stmt = (
        select(EstimationRound)
        .where(
            col(EstimationRound.project_id) == project_id,
            col(EstimationRound.item_id).in_(list(item_ids)),
        )
        .order_by(col(EstimationRound.item_id), col(EstimationRound.number).desc())
        .ext(distinct_on(col(EstimationRound.item_id)))
    )
    return {row.item_id: row for row in (await session.execute(stmt)).scalars().all()}


async def accepted_item_ids(
    session: AsyncSession, project_id: int, session_ids: Sequence[int]
) -> dict[int, set[int]]:
    """Per estimation session: the items whose round was accepted within it."""
    if not session_ids:
        return {}
    stmt = select(col(EstimationRound.session_id), col(EstimationRound.item_id)).where(
        col(EstimationRound.project_id) == project_id,
        col(EstimationRound.session_id).in_(list(session_ids)),
        col(EstimationRound.state) == RoundState.ACCEPTED,
    )
    found: dict[int, set[int]] = defaultdict(set)
    for session_id, item_id in (await session.execute(stmt)).all():
        if session_id is not None:
            found[session_id].add(item_id)
    return found


async def votes_with_users(
    session: AsyncSession, project_id: int, round_ids: Sequence[int]
) -> dict[int, list[tuple[EstimationVote, User | None]]]:
    """The votes of some rounds with their voters, by round id, in the order they were cast."""
    if not round_ids:
        return {}
    stmt = (
        select(EstimationVote, User)
        .outerjoin(User, col(User.id) == col(EstimationVote.user_id))
        .where(
            col(EstimationVote.project_id) == project_id,
            col(EstimationVote.round_id).in_(list(round_ids)),
        )
        .order_by(
            col(EstimationVote.round_id),
            col(EstimationVote.created_at),
            col(EstimationVote.user_id),
        )
    )
    found: dict[int, list[tuple[EstimationVote, User | None]]] = defaultdict(list)
    for vote, user in (await session.execute(stmt)).all():
        found[vote.round_id].append((vote, user))
    return found


async def put_vote(
    session: AsyncSession, project_id: int, round_id: int, user_id: int, value: str
) -> None:
    """Cast a member's vote, or change it (one vote per member and round)."""
    now = clock.now()
    stmt = insert(EstimationVote).values(
        round_id=round_id,
        user_id=user_id,
        project_id=project_id,
        value=value,
        created_at=now,
        updated_at=now,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[col(EstimationVote.round_id), col(EstimationVote.user_id)],
        set_={"value": value, "updated_at": now},
    )
    await session.execute(stmt)


async def delete_vote(session: AsyncSession, project_id: int, round_id: int, user_id: int) -> None:
    """Retract a member's vote (nothing happens when there is none)."""
    await session.execute(
        delete(EstimationVote).where(
            col(EstimationVote.project_id) == project_id,
            col(EstimationVote.round_id) == round_id,
            col(EstimationVote.user_id) == user_id,
        )
    )


async def count_votes(session: AsyncSession, project_id: int, round_id: int) -> int:
    """How many votes a round has."""
    stmt = (
        select(func.count())
        .select_from(EstimationVote)
        .where(
            col(EstimationVote.project_id) == project_id,
            col(EstimationVote.round_id) == round_id,
        )
    )
    return int((await session.execute(stmt)).scalar_one())


async def get_session(
    session: AsyncSession, project_id: int, session_id: int, *, for_update: bool = False
) -> EstimationSession | None:
    """One estimation session by id."""
    if not is_id(session_id):
        return None
    stmt = select(EstimationSession).where(
        col(EstimationSession.project_id) == project_id, col(EstimationSession.id) == session_id
    )
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_sessions(
    session: AsyncSession, project_id: int, page: PageRequest
) -> tuple[list[EstimationSession], str | None]:
    """The project's estimation sessions, latest first."""
    stmt = select(EstimationSession).where(col(EstimationSession.project_id) == project_id)
    rows, cursor = await fetch_page(
        session, stmt, [col(EstimationSession.id)], page, lambda row: [row[0].id], descending=True
    )
    return [row[0] for row in rows], cursor


async def count_open_sessions(session: AsyncSession, project_id: int) -> int:
    """How many estimation sessions of the project are open."""
    stmt = (
        select(func.count())
        .select_from(EstimationSession)
        .where(
            col(EstimationSession.project_id) == project_id,
            col(EstimationSession.state) == SessionState.OPEN,
        )
    )
    return int((await session.execute(stmt)).scalar_one())
