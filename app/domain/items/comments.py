"""Rules for comments: members add, authors edit and delete their own, owners delete any."""

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository
from app.domain.items.models import Comment
from app.domain.items.service import get_item
from app.domain.kernel import clock
from app.domain.kernel.errors import Forbidden, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import bump, check_version
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Role


async def _item_id(session: AsyncSession, access: ProjectAccess, number: int) -> int:
    row = await get_item(session, access, number)
    assert row.item.id is not None
    return row.item.id


async def _comment(
    session: AsyncSession, access: ProjectAccess, number: int, comment_id: int
) -> tuple[Comment, str | None]:
    found = await repository.get_comment(
        session, access.project_id, await _item_id(session, access, number), comment_id
    )
    if found is None:
        raise NotFound(f"No comment {comment_id} on {access.project.key}-{number}.")
    return found


async def list_comments(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[tuple[Comment, str | None]], str | None]:
    """An item's comments, oldest first."""
    return await repository.list_comments(
        session, access.project_id, await _item_id(session, access, number), page
    )


async def add_comment(
    session: AsyncSession, access: ProjectAccess, number: int, body: str
) -> tuple[Comment, str | None]:
    """Comment on an item."""
    comment = Comment(
        project_id=access.project_id,
        item_id=await _item_id(session, access, number),
        author_id=access.user.id,
        body=body,
    )
    session.add(comment)
    await session.flush()
    return comment, access.user.display_name


async def edit_comment(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    comment_id: int,
    body: str,
    if_match: int | None,
) -> tuple[Comment, str | None]:
    """Change your own comment."""
    comment, author = await _comment(session, access, number, comment_id)
    if comment.author_id != access.user.id:
        raise Forbidden("Only the author may edit a comment.")
    check_version(comment.version, if_match)
    if comment.body != body:
        comment.body = body
        comment.updated_at = clock.now()
        bump(comment)
        await session.flush()
    return comment, author


async def delete_comment(
    session: AsyncSession, access: ProjectAccess, number: int, comment_id: int, if_match: int | None
) -> None:
    """Delete your own comment, or any comment as an owner."""
    comment, _ = await _comment(session, access, number, comment_id)
    if comment.author_id != access.user.id and access.role != Role.OWNER:
        raise Forbidden("Only the author or a project owner may delete a comment.")
    check_version(comment.version, if_match)
    assert comment.id is not None
    await repository.delete_comment(session, access.project_id, comment.id)
