"""Rules for risks: who may own one, what it may be linked to, every change logged in its
history, the list's filters, and the open-exposure trend rebuilt from that history."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel import calendar, clock
from app.domain.kernel.errors import InvalidInput, NotFound
from app.domain.kernel.inputs import is_id
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Role
from app.domain.risks import repository
from app.domain.risks.models import OPEN_STATUSES, Risk, RiskCategory, RiskEvent, RiskStatus
from app.domain.risks.repository import LINK_KINDS, LinkKind, Links, RiskFilter
from app.domain.risks.schemas import RiskCreate, RiskUpdate
from app.domain.risks.trend import LoggedChange, Week, WeekExposure, open_exposure_by_week
from app.domain.users.models import User

# The trend's default span, and its longest.
DEFAULT_WEEKS = 12
MAX_WEEKS = 104
# Nothing is logged before this; the bound also keeps local midnights inside datetime's range.
EARLIEST = date(1970, 1, 5)

# Fields that may not be null in a PATCH (owner and review date may: null clears them).
_NOT_NULL = (
    "title",
    "description",
    "category",
    "probability",
    "impact",
    "mitigation_plan",
    "contingency_plan",
    "status",
    *LINK_KINDS,
)
# The history's name for a field, where it is not the field's own.
_LOGGED_AS = {"owner_id": "owner"}
_KIND_NAME = {"items": "item", "sprints": "sprint", "releases": "release"}


@dataclass(frozen=True)
class RiskView(RowView):
    """A risk with its owner, its links as numbers, and whether its review is overdue."""

    ROW = "risk"

    risk: Risk
    owner: User | None
    links: Links
    today: date

    number = FromRow[int]()
    version = FromRow[int]()

    @property
    def items(self) -> list[int]:
        """Numbers of the linked items."""
        return self.links.items

    @property
    def sprints(self) -> list[int]:
        """Numbers of the linked sprints."""
        return self.links.sprints

    @property
    def releases(self) -> list[int]:
        """Numbers of the linked releases."""
        return self.links.releases

    @property
    def review_overdue(self) -> bool:
        """Open or mitigating, and due for review before today (project time zone)."""
        review = self.risk.review_date
        return self.risk.status in OPEN_STATUSES and review is not None and review < self.today


@dataclass(frozen=True)
class RiskEventView(RowView):
    """One change of a risk, with who made it."""

    ROW = "event"

    event: RiskEvent
    actor: User | None


@dataclass(frozen=True)
class TrendView:
    """The open exposure per ISO week."""

    weeks: list[WeekExposure]


async def _views(
    session: AsyncSession, access: ProjectAccess, rows: Sequence[tuple[Risk, User | None]]
) -> list[RiskView]:
    ids = [risk.id for risk, _ in rows if risk.id is not None]
    links = await repository.links_of(session, access.project_id, ids)
    today = clock.today(access.project.time_zone)
    return [
        RiskView(risk=risk, owner=owner, links=links[risk.id], today=today)
        for risk, owner in rows
        if risk.id is not None
    ]


async def _view(session: AsyncSession, access: ProjectAccess, number: int) -> RiskView:
    row = await repository.get_risk_row(session, access.project_id, number)
    if row is None:
        raise NotFound(f"No risk {number} in {access.project.key}.")
    return (await _views(session, access, [row]))[0]


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _logged(name: str, value: Any) -> Any:
    """A field's value as the history keeps it (JSON: enums by value, dates ISO)."""
    if isinstance(value, RiskStatus | RiskCategory):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    return value


def _log(
    session: AsyncSession, access: ProjectAccess, risk: Risk, name: str, old: Any, new: Any
) -> None:
    assert risk.id is not None
    session.add(
        RiskEvent(
            project_id=access.project_id,
            risk_id=risk.id,
            actor_id=access.user.id,
            field=name,
            old_value=old,
            new_value=new,
        )
    )


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


async def _resolve(
    session: AsyncSession, access: ProjectAccess, kind: LinkKind, numbers: Sequence[int]
) -> list[int]:
    """The ids of the project's items, sprints or releases with these numbers (duplicates
    once); an unknown number is a 422 naming its place in the list, e.g. `body.items.0`."""
    found = await repository.target_ids(session, access.project_id, kind, numbers)
    for index, number in enumerate(numbers):
        if number not in found:
            raise InvalidInput.for_field(
                f"body.{kind}.{index}",
                f"No {_KIND_NAME[kind]} {number} in {access.project.key}.",
                "unknown",
            )
    return sorted({found[number] for number in numbers})


async def create_risk(session: AsyncSession, access: ProjectAccess, data: RiskCreate) -> RiskView:
    """Create a risk, with its links, and log its creation."""
    if data.owner_id is not None:
        await _check_owner(session, access, data.owner_id)
    targets = {
        kind: await _resolve(session, access, kind, getattr(data, kind)) for kind in LINK_KINDS
    }
    number = await projects_repository.take_numbers(session, access.project_id, "risk")
    risk = Risk(
        project_id=access.project_id,
        number=number,
        title=data.title,
        description=data.description,
        category=data.category,
        probability=data.probability,
        impact=data.impact,
        owner_id=data.owner_id,
        mitigation_plan=data.mitigation_plan,
        contingency_plan=data.contingency_plan,
        status=data.status,
        review_date=data.review_date,
        created_by=access.user.id,
    )
    session.add(risk)
    await session.flush()
    assert risk.id is not None
    for kind, ids in targets.items():
        if ids:
            await repository.replace_links(session, access.project_id, risk.id, kind, ids)
    snapshot: dict[str, Any] = {
        "title": risk.title,
        "category": risk.category.value,
        "probability": risk.probability,
        "impact": risk.impact,
        "status": risk.status.value,
        "owner": risk.owner_id,
        "review_date": _iso(risk.review_date),
        **{kind: sorted(set(getattr(data, kind))) for kind in LINK_KINDS if getattr(data, kind)},
    }
    _log(session, access, risk, "created", None, snapshot)
    await session.flush()
    return await _view(session, access, number)


async def list_risks(
    session: AsyncSession,
    access: ProjectAccess,
    page: PageRequest,
    *,
    statuses: Sequence[RiskStatus] | None = None,
    owner_id: int | None = None,
    category: RiskCategory | None = None,
    review_overdue: bool | None = None,
    item: int | None = None,
    sprint: int | None = None,
    release: int | None = None,
) -> tuple[list[RiskView], str | None]:
    """The project's risks by exposure (highest first), then number, narrowed by the filters;
    an unknown item, sprint or release number is a 422 naming its query parameter."""
    filters = RiskFilter(statuses=statuses, owner_id=owner_id, review_overdue=review_overdue)
    if category is not None:
        filters.category = category.value
    if review_overdue is not None:
        filters.today = clock.today(access.project.time_zone)
    queried: tuple[tuple[str, LinkKind, int | None], ...] = (
        ("item", "items", item),
        ("sprint", "sprints", sprint),
        ("release", "releases", release),
    )
    for name, kind, number in queried:
        if number is None:
            continue
        found = await repository.target_ids(session, access.project_id, kind, [number])
        if number not in found:
            raise InvalidInput.for_field(
                f"query.{name}", f"No {name} {number} in {access.project.key}.", "unknown"
            )
        setattr(filters, f"{name}_id", found[number])
    rows, cursor = await repository.list_risks(session, access.project_id, filters, page)
    return await _views(session, access, rows), cursor


async def get_risk(session: AsyncSession, access: ProjectAccess, number: int) -> RiskView:
    """One risk, or 404."""
    return await _view(session, access, number)


async def _locked(session: AsyncSession, access: ProjectAccess, number: int) -> Risk:
    risk = await repository.lock_risk(session, access.project_id, number)
    if risk is None:
        raise NotFound(f"No risk {number} in {access.project.key}.")
    return risk


async def update_risk(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: RiskUpdate,
    if_match: Versions | None,
) -> RiskView:
    """Change a risk's fields and links; every change is logged in its history."""
    changes = data.model_dump(exclude_unset=True)
    for name in _NOT_NULL:
        if name in changes and changes[name] is None:
            raise InvalidInput.null(f"body.{name}")
    if changes.get("owner_id") is not None:
        await _check_owner(session, access, changes["owner_id"])
    targets = {
        kind: await _resolve(session, access, kind, changes[kind])
        for kind in LINK_KINDS
        if kind in changes
    }
    risk = await _locked(session, access, number)
    check_version(risk.version, if_match)
    assert risk.id is not None
    changed = False
    for name, value in changes.items():
        if name in LINK_KINDS:
            continue
        old = getattr(risk, name)
        if old == value:
            continue
        changed = True
        setattr(risk, name, value)
        _log(
            session,
            access,
            risk,
            _LOGGED_AS.get(name, name),
            _logged(name, old),
            _logged(name, value),
        )
    if targets:
        current = (await repository.links_of(session, access.project_id, [risk.id]))[risk.id]
        for kind, ids in targets.items():
            await repository.replace_links(session, access.project_id, risk.id, kind, ids)
        after = (await repository.links_of(session, access.project_id, [risk.id]))[risk.id]
        for kind in targets:
            old_numbers, new_numbers = getattr(current, kind), getattr(after, kind)
            if old_numbers != new_numbers:
                changed = True
                _log(session, access, risk, kind, old_numbers, new_numbers)
    if changed:
        bump(risk)
    await session.flush()
    return await _view(session, access, number)


async def delete_risk(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> None:
    """Delete a risk with its links and history (what it was linked to stays)."""
    risk = await _locked(session, access, number)
    check_version(risk.version, if_match)
    assert risk.id is not None
    await repository.delete_risk(session, access.project_id, risk.id)


async def history(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[RiskEventView], str | None]:
    """Every recorded change of a risk, oldest first."""
    row = await repository.get_risk_row(session, access.project_id, number)
    if row is None or row[0].id is None:
        raise NotFound(f"No risk {number} in {access.project.key}.")
    rows, cursor = await repository.list_events(session, access.project_id, row[0].id, page)
    return [RiskEventView(*row) for row in rows], cursor


def trend_weeks(start: date | None, end: date | None, today: date, zone: str) -> list[Week]:
    """The ISO weeks from the one holding `start` to the one holding `end` (default: the 12
    weeks up to today's; a later `end` counts as today), with the moment each is measured."""
    for name, day in (("query.from", start), ("query.to", end)):
        if day is not None and day < EARLIEST:
            raise InvalidInput.for_field(name, f"Dates start at {EARLIEST}.", "too_early")
    last = today if end is None or end > today else end
    last_monday = last - timedelta(days=last.weekday())
    first = start if start is not None else last_monday - timedelta(weeks=DEFAULT_WEEKS - 1)
    if first > last:
        if first > today:
            message = f"`from` ({first}) is after today ({today}) in the project's time zone."
        else:
            message = f"`from` ({first}) is after `to` ({last})."
        raise InvalidInput.for_field("query.from", message, "range_order")
    first_monday = first - timedelta(days=first.weekday())
    count = (last_monday - first_monday).days // 7 + 1
    if count > MAX_WEEKS:
        raise InvalidInput.for_field(
            "query.from",
            f"The range {first} to {last} spans {count} ISO weeks; at most {MAX_WEEKS}.",
            "range_too_long",
        )
    now = clock.now()
    weeks = []
    for offset in range(count):
        monday = first_monday + timedelta(weeks=offset)
        sunday = monday + timedelta(days=6)
        until = calendar.end_of_day(sunday, zone).astimezone(UTC)
        if until > now:
            weeks.append(Week(monday, sunday, now, None))
        else:
            weeks.append(Week(monday, sunday, until, until))
    return weeks


async def trend(
    session: AsyncSession, access: ProjectAccess, start: date | None, end: date | None
) -> TrendView:
    """Open exposure at the end of each ISO week, replayed from the risks' history."""
    zone = access.project.time_zone
    weeks = trend_weeks(start, end, clock.today(zone), zone)
    before = weeks[-1].until
    rows = await repository.trend_changes(session, access.project_id, before)
    changes = [LoggedChange(*row) for row in rows]
    return TrendView(open_exposure_by_week(changes, weeks))
