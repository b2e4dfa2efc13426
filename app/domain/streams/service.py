"""Who may open a live stream: a bearer token, or a single-use ticket bound to the stream."""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel import clock
from app.domain.kernel.errors import Unauthorized
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import resolve_access
from app.domain.projects.models import Role
from app.domain.streams import repository
from app.domain.streams.models import StreamTicket
from app.domain.users import repository as users_repository
from app.domain.users import service as users
from app.domain.users.models import ApiToken, User
from app.domain.users.security import hash_token

# Long enough for a page to open its EventSource, short enough that a ticket in a log is dead.
TICKET_TTL = timedelta(seconds=60)
# Greppable like bearer tokens (`tbx_`), and never mistaken for one.
TICKET_PREFIX = "tbxs_"


@dataclass(frozen=True)
class IssuedTicket:
    """A new ticket's secret (shown once) and when it expires."""

    ticket: str
    expires_at: datetime


@dataclass(frozen=True)
class StreamAccess:
    """Who holds a stream open, with which token, and (for a project's stream) on what."""

    user_id: int
    api_token_id: int
    project_id: int | None = None
    project_key: str | None = None


async def issue_ticket(
    session: AsyncSession, user: User, token: ApiToken, project_id: int | None
) -> IssuedTicket:
    """A ticket for the caller's own stream (`project_id` None) or for a project's."""
    assert user.id is not None and token.id is not None
    secret = TICKET_PREFIX + secrets.token_urlsafe(32)
    now = clock.now()
    expires_at = now + TICKET_TTL
    await repository.add(
        session,
        StreamTicket(
            token_hash=hash_token(secret),
            user_id=user.id,
            api_token_id=token.id,
            project_id=project_id,
            created_at=now,
            expires_at=expires_at,
        ),
    )
    return IssuedTicket(ticket=secret, expires_at=expires_at)


async def _caller(
    session: AsyncSession, bearer: str | None, ticket: str | None
) -> tuple[User, ApiToken, int | None, bool]:
    """The caller by bearer token, else by ticket (used up here): user, token, the ticket's
    project, and whether a ticket was used."""
    if bearer:
        user, token = await users.resolve_token(session, bearer)
        return user, token, None, False
    if not ticket:
        raise Unauthorized()
    now = clock.now()
    redeemed = await repository.redeem(session, hash_token(ticket), now)
    if redeemed is None:
        raise Unauthorized(
            "The stream ticket is unknown, expired or already used; ask for a new one."
        )
    found = await users_repository.live_token(session, redeemed.api_token_id, now)
    if found is None:
        raise Unauthorized("The token that asked for this ticket is expired or revoked.")
    return found[0], found[1], redeemed.project_id, True


def _access(
    user: User, token: ApiToken, project_id: int | None = None, key: str | None = None
) -> StreamAccess:
    assert user.id is not None and token.id is not None
    return StreamAccess(user.id, token.id, project_id, key)


async def open_project_stream(
    session: AsyncSession, key: str, bearer: str | None, ticket: str | None
) -> StreamAccess:
    """Check the caller may watch project `key` (any role); 401 without valid credentials,
    404 for outsiders, 401 for a ticket issued for another stream."""
    user, token, ticket_project, by_ticket = await _caller(session, bearer, ticket)
    access = await resolve_access(session, key, user, Role.VIEWER)
    if by_ticket and ticket_project != access.project_id:
        raise Unauthorized("This stream ticket was issued for another stream.")
    return _access(user, token, access.project_id, access.project.key)


async def open_user_stream(
    session: AsyncSession, bearer: str | None, ticket: str | None
) -> StreamAccess:
    """Check the caller may open their own stream; 401 without valid credentials."""
    user, token, ticket_project, by_ticket = await _caller(session, bearer, ticket)
    if by_ticket and ticket_project is not None:
        raise Unauthorized("This stream ticket was issued for a project's stream.")
    return _access(user, token)


async def still_allowed(session: AsyncSession, stream: StreamAccess) -> bool:
    """Whether the stream's token still works and (for a project) its user is still in it."""
    if await users_repository.live_token(session, stream.api_token_id, clock.now()) is None:
        return False
    if stream.project_key is None:
        return True
    found = await projects_repository.project_with_role(session, stream.project_key, stream.user_id)
    return found is not None


async def purge_expired(session: AsyncSession, cutoff: datetime) -> int:
    """Forget tickets that expired before `cutoff`."""
    return await repository.purge_expired(session, cutoff)
