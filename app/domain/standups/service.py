"""Rules for stand-ups: one entry per member and working day of the active sprint, posted on
the day; the items an entry names as blocked carry a blocker until no entry names them."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository as items_repository
from app.domain.items.blockers import service as blockers
from app.domain.items.models import Item
from app.domain.kernel import clock
from app.domain.kernel.calendar import is_working_day, weekday_numbers
from app.domain.kernel.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
)
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.models import Sprint
from app.domain.standups import repository
from app.domain.standups.models import StandupEntry
from app.domain.standups.schemas import StandupEntryReplace
from app.domain.users.models import User

_DAY_FIELD = "path.date"


@dataclass(frozen=True)
class StandupEntryView(RowView):
    """An entry with its author and its sprint's number."""

    ROW = "entry"

    entry: StandupEntry
    user: User | None
    sprint: int

    @property
    def date(self) -> date:
        """The entry's day."""
        return self.entry.day


@dataclass(frozen=True)
class StandupDayView:
    """The team's day: the entries, and who is still to post."""

    date: date
    sprint: int | None
    expected: bool
    entries: list[StandupEntryView]
    missing: list[User]


async def _active_sprint(session: AsyncSession, access: ProjectAccess) -> Sprint | None:
    sprint_id = await sprints_repository.active_sprint_id(session, access.project_id)
    if sprint_id is None:
        return None
    return await sprints_repository.get_sprint_by_id(session, access.project_id, sprint_id)


def _in_sprint(sprint: Sprint | None, day: date, working: frozenset[int]) -> bool:
    return (
        sprint is not None
        and sprint.start_date is not None
        and sprint.end_date is not None
        and sprint.start_date <= day <= sprint.end_date
        and is_working_day(day, working)
    )


async def _views(
    session: AsyncSession, access: ProjectAccess, rows: list[tuple[StandupEntry, User | None]]
) -> list[StandupEntryView]:
    numbers = await sprints_repository.sprint_numbers(
        session, access.project_id, sorted({entry.sprint_id for entry, _ in rows})
    )
    return [StandupEntryView(entry, user, numbers.get(entry.sprint_id, 0)) for entry, user in rows]


async def team_day(
    session: AsyncSession, access: ProjectAccess, day: date | None
) -> StandupDayView:
    """Every entry of a day (today by default) and the members who have not posted."""
    today = clock.today(access.project.time_zone)
    day = day or today
    sprint = await _active_sprint(session, access)
    working = weekday_numbers(access.project.working_days)
    rows = await repository.day_entries(session, access.project_id, day)
    entries = await _views(session, access, rows)
    in_sprint = _in_sprint(sprint, day, working)
    expected = in_sprint and day <= today
    missing: list[User] = []
    if expected:
        posted = {entry.user_id for entry, _ in rows}
        planners = await projects_repository.planning_members(session, access.project_id)
        missing = [user for user in planners if user.id not in posted]
    return StandupDayView(
        date=day,
        sprint=sprint.number if sprint is not None and in_sprint else None,
        expected=expected,
        entries=entries,
        missing=missing,
    )


async def get_entry(
    session: AsyncSession, access: ProjectAccess, day: date, user_id: int
) -> StandupEntryView:
    """One member's entry for a day."""
    found = await repository.get_entry(session, access.project_id, user_id, day)
    if found is None:
        raise NotFound(f"No stand-up of user {user_id} on {day} in {access.project.key}.")
    return (await _views(session, access, [found]))[0]


async def history(
    session: AsyncSession, access: ProjectAccess, user_id: int | None, page: PageRequest
) -> tuple[list[StandupEntryView], str | None]:
    """Entries, latest first: the whole team's, or one member's."""
    rows, cursor = await repository.history(session, access.project_id, user_id, page)
    return await _views(session, access, rows), cursor


def _own(access: ProjectAccess, user_id: int) -> None:
    if user_id != access.user.id:
        raise Forbidden("A stand-up for another member is theirs to post; use your own user id.")


async def _check_day(session: AsyncSession, access: ProjectAccess, day: date) -> Sprint:
    """The active sprint, when `day` is today and one of its working days (409 / 422)."""
    sprint = await _active_sprint(session, access)
    if sprint is None or sprint.start_date is None or sprint.end_date is None:
        raise Conflict(f"{access.project.key} has no active sprint: stand-ups need one.")
    if not is_working_day(day, weekday_numbers(access.project.working_days)):
        raise InvalidInput.for_field(
            _DAY_FIELD,
            f"{day} is not one of {access.project.key}'s working days.",
            "non_working_day",
        )
    if not sprint.start_date <= day <= sprint.end_date:
        raise InvalidInput.for_field(
            _DAY_FIELD,
            f"{day} is outside the active sprint ({sprint.start_date} to {sprint.end_date}).",
            "out_of_range",
        )
    today = clock.today(access.project.time_zone)
    if day != today:
        raise InvalidInput.for_field(
            _DAY_FIELD,
            f"Stand-ups are posted on their day: it is {today} in {access.project.time_zone}.",
            "not_today",
        )
    return sprint


async def _blocked_items(
    session: AsyncSession, access: ProjectAccess, numbers: list[int]
) -> dict[int, Item]:
    """The items named as blocked, by number: each a distinct item of the project (422)."""
    found = await items_repository.get_items_by_numbers(session, access.project_id, numbers)
    errors: list[FieldError] = []
    seen: set[int] = set()
    for index, number in enumerate(numbers):
        field = f"body.blocked_items.{index}"
        if number in seen:
            errors.append(
                FieldError(field=field, message=f"Item {number} is named twice.", type="duplicate")
            )
        elif number not in found:
            errors.append(
                FieldError(
                    field=field,
                    message=f"{access.project.key} has no item {number}.",
                    type="not_found",
                )
            )
        seen.add(number)
    if errors:
        raise InvalidInput(
            "Invalid input: " + ", ".join(error.field for error in errors) + ".", errors=errors
        )
    return {number: found[number] for number in numbers}


async def replace_entry(
    session: AsyncSession,
    access: ProjectAccess,
    day: date,
    user_id: int,
    data: StandupEntryReplace,
    if_match: Versions | None,
) -> tuple[StandupEntryView, bool]:
    """Post or replace your entry for today; True when it is new.

    Its `blocked_items` raise blockers on those items, and clear the blockers your earlier
    entries raised on items it no longer names.
    """
    _own(access, user_id)
    # The membership's row lock runs one member's stand-up writes one after another.
    await projects_repository.get_member(session, access.project_id, user_id, for_update=True)
    sprint = await _check_day(session, access, day)
    named = await _blocked_items(session, access, data.blocked_items)
    found = await repository.get_entry(session, access.project_id, user_id, day, for_update=True)
    fields = data.model_dump()
    if found is None:
        if if_match is not None:
            raise PreconditionFailed(f"You have no stand-up on {day} yet; If-Match names none.")
        assert sprint.id is not None
        entry = StandupEntry(
            project_id=access.project_id, sprint_id=sprint.id, user_id=user_id, day=day, **fields
        )
        await repository.add(session, entry)
    else:
        entry = found[0]
        check_version(entry.version, if_match)
        changed = {name: value for name, value in fields.items() if getattr(entry, name) != value}
        for name, value in changed.items():
            setattr(entry, name, value)
        if changed:
            bump(entry)
        await session.flush()
    assert entry.id is not None
    reason = blockers.standup_reason(data.blockers, access.user.display_name, day.isoformat())
    await blockers.sync_standup_blockers(
        session, access.project_id, user_id, entry.id, named, reason
    )
    return StandupEntryView(entry, access.user, sprint.number), found is None


async def delete_entry(
    session: AsyncSession,
    access: ProjectAccess,
    day: date,
    user_id: int,
    if_match: Versions | None,
) -> None:
    """Withdraw your entry for today: the blockers it raised are cleared."""
    _own(access, user_id)
    await projects_repository.get_member(session, access.project_id, user_id, for_update=True)
    found = await repository.get_entry(session, access.project_id, user_id, day, for_update=True)
    if found is None:
        raise NotFound(f"No stand-up of user {user_id} on {day} in {access.project.key}.")
    entry = found[0]
    today = clock.today(access.project.time_zone)
    if day != today:
        raise Conflict(
            f"The stand-up of {day} is history; only today's ({today}) can be withdrawn."
        )
    check_version(entry.version, if_match)
    assert entry.id is not None
    await blockers.clear_entry_blockers(session, access.project_id, entry.id, user_id)
    await repository.delete_entry(session, access.project_id, entry.id)
