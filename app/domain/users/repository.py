"""SQL for users and tokens."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, event, exists, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlmodel import col

from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.users.models import ApiToken, TokenKind, User

# Serialises "is this the first user?" so two concurrent first registrations cannot both win.
_FIRST_USER_LOCK = 7_245_001


async def lock_first_user_check(session: AsyncSession) -> None:
    """Take a transaction-scoped advisory lock around the first-user check."""
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _FIRST_USER_LOCK})


async def any_user(session: AsyncSession) -> bool:
    """Whether any account exists."""
    return bool((await session.execute(select(exists().select_from(User)))).scalar_one())


async def purge_dead_login_tokens(session: AsyncSession, cutoff: datetime) -> int:
    """Delete login tokens that expired or were revoked before `cutoff`; returns how many."""
    result = await session.execute(
        delete(ApiToken).where(
            col(ApiToken.kind) == TokenKind.LOGIN,
            (col(ApiToken.expires_at) < cutoff) | (col(ApiToken.revoked_at) < cutoff),
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


async def get_user(session: AsyncSession, user_id: int, *, for_update: bool = False) -> User | None:
    """A user by id."""
    stmt = select(User).where(col(User.id) == user_id)
    if for_update:
        # populate_existing: the caller's own row may already be loaded (unlocked) in this session.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(stmt)).scalar_one_or_none()


async def lock_user(session: AsyncSession, user_id: int) -> None:
    """Hold the user row until commit (FOR NO KEY UPDATE: new logins may still reference it)."""
    await session.execute(
        select(col(User.id)).where(col(User.id) == user_id).with_for_update(key_share=True)
    )


async def users_by_id(session: AsyncSession, user_ids: Sequence[int]) -> dict[int, User]:
    """Users by id (for names and emails)."""
    if not user_ids:
        return {}
    stmt = select(User).where(col(User.id).in_(list(user_ids)))
    return {user.id: user for user in (await session.execute(stmt)).scalars() if user.id}


async def get_user_by_email(session: AsyncSession, email: str) -> User | None:
    """A user by (lower-cased) email."""
    stmt = select(User).where(col(User.email) == email.lower())
    return (await session.execute(stmt)).scalar_one_or_none()


async def add(session: AsyncSession, row: Any) -> None:
    """Insert a row and flush so its generated columns are known."""
    session.add(row)
    await session.flush()


async def list_users(session: AsyncSession, page: PageRequest) -> tuple[list[User], str | None]:
    """Users by id."""
    rows, cursor = await fetch_page(
        session, select(User), [col(User.id)], page, lambda row: [row[0].id]
    )
    return [row[0] for row in rows], cursor


async def user_for_token(
    session: AsyncSession, token_hash: str, now: datetime
) -> tuple[User, ApiToken] | None:
    """The active user and live token for a token hash, in one query."""
    stmt = (
        select(User, ApiToken)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(
            col(ApiToken.token_hash) == token_hash,
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at).is_(None) | (col(ApiToken.expires_at) > now),
            col(User.is_active).is_(True),
        )
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def live_token(
    session: AsyncSession, token_id: int, now: datetime
) -> tuple[User, ApiToken] | None:
    """The active user and token of a token id, if the token still works."""
    stmt = (
        select(User, ApiToken)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(
            col(ApiToken.id) == token_id,
            col(ApiToken.revoked_at).is_(None),
            col(ApiToken.expires_at).is_(None) | (col(ApiToken.expires_at) > now),
            col(User.is_active).is_(True),
        )
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


_PENDING_TOUCH = "timebox.pending_token_touch"


def touch_token_at_commit(session: AsyncSession, token_id: int, now: datetime) -> None:
    """Record when a token was last used, as the last statement before the transaction commits.

    Revocations (deactivation, password change) lock user rows and then token rows; touching
    the caller's token at the start of a request would take a token lock first and could
    deadlock with them, so the touch (and its row lock) comes last.
    """
    session.info[_PENDING_TOUCH] = (token_id, now)


@event.listens_for(Session, "before_commit")
def _touch_pending_token(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint is being released; wait for the real commit
    pending = session.info.pop(_PENDING_TOUCH, None)
    if pending is not None:
        token_id, now = pending
        session.execute(
            update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=now)
        )


async def revoke_token(session: AsyncSession, token_id: int, now: datetime) -> None:
    """Mark a token revoked."""
    await session.execute(
        update(ApiToken).where(col(ApiToken.id) == token_id).values(revoked_at=now)
    )


async def get_personal_token(session: AsyncSession, user_id: int, token_id: int) -> ApiToken | None:
    """One of a user's live personal access tokens."""
    stmt = select(ApiToken).where(
        col(ApiToken.id) == token_id,
        col(ApiToken.user_id) == user_id,
        col(ApiToken.kind) == TokenKind.PERSONAL,
        col(ApiToken.revoked_at).is_(None),
    )
    return (await session.execute(stmt)).scalar_one_or_none()


def _live(user_id: int, now: datetime) -> list[ColumnElement[bool]]:
    """A user's tokens that still work: not revoked, not expired."""
    return [
        col(ApiToken.user_id) == user_id,
        col(ApiToken.revoked_at).is_(None),
        col(ApiToken.expires_at).is_(None) | (col(ApiToken.expires_at) > now),
    ]


async def list_personal_tokens(
    session: AsyncSession, user_id: int, page: PageRequest, now: datetime
) -> tuple[list[ApiToken], str | None]:
    """A user's live (not revoked, not expired) personal access tokens by id."""
    stmt = select(ApiToken).where(*_live(user_id, now), col(ApiToken.kind) == TokenKind.PERSONAL)
    rows, cursor = await fetch_page(
        session, stmt, [col(ApiToken.id)], page, lambda row: [row[0].id]
    )
    return [row[0] for row in rows], cursor


async def count_live_personal_tokens(session: AsyncSession, user_id: int, now: datetime) -> int:
    """How many personal access tokens of a user still work."""
    stmt = (
        select(func.count())
        .select_from(ApiToken)
        .where(*_live(user_id, now), col(ApiToken.kind) == TokenKind.PERSONAL)
    )
    return int((await session.execute(stmt)).scalar_one())


async def revoke_live_tokens(
    session: AsyncSession, user_id: int, now: datetime, *, keep_token_id: int | None
) -> int:
    """Revoke every token of a user that still works but `keep_token_id`; returns how many."""
    stmt = update(ApiToken).where(*_live(user_id, now))
    if keep_token_id is not None:
        stmt = stmt.where(col(ApiToken.id) != keep_token_id)
    result = await session.execute(stmt.values(revoked_at=now))
    return int(result.rowcount)  # type: ignore[attr-defined]


async def revoke_all_tokens(session: AsyncSession, user_id: int, now: datetime) -> None:
    """Revoke every live token of a user (deactivation)."""
    await session.execute(
        update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )


async def revoke_login_tokens_except(
    session: AsyncSession, user_id: int, keep_token_id: int, now: datetime
) -> None:
    """Revoke a user's login tokens other than `keep_token_id` (password change)."""
    await session.execute(
        update(ApiToken)
        .where(
            col(ApiToken.user_id) == user_id,
            col(ApiToken.kind) == TokenKind.LOGIN,
            col(ApiToken.id) != keep_token_id,
            col(ApiToken.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )


async def lock_active_admins(session: AsyncSession) -> list[int]:
    """Lock all active admin rows in id order; return their ids."""
    stmt = (
        select(col(User.id))
        .where(col(User.is_admin).is_(True), col(User.is_active).is_(True))
        .order_by(col(User.id))
        .with_for_update()
    )
    return [user_id for user_id in (await session.execute(stmt)).scalars().all() if user_id]
