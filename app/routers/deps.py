"""Shared dependencies: session, current user, project access, pagination and ETags."""

import re
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import get_session
from app.domain.kernel.errors import PreconditionFailed, Unauthorized
from app.domain.kernel.inputs import ID_MAX
from app.domain.kernel.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest
from app.domain.kernel.versioning import Versions
from app.domain.projects.access import ProjectAccess, resolve_access
from app.domain.projects.models import Role
from app.domain.projects.schemas import KEY_PATTERN
from app.domain.users import service as users
from app.domain.users.models import ApiToken, User
from app.http.conditional import (
    STRONG_ETAG_HEADER,
    entity_tags,
    not_modified,
    not_modified_response,
)
from app.settings import Settings

API_PREFIX = "/api/v1"

SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


async def current_token(
    session: SessionDep, token: Annotated[str | None, Depends(_bearer)]
) -> tuple[User, ApiToken]:
    """The caller and the token they used; 401 with `WWW-Authenticate: Bearer` otherwise."""
    if not token:
        raise Unauthorized()
    return await users.resolve_token(session, token)


CurrentToken = Annotated[tuple[User, ApiToken], Depends(current_token)]


async def current_user(found: CurrentToken) -> User:
    """The authenticated caller."""
    return found[0]


CurrentUser = Annotated[User, Depends(current_user)]


async def admin_user(user: CurrentUser) -> User:
    """The caller, who must be an instance admin."""
    users.require_admin(user)
    return user


AdminUser = Annotated[User, Depends(admin_user)]

# A per-project number that names nothing (0, or beyond the 32-bit column) is a 404 like any
# other unknown number; an id beyond the 64-bit column is malformed input (422 naming it).
Number = Annotated[
    int,
    Path(
        description="The per-project number, e.g. `42` for item `WEB-42` or `3` for sprint 3.",
        examples=[42],
    ),
]
Id = Annotated[int, Path(le=ID_MAX, description="The resource's id.", examples=[7])]

ProjectKey = Annotated[
    str,
    Path(
        pattern=KEY_PATTERN,
        description="The project key, e.g. `WEB`.",
        examples=["WEB"],
    ),
]


# Methods that change nothing: every route answers them on a closed project too.
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RequireRole:
    """Resolves project + membership + role for a project route (404 outsiders, 403 low role).

    A closed project is read-only: a change that needs the member or owner role answers 409,
    unless the route opts in with `while_closed` (the lifecycle routes, retros). What a viewer
    may do (watch an item, open the live stream) changes no project data and stays allowed.
    """

    def __init__(self, min_role: Role, *, while_closed: bool = False) -> None:
        self.min_role = min_role
        self.while_closed = while_closed

    def refused_while_closed(self, method: str) -> bool:
        """Whether a request with this method is refused on a closed project (app.openapi
        declares the 409 by it)."""
        return (
            method.upper() not in _SAFE_METHODS
            and self.min_role != Role.VIEWER
            and not self.while_closed
        )

    async def __call__(
        self, request: Request, key: ProjectKey, session: SessionDep, user: CurrentUser
    ) -> ProjectAccess:
        write = self.refused_while_closed(request.method)
        return await resolve_access(session, key, user, self.min_role, write=write)


ViewerAccess = Annotated[ProjectAccess, Depends(RequireRole(Role.VIEWER))]
MemberAccess = Annotated[ProjectAccess, Depends(RequireRole(Role.MEMBER))]
OwnerAccess = Annotated[ProjectAccess, Depends(RequireRole(Role.OWNER))]
# For the writes a closed project still takes: its lifecycle (phases, sign-offs, reopening,
# handing over) and its retrospectives (the post-mortem).
MemberAccessWhileClosed = Annotated[
    ProjectAccess, Depends(RequireRole(Role.MEMBER, while_closed=True))
]
OwnerAccessWhileClosed = Annotated[
    ProjectAccess, Depends(RequireRole(Role.OWNER, while_closed=True))
]


def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size.")] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=1000, description="`next_cursor` of the previous page.")
    ] = None,
) -> PageRequest:
    """The `limit` and `cursor` query parameters of a list."""
    return PageRequest(limit=limit, cursor=cursor)


PageParams = Annotated[PageRequest, Depends(page_request)]


def link_next(request: Request, response: Response, next_cursor: str | None) -> None:
    """Set `Link: <...>; rel="next"` when there is a next page."""
    if next_cursor:
        url = request.url.include_query_params(cursor=next_cursor)
        response.headers["Link"] = f'<{url}>; rel="next"'


def set_location(response: Response, path: str) -> None:
    """Point `Location` at a created resource, given its path below /api/v1."""
    response.headers["Location"] = API_PREFIX + path


def set_etag(response: Response, version: int) -> None:
    """Expose a resource's version as its ETag, for If-Match."""
    # The version does not move when what the resource shows of others does (a status name,
    # an epic's progress): on a GET, app.http.conditional adds the body's digest (`"3.<digest>"`)
    # before answering If-None-Match against it.
    response.headers["ETag"] = f'"{version}"'


def strong_etag(response: Response) -> None:
    """Give a GET answer a strong ETag hashed from its body, not the weak one lists get."""
    # For a representation that is a fixed document (a frozen report): the same bytes always.
    response.headers[STRONG_ETAG_HEADER] = "1"


# `"3"` from a change, or `"3.<digest>"` from a GET (see `http.conditional`): the version leads.
_VERSION = re.compile(r"([0-9]{1,18})(?:\.[0-9a-f]{1,64})?")


def if_match_versions(
    if_match: Annotated[
        str | None,
        Header(description='The ETag you last saw, e.g. `"3"`; a stale one answers 412.'),
    ] = None,
) -> Versions | None:
    """The versions If-Match names; None when absent or `*`."""
    if if_match is None or if_match.strip() == "*":
        return None
    tags = entity_tags(if_match)
    if not tags:
        raise PreconditionFailed(f"If-Match {if_match!r} is not a list of entity tags.")
    # If-Match compares strongly (RFC 9110 13.1.1): a weak tag never matches, and a list
    # matches when any of its tags does.
    named = (_VERSION.fullmatch(opaque) for weak, opaque in tags if not weak)
    return frozenset(int(matched.group(1)) for matched in named if matched is not None)


IfMatch = Annotated[Versions | None, Depends(if_match_versions)]


def answer_by_validator(
    request: Request, response: Response, validator: str | None
) -> Response | None:
    """Tag the answer with a weak ETag the route computed before building it; the 304 to send
    at once when the caller's copy is still current, else None (build the answer)."""
    if validator is None:
        return None
    # Weak: it names the rows the answer is built from, not its bytes. The middleware keeps a
    # weak tag a route set, and answers If-None-Match against it as it is.
    etag = f'W/"{validator}"'
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None and not_modified(if_none_match, etag):
        return not_modified_response(etag, authorized="authorization" in request.headers)
    response.headers["ETag"] = etag
    return None


SVG: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An 800 x 400 SVG chart; each series is an element with id `series-<name>`.",
        "content": {"image/svg+xml": {"schema": {"type": "string"}}},
    }
}


def svg(content: bytes) -> Response:
    """An SVG image response."""
    return Response(content, media_type="image/svg+xml")
