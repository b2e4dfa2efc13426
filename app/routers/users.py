"""Account administration (instance admins only)."""

from fastapi import APIRouter, Request, Response, status

from app.domain.users import service as users
from app.domain.users.schemas import UserCreate, UserPage, UserPublic, UserUpdate
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    AdminUser,
    Id,
    IfMatch,
    PageParams,
    SessionDep,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=f"{API_PREFIX}/users", tags=["users"], responses=problem_responses(401, 403)
)


@router.get("", response_model=UserPage)
async def list_users(
    _: AdminUser, session: SessionDep, page: PageParams, request: Request, response: Response
) -> UserPage:
    """Every account by id, deactivated ones included (instance admins)."""
    rows, cursor = await users.list_users(session, page)
    link_next(request, response, cursor)
    return UserPage(data=[UserPublic.model_validate(row) for row in rows], next_cursor=cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=UserPublic,
    responses=problem_responses(409, 422),
)
async def create_user(
    data: UserCreate, _: AdminUser, session: SessionDep, response: Response
) -> UserPublic:
    """Create an account (instance admins), whether or not registration is open.

    409 when the email is registered already.
    """
    user = await users.create_user(session, data)
    set_location(response, f"/users/{user.id}")
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.get("/{user_id}", response_model=UserPublic, responses=problem_responses(404))
async def get_user(
    user_id: Id, _: AdminUser, session: SessionDep, response: Response
) -> UserPublic:
    """An account by id (instance admins)."""
    user = await users.get_user(session, user_id)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.patch(
    "/{user_id}", response_model=UserPublic, responses=problem_responses(404, 409, 412, 422)
)
async def update_user(
    user_id: Id,
    data: UserUpdate,
    admin: AdminUser,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> UserPublic:
    """Rename, promote, demote, deactivate (`is_active: false`) or reactivate an account.

    Instance admins. Deactivating revokes all the account's tokens; 409 when it would leave no
    active admin, or when admins deactivate or demote themselves.
    """
    user = await users.update_user(session, admin, user_id, data, if_match)
    set_etag(response, user.version)
    return UserPublic.model_validate(user)
