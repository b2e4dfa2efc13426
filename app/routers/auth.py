"""Registration, login tokens and logout."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Response, status

from app.domain.kernel.errors import Forbidden
from app.domain.users import service as users
from app.domain.users.schemas import LoginForm, LoginToken, UserPublic, UserRegister
from app.http.problems import problem_responses
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


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=problem_responses(403, 409, 422),
)
async def register(
    data: UserRegister, session: SessionDep, settings: SettingsDep, response: Response
) -> UserPublic:
    """Create an account while registration is open (403 otherwise); then log in for a token.

    The very first account of an instance becomes its admin; 409 when the email is taken.
    """
    if settings.registration != Registration.OPEN:
        raise Forbidden("Registration is closed; ask an admin for an account.")
    user = await users.register(session, data)
    set_location(response, f"/users/{user.id}")
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.post("/token", response_model=LoginToken, responses=problem_responses(401, 422))
async def login(
    form: Annotated[LoginForm, Form()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> LoginToken:
    """Exchange email (as `username`) and password for a bearer token (OAuth2 password flow).

    The token expires after `expires_in` seconds; a wrong email or password is the same 401.
    """
    user = await users.authenticate(session, form.username, form.password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    issued = await users.issue_login_token(session, user, ttl)
    response.headers["Cache-Control"] = "no-store"
    return LoginToken.model_validate(issued)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401))
async def logout(found: CurrentToken, session: SessionDep) -> None:
    """Log out: revoke the token this request was made with (other tokens keep working)."""
    await users.revoke(session, found[1])
