"""The caller's own account and personal access tokens."""

from fastapi import APIRouter, Request, Response, status

from app.domain.users import service as users
from app.domain.users.schemas import (
    MeUpdate,
    PersonalTokenCreate,
    PersonalTokenCreated,
    PersonalTokenPage,
    PersonalTokenPublic,
    TokensRevoked,
    UserPublic,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    CurrentToken,
    CurrentUser,
    Id,
    IfMatch,
    PageParams,
    SessionDep,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(prefix=f"{API_PREFIX}/me", tags=["me"], responses=problem_responses(401))


@router.get("", response_model=UserPublic)
async def get_me(user: CurrentUser, response: Response) -> UserPublic:
    """The account the bearer token belongs to."""
    set_etag(response, user.version)
    return UserPublic.model_validate(user)


@router.patch("", response_model=UserPublic, responses=problem_responses(412, 422))
async def update_me(
    data: MeUpdate, found: CurrentToken, session: SessionDep, if_match: IfMatch, response: Response
) -> UserPublic:
    """Change your display name or password (needs `current_password`).

    A new password ends your other logins; personal access tokens keep working (revoke them
    with `DELETE /me/tokens`). A weak or short new password is a 422 naming `body.password`.
    """
    user, token = found
    updated = await users.update_me(session, user, token, data, if_match)
    set_etag(response, updated.version)
    return UserPublic.model_validate(updated)


@router.get("/tokens", response_model=PersonalTokenPage)
async def list_tokens(
    user: CurrentUser, session: SessionDep, page: PageParams, request: Request, response: Response
) -> PersonalTokenPage:
    """Your live personal access tokens (without their secrets)."""
    rows, cursor = await users.list_personal_tokens(session, user, page)
    link_next(request, response, cursor)
    return PersonalTokenPage(
        data=[PersonalTokenPublic.model_validate(row) for row in rows], next_cursor=cursor
    )


@router.post(
    "/tokens",
    status_code=status.HTTP_201_CREATED,
    response_model=PersonalTokenCreated,
    responses=problem_responses(409, 422),
)
async def create_token(
    data: PersonalTokenCreate, user: CurrentUser, session: SessionDep, response: Response
) -> PersonalTokenCreated:
    """Create a named personal access token; the secret is in this response only.

    409 when you already hold as many live ones as an account may (the detail says how many).
    """
    issued = await users.create_personal_token(session, user, data)
    set_location(response, f"/me/tokens/{issued.id}")
    response.headers["Cache-Control"] = "no-store"
    return PersonalTokenCreated.model_validate(issued)


@router.delete("/tokens", response_model=TokensRevoked)
async def revoke_all_tokens(found: CurrentToken, session: SessionDep) -> TokensRevoked:
    """Revoke all your personal access tokens and all your other logins, at once.

    The login token this request is made with keeps working; a personal access token it is
    made with is revoked too. Answers how many tokens stopped working.
    """
    user, token = found
    return TokensRevoked(revoked=await users.revoke_all_tokens(session, user, token))


@router.delete(
    "/tokens/{token_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(404),
)
async def revoke_token(token_id: Id, user: CurrentUser, session: SessionDep) -> None:
    """Revoke one of your personal access tokens; it stops working at once."""
    await users.revoke_personal_token(session, user, token_id)
