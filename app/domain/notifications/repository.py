"""SQL for notifications, notification preferences and item watchers (their owning repository).

Deriving notifications is set-based: the candidates of a whole transaction go to PostgreSQL as
one JSON parameter, and one statement resolves their recipients (named users, `@mentions`,
watchers, the people of a sprint), keeps members whose preference allows the kind, inserts the
rows and announces each with `pg_notify` (delivered when the transaction commits).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    and_,
    bindparam,
    case,
    cast,
    column,
    delete,
    exists,
    func,
    literal,
    null,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped
from sqlalchemy.sql.dml import ReturningInsert
from sqlmodel import col

from app.domain.items.models import Item
from app.domain.kernel.pagination import AnySelect, PageRequest, fetch_page
from app.domain.notifications.models import (
    ItemWatcher,
    Notification,
    NotificationKind,
    NotificationPreference,
)
from app.domain.projects.models import Project, ProjectMember
from app.domain.retros.actions.models import ActionItem, ActionStatus
from app.domain.sprints.models import Sprint, SprintCapacity, SprintCommitment, SprintOutcome
from app.domain.users.models import User

# The channel the personal streams listen on; the payload is `user_id:notification_id`.
CHANNEL = "timebox_notifications"

# How a candidate finds its recipients: the user it names, the project members its `@handles`
# name, the item's watchers, or the people of the sprint (assigned items or capacity).
DIRECT, WATCHERS, SPRINT = "direct", "watchers", "sprint"


@dataclass(frozen=True)
class NotificationRow:
    """A notification with its project's key and its actor (None: no actor, or deleted)."""

    notification: Notification
    project_key: str
    actor: User | None


@dataclass
class NotificationFilter:
    """What a user's list of notifications is narrowed to (None: not narrowed)."""

    unread: bool | None = None
    project_key: str | None = None
    kinds: Sequence[NotificationKind] | None = None


# --- reading ---------------------------------------------------------------------------------


def _still_a_member() -> ColumnElement[bool]:
    """The notification's user is (still, or again) a member of its project: someone who
    left no longer reads what its notifications quote."""
    return (
        select(col(ProjectMember.user_id))
        .where(
            col(ProjectMember.project_id) == col(Notification.project_id),
            col(ProjectMember.user_id) == col(Notification.user_id),
        )
        .exists()
    )


def _rows(user_id: int) -> AnySelect:
    return (
        select(Notification, col(Project.key), User)
        .join(Project, col(Project.id) == col(Notification.project_id))
        .outerjoin(User, col(User.id) == col(Notification.actor_id))
        .where(col(Notification.user_id) == user_id, _still_a_member())
    )


def _row(row: Any) -> NotificationRow:
    return NotificationRow(row[0], row[1], row[2])


def _narrowed(stmt: AnySelect, filters: NotificationFilter) -> AnySelect:
    if filters.unread is not None:
        read_at = col(Notification.read_at)
        stmt = stmt.where(read_at.is_(None) if filters.unread else read_at.is_not(None))
    if filters.project_key is not None:
        project_ids = select(col(Project.id)).where(col(Project.key) == filters.project_key)
        stmt = stmt.where(col(Notification.project_id).in_(project_ids.scalar_subquery()))
    if filters.kinds:
        stmt = stmt.where(col(Notification.kind).in_(list(filters.kinds)))
    return stmt


# Unread (1) before read (0), then newest first: one descending key, so one keyset cursor.
_UNREAD_FIRST = case((col(Notification.read_at).is_(None), 1), else_=0)


async def page_of_notifications(
    session: AsyncSession, user_id: int, filters: NotificationFilter, page: PageRequest
) -> tuple[list[NotificationRow], str | None]:
    """A page of a user's notifications: unread first, then newest first."""
    stmt = _narrowed(_rows(user_id), filters)
    rows, cursor = await fetch_page(
        session,
        stmt,
        [_UNREAD_FIRST, col(Notification.id)],
        page,
        lambda row: [1 if row[0].read_at is None else 0, row[0].id],
        descending=True,
    )
    return [_row(row) for row in rows], cursor


async def count_unread(session: AsyncSession, user_id: int, filters: NotificationFilter) -> int:
    """How many of a user's notifications are unread (narrowed by project and kinds)."""
    scope = NotificationFilter(unread=True, project_key=filters.project_key, kinds=filters.kinds)
    stmt = _narrowed(
        select(func.count())
        .select_from(Notification)
        .where(col(Notification.user_id) == user_id, _still_a_member()),
        scope,
    )
    return int((await session.execute(stmt)).scalar_one())


async def notifications_after(
    session: AsyncSession, user_id: int, after_id: int, limit: int
) -> list[NotificationRow]:
    """A user's notifications after `after_id`, oldest first (the personal stream)."""
    stmt = _rows(user_id).where(col(Notification.id) > after_id)
    rows = (await session.execute(stmt.order_by(col(Notification.id)).limit(limit))).all()
    return [_row(row) for row in rows]


async def latest_id(session: AsyncSession, user_id: int) -> int:
    """The id of a user's newest notification (0 before any)."""
    stmt = select(func.coalesce(func.max(col(Notification.id)), 0)).where(
        col(Notification.user_id) == user_id
    )
    return int((await session.execute(stmt)).scalar_one() or 0)


async def get_notification(
    session: AsyncSession, user_id: int, notification_id: int
) -> NotificationRow | None:
    """One of a user's notifications."""
    stmt = _rows(user_id).where(col(Notification.id) == notification_id)
    row = (await session.execute(stmt)).one_or_none()
    return _row(row) if row else None


async def mark_read(
    session: AsyncSession, user_id: int, notification_id: int, at: datetime
) -> bool:
    """Mark one of a user's notifications read (kept as first read); False if it is not theirs."""
    stmt = (
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.id) == notification_id)
        .values(read_at=func.coalesce(col(Notification.read_at), at))
        .returning(col(Notification.id))
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).scalar_one_or_none() is not None


async def mark_all_read(
    session: AsyncSession, user_id: int, at: datetime, project_key: str | None
) -> int:
    """Mark a user's unread notifications read (of one project, when given); how many."""
    stmt = (
        update(Notification)
        .where(col(Notification.user_id) == user_id, col(Notification.read_at).is_(None))
        .values(read_at=at)
        .execution_options(synchronize_session=False)
    )
    if project_key is not None:
        project_ids = select(col(Project.id)).where(col(Project.key) == project_key)
        stmt = stmt.where(col(Notification.project_id).in_(project_ids.scalar_subquery()))
    result = await session.execute(stmt.returning(col(Notification.id)))
    return len(result.all())


# --- preferences -----------------------------------------------------------------------------


async def preferences(session: AsyncSession, user_id: int) -> dict[NotificationKind, bool]:
    """A user's stored choices by kind (a kind not in it is on)."""
    stmt = select(col(NotificationPreference.kind), col(NotificationPreference.enabled)).where(
        col(NotificationPreference.user_id) == user_id
    )
    return {kind: enabled for kind, enabled in (await session.execute(stmt)).all()}


async def replace_preferences(
    session: AsyncSession, user_id: int, choices: dict[NotificationKind, bool]
) -> None:
    """Store a user's choice for every kind given (one statement)."""
    stmt = pg_insert(NotificationPreference).values(
        [{"user_id": user_id, "kind": kind, "enabled": on} for kind, on in choices.items()]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=[col(NotificationPreference.user_id), col(NotificationPreference.kind)],
        set_={"enabled": stmt.excluded.enabled},
    )
    await session.execute(stmt)


def _switched_off(
    user_id: ColumnElement[Any] | Mapped[Any], kind: ColumnElement[Any]
) -> ColumnElement[bool]:
    return exists().where(
        col(NotificationPreference.user_id) == user_id,
        col(NotificationPreference.kind) == kind,
        col(NotificationPreference.enabled).is_(False),
    )


# --- watchers --------------------------------------------------------------------------------


async def watch(session: AsyncSession, project_id: int, item_id: int, user_id: int) -> None:
    """Make a user watch an item (a no-op if they do)."""
    stmt = (
        pg_insert(ItemWatcher)
        .values(project_id=project_id, item_id=item_id, user_id=user_id)
        .on_conflict_do_nothing()
    )
    await session.execute(stmt)


async def unwatch(session: AsyncSession, project_id: int, item_id: int, user_id: int) -> None:
    """Stop a user watching an item (a no-op if they do not)."""
    await session.execute(
        delete(ItemWatcher).where(
            col(ItemWatcher.project_id) == project_id,
            col(ItemWatcher.item_id) == item_id,
            col(ItemWatcher.user_id) == user_id,
        )
    )


async def list_watchers(
    session: AsyncSession, project_id: int, item_id: int, page: PageRequest
) -> tuple[list[User], str | None]:
    """An item's watchers who are members of its project, by user id."""
    stmt = (
        select(User)
        .join(ItemWatcher, col(ItemWatcher.user_id) == col(User.id))
        .join(
            ProjectMember,
            and_(
                col(ProjectMember.project_id) == col(ItemWatcher.project_id),
                col(ProjectMember.user_id) == col(ItemWatcher.user_id),
            ),
        )
        .where(col(ItemWatcher.project_id) == project_id, col(ItemWatcher.item_id) == item_id)
    )
    rows, cursor = await fetch_page(session, stmt, [col(User.id)], page, lambda row: [row[0].id])
    return [row[0] for row in rows], cursor


def _recordset(rows: Sequence[dict[str, Any]], name: str, **types: Any) -> Any:
    """Rows sent as one JSON parameter and read back as a typed table (`jsonb_to_recordset`)."""
    fn = func.jsonb_to_recordset(bindparam(f"{name}_rows", list(rows), type_=JSONB))
    columns = [column(key, type_) for key, type_ in types.items()]
    return fn.table_valued(*columns).render_derived(name=name, with_types=True)


async def watch_many(session: AsyncSession, watches: Sequence[tuple[int, int, int]]) -> None:
    """Make users watch items, given as (project id, item number, user id); members only."""
    if not watches:
        return
    source = _recordset(
        [{"project_id": p, "item_number": n, "user_id": u} for p, n, u in watches],
        "watches",
        project_id=BigInteger,
        item_number=Integer,
        user_id=BigInteger,
    )
    s = source.c
    picked = (
        select(col(Item.id), s.user_id, s.project_id)
        .select_from(source)
        .join(Item, and_(col(Item.project_id) == s.project_id, col(Item.number) == s.item_number))
        .join(
            ProjectMember,
            and_(
                col(ProjectMember.project_id) == s.project_id,
                col(ProjectMember.user_id) == s.user_id,
            ),
        )
        .distinct()
    )
    stmt = (
        pg_insert(ItemWatcher)
        .from_select(["item_id", "user_id", "project_id"], picked)
        .on_conflict_do_nothing()
    )
    await session.execute(stmt)


# --- making notifications --------------------------------------------------------------------


_FIELDS = [
    "user_id",
    "project_id",
    "kind",
    "summary",
    "actor_id",
    "event_seq",
    "item_number",
    "sprint_number",
    "retro_number",
    "action_number",
    "due_date",
    "created_at",
]


async def _insert_announced(
    session: AsyncSession, insert: ReturningInsert[int | None, int]
) -> list[int]:
    """Run an INSERT ... RETURNING id, user_id and NOTIFY each new row, in one statement."""
    inserted = insert.cte("inserted")
    payload = func.concat(inserted.c.user_id, ":", inserted.c.id)
    stmt = select(inserted.c.id, func.pg_notify(CHANNEL, payload)).order_by(inserted.c.id)
    return [row[0] for row in (await session.execute(stmt)).all()]


async def insert_for_candidates(
    session: AsyncSession, candidates: Sequence[dict[str, Any]], at: datetime
) -> list[int]:
    """Make the notifications of `candidates` for their recipients; the new ids.

    Each candidate names its recipients by `fan_out` (DIRECT: `user_id`, and the members its
    `handles` name; WATCHERS; SPRINT). Recipients must be project members, not `exclude_id`,
    and not have the kind switched off. A user gets one row per candidate.
    """
    if not candidates:
        return []
    source = _recordset(
        [{"idx": index, **candidate} for index, candidate in enumerate(candidates)],
        "candidates",
        idx=Integer,
        fan_out=String,
        project_id=BigInteger,
        kind=String,
        user_id=BigInteger,
        handles=JSONB,
        exclude_id=BigInteger,
        actor_id=BigInteger,
        event_seq=BigInteger,
        item_number=Integer,
        sprint_number=Integer,
        retro_number=Integer,
        summary=Text,
    )
    s = source.c
    in_project = col(ProjectMember.project_id) == s.project_id
    named = select(s.idx, s.user_id.label("user_id")).where(
        s.fan_out == DIRECT, s.user_id.is_not(None)
    )
    # A handle is a member's email local part or display name without spaces, in any case.
    mentioned = (
        select(s.idx, col(User.id))
        .select_from(source)
        .join(ProjectMember, in_project)
        .join(User, col(User.id) == col(ProjectMember.user_id))
        .where(
            s.fan_out == DIRECT,
            s.handles.is_not(None),
            or_(
                s.handles.has_key(func.lower(func.split_part(col(User.email), "@", 1))),
                s.handles.has_key(func.lower(func.replace(col(User.display_name), " ", ""))),
            ),
        )
    )
    item_of = and_(col(Item.project_id) == s.project_id, col(Item.number) == s.item_number)
    watchers = (
        select(s.idx, col(ItemWatcher.user_id))
        .select_from(source)
        .join(Item, item_of)
        .join(ItemWatcher, col(ItemWatcher.item_id) == col(Item.id))
        .where(s.fan_out == WATCHERS)
    )
    sprint_of = and_(col(Sprint.project_id) == s.project_id, col(Sprint.number) == s.sprint_number)
    in_sprint = [
        # Assigned items in it now, and those it committed to or reported on (items that were
        # carried over when it completed have left it, but their people were in it).
        select(s.idx, col(Item.assignee_id))
        .select_from(source)
        .join(Sprint, sprint_of)
        .join(Item, col(Item.sprint_id) == col(Sprint.id))
        .where(s.fan_out == SPRINT, col(Item.assignee_id).is_not(None)),
        *(
            select(s.idx, col(Item.assignee_id))
            .select_from(source)
            .join(Sprint, sprint_of)
            .join(table, col(table.sprint_id) == col(Sprint.id))
            .join(Item, col(Item.id) == col(table.item_id))
            .where(s.fan_out == SPRINT, col(Item.assignee_id).is_not(None))
            for table in (SprintCommitment, SprintOutcome)
        ),
        select(s.idx, col(SprintCapacity.user_id))
        .select_from(source)
        .join(Sprint, sprint_of)
        .join(SprintCapacity, col(SprintCapacity.sprint_id) == col(Sprint.id))
        .where(s.fan_out == SPRINT),
    ]
    recipients = union(named, mentioned, watchers, *in_sprint).subquery("recipients")
    r = recipients.c
    picked = (
        select(
            r.user_id,
            s.project_id,
            s.kind,
            s.summary,
            s.actor_id,
            s.event_seq,
            s.item_number,
            s.sprint_number,
            s.retro_number,
            null(),
            cast(null(), Date),
            literal(at, DateTime(timezone=True)),
        )
        .select_from(recipients)
        .join(source, s.idx == r.idx)
        .join(ProjectMember, and_(in_project, col(ProjectMember.user_id) == r.user_id))
        .where(r.user_id.is_distinct_from(s.exclude_id), ~_switched_off(r.user_id, s.kind))
        .order_by(s.idx, r.user_id)
    )
    insert = pg_insert(Notification).from_select(_FIELDS, picked)
    return await _insert_announced(
        session, insert.returning(col(Notification.id), col(Notification.user_id))
    )


async def insert_due_reminders(session: AsyncSession, at: datetime) -> list[int]:
    """Remind owners of open actions due today or before (today in each project's time zone),
    once per action, due date, kind and owner; the new ids."""
    today = cast(func.timezone(col(Project.time_zone), literal(at, DateTime(timezone=True))), Date)
    due = col(ActionItem.due_date)
    kind = case((due == today, NotificationKind.ACTION_DUE.value), else_="action_overdue")
    what = func.concat("Action #", col(ActionItem.number), " “", col(ActionItem.title), "” ")
    summary = case(
        (due == today, func.concat(what, "is due today")),
        else_=func.concat(what, "is overdue (due ", cast(due, String), ")"),
    )
    made = exists().where(
        col(Notification.project_id) == col(ActionItem.project_id),
        col(Notification.action_number) == col(ActionItem.number),
        col(Notification.due_date) == due,
        col(Notification.kind) == kind,
        col(Notification.user_id) == col(ActionItem.owner_id),
    )
    picked = (
        select(
            col(ActionItem.owner_id),
            col(ActionItem.project_id),
            kind,
            summary,
            cast(null(), BigInteger),
            cast(null(), BigInteger),
            cast(null(), Integer),
            cast(null(), Integer),
            cast(null(), Integer),
            col(ActionItem.number),
            due,
            literal(at, DateTime(timezone=True)),
        )
        .join(Project, col(Project.id) == col(ActionItem.project_id))
        # Only while the owner is a member: someone who left hears nothing more.
        .join(
            ProjectMember,
            and_(
                col(ProjectMember.project_id) == col(ActionItem.project_id),
                col(ProjectMember.user_id) == col(ActionItem.owner_id),
            ),
        )
        .where(
            col(ActionItem.status) == ActionStatus.OPEN,
            due <= today,
            ~made,
            ~_switched_off(col(ActionItem.owner_id), kind),
        )
        .order_by(col(ActionItem.project_id), col(ActionItem.number))
    )
    # The NOT EXISTS spares the identity; ON CONFLICT settles two scans racing each other.
    insert = pg_insert(Notification).from_select(_FIELDS, picked).on_conflict_do_nothing()
    return await _insert_announced(
        session, insert.returning(col(Notification.id), col(Notification.user_id))
    )
