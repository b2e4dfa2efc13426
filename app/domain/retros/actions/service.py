"""Rules for action items: who may own one, when a retro takes new ones, status changes, the
backlog item made from one, the history of every change, and the follow-up figures."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import ActionRef, EventType
from app.domain.items import service as items_service
from app.domain.items.models import ItemType
from app.domain.items.schemas import ItemCreate
from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import Conflict, InvalidInput, NotFound
from app.domain.kernel.inputs import is_id, is_number
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.metrics.actions import ActionFacts, ActionTally, tally, tally_by
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Role
from app.domain.retros import repository as retros_repository
from app.domain.retros.actions import public_events, repository
from app.domain.retros.actions.models import ActionEvent, ActionItem, ActionStatus
from app.domain.retros.actions.repository import ActionFilter, ActionRow
from app.domain.retros.actions.schemas import ActionCreate, ActionUpdate
from app.domain.retros.models import Retro, RetroPhase
from app.domain.users.models import User

# At most this many open action items per project: follow-up is for a handful, not a backlog.
MAX_OPEN_ACTIONS = 1000
# The label of backlog items made from action items.
ITEM_LABEL = "retro-action"


@dataclass(frozen=True)
class ItemLink:
    """The backlog item made from an action."""

    number: int
    key: str


@dataclass(frozen=True)
class ActionView(RowView):
    """An action with its owner, retro and item numbers, and its age and overdue flag."""

    ROW = "action"

    action: ActionItem
    owner: User | None
    retro: int | None
    item: ItemLink | None
    today: date
    time_zone: str

    number = FromRow[int]()
    version = FromRow[int]()

    @property
    def overdue(self) -> bool:
        """Open and due before today (in the project's time zone)."""
        due = self.action.due_date
        return self.action.status.is_open and due is not None and due < self.today

    @property
    def age_days(self) -> int:
        """Days from creation to today, or to the day it was closed."""
        created = calendar.date_at(self.action.created_at, self.time_zone)
        closed = self.action.closed_at
        until = calendar.date_at(closed, self.time_zone) if closed is not None else self.today
        return (until - created).days


@dataclass(frozen=True)
class ActionEventView(RowView):
    """One change of an action, with who made it."""

    ROW = "event"

    event: ActionEvent
    actor: User | None


@dataclass(frozen=True)
class RetroRefView:
    """A retro, briefly: number, title and its sprint's number."""

    number: int
    title: str
    sprint: int | None


@dataclass(frozen=True)
class RetroTallyView:
    """One retro's follow-up figures."""

    retro: RetroRefView
    tally: ActionTally

    def __getattr__(self, name: str) -> Any:
        return getattr(self.tally, name)


@dataclass(frozen=True)
class StatsView:
    """Follow-up figures per retro, for actions created directly, and in total."""

    retros: list[RetroTallyView]
    direct: ActionTally
    total: ActionTally


def _views(access: ProjectAccess, rows: Sequence[ActionRow]) -> list[ActionView]:
    zone = access.project.time_zone
    today = clock.today(zone)
    key = access.project.key
    return [
        ActionView(
            action=row.action,
            owner=row.owner,
            retro=row.retro_number,
            item=None
            if row.item_number is None
            else ItemLink(row.item_number, f"{key}-{row.item_number}"),
            today=today,
            time_zone=zone,
        )
        for row in rows
    ]


async def _reread(session: AsyncSession, access: ProjectAccess, action: ActionItem) -> ActionView:
    await session.flush()
    assert action.id is not None
    rows = await repository.action_rows_by_ids(session, access.project_id, [action.id])
    return _views(access, rows)[0]


def _log(
    session: AsyncSession, access: ProjectAccess, action: ActionItem, name: str, old: Any, new: Any
) -> None:
    assert action.id is not None
    session.add(
        ActionEvent(
            project_id=access.project_id,
            action_id=action.id,
            actor_id=access.user.id,
            field=name,
            old_value=old,
            new_value=new,
        )
    )


# Closing an action publishes what became of it; reopening publishes nothing.
_CLOSING = {
    ActionStatus.DONE: EventType.ACTION_COMPLETED,
    ActionStatus.DROPPED: EventType.ACTION_DROPPED,
}


def _publish(
    session: AsyncSession,
    access: ProjectAccess,
    action: ActionItem,
    event_type: EventType,
    retro_number: int | None,
) -> None:
    values = {**action.model_dump(), "status": action.status.value, "retro": retro_number}
    public_events.publish(
        session,
        access.project_id,
        event_type,
        ActionRef.model_validate(values),
        actor_id=access.user.id,
        actor=events.actor_name(access.user.display_name),
    )


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


async def _check_owner(session: AsyncSession, access: ProjectAccess, owner_id: int) -> None:
    """422 on `body.owner_id` unless the user is a member of the project who may plan."""
    found = (
        await projects_repository.get_member(session, access.project_id, owner_id)
        if is_id(owner_id)
        else None
    )
    if found is None or found[0].role == Role.VIEWER:
        raise InvalidInput.for_field(
            "body.owner_id",
            "The owner must be a member of the project with the member or owner role.",
            "not_member",
        )


async def _check_open_cap(session: AsyncSession, access: ProjectAccess) -> None:
    """409 once the project has its maximum of open actions (callers hold the project row)."""
    if await repository.count_open(session, access.project_id) >= MAX_OPEN_ACTIONS:
        raise Conflict(
            f"{access.project.key} has {MAX_OPEN_ACTIONS} open action items already; "
            "finish or drop some first."
        )


async def _create(
    session: AsyncSession, access: ProjectAccess, data: ActionCreate, retro: Retro | None
) -> ActionView:
    if data.owner_id is not None:
        await _check_owner(session, access, data.owner_id)
    # Taking the number locks the project row until commit, so the count below cannot race.
    number = await projects_repository.take_numbers(session, access.project_id, "action")
    await _check_open_cap(session, access)
    action = ActionItem(
        project_id=access.project_id,
        number=number,
        title=data.title,
        notes=data.notes,
        owner_id=data.owner_id,
        due_date=data.due_date,
        retro_id=None if retro is None else retro.id,
        created_by=access.user.id,
    )
    session.add(action)
    await session.flush()
    snapshot = {
        "title": action.title,
        "owner": action.owner_id,
        "due_date": _iso(action.due_date),
        "retro": None if retro is None else retro.number,
    }
    _log(session, access, action, "created", None, snapshot)
    _publish(
        session, access, action, EventType.ACTION_CREATED, None if retro is None else retro.number
    )
    return await _reread(session, access, action)


async def create_action(
    session: AsyncSession, access: ProjectAccess, data: ActionCreate
) -> ActionView:
    """Create an action item directly (not from a retro)."""
    return await _create(session, access, data, None)


async def _retro(
    session: AsyncSession, access: ProjectAccess, number: int, *, share_lock: bool = False
) -> Retro:
    found = await retros_repository.retro_by_number(
        session, access.project_id, number, lock="share" if share_lock else None
    )
    if found is None:
        raise NotFound(f"No retro {number} in {access.project.key}.")
    return found[0]


async def create_retro_action(
    session: AsyncSession, access: ProjectAccess, retro_number: int, data: ActionCreate
) -> ActionView:
    """Create an action item in a retro; only while the retro is discussing (409 otherwise)."""
    # FOR SHARE: a concurrent phase change waits for this creation, or this sees its result.
    retro = await _retro(session, access, retro_number, share_lock=True)
    if retro.phase != RetroPhase.DISCUSSING:
        raise Conflict(
            f"Retro {retro.number} is {retro.phase.value}: action items are added only while "
            "it is discussing."
        )
    return await _create(session, access, data, retro)


async def list_retro_actions(
    session: AsyncSession, access: ProjectAccess, retro_number: int, page: PageRequest
) -> tuple[list[ActionView], str | None]:
    """A retro's action items, by number."""
    retro = await _retro(session, access, retro_number)
    filters = ActionFilter(retro_id=retro.id)
    rows, cursor = await repository.list_actions(session, access.project_id, filters, page)
    return _views(access, rows), cursor


async def list_actions(
    session: AsyncSession,
    access: ProjectAccess,
    page: PageRequest,
    *,
    statuses: Sequence[ActionStatus] | None = None,
    owner_id: int | None = None,
    overdue: bool | None = None,
    retro_number: int | None = None,
) -> tuple[list[ActionView], str | None]:
    """The project's action items by number, narrowed by status, owner, overdue and retro."""
    filters = ActionFilter(statuses=statuses, owner_id=owner_id, overdue=overdue)
    if overdue is not None:
        filters.today = clock.today(access.project.time_zone)
    if retro_number is not None:
        found = await retros_repository.retro_by_number(session, access.project_id, retro_number)
        if found is None:
            raise InvalidInput.for_field(
                "query.retro", f"No retro {retro_number} in {access.project.key}.", "unknown"
            )
        filters.retro_id = found[0].id
    rows, cursor = await repository.list_actions(session, access.project_id, filters, page)
    return _views(access, rows), cursor


async def get_action(session: AsyncSession, access: ProjectAccess, number: int) -> ActionView:
    """One action item, or 404."""
    row = (
        await repository.get_action_row(session, access.project_id, number)
        if is_number(number)
        else None
    )
    if row is None:
        raise NotFound(f"No action item {number} in {access.project.key}.")
    return _views(access, [row])[0]


async def _locked(session: AsyncSession, access: ProjectAccess, number: int) -> ActionItem:
    action = (
        await repository.lock_action(session, access.project_id, number)
        if is_number(number)
        else None
    )
    if action is None:
        raise NotFound(f"No action item {number} in {access.project.key}.")
    return action


def _set_status(action: ActionItem, status: ActionStatus) -> None:
    """Move to a status: done stamps done_at, done or dropped stamps closed_at, open clears both."""
    now = clock.now()
    action.status = status
    action.done_at = now if status == ActionStatus.DONE else None
    action.closed_at = None if status.is_open else now


async def update_action(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: ActionUpdate,
    if_match: Versions | None,
) -> ActionView:
    """Change an action item's fields; every change is logged in its history."""
    changes = data.model_dump(exclude_unset=True)
    for name in ("title", "notes", "status"):
        if name in changes and changes[name] is None:
            raise InvalidInput.null(f"body.{name}")
    if changes.get("owner_id") is not None:
        await _check_owner(session, access, changes["owner_id"])
    reopening = changes.get("status") == ActionStatus.OPEN
    if reopening:
        # Queue with creators (project row, then the action) so the open cap cannot race.
        await projects_repository.lock_project(session, access.project_id)
    action = await _locked(session, access, number)
    check_version(action.version, if_match)
    changed = False
    closing: EventType | None = None
    for name, value in changes.items():
        old = getattr(action, name)
        if old == value:
            continue
        changed = True
        if name == "status":
            if value == ActionStatus.OPEN:
                await _check_open_cap(session, access)
            _set_status(action, value)
            _log(session, access, action, "status", old.value, value.value)
            closed = _CLOSING.get(value)
            if closed is not None:
                closing = closed
            continue
        setattr(action, name, value)
        if name == "owner_id":
            _log(session, access, action, "owner", old, value)
        elif name == "due_date":
            _log(session, access, action, "due_date", _iso(old), _iso(value))
        else:
            _log(session, access, action, name, old, value)
    if changed:
        bump(action)
    view = await _reread(session, access, action)
    if closing is not None:
        _publish(session, access, action, closing, view.retro)
    return view


async def delete_action(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> None:
    """Delete an action item and its history (a linked backlog item stays)."""
    action = await _locked(session, access, number)
    check_version(action.version, if_match)
    assert action.id is not None
    await repository.delete_action(session, access.project_id, action.id)


async def history(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[ActionEventView], str | None]:
    """Every recorded change of an action item, oldest first."""
    action = (await get_action(session, access, number)).action
    assert action.id is not None
    rows, cursor = await repository.list_events(session, access.project_id, action.id, page)
    return [ActionEventView(*row) for row in rows], cursor


async def to_item(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> ActionView:
    """Make a backlog task (label `retro-action`) from an action item and link the two."""
    action = await _locked(session, access, number)
    check_version(action.version, if_match)
    if action.item_id is not None:
        raise Conflict(f"Action item {number} is linked to a backlog item already.")
    assignee = action.owner_id
    if assignee is not None and await _check_member(session, access, assignee) is False:
        assignee = None  # the owner has left the project: the item starts unassigned
    item = await items_service.create_item(
        session,
        access,
        ItemCreate(
            type=ItemType.TASK,
            title=action.title,
            labels=[ITEM_LABEL],
            assignee_id=assignee,
            description=action.notes,
        ),
    )
    action.item_id = item.item.id
    bump(action)
    _log(session, access, action, "item", None, item.key)
    return await _reread(session, access, action)


async def _check_member(session: AsyncSession, access: ProjectAccess, user_id: int) -> bool:
    return await projects_repository.get_member(session, access.project_id, user_id) is not None


async def stats(session: AsyncSession, access: ProjectAccess) -> StatsView:
    """Per retro, for direct actions and in total: created, done, dropped, open, completion
    rate and median days to close (dates in the project's time zone)."""
    zone = access.project.time_zone
    retros = await repository.retro_refs(session, access.project_id)
    facts = [
        (
            retro_id,
            ActionFacts(
                status=status.value,
                created_on=calendar.date_at(created_at, zone),
                done_on=None if done_at is None else calendar.date_at(done_at, zone),
            ),
        )
        for retro_id, status, created_at, done_at in await repository.stats_facts(
            session, access.project_id
        )
    ]
    by_retro = tally_by([retro_id for retro_id, *_ in retros], facts)
    return StatsView(
        retros=[
            RetroTallyView(RetroRefView(number, title, sprint), by_retro[retro_id])
            for retro_id, number, title, sprint in retros
        ],
        direct=tally(fact for retro_id, fact in facts if retro_id is None),
        total=tally(fact for _, fact in facts),
    )


async def open_actions_before(
    session: AsyncSession, access: ProjectAccess, retro: Retro
) -> list[ActionView]:
    """Open action items from the project's retros created before `retro`, oldest first."""
    rows = await repository.open_actions_before(session, access.project_id, retro)
    return _views(access, rows)


async def retro_actions(
    session: AsyncSession, access: ProjectAccess, retro: Retro
) -> list[ActionView]:
    """A retro's action items, by number."""
    assert retro.id is not None
    return _views(access, await repository.retro_action_rows(session, access.project_id, retro.id))
