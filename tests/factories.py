"""Test data built through the real domain services (only password hashing is shortcut)."""

import itertools
from dataclasses import dataclass
from functools import cache
from typing import NamedTuple

from app.db import Database
from app.domain.items import service as items
from app.domain.items.blockers import service as blockers
from app.domain.items.comments import service as comments
from app.domain.items.schemas import ItemCreate
from app.domain.projects import service as projects
from app.domain.projects.access import ProjectAccess, resolve_access
from app.domain.projects.models import Role
from app.domain.projects.schemas import ProjectCreate
from app.domain.sprints import service as sprints
from app.domain.sprints.schemas import SprintCreate, SprintItems
from app.domain.users import repository as users_repository
from app.domain.users import service as users
from app.domain.users.models import User
from app.domain.users.schemas import PersonalTokenCreate
from app.domain.users.security import _hasher
from app.domain.workflow import defaults as workflow_defaults
from app.domain.workflow import service as workflow
from app.domain.workflow.schemas import StatusCreate

PASSWORD = "correct horse battery"
_counter = itertools.count(1)


@cache
def _password_hash() -> str:
    # argon2 is deliberately slow; hash the shared test password once per run.
    return _hasher.hash(PASSWORD)


@dataclass
class Actor:
    """A user with a bearer token."""

    id: int
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Authorization header for this user."""
        return {"Authorization": f"Bearer {self.token}"}


class Team(NamedTuple):
    """An owner, a member and a viewer of a project, and an outsider who is not in it."""

    owner: Actor
    member: Actor
    viewer: Actor
    outsider: Actor


class Factory:
    """Creates users, tokens, projects and memberships in committed transactions."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def user(self, email: str | None = None, *, admin: bool = False) -> Actor:
        """An active user with a personal access token."""
        email = email or f"user{next(_counter)}@example.com"
        async with self.database.sessions() as session, session.begin():
            user = User(
                email=email.lower(),
                display_name=email.split("@")[0],
                password_hash=_password_hash(),
                is_admin=admin,
            )
            await users_repository.add(session, user)
            issued = await users.create_personal_token(
                session, user, PersonalTokenCreate(name="tests")
            )
        assert user.id is not None
        return Actor(id=user.id, email=user.email, token=issued.secret)

    async def project(self, owner: Actor, key: str = "WEB", **fields: object) -> str:
        """A project owned by `owner`; returns its key."""
        async with self.database.sessions() as session, session.begin():
            user = await users_repository.get_user(session, owner.id)
            assert user is not None
            data = ProjectCreate.model_validate({"key": key, "name": f"Project {key}", **fields})
            await projects.create_project(session, user, data, workflow_defaults)
        return key

    async def member(self, key: str, owner: Actor, user: Actor, role: Role) -> None:
        """Add `user` to project `key` with `role`."""
        async with self.database.sessions() as session, session.begin():
            owner_user = await users_repository.get_user(session, owner.id)
            assert owner_user is not None
            access = await resolve_access(session, key, owner_user, Role.OWNER)
            member = await users_repository.get_user(session, user.id)
            assert member is not None
            # The write path itself: the HTTP form takes only people the owner knows already.
            await projects.add_user(session, access.project, member, role)

    async def acquaint(self, owner: Actor, user: Actor) -> None:
        """Make `user` someone `owner` shares a project with, so owner may add them by id."""
        key = f"ACQ{next(_counter)}"
        await self.project(owner, key)
        await self.member(key, owner, user, Role.VIEWER)

    async def owner(self, key: str = "WEB", **project_fields: object) -> Actor:
        """A new user who owns a new project `key`."""
        owner = await self.user()
        await self.project(owner, key, **project_fields)
        return owner

    async def team(
        self, key: str = "WEB", *, outsider_project: str | None = None, **project_fields: object
    ) -> Team:
        """Owner, member, viewer (created in that order, so by user id) and an outsider of `key`.

        `outsider_project`: the outsider owns a project of that key, so is somebody's member.
        """
        owner = await self.owner(key, **project_fields)
        member, viewer, outsider = await self.user(), await self.user(), await self.user()
        await self.member(key, owner, member, Role.MEMBER)
        await self.member(key, owner, viewer, Role.VIEWER)
        if outsider_project is not None:
            await self.project(outsider, outsider_project)
        return Team(owner, member, viewer, outsider)

    async def _access(self, session: object, key: str, actor: Actor) -> ProjectAccess:
        user = await users_repository.get_user(session, actor.id)  # type: ignore[arg-type]
        assert user is not None
        return await resolve_access(session, key, user, Role.VIEWER)  # type: ignore[arg-type]

    async def item(self, key: str, actor: Actor, **fields: object) -> int:
        """A backlog item created by `actor`; returns its number."""
        fields.setdefault("title", f"Item {next(_counter)}")
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            item = await items.create_item(session, access, ItemCreate.model_validate(fields))
        return item.number

    async def comment(self, key: str, actor: Actor, number: int, body: str = "A comment") -> int:
        """A comment by `actor` on item `number`; returns its id."""
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            comment = (await comments.add_comment(session, access, number, body)).comment
        assert comment.id is not None
        return comment.id

    async def status(self, key: str, owner: Actor, name: str, category: str = "todo") -> int:
        """A workflow status; returns its id."""
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, owner)
            status = await workflow.create_status(
                session, access, StatusCreate.model_validate({"name": name, "category": category})
            )
        assert status.id is not None
        return status.id

    async def sprint(
        self,
        key: str,
        actor: Actor,
        items: list[int] | None = None,
        *,
        start: bool = False,
        **fields: object,
    ) -> int:
        """A sprint (next free dates unless given) holding `items`, started if asked."""
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            sprint = await sprints.create_sprint(
                session, access, SprintCreate.model_validate(fields)
            )
            if items:
                await sprints.add_items(session, access, sprint.number, SprintItems(items=items))
            if start:
                await sprints.start_sprint(session, access, sprint.number, None)
        return sprint.number

    async def start_sprint(self, key: str, actor: Actor, number: int) -> None:
        """Start a planned sprint."""
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            await sprints.start_sprint(session, access, number, None)

    async def estimation_round(self, key: str, actor: Actor, number: int) -> int:
        """A planning-poker round opened by `actor` on item `number`; returns its number."""
        from app.domain.estimation import service as estimation

        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await estimation.open_round(session, access, number)
        return view.round.number

    async def estimation_vote(
        self, key: str, actor: Actor, number: int, round_number: int, value: str
    ) -> None:
        """`actor`'s vote in a round of item `number`."""
        from app.domain.estimation import service as estimation

        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            await estimation.cast_vote(session, access, number, round_number, value)

    async def estimation_session(self, key: str, actor: Actor, items: list[int]) -> int:
        """An estimation session facilitated by `actor` over `items`; returns its id."""
        from app.domain.estimation import service as estimation
        from app.domain.estimation.schemas import SessionCreate

        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await estimation.create_session(session, access, SessionCreate(items=items))
        assert view.row.id is not None
        return view.row.id

    async def retro(self, key: str, actor: Actor, **fields: object) -> int:
        """A project-level retro opened by `actor` (its facilitator); returns its number."""
        from app.domain.retros import service as retros
        from app.domain.retros.schemas import RetroCreate

        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await retros.create_project_retro(
                session, access, RetroCreate.model_validate(fields)
            )
        return view.retro.number

    async def retro_card(
        self, key: str, actor: Actor, number: int, text: str, column: str = "Start"
    ) -> int:
        """A card by `actor` on a collecting retro; returns its id."""
        from app.domain.retros import service as retros
        from app.domain.retros.schemas import CardCreate

        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await retros.add_card(
                session, access, number, CardCreate(column=column, text=text)
            )
        assert view.card.id is not None
        return view.card.id

    async def blocker(self, key: str, actor: Actor, number: int, reason: str = "Blocked") -> int:
        """A blocker raised by hand by `actor` on item `number`; returns its id."""
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await blockers.add_blocker(session, access, number, reason)
        assert view.blocker.id is not None
        return view.blocker.id

    async def action(self, key: str, actor: Actor, title: str = "Follow up") -> int:
        """An action item created directly (not in a retro) by `actor`; returns its number."""
        from app.domain.retros.actions import service as actions
        from app.domain.retros.actions.schemas import ActionCreate

        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await actions.create_action(session, access, ActionCreate(title=title))
        return view.number

    async def risk(self, key: str, actor: Actor, title: str = "A risk", **fields: object) -> int:
        """A risk (probability and impact 3 unless given) created by `actor`; returns its
        number."""
        from app.domain.risks import service as risks
        from app.domain.risks.schemas import RiskCreate

        data = RiskCreate.model_validate({"title": title, "probability": 3, "impact": 3, **fields})
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await risks.create_risk(session, access, data)
        return view.number

    async def worklog(
        self, key: str, actor: Actor, number: int, hours: float = 1.0, **fields: object
    ) -> int:
        """Time `actor` logged on item `number` (today unless `date` is given); returns its id."""
        from app.domain.kernel import clock
        from app.domain.timesheets import service as timesheets
        from app.domain.timesheets.schemas import WorklogCreate

        fields.setdefault("date", clock.today("UTC"))
        data = WorklogCreate.model_validate({"hours": hours, **fields})
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await timesheets.create_worklog(session, access, number, data)
        return view.id

    async def release(self, key: str, actor: Actor, name: str = "1.0", **fields: object) -> int:
        """A planned release (or, with `kind`, a milestone) created by `actor`; returns its
        number."""
        from app.domain.releases import service as releases
        from app.domain.releases.schemas import ReleaseCreate

        data = ReleaseCreate.model_validate({"name": name, **fields})
        async with self.database.sessions() as session, session.begin():
            access = await self._access(session, key, actor)
            view = await releases.create_release(session, access, data)
        return view.number
