"""SQL of stream tickets: issue, redeem once, forget."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.streams.models import StreamTicket


@dataclass(frozen=True)
class RedeemedTicket:
    """Who a redeemed ticket was issued to, and for which stream."""

    user_id: int
    api_token_id: int
    project_id: int | None


async def add(session: AsyncSession, ticket: StreamTicket) -> None:
    """Insert a ticket."""
    session.add(ticket)
    await session.flush()


async def redeem(session: AsyncSession, token_hash: str, now: datetime) -> RedeemedTicket | None:
    """Use a live, unused ticket up: one UPDATE, so two connections cannot both redeem it."""
    stmt = (
        update(StreamTicket)
        .where(
            col(StreamTicket.token_hash) == token_hash,
            col(StreamTicket.used_at).is_(None),
            col(StreamTicket.expires_at) > now,
        )
        .values(used_at=now)
        .returning(
            col(StreamTicket.user_id),
            col(StreamTicket.api_token_id),
            col(StreamTicket.project_id),
        )
    )
    row = (await session.execute(stmt)).one_or_none()
    return RedeemedTicket(row[0], row[1], row[2]) if row else None


async def purge_expired(session: AsyncSession, cutoff: datetime) -> int:
    """Delete tickets that expired before `cutoff` (used or not); returns how many."""
    result = await session.execute(
        delete(StreamTicket).where(col(StreamTicket.expires_at) < cutoff)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
