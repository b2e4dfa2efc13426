"""Rules for accounts, login and tokens."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.domain.pagination import PageRequest
from app.domain.users import repository
from app.domain.users.models import ApiToken, TokenKind, User
from app.domain.users.schemas import (
    MeUpdate,
    PersonalTokenCreate,
    UserCreate,
    UserRegister,
    UserUpdate,
)
from app.domain.users.security import (
    hash_password,
    hash_token,
    new_token,
    token_display_prefix,
    verify_password,
)
from app.domain.versioning import bump, check_version
from app.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized

# Writing last_used_at on every request would turn reads into writes; a minute is precise enough.
_TOUCH_INTERVAL = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedToken:
    """A token's secret (shown once) with its stored row."""

    secret: str
    row: ApiToken


async def _insert_user(session: AsyncSession, data: UserRegister, *, is_admin: bool) -> User:
    email = data.email.lower()
    if await repository.get_user_by_email(session, email) is not None:
        raise Conflict(
            "An account with this email already exists.",
            errors=None,
        )
    user = User(
        email=email,
        display_name=data.display_name,
        password_hash=await hash_password(data.password),
        is_admin=is_admin,
    )
    try:
        async with session.begin_nested():
            await repository.add(session, user)
    except IntegrityError as exc:
        raise Conflict("An account with this email already exists.") from exc
    return user


async def register(session: AsyncSession, data: UserRegister) -> User:
    """Open registration; the very first account becomes an instance admin."""
    await repository.lock_first_user_check(session)
    first = await repository.count_users(session) == 0
    return await _insert_user(session, data, is_admin=first)


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    """An admin creates an account."""
    return await _insert_user(session, data, is_admin=data.is_admin)


async def get_user(session: AsyncSession, user_id: int) -> User:
    """A user by id, or 404."""
    user = await repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


async def list_users(session: AsyncSession, page: PageRequest) -> tuple[list[User], str | None]:
    """All users, for admins."""
    return await repository.list_users(session, page)


async def update_user(
    session: AsyncSession, actor: User, user_id: int, data: UserUpdate, if_match: int | None
) -> User:
    """An admin changes an account; deactivating cuts off its tokens at once."""
    user = await repository.get_user(session, user_id, for_update=True)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    check_version(user.version, if_match)
    changes = data.model_dump(exclude_unset=True)
    if user.id == actor.id and (
        changes.get("is_active") is False or changes.get("is_admin") is False
    ):
        raise Conflict("Admins cannot deactivate or demote themselves.")
    for field in ("is_active", "is_admin", "display_name"):
        if field in changes and changes[field] is None:
            raise InvalidInput.for_field(f"body.{field}", "May not be null.", "null")
    for field, value in changes.items():
        setattr(user, field, value)
    bump(user)
    await session.flush()
    return user


async def update_me(session: AsyncSession, user: User, data: MeUpdate) -> User:
    """A user changes their own display name or password."""
    changes = data.model_dump(exclude_unset=True)
    if changes.get("display_name") is not None:
        user.display_name = changes["display_name"]
    if changes.get("password") is not None:
        if not await verify_password(user.password_hash, data.current_password or ""):
            raise InvalidInput.for_field(
                "body.current_password", "The current password is wrong.", "password"
            )
        user.password_hash = await hash_password(changes["password"])
    bump(user)
    session.add(user)
    await session.flush()
    return user


async def authenticate(session: AsyncSession, email: str, password: str) -> User:
    """The active user with this email and password, or 401 (same answer for any failure)."""
    user = await repository.get_user_by_email(session, email.strip())
    valid = await verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.is_active:
        raise Unauthorized("Wrong email or password.")
    return user


async def _issue(
    session: AsyncSession,
    user: User,
    kind: TokenKind,
    name: str | None,
    expires_at: datetime | None,
) -> IssuedToken:
    secret = new_token()
    assert user.id is not None
    row = ApiToken(
        user_id=user.id,
        kind=kind.value,
        name=name,
        token_hash=hash_token(secret),
        prefix=token_display_prefix(secret),
        expires_at=expires_at,
    )
    await repository.add(session, row)
    return IssuedToken(secret=secret, row=row)


async def issue_login_token(session: AsyncSession, user: User, ttl: timedelta) -> IssuedToken:
    """A login token that expires after `ttl`."""
    return await _issue(session, user, TokenKind.LOGIN, None, utcnow() + ttl)


async def create_personal_token(
    session: AsyncSession, user: User, data: PersonalTokenCreate
) -> IssuedToken:
    """A named personal access token."""
    expires_at = utcnow() + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    return await _issue(session, user, TokenKind.PERSONAL, data.name, expires_at)


async def resolve_token(session: AsyncSession, secret: str) -> tuple[User, ApiToken]:
    """The user behind a bearer token, or 401 if it is unknown, expired, revoked or inactive."""
    now = utcnow()
    found = await repository.user_for_token(session, hash_token(secret), now)
    if found is None:
        raise Unauthorized("The token is invalid, expired or revoked.")
    user, token = found
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_INTERVAL:
        assert token.id is not None
        await repository.touch_token(session, token.id, now)
    return user, token


async def revoke(session: AsyncSession, token: ApiToken) -> None:
    """Revoke a token (logout)."""
    assert token.id is not None
    await repository.revoke_token(session, token.id, utcnow())


async def list_personal_tokens(
    session: AsyncSession, user: User, page: PageRequest
) -> tuple[list[ApiToken], str | None]:
    """The caller's live personal access tokens."""
    assert user.id is not None
    return await repository.list_personal_tokens(session, user.id, page)


async def revoke_personal_token(session: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of the caller's personal access tokens."""
    assert user.id is not None
    token = await repository.get_personal_token(session, user.id, token_id)
    if token is None:
        raise NotFound(f"No personal access token with id {token_id}.")
    await revoke(session, token)


def require_admin(user: User) -> None:
    """403 unless the user is an instance admin."""
    if not user.is_admin:
        raise Forbidden("Only instance admins may do this.")
