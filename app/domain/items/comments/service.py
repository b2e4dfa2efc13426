"""Rules for comments: members add, authors edit and delete their own, owners delete any."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import CommentCreated, CommentRef, EventType
from app.domain.items import public_events
from app.domain.items import repository as items_repository
from app.domain.items.comments import repository
from app.domain.items.models import Comment, Item
from app.domain.kernel import clock
from app.domain.kernel.errors import Forbidden, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import RowView
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Role
from app.domain.users.models import User


@dataclass(frozen=True)
class CommentView(RowView):
    """A comment with its author (None once the author's account is gone)."""

    ROW = "comment"

    comment: Comment
    author: User | None


async def _item(session: AsyncSession, access: ProjectAccess, number: int) -> Item:
    item = await items_repository.get_item(session, access.project_id, number)
    if item is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return item


async def _item_id(session: AsyncSession, access: ProjectAccess, number: int) -> int:
    item_id = (await _item(session, access, number)).id
    assert item_id is not None
    return item_id


async def _comment(
    session: AsyncSession, access: ProjectAccess, number: int, comment_id: int
) -> CommentView:
    found = await repository.get_comment(
        session, access.project_id, await _item_id(session, access, number), comment_id
    )
    if found is None:
        raise NotFound(f"No comment {comment_id} on {access.project.key}-{number}.")
    return CommentView(*found)


async def list_comments(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[CommentView], str | None]:
    """An item's comments, oldest first."""
    rows, cursor = await repository.list_comments(
        session, access.project_id, await _item_id(session, access, number), page
    )
    return [CommentView(*row) for row in rows], cursor


async def add_comment(
    session: AsyncSession, access: ProjectAccess, number: int, body: str
) -> CommentView:
    """Comment on an item."""
    item = await _item(session, access, number)
    assert item.id is not None
    comment = Comment(
        project_id=access.project_id, item_id=item.id, author_id=access.user.id, body=body
    )
    session.add(comment)
    await session.flush()
    assert comment.id is not None
    ref = public_events.item_ref(access, item)
    events.publish(
        session,
        access.project_id,
        EventType.COMMENT_CREATED,
        CommentCreated(
            item=ref, comment=CommentRef(id=comment.id, body=body, author_id=access.user.id)
        ),
        actor_id=access.user.id,
        summary=f"{events.actor_name(access.user.display_name)} commented on {ref.key}",
        item=item.number,
    )
    return CommentView(comment, access.user)


async def edit_comment(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    comment_id: int,
    body: str,
    if_match: Versions | None,
) -> CommentView:
    """Change your own comment."""
    view = await _comment(session, access, number, comment_id)
    comment = view.comment
    if comment.author_id != access.user.id:
        raise Forbidden("Only the author may edit a comment.")
    check_version(comment.version, if_match)
    if comment.body != body:
        comment.body = body
        comment.updated_at = clock.now()
        bump(comment)
        await session.flush()
    return view


async def delete_comment(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    comment_id: int,
    if_match: Versions | None,
) -> None:
    """Delete your own comment, or any comment as an owner."""
    comment = (await _comment(session, access, number, comment_id)).comment
    if comment.author_id != access.user.id and access.role != Role.OWNER:
        raise Forbidden("Only the author or a project owner may delete a comment.")
    check_version(comment.version, if_match)
    assert comment.id is not None
    await repository.delete_comment(session, access.project_id, comment.id)
