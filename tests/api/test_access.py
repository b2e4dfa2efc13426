"""Every project-scoped route checks membership and role.

The table below must name every route under /api/v1/projects/{key}; a new route that is
missing from it fails `test_every_project_route_is_in_the_table`. For each route and each kind
of caller: anonymous -> 401, outsider -> 404 (the project's existence is not revealed),
a role below the route's minimum -> 403, the minimum role and above -> allowed.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app.domain.kernel import clock
from app.domain.projects.models import Role
from app.main import create_app
from app.settings import Settings
from tests.factories import Actor, Factory

PROJECT_PREFIX = "/api/v1/projects/{key}"
CSV_TYPE = {"Content-Type": "text/csv"}


@dataclass(frozen=True)
class Rule:
    """Who may call a route, and a request that is valid for an allowed caller."""

    min_role: Role
    json: dict[str, Any] | None = None
    params: dict[str, str] = field(default_factory=dict)
    # The resource in the path belongs to the caller (e.g. only authors edit a comment).
    own: bool = False
    # The route needs the world's sprint to be active (it is planned otherwise).
    active_sprint: bool = False
    # What an allowed caller gets where the world cannot give a success (e.g. 409: the world
    # has no completed sprints to forecast from); access was granted if the route got that far.
    allowed_status: int | None = None
    # The calendar feed: it takes a feed token in the query too, so a caller with no
    # credentials at all gets 404 (as for a project that does not exist), not 401.
    feed_token: bool = False
    # The route needs a stand-up day: WEB works every day, its sprint runs from today and is
    # active, and the target, the member and the owner have posted today's entries.
    standup_day: bool = False
    # A live stream (SSE): an allowed caller is checked with HEAD, which answers the stream's
    # status and headers and ends, where a GET would stream until the client goes.
    stream: bool = False
    # A CSV body (sent as text/csv) instead of JSON: the Jira import.
    csv: str | None = None


ACCESS: dict[tuple[str, str], Rule] = {
    ("GET", "/api/v1/projects/{key}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}"): Rule(Role.OWNER, json={"name": "Renamed"}),
    ("DELETE", "/api/v1/projects/{key}"): Rule(Role.OWNER, params={"confirm": "WEB"}),
    ("GET", "/api/v1/projects/{key}/members"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/members"): Rule(
        Role.OWNER, json={"email": "newcomer@example.com", "role": "member"}
    ),
    ("GET", "/api/v1/projects/{key}/members/{user_id}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/members/{user_id}"): Rule(
        Role.OWNER, json={"role": "viewer"}
    ),
    ("DELETE", "/api/v1/projects/{key}/members/{user_id}"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/invitations"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/invitations/{invitation_id}"): Rule(Role.OWNER),
    ("DELETE", "/api/v1/projects/{key}/invitations/{invitation_id}"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/statuses"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/statuses"): Rule(
        Role.OWNER, json={"name": "QA", "category": "in_progress"}
    ),
    ("GET", "/api/v1/projects/{key}/statuses/{status_id}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/statuses/{status_id}"): Rule(
        Role.OWNER, json={"wip_limit": 3}
    ),
    ("DELETE", "/api/v1/projects/{key}/statuses/{status_id}"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/items"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/items"): Rule(Role.MEMBER, json={"title": "New"}),
    ("POST", "/api/v1/projects/{key}/items/batch"): Rule(
        Role.MEMBER, json={"items": [{"title": "One"}, {"title": "Two"}]}
    ),
    ("GET", "/api/v1/projects/{key}/items/{number}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/items/{number}"): Rule(Role.MEMBER, json={"points": 3}),
    ("DELETE", "/api/v1/projects/{key}/items/{number}"): Rule(Role.MEMBER),
    ("POST", "/api/v1/projects/{key}/items/{number}/move"): Rule(Role.MEMBER, json={"top": True}),
    ("GET", "/api/v1/projects/{key}/items/{number}/history"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/import/jira-csv"): Rule(
        Role.MEMBER, csv="Summary,Issue key\nImported,JIRA-1\n"
    ),
    # The live stream and the tickets a browser opens it with.
    ("GET", "/api/v1/projects/{key}/activity"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/events"): Rule(Role.VIEWER, stream=True),
    ("POST", "/api/v1/projects/{key}/events/ticket"): Rule(Role.VIEWER),
    # Watching concerns only the watcher: any role may.
    ("POST", "/api/v1/projects/{key}/items/{number}/watch"): Rule(Role.VIEWER),
    ("DELETE", "/api/v1/projects/{key}/items/{number}/watch"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/items/{number}/watchers"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/items/{number}/comments"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/items/{number}/comments"): Rule(
        Role.MEMBER, json={"body": "Looks good"}
    ),
    ("PATCH", "/api/v1/projects/{key}/items/{number}/comments/{comment_id}"): Rule(
        Role.MEMBER, json={"body": "Edited"}, own=True
    ),
    ("DELETE", "/api/v1/projects/{key}/items/{number}/comments/{comment_id}"): Rule(
        Role.MEMBER, own=True
    ),
    ("GET", "/api/v1/projects/{key}/board"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/sprints"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/sprints"): Rule(Role.MEMBER, json={"goal": "Ship"}),
    ("GET", "/api/v1/projects/{key}/sprints/{number}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/sprints/{number}"): Rule(Role.MEMBER, json={"goal": "New"}),
    ("DELETE", "/api/v1/projects/{key}/sprints/{number}"): Rule(Role.MEMBER),
    ("POST", "/api/v1/projects/{key}/sprints/{number}/items"): Rule(
        Role.MEMBER, json={"items": [2]}
    ),
    ("DELETE", "/api/v1/projects/{key}/sprints/{number}/items"): Rule(
        Role.MEMBER, json={"items": [1]}
    ),
    ("POST", "/api/v1/projects/{key}/sprints/{number}/start"): Rule(Role.MEMBER),
    ("POST", "/api/v1/projects/{key}/sprints/{number}/cancel"): Rule(Role.MEMBER),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/scope"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/velocity"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/velocity.svg"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/burndown.svg"): Rule(
        Role.VIEWER, active_sprint=True
    ),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/burnup.svg"): Rule(
        Role.VIEWER, active_sprint=True
    ),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/burndown"): Rule(
        Role.VIEWER, active_sprint=True
    ),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/burnup"): Rule(
        Role.VIEWER, active_sprint=True
    ),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/report"): Rule(
        Role.VIEWER, active_sprint=True
    ),
    ("POST", "/api/v1/projects/{key}/sprints/{number}/complete"): Rule(
        Role.MEMBER, json={}, active_sprint=True
    ),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/capacity"): Rule(Role.VIEWER),
    ("PUT", "/api/v1/projects/{key}/sprints/{number}/capacity"): Rule(
        Role.MEMBER, json={"members": []}
    ),
    ("GET", "/api/v1/projects/{key}/flow"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/flow.svg"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/forecast"): Rule(Role.VIEWER, allowed_status=409),
    ("GET", "/api/v1/projects/{key}/forecast.svg"): Rule(Role.VIEWER, allowed_status=409),
    # Stand-ups, blockers and the ceremony calendar.
    ("GET", "/api/v1/projects/{key}/standups"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/standups/history"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/standups/{date}/{user_id}"): Rule(
        Role.VIEWER, standup_day=True
    ),
    ("PUT", "/api/v1/projects/{key}/standups/{date}/{user_id}"): Rule(
        Role.MEMBER, json={"today": "Reviews"}, own=True, standup_day=True
    ),
    ("DELETE", "/api/v1/projects/{key}/standups/{date}/{user_id}"): Rule(
        Role.MEMBER, own=True, standup_day=True
    ),
    ("GET", "/api/v1/projects/{key}/items/{number}/blockers"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/items/{number}/blockers"): Rule(
        Role.MEMBER, json={"reason": "Waiting for keys"}
    ),
    ("GET", "/api/v1/projects/{key}/items/{number}/blockers/{blocker_id}"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/items/{number}/blockers/{blocker_id}/clear"): Rule(
        Role.MEMBER
    ),
    ("GET", "/api/v1/projects/{key}/meetings"): Rule(Role.VIEWER),
    ("PUT", "/api/v1/projects/{key}/meetings"): Rule(
        Role.OWNER,
        json={
            meeting: {"start": "09:00", "duration_minutes": 30}
            for meeting in ("planning", "standup", "review", "retro")
        },
    ),
    ("POST", "/api/v1/projects/{key}/calendar/token"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/calendar.ics"): Rule(Role.VIEWER, feed_token=True),
    # Planning poker: the world has round 1 open on item `number` with the owner's vote, and a
    # session facilitated by the owner. Facilitator-only routes: a member who is not the
    # facilitator gets 403, so their minimum role is the owner's.
    ("POST", "/api/v1/projects/{key}/items/{number}/estimation"): Rule(
        Role.MEMBER, allowed_status=409
    ),
    ("GET", "/api/v1/projects/{key}/items/{number}/estimation"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/items/{number}/estimation/rounds/{round_number}"): Rule(
        Role.VIEWER
    ),
    ("PUT", "/api/v1/projects/{key}/items/{number}/estimation/rounds/{round_number}/vote"): Rule(
        Role.MEMBER, json={"value": "5"}
    ),
    ("DELETE", "/api/v1/projects/{key}/items/{number}/estimation/rounds/{round_number}/vote"): (
        Rule(Role.MEMBER)
    ),
    ("POST", "/api/v1/projects/{key}/items/{number}/estimation/rounds/{round_number}/reveal"): (
        Rule(Role.OWNER)
    ),
    ("POST", "/api/v1/projects/{key}/items/{number}/estimation/rounds/{round_number}/revote"): (
        Rule(Role.OWNER, allowed_status=409)
    ),
    ("POST", "/api/v1/projects/{key}/items/{number}/estimation/rounds/{round_number}/accept"): (
        Rule(Role.OWNER, json={}, allowed_status=409)
    ),
    ("GET", "/api/v1/projects/{key}/estimation-sessions"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/estimation-sessions"): Rule(
        Role.MEMBER, json={"first_unestimated": 3}
    ),
    ("GET", "/api/v1/projects/{key}/estimation-sessions/{session_id}"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/estimation-sessions/{session_id}/next"): Rule(
        Role.OWNER, json={"skip": True}
    ),
    ("POST", "/api/v1/projects/{key}/estimation-sessions/{session_id}/close"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/workload"): Rule(Role.VIEWER),
    # Retros: the world's retro `retro` is a project retro in `collecting` facilitated by the
    # owner, with a card by the owner and by the member. The world's sprint has no retro (it is
    # planned), so the sprint aliases answer an allowed caller 404; group and vote routes need
    # another phase (409). Facilitator-only routes: a member who is not the facilitator gets 403.
    ("POST", "/api/v1/projects/{key}/sprints/{number}/retro"): Rule(
        Role.MEMBER, json={}, active_sprint=True
    ),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/retro"): Rule(Role.VIEWER, allowed_status=404),
    ("GET", "/api/v1/projects/{key}/sprints/{number}/retro/export"): Rule(
        Role.VIEWER, allowed_status=404
    ),
    ("GET", "/api/v1/projects/{key}/retros"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/retros"): Rule(Role.MEMBER, json={}),
    ("GET", "/api/v1/projects/{key}/retros/{number}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/retros/{number}"): Rule(Role.OWNER, json={"notes": "x"}),
    ("POST", "/api/v1/projects/{key}/retros/{number}/phase"): Rule(
        Role.OWNER, json={"phase": "grouping"}
    ),
    ("GET", "/api/v1/projects/{key}/retros/{number}/export"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/retros/{number}/cards"): Rule(
        Role.MEMBER, json={"column": "Start", "text": "New"}
    ),
    ("PATCH", "/api/v1/projects/{key}/retros/{number}/cards/{card_id}"): Rule(
        Role.MEMBER, json={"text": "Edited"}, own=True
    ),
    ("DELETE", "/api/v1/projects/{key}/retros/{number}/cards/{card_id}"): Rule(
        Role.MEMBER, own=True
    ),
    ("POST", "/api/v1/projects/{key}/retros/{number}/groups"): Rule(
        Role.MEMBER, json={"name": "G", "card_ids": []}, allowed_status=409
    ),
    ("PATCH", "/api/v1/projects/{key}/retros/{number}/groups/{group_id}"): Rule(
        Role.MEMBER, json={"name": "G"}, allowed_status=409
    ),
    ("DELETE", "/api/v1/projects/{key}/retros/{number}/groups/{group_id}"): Rule(
        Role.MEMBER, allowed_status=409
    ),
    ("POST", "/api/v1/projects/{key}/retros/{number}/votes"): Rule(
        Role.MEMBER, json={"card_id": 1}, allowed_status=409
    ),
    ("DELETE", "/api/v1/projects/{key}/retros/{number}/votes/{vote_id}"): Rule(
        Role.MEMBER, allowed_status=409
    ),
    # Action items: the world's action `action` was created directly by the owner. The world's
    # retro is collecting, so adding an action to it is a 409 for an allowed caller.
    ("GET", "/api/v1/projects/{key}/actions"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/actions"): Rule(Role.MEMBER, json={"title": "New"}),
    ("GET", "/api/v1/projects/{key}/actions/stats"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/actions/{number}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/actions/{number}"): Rule(
        Role.MEMBER, json={"status": "done"}
    ),
    ("DELETE", "/api/v1/projects/{key}/actions/{number}"): Rule(Role.MEMBER),
    ("GET", "/api/v1/projects/{key}/actions/{number}/history"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/actions/{number}/to-item"): Rule(Role.MEMBER),
    ("GET", "/api/v1/projects/{key}/retros/{number}/actions"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/retros/{number}/actions"): Rule(
        Role.MEMBER, json={"title": "New"}, allowed_status=409
    ),
    # Releases and the roadmap: the world's release `release` is planned, created by the owner.
    ("GET", "/api/v1/projects/{key}/releases"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/releases"): Rule(Role.MEMBER, json={"name": "New"}),
    ("GET", "/api/v1/projects/{key}/releases/{number}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/releases/{number}"): Rule(
        Role.MEMBER, json={"target_date": "2030-06-28"}
    ),
    ("DELETE", "/api/v1/projects/{key}/releases/{number}"): Rule(Role.MEMBER),
    ("POST", "/api/v1/projects/{key}/releases/{number}/release"): Rule(Role.MEMBER, json={}),
    ("GET", "/api/v1/projects/{key}/roadmap"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/roadmap.svg"): Rule(Role.VIEWER),
    # The risk register: the world's risk `risk` was created by the owner.
    ("GET", "/api/v1/projects/{key}/risks"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/risks"): Rule(
        Role.MEMBER, json={"title": "New", "probability": 2, "impact": 4}
    ),
    ("GET", "/api/v1/projects/{key}/risks/trend"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/risks/{number}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/risks/{number}"): Rule(
        Role.MEMBER, json={"status": "mitigating"}
    ),
    ("DELETE", "/api/v1/projects/{key}/risks/{number}"): Rule(Role.MEMBER),
    ("GET", "/api/v1/projects/{key}/risks/{number}/history"): Rule(Role.VIEWER),
    # Time and budget: members log time (and edit their own logs); the budget is the owners',
    # reads included. The world's budget has no currency, so setting a member rate is a 409,
    # and the target has no rate to delete (404).
    ("GET", "/api/v1/projects/{key}/items/{number}/worklogs"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/items/{number}/worklogs"): Rule(
        Role.MEMBER, json={"date": "2020-01-06", "hours": 1.5}
    ),
    ("GET", "/api/v1/projects/{key}/worklogs"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/worklogs/{worklog_id}"): Rule(Role.VIEWER),
    ("PATCH", "/api/v1/projects/{key}/worklogs/{worklog_id}"): Rule(
        Role.MEMBER, json={"hours": 2}, own=True
    ),
    ("DELETE", "/api/v1/projects/{key}/worklogs/{worklog_id}"): Rule(Role.MEMBER, own=True),
    ("GET", "/api/v1/projects/{key}/time"): Rule(Role.VIEWER, params={"group_by": "epic"}),
    ("GET", "/api/v1/projects/{key}/budget"): Rule(Role.OWNER),
    ("PUT", "/api/v1/projects/{key}/budget"): Rule(Role.OWNER, json={"hours": 400}),
    ("PUT", "/api/v1/projects/{key}/budget/rates/{user_id}"): Rule(
        Role.OWNER, json={"hourly_rate": "80.00"}, allowed_status=409
    ),
    ("DELETE", "/api/v1/projects/{key}/budget/rates/{user_id}"): Rule(
        Role.OWNER, allowed_status=404
    ),
    # The lifecycle: the world is in its kickoff and has never closed (404, and reopening is a
    # 409). For the sign-off routes the owner and the member approve the gate into planning
    # and the owner has signed it (sign-off `signoff`).
    ("GET", "/api/v1/projects/{key}/phases"): Rule(Role.VIEWER),
    ("POST", "/api/v1/projects/{key}/phase"): Rule(Role.OWNER, json={"phase": "planning"}),
    ("POST", "/api/v1/projects/{key}/reopen"): Rule(Role.OWNER, allowed_status=409),
    ("PUT", "/api/v1/projects/{key}/phases/{phase}/approvers"): Rule(
        Role.OWNER, json={"user_ids": []}
    ),
    ("POST", "/api/v1/projects/{key}/phases/{phase}/signoffs"): Rule(
        Role.MEMBER, json={"decision": "approved"}
    ),
    ("GET", "/api/v1/projects/{key}/phases/{phase}/signoffs"): Rule(Role.VIEWER),
    ("GET", "/api/v1/projects/{key}/phases/{phase}/signoffs/{signoff_id}"): Rule(Role.VIEWER),
    # Handing over to someone outside the project: an allowed caller hears 422 `not_member`.
    ("POST", "/api/v1/projects/{key}/transfer"): Rule(
        Role.OWNER, json={"user_id": 9_000_000_000}, allowed_status=422
    ),
    ("GET", "/api/v1/projects/{key}/closing-summary"): Rule(Role.VIEWER, allowed_status=404),
    ("GET", "/api/v1/projects/{key}/closing-summaries"): Rule(Role.VIEWER),
    # The archive holds budgets and rates: owners only.
    ("GET", "/api/v1/projects/{key}/export"): Rule(Role.OWNER),
    # Webhooks are the owner's, reads included (their URLs can be credentials). The world's
    # webhook has a pending ping, which cannot be redelivered yet (409).
    ("GET", "/api/v1/projects/{key}/webhooks"): Rule(Role.OWNER),
    ("POST", "/api/v1/projects/{key}/webhooks"): Rule(
        Role.OWNER, json={"url": "https://93.184.215.14/hook"}
    ),
    ("GET", "/api/v1/projects/{key}/webhooks/{webhook_id}"): Rule(Role.OWNER),
    ("PATCH", "/api/v1/projects/{key}/webhooks/{webhook_id}"): Rule(
        Role.OWNER, json={"description": "x"}
    ),
    ("DELETE", "/api/v1/projects/{key}/webhooks/{webhook_id}"): Rule(Role.OWNER),
    ("POST", "/api/v1/projects/{key}/webhooks/{webhook_id}/ping"): Rule(Role.OWNER),
    ("GET", "/api/v1/projects/{key}/webhooks/{webhook_id}/deliveries"): Rule(Role.OWNER),
    ("POST", "/api/v1/projects/{key}/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): (
        Rule(Role.OWNER, allowed_status=409)
    ),
}


def _walk(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    """Every APIRoute of the app, descending into included routers."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if nested is not None:
            yield from _walk(list(getattr(nested, "routes", nested)))


def project_routes() -> set[tuple[str, str]]:
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    found = set()
    for route in _walk(app.routes):
        if route.path.startswith(PROJECT_PREFIX):
            found |= {(method, route.path) for method in route.methods or ()}
    return found


def test_every_project_route_is_in_the_table() -> None:
    routes = project_routes()
    assert routes, "no project routes found: is the route walk broken?"
    missing = routes - ACCESS.keys()
    stale = ACCESS.keys() - routes
    assert not missing, f"add these routes to ACCESS: {sorted(missing)}"
    assert not stale, f"these ACCESS entries match no route: {sorted(stale)}"


@dataclass
class World:
    """A project WEB with one user per role, an outsider, and a plain member to act on."""

    actors: dict[str, Actor | None]
    owner: Actor
    target: Actor
    status_id: int
    number: int
    # Each member's and the owner's own comment on item `number`; others use the owner's.
    comments: dict[str, int]
    sprint: int
    invitation_id: int
    # The owner's estimation session over the item after `number`.
    estimation_session: int = 0
    # A project retro in `collecting` (owner facilitates) and the owner's and member's cards.
    retro: int = 0
    retro_cards: dict[str, int] = field(default_factory=dict)
    # An action item the owner created directly.
    action: int = 0
    # The owner's sign-off on the gate into planning.
    signoff: int = 0
    # A risk the owner created.
    risk: int = 0
    # A planned release the owner created.
    release: int = 0


@pytest.fixture
async def world(
    client: httpx.AsyncClient, factory: Factory, request: pytest.FixtureRequest
) -> World:
    # The ceremonies' parts of the world are built only for the routes that use them: the
    # table has several hundred cases, and each builds its world afresh.
    path: str = request.node.callspec.params["path"]
    owner = await factory.user("owner@example.com")
    await factory.project(owner, "WEB")
    actors: dict[str, Actor | None] = {"anonymous": None, "owner": owner}
    for role in (Role.MEMBER, Role.VIEWER):
        actor = await factory.user(f"{role.value}@example.com")
        await factory.member("WEB", owner, actor, role)
        actors[role.value] = actor
    outsider = await factory.user("outsider@example.com")
    await factory.project(outsider, "OUT")
    actors["outsider"] = outsider
    target = await factory.user("target@example.com")
    await factory.member("WEB", owner, target, Role.MEMBER)
    await factory.user("newcomer@example.com")
    status_id = await factory.status("WEB", owner, "Unused")
    number = await factory.item("WEB", owner, title="Existing")
    await factory.item("WEB", owner, title="Another")
    sprint = await factory.sprint("WEB", owner, items=[number])
    comments = {
        name: await factory.comment("WEB", actor, number)
        for name, actor in actors.items()
        if name in ("owner", "member") and actor is not None
    }
    invited = await client.post(
        "/api/v1/projects/WEB/members",
        headers=owner.headers,
        json={"email": "invitee@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text
    # Planning poker: round 1 on item `number` with the owner's vote, and the owner's session
    # over the item created after it ("Another").
    estimation_session = retro = 0
    retro_cards: dict[str, int] = {}
    if "/estimation" in path:
        await factory.estimation_round("WEB", owner, number)
        await factory.estimation_vote("WEB", owner, number, 1, "3")
        estimation_session = await factory.estimation_session("WEB", owner, [number + 1])
    if "/retro" in path:
        retro = await factory.retro("WEB", owner)
        retro_cards = {
            name: await factory.retro_card("WEB", actor, retro, f"{name}'s card")
            for name, actor in actors.items()
            if name in ("owner", "member") and actor is not None
        }
    signoff = 0
    if "/signoffs" in path:
        member = actors["member"]
        assert member is not None
        named = await client.put(
            "/api/v1/projects/WEB/phases/planning/approvers",
            headers=owner.headers,
            json={"user_ids": [owner.id, member.id]},
        )
        assert named.status_code == 200, named.text
        signed = await client.post(
            "/api/v1/projects/WEB/phases/planning/signoffs",
            headers=owner.headers,
            json={"decision": "approved"},
        )
        assert signed.status_code == 201, signed.text
        signoff = signed.json()["id"]
    return World(
        actors=actors,
        owner=owner,
        target=target,
        status_id=status_id,
        number=number,
        comments=comments,
        sprint=sprint,
        invitation_id=invited.json()["id"],
        estimation_session=estimation_session,
        retro=retro,
        retro_cards=retro_cards,
        action=await factory.action("WEB", owner) if "/actions/" in path else 0,
        signoff=signoff,
        risk=await factory.risk("WEB", owner) if "/risks/" in path else 0,
        release=await factory.release("WEB", owner) if "/releases/" in path else 0,
    )


async def open_standup_day(client: httpx.AsyncClient, world: World, factory: Factory) -> None:
    """WEB works every day, its sprint runs from today and is active, and the target, the
    member and the owner have posted today's stand-up."""
    owner, today = world.owner, clock.today("UTC")
    week = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    changed = await client.patch(
        "/api/v1/projects/WEB", headers=owner.headers, json={"working_days": week}
    )
    assert changed.status_code == 200, changed.text
    dates = {"start_date": today.isoformat(), "end_date": (today + timedelta(days=6)).isoformat()}
    moved = await client.patch(
        f"/api/v1/projects/WEB/sprints/{world.sprint}", headers=owner.headers, json=dates
    )
    assert moved.status_code == 200, moved.text
    await factory.start_sprint("WEB", owner, world.sprint)
    for actor in (world.target, world.actors["member"], owner):
        assert actor is not None
        posted = await client.put(
            f"/api/v1/projects/WEB/standups/{today}/{actor.id}",
            headers=actor.headers,
            json={"today": "Work"},
        )
        assert posted.status_code == 201, posted.text


CALLERS = ["anonymous", "outsider", "viewer", "member", "owner"]
RANK = {"viewer": Role.VIEWER.rank, "member": Role.MEMBER.rank, "owner": Role.OWNER.rank}


def expected(caller: str, rule: Rule) -> int | None:
    """The status a caller must get, or None for `allowed`."""
    if caller == "anonymous":
        return 404 if rule.feed_token else 401
    if caller == "outsider":
        return 404
    return 403 if RANK[caller] < rule.min_role.rank else None


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize(("method", "path"), sorted(ACCESS))
async def test_route_access(
    client: httpx.AsyncClient,
    world: World,
    factory: Factory,
    method: str,
    path: str,
    caller: str,
) -> None:
    rule = ACCESS[(method, path)]
    actor = world.actors[caller]
    if rule.active_sprint:
        await factory.start_sprint("WEB", world.owner, world.sprint)
    comment_id = world.comments.get(caller if rule.own else "owner", world.comments["owner"])
    if rule.standup_day:
        await open_standup_day(client, world, factory)
    blocker_id = (
        await factory.blocker("WEB", world.owner, world.number) if "{blocker_id}" in path else 0
    )
    # Members change only their own work logs: a member or owner acts on theirs.
    logger = actor if rule.own and actor and caller in ("member", "owner") else world.owner
    worklog_id = await factory.worklog("WEB", logger, world.number) if "{worklog_id}" in path else 0
    webhook_id = delivery_id = 0
    if "{webhook_id}" in path:
        hook = await client.post(
            "/api/v1/projects/WEB/webhooks",
            headers=world.owner.headers,
            json={"url": "https://93.184.215.14/hook"},
        )
        webhook_id = hook.json()["id"]
        ping = await client.post(
            f"/api/v1/projects/WEB/webhooks/{webhook_id}/ping", headers=world.owner.headers
        )
        delivery_id = ping.json()["id"]
    url = (
        path.replace("/sprints/{number}", f"/sprints/{world.sprint}")
        .replace("/retros/{number}", f"/retros/{world.retro}")
        .replace("/actions/{number}", f"/actions/{world.action}")
        .replace("/risks/{number}", f"/risks/{world.risk}")
        .replace("/releases/{number}", f"/releases/{world.release}")
        .replace("{key}", "WEB")
        .replace("{phase}", "planning")
        .replace("{signoff_id}", str(world.signoff))
        .replace("{user_id}", str(actor.id if rule.own and actor else world.target.id))
        .replace("{date}", clock.today("UTC").isoformat())
        .replace("{blocker_id}", str(blocker_id))
        .replace("{status_id}", str(world.status_id))
        .replace("{number}", str(world.number))
        .replace("{comment_id}", str(comment_id))
        .replace("{invitation_id}", str(world.invitation_id))
        .replace("{round_number}", "1")
        .replace("{session_id}", str(world.estimation_session))
        .replace("{card_id}", str(world.retro_cards.get(caller if rule.own else "owner", 0)))
        .replace("{group_id}", "1")
        .replace("{vote_id}", "1")
        .replace("{webhook_id}", str(webhook_id))
        .replace("{delivery_id}", str(delivery_id))
        .replace("{worklog_id}", str(worklog_id))
    )
    want = expected(caller, rule)
    headers = {**(actor.headers if actor else {}), **(CSV_TYPE if rule.csv else {})}
    response = await client.request(
        "HEAD" if rule.stream and want is None else method,
        url,
        json=rule.json,
        content=rule.csv,
        params=rule.params,
        headers=headers,
    )
    if want is None and rule.allowed_status is not None:
        assert response.status_code == rule.allowed_status, (caller, response.text)
    elif want is None:
        assert response.status_code < 400, (caller, response.status_code, response.text)
        if rule.stream:
            assert response.headers["content-type"].startswith("text/event-stream")
    else:
        assert response.status_code == want, (caller, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    if want == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if want == 404:
        # An outsider learns nothing: the same answer as for a project that does not exist.
        ghost = await client.request(
            method,
            url.replace("/WEB", "/GHOST"),
            json=rule.json,
            content=rule.csv,
            headers=headers,
        )
        assert ghost.status_code == 404
        assert ghost.json()["detail"].replace("GHOST", "WEB") == response.json()["detail"]
