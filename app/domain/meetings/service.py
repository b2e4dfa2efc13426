"""Rules for the ceremony schedule, the calendar feed's token, and the feed itself."""

import secrets
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.kernel import clock
from app.domain.kernel.errors import InvalidInput
from app.domain.kernel.versioning import Versions, bump, check_version
from app.domain.meetings import feed, repository
from app.domain.meetings.models import MEETINGS, MeetingSchedule
from app.domain.meetings.schemas import MeetingScheduleReplace
from app.domain.projects.access import ProjectAccess, not_found, resolve_access
from app.domain.projects.lifecycle import repository as lifecycle_repository
from app.domain.projects.models import Project, Role
from app.domain.sprints import repository as sprints_repository
from app.domain.users.models import User
from app.domain.users.security import hash_token

# Calendar tokens look unlike bearer tokens (`tbx_`), so a leaked one is recognisable as such.
FEED_TOKEN_PREFIX = "tbcal_"  # noqa: S105 - a public marker, not a secret
_SHOWN_PREFIX = len(FEED_TOKEN_PREFIX) + 6


@dataclass(frozen=True)
class MeetingSlotView:
    """One ceremony's local start and length."""

    at: time
    duration_minutes: int

    @property
    def start(self) -> str:
        """`HH:MM`."""
        return self.at.strftime("%H:%M")


@dataclass(frozen=True)
class MeetingScheduleView:
    """A schedule (stored or the defaults) as the API shows it."""

    schedule: MeetingSchedule
    time_zone: str

    def _slot(self, meeting: str) -> MeetingSlotView:
        return MeetingSlotView(
            getattr(self.schedule, f"{meeting}_time"), getattr(self.schedule, f"{meeting}_minutes")
        )

    @property
    def planning(self) -> MeetingSlotView:
        """Sprint planning."""
        return self._slot("planning")

    @property
    def standup(self) -> MeetingSlotView:
        """The daily stand-up."""
        return self._slot("standup")

    @property
    def review(self) -> MeetingSlotView:
        """The sprint review."""
        return self._slot("review")

    @property
    def retro(self) -> MeetingSlotView:
        """The retrospective."""
        return self._slot("retro")

    @property
    def feed_token_prefix(self) -> str | None:
        """The feed token's first characters."""
        return self.schedule.feed_token_prefix

    @property
    def feed_token_created_at(self) -> datetime | None:
        """When the feed token was made."""
        return self.schedule.feed_token_created_at

    @property
    def version(self) -> int:
        """The schedule's version."""
        return self.schedule.version


@dataclass(frozen=True)
class CalendarTokenView:
    """A new feed token and the URL that carries it."""

    token: str
    url: str
    prefix: str
    created_at: datetime


def _defaults(project_id: int) -> MeetingSchedule:
    """The schedule of a project that never saved one (not stored)."""
    # Model defaults (the column defaults), and the row's first version and times.
    epoch = datetime.fromtimestamp(0, tz=clock.now().tzinfo)
    return MeetingSchedule(project_id=project_id, version=1, created_at=epoch, updated_at=epoch)


async def _schedule(session: AsyncSession, project_id: int) -> MeetingSchedule:
    return await repository.get_schedule(session, project_id) or _defaults(project_id)


async def get_schedule(session: AsyncSession, access: ProjectAccess) -> MeetingScheduleView:
    """The project's ceremony schedule (the defaults until an owner saves one)."""
    schedule = await _schedule(session, access.project_id)
    return MeetingScheduleView(schedule, access.project.time_zone)


async def replace_schedule(
    session: AsyncSession,
    access: ProjectAccess,
    data: MeetingScheduleReplace,
    if_match: Versions | None,
) -> MeetingScheduleView:
    """Replace the whole schedule; every ceremony must end by midnight."""
    for meeting in MEETINGS:
        slot = getattr(data, meeting)
        if slot.start.hour * 60 + slot.start.minute + slot.duration_minutes > 24 * 60:
            raise InvalidInput.for_field(
                f"body.{meeting}.duration_minutes",
                f"The {meeting} would run past midnight: it starts at "
                f"{slot.start.strftime('%H:%M')}.",
                "past_midnight",
            )
    schedule = await repository.locked_schedule(session, access.project_id)
    check_version(schedule.version, if_match)
    changed = False
    for meeting in MEETINGS:
        slot = getattr(data, meeting)
        for column, value in (
            (f"{meeting}_time", slot.start),
            (f"{meeting}_minutes", slot.duration_minutes),
        ):
            if getattr(schedule, column) != value:
                setattr(schedule, column, value)
                changed = True
    if changed:
        bump(schedule)
    await session.flush()
    return MeetingScheduleView(schedule, access.project.time_zone)


async def create_feed_token(
    session: AsyncSession, access: ProjectAccess, base_url: str
) -> CalendarTokenView:
    """A new calendar feed token: the old one stops working at once."""
    schedule = await repository.locked_schedule(session, access.project_id)
    token = FEED_TOKEN_PREFIX + secrets.token_urlsafe(32)
    schedule.feed_token_hash = hash_token(token)
    schedule.feed_token_prefix = token[:_SHOWN_PREFIX]
    schedule.feed_token_created_at = clock.now()
    bump(schedule)
    await session.flush()
    url = f"{base_url.rstrip('/')}/api/v1/projects/{access.project.key}/calendar.ics?token={token}"
    return CalendarTokenView(
        token=token,
        url=url,
        prefix=schedule.feed_token_prefix,
        created_at=schedule.feed_token_created_at,
    )


async def _feed_project(
    session: AsyncSession, key: str, user: User | None, token: str | None
) -> tuple[Project, MeetingSchedule]:
    """The project a feed request may read: by a member's bearer token or the feed token."""
    if user is not None:
        access = await resolve_access(session, key, user, Role.VIEWER)
        return access.project, await _schedule(session, access.project_id)
    if token:
        found = await repository.project_by_feed_token(session, key, hash_token(token))
        if found is not None:
            return found
    # No credentials or a wrong token: the answer for a project that does not exist.
    raise not_found(key)


async def calendar_feed(
    session: AsyncSession, key: str, user: User | None, token: str | None
) -> bytes:
    """The project's ceremonies as an iCalendar document."""
    project, schedule = await _feed_project(session, key, user, token)
    assert project.id is not None
    sprints = await sprints_repository.dated_sprints(session, project.id)
    closed_at = (
        await lifecycle_repository.closed_since(session, project.id)
        if project.phase.is_closed
        else None
    )
    return feed.render(project, schedule, sprints, closed_at)
