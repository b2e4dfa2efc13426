"""SQL for retros and their boards: cards, groups and votes."""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.kernel.inputs import is_id, is_number
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.retros.models import Retro, RetroCard, RetroGroup, RetroPhase, RetroVote
from app.domain.sprints.models import Sprint
from app.domain.users.models import User

# How a retro row is read: plainly, FOR SHARE (writers on its board, which must not interleave
# with a phase change) or FOR UPDATE (phase changes and settings).
RetroLock = Literal["share", "update"] | None


async def retro_by_number(
    session: AsyncSession, project_id: int, number: int, *, lock: RetroLock = None
) -> tuple[Retro, int | None, User | None] | None:
    """A retro of the project by number, with its sprint's number (None for a project retro)
    and its facilitator's account."""
    if not is_number(number):
        return None
    stmt = (
        select(Retro, col(Sprint.number), User)
        .outerjoin(Sprint, col(Sprint.id) == col(Retro.sprint_id))
        .outerjoin(User, col(User.id) == col(Retro.facilitator_id))
        .where(col(Retro.project_id) == project_id, col(Retro.number) == number)
    )
    if lock is not None:
        stmt = stmt.with_for_update(read=lock == "share", of=Retro).execution_options(
            populate_existing=True
        )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def retro_number_for_sprint(
    session: AsyncSession, project_id: int, sprint_id: int
) -> int | None:
    """The number of a sprint's retro, if it has one."""
    stmt = select(col(Retro.number)).where(
        col(Retro.project_id) == project_id, col(Retro.sprint_id) == sprint_id
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def list_retros(
    session: AsyncSession,
    project_id: int,
    page: PageRequest,
    phase: RetroPhase | None = None,
    sprint_number: int | None = None,
) -> tuple[list[tuple[Retro, int | None, User | None]], str | None]:
    """The project's retros by number, with their sprint numbers and facilitators."""
    stmt = (
        select(Retro, col(Sprint.number), User)
        .outerjoin(Sprint, col(Sprint.id) == col(Retro.sprint_id))
        .outerjoin(User, col(User.id) == col(Retro.facilitator_id))
        .where(col(Retro.project_id) == project_id)
    )
    if phase is not None:
        stmt = stmt.where(col(Retro.phase) == phase)
    if sprint_number is not None:
        stmt = stmt.where(col(Sprint.number) == sprint_number)
    rows, cursor = await fetch_page(
        session, stmt, [col(Retro.number)], page, lambda row: [row[0].number]
    )
    return [(row[0], row[1], row[2]) for row in rows], cursor


async def add(session: AsyncSession, row: Retro | RetroCard | RetroGroup | RetroVote) -> None:
    """Insert a row and flush."""
    session.add(row)
    await session.flush()


# --- cards ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CardRow:
    """A card as the board shows it: its columns, read without building an ORM object."""

    id: int
    column: str
    text: str
    author_id: int | None
    group_id: int | None
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VoteRow:
    """A vote as the board lists it."""

    id: int
    card_id: int | None
    group_id: int | None
    created_at: datetime


_CARD_COLUMNS = tuple(col(getattr(RetroCard, field.name)) for field in fields(CardRow))
_VOTE_COLUMNS = tuple(col(getattr(RetroVote, field.name)) for field in fields(VoteRow))


async def board_cards(
    session: AsyncSession, project_id: int, retro_id: int, *, with_authors: bool
) -> list[tuple[CardRow, User | None]]:
    """A retro's cards by id, with their authors' accounts unless `with_authors` is off."""
    # Plain rows, not ORM objects: a board reads hundreds of cards and changes none.
    scope = (col(RetroCard.project_id) == project_id, col(RetroCard.retro_id) == retro_id)
    if not with_authors:
        stmt = select(*_CARD_COLUMNS).where(*scope).order_by(col(RetroCard.id))
        return [
            (CardRow(*cast("tuple[Any, ...]", row)), None)
            for row in (await session.execute(stmt)).all()
        ]
    joined = (
        select(*_CARD_COLUMNS, User)
        .outerjoin(User, col(User.id) == col(RetroCard.author_id))
        .where(*scope)
        .order_by(col(RetroCard.id))
    )
    width = len(_CARD_COLUMNS)
    return [
        (CardRow(*cast("tuple[Any, ...]", row)[:width]), row[width])
        for row in (await session.execute(joined)).all()
    ]


async def get_card(
    session: AsyncSession, project_id: int, retro_id: int, card_id: int, *, for_update: bool = False
) -> RetroCard | None:
    """One card of a retro."""
    if not is_id(card_id):
        return None
    stmt = select(RetroCard).where(
        col(RetroCard.project_id) == project_id,
        col(RetroCard.retro_id) == retro_id,
        col(RetroCard.id) == card_id,
    )
    if for_update:
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_cards_by(
    session: AsyncSession, project_id: int, retro_id: int, author_id: int
) -> int:
    """How many cards one member has on a retro."""
    stmt = select(func.count()).where(
        col(RetroCard.project_id) == project_id,
        col(RetroCard.retro_id) == retro_id,
        col(RetroCard.author_id) == author_id,
    )
    return int((await session.execute(stmt)).scalar_one())


async def cards_by_ids(
    session: AsyncSession, project_id: int, retro_id: int, card_ids: Sequence[int]
) -> dict[int, RetroCard]:
    """Those of the given cards that are on the retro, by id, locked."""
    wanted = [card_id for card_id in card_ids if is_id(card_id)]
    if not wanted:
        return {}
    stmt = (
        select(RetroCard)
        .where(
            col(RetroCard.project_id) == project_id,
            col(RetroCard.retro_id) == retro_id,
            col(RetroCard.id).in_(wanted),
        )
        .order_by(col(RetroCard.id))
        .with_for_update()
    )
    return {card.id or 0: card for card in (await session.execute(stmt)).scalars().all()}


async def delete_card(session: AsyncSession, project_id: int, card_id: int) -> None:
    """Delete a card (its votes go with it)."""
    await session.execute(
        delete(RetroCard).where(
            col(RetroCard.project_id) == project_id, col(RetroCard.id) == card_id
        )
    )


# --- groups -----------------------------------------------------------------------------------


async def board_groups(session: AsyncSession, project_id: int, retro_id: int) -> list[RetroGroup]:
    """A retro's groups by id."""
    stmt = (
        select(RetroGroup)
        .where(col(RetroGroup.project_id) == project_id, col(RetroGroup.retro_id) == retro_id)
        .order_by(col(RetroGroup.id))
    )
    return list((await session.execute(stmt)).scalars().all())


async def get_group(
    session: AsyncSession, project_id: int, retro_id: int, group_id: int
) -> RetroGroup | None:
    """One group of a retro, locked."""
    if not is_id(group_id):
        return None
    stmt = (
        select(RetroGroup)
        .where(
            col(RetroGroup.project_id) == project_id,
            col(RetroGroup.retro_id) == retro_id,
            col(RetroGroup.id) == group_id,
        )
        .with_for_update()
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def count_groups(session: AsyncSession, project_id: int, retro_id: int) -> int:
    """How many groups a retro has."""
    stmt = select(func.count()).where(
        col(RetroGroup.project_id) == project_id, col(RetroGroup.retro_id) == retro_id
    )
    return int((await session.execute(stmt)).scalar_one())


async def group_card_ids(
    session: AsyncSession, project_id: int, retro_id: int, group_id: int
) -> list[int]:
    """The ids of a group's cards, in id order."""
    stmt = (
        select(col(RetroCard.id))
        .where(
            col(RetroCard.project_id) == project_id,
            col(RetroCard.retro_id) == retro_id,
            col(RetroCard.group_id) == group_id,
        )
        .order_by(col(RetroCard.id))
    )
    return [card_id for card_id in (await session.execute(stmt)).scalars().all() if card_id]


async def set_group_cards(
    session: AsyncSession, project_id: int, retro_id: int, group_id: int, card_ids: Sequence[int]
) -> None:
    """Make exactly these cards the group's (others leave it; these leave any other group)."""
    await session.execute(
        update(RetroCard)
        .where(
            col(RetroCard.project_id) == project_id,
            col(RetroCard.retro_id) == retro_id,
            col(RetroCard.group_id) == group_id,
            col(RetroCard.id).not_in(list(card_ids)),
        )
        .values(group_id=None)
    )
    if card_ids:
        await session.execute(
            update(RetroCard)
            .where(
                col(RetroCard.project_id) == project_id,
                col(RetroCard.retro_id) == retro_id,
                col(RetroCard.id).in_(list(card_ids)),
            )
            .values(group_id=group_id)
        )


async def delete_group(session: AsyncSession, project_id: int, group_id: int) -> None:
    """Delete a group: its cards become ungrouped, votes on it go."""
    await session.execute(
        delete(RetroGroup).where(
            col(RetroGroup.project_id) == project_id, col(RetroGroup.id) == group_id
        )
    )


# --- votes ------------------------------------------------------------------------------------


async def lock_voter(session: AsyncSession, retro_id: int, user_id: int) -> None:
    """Serialise one member's votes (and cards) on one retro until the transaction ends."""
    # A transaction-level advisory lock per (retro, member): two of their requests racing
    # queue here, so the budget check and the insert run as one step.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:name, 0))"),
        {"name": f"retro-voter {retro_id} {user_id}"},
    )


async def votes_of(
    session: AsyncSession, project_id: int, retro_id: int, user_id: int
) -> list[VoteRow]:
    """One member's votes on a retro, by id."""
    stmt = (
        select(*_VOTE_COLUMNS)
        .where(
            col(RetroVote.project_id) == project_id,
            col(RetroVote.retro_id) == retro_id,
            col(RetroVote.user_id) == user_id,
        )
        .order_by(col(RetroVote.id))
    )
    return [VoteRow(*cast("tuple[Any, ...]", row)) for row in (await session.execute(stmt)).all()]


async def vote_counts(
    session: AsyncSession,
    project_id: int,
    retro_id: int,
    user_id: int,
    card_id: int | None,
    group_id: int | None,
) -> tuple[int, int]:
    """How many votes a member has on a retro, and how many of them on this card or group."""
    target = (
        col(RetroVote.card_id) == card_id
        if card_id is not None
        else col(RetroVote.group_id) == group_id
    )
    stmt = select(func.count(), func.count().filter(target)).where(
        col(RetroVote.project_id) == project_id,
        col(RetroVote.retro_id) == retro_id,
        col(RetroVote.user_id) == user_id,
    )
    total, on_target = (await session.execute(stmt)).one()
    return int(total), int(on_target)


async def vote_maxima(session: AsyncSession, project_id: int, retro_id: int) -> tuple[int, int]:
    """The most votes one member holds on a retro, and the most one member holds on one card
    or group (0, 0 with no votes)."""
    per_target = (
        select(
            col(RetroVote.user_id),
            func.count().label("on_target"),
        )
        .where(col(RetroVote.project_id) == project_id, col(RetroVote.retro_id) == retro_id)
        .group_by(col(RetroVote.user_id), col(RetroVote.card_id), col(RetroVote.group_id))
        .subquery()
    )
    per_member = (
        select(func.sum(per_target.c.on_target).label("total"))
        .group_by(per_target.c.user_id)
        .subquery()
    )
    stmt = select(
        select(func.coalesce(func.max(per_member.c.total), 0)).scalar_subquery(),
        select(func.coalesce(func.max(per_target.c.on_target), 0)).scalar_subquery(),
    )
    most, most_on_one = (await session.execute(stmt)).one()
    return int(cast(int, most)), int(cast(int, most_on_one))


async def tallies(
    session: AsyncSession, project_id: int, retro_id: int
) -> tuple[dict[int, int], dict[int, int]]:
    """Votes per card id and per group id (votes on the group itself only)."""
    stmt = (
        select(col(RetroVote.card_id), col(RetroVote.group_id), func.count())
        .where(col(RetroVote.project_id) == project_id, col(RetroVote.retro_id) == retro_id)
        .group_by(col(RetroVote.card_id), col(RetroVote.group_id))
    )
    cards: dict[int, int] = {}
    groups: dict[int, int] = {}
    for card_id, group_id, count in (await session.execute(stmt)).all():
        if card_id is not None:
            cards[int(card_id)] = int(count)
        elif group_id is not None:
            groups[int(group_id)] = int(count)
    return cards, groups


async def get_vote(
    session: AsyncSession, project_id: int, retro_id: int, vote_id: int
) -> RetroVote | None:
    """One vote on a retro."""
    if not is_id(vote_id):
        return None
    stmt = select(RetroVote).where(
        col(RetroVote.project_id) == project_id,
        col(RetroVote.retro_id) == retro_id,
        col(RetroVote.id) == vote_id,
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def delete_vote(session: AsyncSession, project_id: int, vote_id: int) -> None:
    """Retract a vote."""
    await session.execute(
        delete(RetroVote).where(
            col(RetroVote.project_id) == project_id, col(RetroVote.id) == vote_id
        )
    )
