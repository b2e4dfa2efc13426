"""Registration, login tokens and logout."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from app.domain.kernel.errors import Forbidden
from app.domain.users import service as users
from app.domain.users.schemas import LoginToken, UserPublic, UserRegister
from app.http.problems import problem_responses
from app.routers.deps import API_PREFIX, CurrentToken, SessionDep, SettingsDep
from app.settings import Registration

router = APIRouter(prefix=f"{API_PREFIX}/auth", tags=["auth"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    responses=problem_responses(403, 409, 422),
)
async def register(data: UserRegister, session: SessionDep, settings: SettingsDep) -> UserPublic:
    """Create an account (while registration is open); the first account becomes admin."""
    if settings.registration != Registration.OPEN:
        raise Forbidden("Registration is closed; ask an admin for an account.")
    user = await users.register(session, data)
    return UserPublic.model_validate(user)


@router.post("/token", responses=problem_responses(401, 422))
async def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> LoginToken:
    """Exchange email (as `username`) and password for a bearer token (OAuth2 password flow)."""
    user = await users.authenticate(session, form.username, form.password)
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    issued = await users.issue_login_token(session, user, ttl)
    assert issued.row.expires_at is not None
    response.headers["Cache-Control"] = "no-store"
    return LoginToken(
        access_token=issued.secret,
        expires_in=int(ttl.total_seconds()),
        expires_at=issued.row.expires_at,
    )


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401))
async def logout(found: CurrentToken, session: SessionDep) -> None:
    """Revoke the token this request was made with."""
    await users.revoke(session, found[1])
