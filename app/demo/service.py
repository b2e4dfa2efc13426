"""The demo project: a team of five and seven sprints of history, written through the services.

Every change goes through the same services the API uses (so the event log, the frozen
commitments, outcomes and reports are real); each simulated moment is one transaction whose
timestamps are then moved back to that moment. A fixed random seed makes every run alike.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import Database
from app.demo import ceremonies
from app.demo.lifecycle import seed_lifecycle
from app.demo.releases import seed_releases
from app.demo.risks import seed_risks
from app.demo.simulation import KEY, TIME_ZONE, Simulation, Team, at, working_days
from app.demo.timesheets import seed_timesheets
from app.domain.items import service as items
from app.domain.items.filters import ItemQuery
from app.domain.items.models import Item, ItemType
from app.domain.items.schemas import ItemCreate, ItemUpdate
from app.domain.kernel import clock
from app.domain.kernel.pagination import PageRequest
from app.domain.projects import repository as projects_repository
from app.domain.projects import service as projects
from app.domain.projects.access import ProjectAccess, resolve_access
from app.domain.projects.models import Role
from app.domain.projects.schemas import ProjectCreate
from app.domain.sprints import service as sprints
from app.domain.sprints.capacity import service as capacity
from app.domain.sprints.capacity.schemas import MemberCapacityEntry, SprintCapacityReplace
from app.domain.sprints.models import GoalOutcome
from app.domain.sprints.schemas import SprintComplete, SprintCreate, SprintItems, SprintUpdate
from app.domain.users import repository as users_repository
from app.domain.users import service as users
from app.domain.users.models import User
from app.domain.users.schemas import PersonalTokenCreate, UserCreate
from app.domain.users.security import hash_password
from app.domain.workflow import defaults as workflow_defaults
from app.domain.workflow import repository as workflow_repository
from app.domain.workflow.models import StatusCategory

TEAM = (
    ("Ada Lovelace", "ada"),
    ("Grace Hopper", "grace"),
    ("Alan Turing", "alan"),
    ("Katherine Johnson", "katherine"),
    ("Linus Torvalds", "linus"),
)
DOMAIN = "demo.example.com"
COMPLETED_SPRINTS = 6
SPRINT_WEEKS = 2
BACKLOG_SIZE = 110
ESTIMATES = (1, 2, 3, 3, 5, 5, 5, 8, 8, 13)
THEMES = (
    (
        "Accounts",
        ("Sign up with email", "Log in", "Reset a forgotten password", "Two-factor login"),
    ),
    ("Checkout", ("Cart summary", "Pay by card", "Apply a coupon", "Order confirmation email")),
    ("Search", ("Search by title", "Filter by label", "Sort results", "Saved searches")),
    ("Reports", ("Export to CSV", "Weekly summary email", "Usage dashboard", "Audit log")),
)
VERBS = ("Improve", "Polish", "Speed up", "Tidy", "Document", "Test", "Localise", "Secure")
T = TypeVar("T")


@dataclass
class DemoResult:
    """What the demo created: who can log in, and a token for curl."""

    project_key: str
    emails: list[str]
    password: str
    token: str
    sprints: int


class DemoExists(Exception):
    """The demo project exists already (re-create it with `reset`)."""


async def _user(session: AsyncSession, name: str, handle: str, password: str) -> User:
    """The demo user for a team member: created, or given this run's password."""
    email = f"{handle}@{DOMAIN}"
    existing = await users_repository.get_user_by_email(session, email)
    if existing is None:
        data = UserCreate(email=email, display_name=name, password=password, is_admin=False)
        return await users.create_user(session, data)
    existing.password_hash = await hash_password(password)
    return existing


async def _clear(session: AsyncSession, reset: bool) -> None:
    """Delete an earlier demo project when asked to; otherwise refuse to touch it."""
    owner = await users_repository.get_user_by_email(session, f"{TEAM[0][1]}@{DOMAIN}")
    if owner is None or not await projects_repository.key_exists(session, KEY):
        if await projects_repository.key_exists(session, KEY):
            raise DemoExists(f"A project {KEY} exists and is not the demo's.")
        return
    if not reset:
        raise DemoExists(f"The {KEY} project exists; run again with --reset to re-create it.")
    access = await resolve_access(session, KEY, owner, Role.OWNER)
    await projects.delete_project(session, access, KEY, None)


async def create_demo(database: Database, *, reset: bool = False) -> DemoResult:
    """Create the DEMO project with its history (re-create it with `reset`).

    Demo accounts get a fresh random password on every run: a known password would be a
    way in on any instance the demo was ever loaded into.
    """
    password = secrets.token_urlsafe(12)
    # A fixed seed: every demo tells the same story (not for anything secret).
    rng = random.Random(20261127)  # noqa: S311
    sim = Simulation(database, rng)
    today = clock.today(TIME_ZONE)
    # The active sprint is half-way: it started five working days ago. Six full sprints of two
    # weeks came before it, back to back.
    active_start = working_days(today - timedelta(days=14), today - timedelta(days=1))[-5]
    first_start = active_start - timedelta(weeks=SPRINT_WEEKS * COMPLETED_SPRINTS)
    kickoff = first_start - timedelta(days=7)

    async def found(session: AsyncSession) -> tuple[int, list[int], str]:
        await _clear(session, reset)
        team = [await _user(session, name, handle, password) for name, handle in TEAM]
        owner = team[0]
        access = await projects.create_project(
            session,
            owner,
            ProjectCreate(
                key=KEY,
                name="Demo: web shop relaunch",
                description="A made-up team's history, so every report shows something real.",
                sprint_length_days=7 * SPRINT_WEEKS,
                time_zone=TIME_ZONE.key,
            ),
            workflow_defaults,
        )
        for user in team[1:]:
            # Straight onto the team: the HTTP form takes only people the owner already knows.
            await projects.add_user(session, access.project, user, Role.MEMBER)
        token = await users.create_personal_token(
            session, owner, PersonalTokenCreate(name="demo", expires_in_days=30)
        )
        return access.project_id, [user.id or 0 for user in team], token.secret

    started = clock.now()
    project_id, team_ids, token = await sim.moment(at(kickoff, 9), found)
    # The project did not exist when that moment began: back-date what it wrote now.
    sim.project_id = project_id
    sim.team = Team(owner_id=team_ids[0], member_ids=team_ids[1:])
    await sim.moment(at(kickoff, 9), _no_op, since=started)
    await _fill_backlog(sim, kickoff)
    statuses = await sim.moment(at(kickoff, 12), lambda s: _statuses(s, project_id))
    await seed_lifecycle(sim, kickoff, first_start)
    await seed_releases(sim, kickoff, first_start, today)

    next_number: int | None = None
    for index in range(COMPLETED_SPRINTS + 1):
        start = first_start + timedelta(weeks=SPRINT_WEEKS * index)
        end = working_days(start, start + timedelta(days=7 * SPRINT_WEEKS - 1))[-1]
        active = index == COMPLETED_SPRINTS
        next_number = await _run_sprint(
            sim, statuses, index + 1, start, end, today if active else None, next_number
        )
        if index == COMPLETED_SPRINTS - 2:
            first_retro_end = end
        if index == COMPLETED_SPRINTS - 1:
            last_retro_end = end
    await _ceremonies(sim, first_retro_end, last_retro_end, active_start, today)
    await seed_risks(sim, kickoff, active_start, COMPLETED_SPRINTS + 1)
    await seed_timesheets(sim, COMPLETED_SPRINTS + 1, today)
    return DemoResult(
        project_key=KEY,
        emails=[f"{handle}@{DOMAIN}" for _, handle in TEAM],
        password=password,
        token=token,
        sprints=COMPLETED_SPRINTS + 1,
    )


async def _ceremonies(
    sim: Simulation, first_end: date, last_end: date, active_start: date, today: date
) -> None:
    """Retros of the last two completed sprints (the second anonymous) with their action items
    (done, dropped, overdue, open, one taken to the backlog), planning poker on backlog
    stories, and the active sprint's stand-ups."""
    first_sprint, last_sprint = COMPLETED_SPRINTS - 1, COMPLETED_SPRINTS
    await ceremonies.hold_retro(sim, first_sprint, first_end, anonymous=False, due_in_days=7)
    await ceremonies.follow_up(sim, first_end + timedelta(days=4), first_action=1)
    await ceremonies.hold_retro(sim, last_sprint, last_end, anonymous=True, due_in_days=21)
    await ceremonies.take_to_backlog(sim, last_end, action=4)

    async def pick(session: AsyncSession) -> tuple[list[int], int]:
        access = await sim.access(session, sim.team.owner_id)
        backlog = await _items_in(session, access, "backlog")
        stories = ceremonies.estimable([(row.number, row.type) for row in backlog])
        in_sprint = await _items_in(session, access, str(last_sprint + 1))
        return stories, in_sprint[0].number

    stories, blocked = await sim.moment(at(active_start, 12), pick)
    await ceremonies.planning_poker(sim, active_start, stories)
    await ceremonies.standup_week(sim, active_start, today, blocked)


async def _items_in(session: AsyncSession, access: ProjectAccess, sprint: str) -> list[Item]:
    """The items of a sprint (or the backlog) in rank order."""
    query = ItemQuery(sprint=sprint)
    rows, _ = await items.list_items(session, access, query, None, PageRequest(limit=1000))
    return [row.item for row in rows]


async def _no_op(session: AsyncSession) -> None:
    """A moment that only back-dates what the previous one wrote."""


async def _statuses(session: AsyncSession, project_id: int) -> dict[str, int]:
    """Status ids by category (the first status of each)."""
    found: dict[str, int] = {}
    for status in await workflow_repository.list_statuses(session, project_id):
        if status.id is not None:
            found.setdefault(status.category, status.id)
            found.setdefault(status.name, status.id)
    return found


async def _fill_backlog(sim: Simulation, kickoff: date) -> None:
    """Epics per theme, their stories, and a long tail of smaller work."""
    rng = sim.rng

    async def write(session: AsyncSession) -> None:
        access = await sim.access(session, sim.team.owner_id)
        for theme, stories in THEMES:
            epic = await items.create_item(
                session, access, ItemCreate(title=theme, type="epic", labels=[theme.lower()])
            )
            for title in stories:
                await items.create_item(
                    session,
                    access,
                    ItemCreate(
                        title=title,
                        points=rng.choice(ESTIMATES),
                        parent=epic.number,
                        labels=[theme.lower()],
                        priority=rng.choice(["high", "medium", "medium", "low"]),
                    ),
                )
        for number in range(BACKLOG_SIZE - 4 * 5):
            kind = rng.choice(["story", "story", "story", "bug", "task"])
            theme = rng.choice(THEMES)[0]
            await items.create_item(
                session,
                access,
                ItemCreate(
                    title=f"{rng.choice(VERBS)} {theme.lower()} #{number + 1}",
                    type=kind,
                    # One in eight is not estimated yet: forecasts say how many they leave out.
                    points=None if rng.random() < 0.125 else rng.choice(ESTIMATES),
                    labels=[theme.lower()],
                    priority=rng.choice(["highest", "high", "medium", "medium", "low"]),
                ),
            )

    await sim.moment(at(kickoff, 10), write)


async def _run_sprint(
    sim: Simulation,
    statuses: dict[str, int],
    number_hint: int,
    start: date,
    end: date,
    today: date | None,
    planned: int | None,
) -> int | None:
    """Plan (unless carried into), fill, start and work one sprint; complete it unless it is
    the active one. Returns the number of the next sprint, planned at completion."""
    rng = sim.rng
    target = rng.choice((24, 26, 28, 30, 32))

    async def plan(session: AsyncSession) -> int:
        access = await sim.access(session, sim.team.owner_id)
        number = planned
        if number is None:
            sprint = await sprints.create_sprint(
                session, access, SprintCreate(start_date=start, end_date=end)
            )
            number = sprint.number
        await sprints.update_sprint(
            session,
            access,
            number,
            SprintUpdate(goal=f"Sprint {number_hint}: {rng.choice(THEMES)[0]} ready to ship"),
            None,
        )
        in_sprint = await _items_in(session, access, str(number))
        committed = sum(row.points or 0 for row in in_sprint)
        backlog = await _items_in(session, access, "backlog")
        chosen = []
        for row in backlog:
            if committed >= target:
                break
            if row.type == ItemType.EPIC or row.points is None:
                continue
            chosen.append(row.number)
            committed += row.points
        if chosen:
            await sprints.add_items(session, access, number, SprintItems(items=chosen))
        return number

    number = await sim.moment(at(start, 9, 15), plan)

    async def plan_capacity(session: AsyncSession) -> None:
        access = await sim.access(session, sim.team.owner_id)
        days = working_days(start, end)
        entries = []
        for user_id in [sim.team.owner_id, *sim.team.member_ids]:
            off = sorted(rng.sample(days, rng.choice((0, 0, 1, 2))))
            entries.append(
                MemberCapacityEntry(
                    user_id=user_id,
                    availability=80 if user_id == sim.team.owner_id else 100,
                    days_off=off,
                )
            )
        await capacity.replace_capacity(
            session, access, number, SprintCapacityReplace(members=entries)
        )
        await sprints.start_sprint(session, access, number, None)

    await sim.moment(at(start, 9, 30), plan_capacity)

    last_day = min(end, today - timedelta(days=1)) if today else end
    for offset, day in enumerate(working_days(start, last_day)):
        await _work_day(sim, statuses, number, day, offset)
    if today is not None:
        return None

    async def complete(session: AsyncSession) -> int:
        access = await sim.access(session, sim.team.owner_id)
        following = await sprints.create_sprint(
            session,
            access,
            SprintCreate(
                start_date=start + timedelta(weeks=SPRINT_WEEKS),
                end_date=end + timedelta(weeks=SPRINT_WEEKS),
            ),
        )
        await sprints.complete_sprint(
            session,
            access,
            number,
            SprintComplete(
                carry_over=following.number,
                goal_outcome=rng.choice(list(GoalOutcome)),
                review_notes="Demoed to the stakeholders; see the report for what slipped.",
            ),
            None,
        )
        return following.number

    return await sim.moment(at(end, 16), complete)


async def _work_day(
    sim: Simulation, statuses: dict[str, int], number: int, day: date, offset: int
) -> None:
    """One working day: scope changes in the morning, progress on the board in the afternoon."""
    rng = sim.rng
    flow = [
        statuses[StatusCategory.TODO],
        statuses["In Progress"],
        statuses["In Review"],
        statuses[StatusCategory.DONE],
    ]

    async def morning(session: AsyncSession) -> None:
        access = await sim.access(session)
        rows = await _items_in(session, access, str(number))
        if offset == 2:
            # Something urgent comes in: a bug straight into the sprint, and one from the backlog.
            await items.create_item(
                session,
                access,
                ItemCreate(
                    title=f"Hotfix: checkout fails on day {offset + 1}",
                    type="bug",
                    points=rng.choice((1, 2, 3)),
                    sprint=number,
                    priority="highest",
                ),
            )
            backlog = await _items_in(session, access, "backlog")
            extra = [row.number for row in backlog if row.type != ItemType.EPIC and row.points][:1]
            if extra:
                await sprints.add_items(session, access, number, SprintItems(items=extra))
        elif offset == 4 and rows:
            # A re-estimate after a closer look.
            row = rng.choice([r for r in rows if r.points] or rows)
            bigger = {1: 2, 2: 3, 3: 5, 5: 8, 8: 13, 13: 8}.get(int(row.points or 3), 5)
            await items.update_item(session, access, row.number, ItemUpdate(points=bigger), None)
        elif offset == 5:
            # Something that will not fit goes back to the backlog (untouched work first).
            candidates = [r for r in rows if r.status_id == flow[0]] or [
                r for r in rows if r.status_id != flow[-1]
            ]
            if candidates:
                dropped = rng.choice(candidates).number
                await sprints.remove_items(session, access, number, SprintItems(items=[dropped]))

    async def afternoon(session: AsyncSession) -> None:
        access = await sim.access(session)
        rows = await _items_in(session, access, str(number))
        for row in rows:
            if row.status_id not in flow or row.status_id == flow[-1]:
                continue
            # Work moves a column every three or four days, a little faster late in the sprint:
            # most of a sprint gets done, not all of it.
            if rng.random() < 0.25 + 0.02 * offset:
                position = flow.index(row.status_id)
                await items.update_item(
                    session,
                    access,
                    row.number,
                    ItemUpdate(status_id=flow[position + 1], assignee_id=access.user.id),
                    None,
                )

    await sim.moment(at(day, 10), morning)
    await sim.moment(at(day, 16), afternoon)
