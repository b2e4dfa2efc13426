"""Registration, login tokens and logout."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response, status

from app.domain.kernel.errors import Forbidden
from app.domain.users import service as users
from app.domain.users.schemas import LoginForm, LoginToken, UserPublic, UserRegister
from app.http.problems import Problem, problem_responses
from app.http.throttle.limiter import Throttle, client_address
from app.routers.deps import (
    API_PREFIX,
    CurrentToken,
    SessionDep,
    SettingsDep,
    set_etag,
    set_location,
)
from app.settings import Registration

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


def caller_throttle(request: Request, settings: SettingsDep) -> Throttle:
    """The limits of the calling address (behind a trusted proxy, its X-Forwarded-For)."""
    host = request.client.host if request.client else None
    return Throttle(request.app.state.database, settings, client_address(host))


ThrottleDep = Annotated[Throttle, Depends(caller_throttle)]

_TOO_MANY_LOGINS = {
    "model": Problem,
    "description": "Too many failed logins for this account or from this address: refused "
    "without checking the password; retry after `Retry-After` seconds.",
}
_TOO_MANY_REGISTRATIONS = {
    "model": Problem,
    "description": "Too many registrations from this address; retry after `Retry-After` seconds.",
}
_HASH_BUSY = {
    "model": Problem,
    "description": "Too many password checks are waiting (or the database is unreachable); "
    "retry after `Retry-After` seconds.",
}


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses={
        **problem_responses(403, 409, 422),
        429: _TOO_MANY_REGISTRATIONS,
        503: _HASH_BUSY,
    },
)
async def register(
    data: UserRegister,
    session: SessionDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    response: Response,
) -> UserPublic:
    """Create an account while registration is open (403 otherwise); then log in for a token.

    The very first account of an instance becomes its admin; 409 when the email is taken.
    Each client address may attempt a limited number of registrations an hour (429 with
    `Retry-After` beyond it).
    """
    if settings.registration != Registration.OPEN:
        raise Forbidden("Registration is closed; ask an admin for an account.")
    async with throttle.registration():
        user = await users.register(session, data)
    set_location(response, f"/users/{user.id}")
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.post(
    "/token",
    response_model=LoginToken,
    responses={**problem_responses(401, 422), 429: _TOO_MANY_LOGINS, 503: _HASH_BUSY},
)
async def login(
    form: Annotated[LoginForm, Form()],
    session: SessionDep,
    settings: SettingsDep,
    throttle: ThrottleDep,
    response: Response,
) -> LoginToken:
    """Exchange email (as `username`) and password for a bearer token (OAuth2 password flow).

    The token expires after `expires_in` seconds; a wrong email or password is the same 401.
    Failed logins are limited per account and address, per account and per address: past a
    limit every attempt, even with the right password, is a 429 whose `Retry-After` says
    when to try again. A successful login clears the account's count.
    """
    # Counted before the password is checked, so concurrent guesses cannot slip past.
    async with throttle.login(session, form.username):
        user = await users.authenticate(session, form.username, form.password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    issued = await users.issue_login_token(session, user, ttl)
    response.headers["Cache-Control"] = "no-store"
    return LoginToken.model_validate(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401))
async def logout(found: CurrentToken, session: SessionDep) -> None:
    """Log out: revoke the token this request was made with (other tokens keep working)."""
    await users.revoke(session, found[1])
