"""SQL for the comments table."""

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.domain.items.models import Comment
from app.domain.kernel.pagination import PageRequest, fetch_page
from app.domain.users.models import User


async def list_comments(
    session: AsyncSession, project_id: int, item_id: int, page: PageRequest
) -> tuple[list[tuple[Comment, User | None]], str | None]:
    """An item's comments with their authors, oldest first."""
    stmt = (
        select(Comment, User)
        .outerjoin(User, col(User.id) == col(Comment.author_id))
        .where(col(Comment.project_id) == project_id, col(Comment.item_id) == item_id)
    )
    rows, cursor = await fetch_page(session, stmt, [col(Comment.id)], page, lambda row: [row[0].id])
    return [(row[0], row[1]) for row in rows], cursor


async def get_comment(
    session: AsyncSession, project_id: int, item_id: int, comment_id: int
) -> tuple[Comment, User | None] | None:
    """One comment of an item, locked, with its author."""
    stmt = (
        select(Comment, User)
        .outerjoin(User, col(User.id) == col(Comment.author_id))
        .where(
            col(Comment.project_id) == project_id,
            col(Comment.item_id) == item_id,
            col(Comment.id) == comment_id,
        )
        .with_for_update(of=Comment)
    )
    row = (await session.execute(stmt)).one_or_none()
    return (row[0], row[1]) if row else None


async def delete_comment(session: AsyncSession, project_id: int, comment_id: int) -> None:
    """Delete a comment."""
    await session.execute(
        delete(Comment).where(col(Comment.project_id) == project_id, col(Comment.id) == comment_id)
    )
