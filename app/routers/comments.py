"""Comments on items."""

from fastapi import APIRouter, Request, Response, status

from app.domain.items import comments
from app.domain.items.models import Comment
from app.domain.items.schemas import (
    CommentCreate,
    CommentPage,
    CommentPublic,
    CommentUpdate,
    UserRef,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    IfMatch,
    MemberAccess,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/items/{number}/comments",
    tags=["comments"],
    responses=problem_responses(401, 404),
)


def comment_public(comment: Comment, author_name: str | None) -> CommentPublic:
    """Shape a comment for the API."""
    assert comment.id is not None
    return CommentPublic(
        id=comment.id,
        author=(
            UserRef(id=comment.author_id, display_name=author_name or "")
            if comment.author_id is not None
            else None
        ),
        body=comment.body,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
        version=comment.version,
    )


@router.get("")
async def list_comments(
    number: int,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> CommentPage:
    """An item's comments, oldest first."""
    rows, cursor = await comments.list_comments(session, access, number, page)
    link_next(request, response, cursor)
    return CommentPage(data=[comment_public(c, name) for c, name in rows], next_cursor=cursor)


@router.post("", status_code=status.HTTP_201_CREATED, responses=problem_responses(403, 422))
async def add_comment(
    number: int,
    data: CommentCreate,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> CommentPublic:
    """Comment on an item (markdown, stored as text)."""
    comment, name = await comments.add_comment(session, access, number, data.body)
    set_etag(response, comment.version)
    return comment_public(comment, name)


@router.patch("/{comment_id}", responses=problem_responses(403, 412, 422))
async def edit_comment(
    number: int,
    comment_id: int,
    data: CommentUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> CommentPublic:
    """Edit your own comment."""
    comment, name = await comments.edit_comment(
        session, access, number, comment_id, data.body, if_match
    )
    set_etag(response, comment.version)
    return comment_public(comment, name)


@router.delete(
    "/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 412)
)
async def delete_comment(
    number: int, comment_id: int, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete your own comment (owners may delete any)."""
    await comments.delete_comment(session, access, number, comment_id, if_match)
