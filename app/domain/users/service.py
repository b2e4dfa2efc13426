"""Rules for accounts, login and tokens."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel import clock
from app.domain.kernel.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthorized,
)
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, apply_changes, bump, check_version
from app.domain.kernel.views import RowView
from app.domain.users import repository
from app.domain.users.models import ApiToken, TokenKind, User
from app.domain.users.passwords import check_password
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

# Writing last_used_at on every request would turn reads into writes; a minute is precise enough.
_TOUCH_INTERVAL = timedelta(minutes=1)
# Live (unrevoked, unexpired) personal access tokens one account may hold at once.
MAX_PERSONAL_TOKENS = 50


@dataclass(frozen=True)
class IssuedToken(RowView):
    """A new token: its secret (shown this once), its stored row and, for logins, its lifetime."""

    secret: str
    row: ApiToken
    lifetime: timedelta | None = None

    @property
    def token(self) -> str:
        """The secret, as a personal access token's response names it."""
        return self.secret

    @property
    def access_token(self) -> str:
        """The secret, as an OAuth2 token response names it."""
        return self.secret

    @property
    def expires_in(self) -> int | None:
        """Whole seconds the token lives, when it expires."""
        return None if self.lifetime is None else int(self.lifetime.total_seconds())


def _email_taken() -> Conflict:
    return Conflict(
        "An account with this email already exists.",
        errors=[FieldError(field="body.email", message="already registered", type="duplicate")],
    )


async def _insert_user(
    session: AsyncSession, data: UserRegister, password_hash: str, *, is_admin: bool
) -> User:
    email = data.email.lower()
    if await repository.get_user_by_email(session, email) is not None:
        raise _email_taken()
    user = User(
        email=email, display_name=data.display_name, password_hash=password_hash, is_admin=is_admin
    )
    try:
        async with session.begin_nested():
            await repository.add(session, user)
    except IntegrityError as exc:
        raise _email_taken() from exc
    return user


async def _check_new_password(data: UserRegister) -> None:
    await check_password(
        data.password, "body.password", user_inputs=(data.email, data.display_name)
    )


async def register(session: AsyncSession, data: UserRegister) -> User:
    """Open registration; the very first account becomes an instance admin."""
    await _check_new_password(data)
    # Hash before taking the lock: argon2 is slow on purpose, the lock should not be.
    password_hash = await hash_password(data.password)
    await repository.lock_first_user_check(session)
    first = not await repository.any_user(session)
    return await _insert_user(session, data, password_hash, is_admin=first)


async def create_user(session: AsyncSession, data: UserCreate) -> User:
    """An admin creates an account."""
    await _check_new_password(data)
    return await _insert_user(
        session, data, await hash_password(data.password), is_admin=data.is_admin
    )


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
    session: AsyncSession, actor: User, user_id: int, data: UserUpdate, if_match: Versions | None
) -> User:
    """An admin changes an account; deactivating revokes all its tokens at once."""
    changes = data.model_dump(exclude_unset=True)
    removes_admin = changes.get("is_active") is False or changes.get("is_admin") is False
    admin_ids: list[int] = []
    if removes_admin:
        # Lock every admin row first (in id order) so two admins cannot demote each other.
        admin_ids = await repository.lock_active_admins(session)
    user = await repository.get_user(session, user_id, for_update=True)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    check_version(user.version, if_match)
    if removes_admin:
        if user.id == actor.id:
            raise Conflict("Admins cannot deactivate or demote themselves.")
        if user.is_admin and user.is_active and not set(admin_ids) - {user.id}:
            raise Conflict("The instance must keep at least one active admin.")
        if actor.id not in admin_ids:
            # The actor was demoted or deactivated since this request authenticated.
            raise Forbidden("Only instance admins may do this.")
    was_active = user.is_active
    apply_changes(user, changes)
    if was_active and not user.is_active:
        assert user.id is not None
        await repository.revoke_all_tokens(session, user.id, clock.now())
    await session.flush()
    return user


async def update_me(
    session: AsyncSession,
    user: User,
    current_token: ApiToken,
    data: MeUpdate,
    if_match: Versions | None = None,
) -> User:
    """A user changes their display name or password; a new password ends other logins."""
    if data.password is not None:
        names = (user.email, user.display_name, data.display_name or "")
        await check_password(data.password, "body.password", user_inputs=names)
    # Lock the row so concurrent changes each see (and bump) the latest version.
    await session.refresh(user, with_for_update=True)
    check_version(user.version, if_match)
    changes = data.model_dump(exclude_unset=True, exclude={"current_password"})
    new_password = changes.pop("password", None)
    if "password" in data.model_fields_set and new_password is None:
        raise InvalidInput.null("body.password")
    changed = apply_changes(user, changes)
    if new_password is not None:
        if not await verify_password(user.password_hash, data.current_password or ""):
            raise InvalidInput.for_field(
                "body.current_password", "The current password is wrong.", "password"
            )
        user.password_hash = await hash_password(new_password)
        if not changed:  # one PATCH is one new version, however many fields it changes
            bump(user)
        assert user.id is not None and current_token.id is not None
        await repository.revoke_login_tokens_except(session, user.id, current_token.id, clock.now())
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
    lifetime: timedelta | None = None,
) -> IssuedToken:
    secret = new_token()
    assert user.id is not None
    row = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=hash_token(secret),
        prefix=token_display_prefix(secret),
        expires_at=expires_at,
    )
    await repository.add(session, row)
    return IssuedToken(secret=secret, row=row, lifetime=lifetime)


async def issue_login_token(session: AsyncSession, user: User, ttl: timedelta) -> IssuedToken:
    """A login token that expires after `ttl`."""
    return await _issue(session, user, TokenKind.LOGIN, None, clock.now() + ttl, ttl)


async def create_personal_token(
    session: AsyncSession, user: User, data: PersonalTokenCreate
) -> IssuedToken:
    """A named personal access token; 409 once the account holds the most it may."""
    assert user.id is not None
    # The user row's lock makes counting and adding one step, however many requests race.
    await repository.lock_user(session, user.id)
    now = clock.now()
    if await repository.count_live_personal_tokens(session, user.id, now) >= MAX_PERSONAL_TOKENS:
        raise Conflict(
            f"You hold {MAX_PERSONAL_TOKENS} live personal access tokens, the most an account "
            "may. Revoke one you no longer use (DELETE /api/v1/me/tokens/{id}), or all of them "
            "(DELETE /api/v1/me/tokens), to make room; expired ones do not count."
        )
    expires_at = now + timedelta(days=data.expires_in_days) if data.expires_in_days else None
    return await _issue(session, user, TokenKind.PERSONAL, data.name, expires_at)


async def resolve_token(session: AsyncSession, secret: str) -> tuple[User, ApiToken]:
    """The user behind a bearer token, or 401 if it is unknown, expired, revoked or inactive."""
    now = clock.now()
    found = await repository.user_for_token(session, hash_token(secret), now)
    if found is None:
        raise Unauthorized("The token is invalid, expired or revoked.")
    user, token = found
    if token.last_used_at is None or now - token.last_used_at > _TOUCH_INTERVAL:
        assert token.id is not None
        repository.touch_token_at_commit(session, token.id, now)
    return user, token


async def revoke(session: AsyncSession, token: ApiToken) -> None:
    """Revoke a token (logout)."""
    assert token.id is not None
    await repository.revoke_token(session, token.id, clock.now())


async def list_personal_tokens(
    session: AsyncSession, user: User, page: PageRequest
) -> tuple[list[ApiToken], str | None]:
    """The caller's live personal access tokens."""
    assert user.id is not None
    return await repository.list_personal_tokens(session, user.id, page, clock.now())


async def revoke_personal_token(session: AsyncSession, user: User, token_id: int) -> None:
    """Revoke one of the caller's personal access tokens."""
    assert user.id is not None
    token = await repository.get_personal_token(session, user.id, token_id)
    if token is None:
        raise NotFound(f"No personal access token with id {token_id}.")
    await revoke(session, token)


async def revoke_all_tokens(session: AsyncSession, user: User, current_token: ApiToken) -> int:
    """Revoke all the caller's personal access tokens and their other logins; how many."""
    assert user.id is not None
    # Lock order as in every revocation: the user row, then its tokens.
    await repository.lock_user(session, user.id)
    keep = current_token.id if current_token.kind == TokenKind.LOGIN else None
    return await repository.revoke_live_tokens(session, user.id, clock.now(), keep_token_id=keep)


def require_admin(user: User) -> None:
    """403 unless the user is an instance admin."""
    if not user.is_admin:
        raise Forbidden("Only instance admins may do this.")
