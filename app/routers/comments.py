"""Comments on items."""

from fastapi import APIRouter, Request, Response, status

from app.domain.items.comments import service as comments
from app.domain.items.comments.schemas import (
    CommentCreate,
    CommentPage,
    CommentPublic,
    CommentUpdate,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    IfMatch,
    MemberAccess,
    Number,
    PageParams,
    SessionDep,
    ViewerAccess,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}/items/{number}/comments",
    tags=["comments"],
    responses=problem_responses(401, 404),
)


@router.get("", response_model=CommentPage)
async def list_comments(
    number: Number,
    access: ViewerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> CommentPage:
    """An item's comments, oldest first, with their authors (any role)."""
    views, cursor = await comments.list_comments(session, access, number, page)
    link_next(request, response, cursor)
    return CommentPage(
        data=[CommentPublic.model_validate(view) for view in views], next_cursor=cursor
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CommentPublic,
    responses=problem_responses(403, 422),
)
async def add_comment(
    number: Number,
    data: CommentCreate,
    access: MemberAccess,
    session: SessionDep,
    response: Response,
) -> CommentPublic:
    """Comment on an item (members); the markdown is stored exactly as sent, never rendered."""
    view = await comments.add_comment(session, access, number, data.body)
    set_location(
        response, f"/projects/{access.project.key}/items/{number}/comments/{view.comment.id}"
    )
    set_etag(response, view.comment.version)
    return CommentPublic.model_validate(view)


@router.patch(
    "/{comment_id}", response_model=CommentPublic, responses=problem_responses(403, 412, 422)
)
async def edit_comment(
    number: Number,
    comment_id: Id,
    data: CommentUpdate,
    access: MemberAccess,
    session: SessionDep,
    if_match: IfMatch,
    response: Response,
) -> CommentPublic:
    """Edit your own comment (members); 403 on someone else's, whatever your role."""
    view = await comments.edit_comment(session, access, number, comment_id, data.body, if_match)
    set_etag(response, view.comment.version)
    return CommentPublic.model_validate(view)


@router.delete(
    "/{comment_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(403, 412)
)
async def delete_comment(
    number: Number, comment_id: Id, access: MemberAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete your own comment (members); owners may delete anyone's."""
    await comments.delete_comment(session, access, number, comment_id, if_match)
