"""Account administration (instance admins only)."""

from fastapi import APIRouter, Request, Response, status

from app.domain.users import service as users
from app.domain.users.schemas import UserCreate, UserPage, UserPublic, UserUpdate
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    AdminUser,
    IfMatch,
    PageParams,
    SessionDep,
    link_next,
    set_etag,
)

router = APIRouter(
    prefix=f"{API_PREFIX}/users", tags=["users"], responses=problem_responses(401, 403)
)


@router.get("")
async def list_users(
    _: AdminUser, session: SessionDep, page: PageParams, request: Request, response: Response
) -> UserPage:
    """All accounts, by id."""
    rows, cursor = await users.list_users(session, page)
    link_next(request, response, cursor)
    return UserPage(data=[UserPublic.model_validate(row) for row in rows], next_cursor=cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(409, 422))
async def create_user(
    data: UserCreate, _: AdminUser, session: SessionDep, response: Response
) -> UserPublic:
    """Create an account (works whether or not registration is open)."""
    user = await users.create_user(session, data)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.get("/{user_id}", responses=problem_responses(404))
async def get_user(
    user_id: int, _: AdminUser, session: SessionDep, response: Response
) -> UserPublic:
    """One account."""
    user = await users.get_user(session, user_id)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.patch("/{user_id}", responses=problem_responses(404, 409, 412, 422))
async def update_user(
    user_id: int,
    data: UserUpdate,
    admin: AdminUser,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> UserPublic:
    """Rename, promote, demote, deactivate (`is_active: false`) or reactivate an account."""
    user = await users.update_user(session, admin, user_id, data, if_match)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)
