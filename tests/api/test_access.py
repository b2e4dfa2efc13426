"""Every project-scoped route checks membership and role.

The table below must name every route under /api/v1/projects/{key}; a new route that is
missing from it fails `test_every_project_route_is_in_the_table`. For each route and each kind
of caller: anonymous -> 401, outsider -> 404 (the project's existence is not revealed),
a role below the route's minimum -> 403, the minimum role and above -> allowed.
"""

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from app.domain.projects.models import Role
from app.main import create_app
from app.settings import Settings
from tests.factories import Actor, Factory

PROJECT_PREFIX = "/api/v1/projects/{key}"


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


@pytest.fixture
async def world(client: httpx.AsyncClient, factory: Factory) -> World:
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
    return World(
        actors=actors,
        owner=owner,
        target=target,
        status_id=status_id,
        number=number,
        comments=comments,
        sprint=sprint,
        invitation_id=invited.json()["id"],
    )


CALLERS = ["anonymous", "outsider", "viewer", "member", "owner"]
RANK = {"viewer": Role.VIEWER.rank, "member": Role.MEMBER.rank, "owner": Role.OWNER.rank}


def expected(caller: str, rule: Rule) -> int | None:
    """The status a caller must get, or None for `allowed`."""
    if caller == "anonymous":
        return 401
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
    url = (
        path.replace("/sprints/{number}", f"/sprints/{world.sprint}")
        .replace("{key}", "WEB")
        .replace("{user_id}", str(world.target.id))
        .replace("{status_id}", str(world.status_id))
        .replace("{number}", str(world.number))
        .replace("{comment_id}", str(comment_id))
        .replace("{invitation_id}", str(world.invitation_id))
    )
    response = await client.request(
        method,
        url,
        json=rule.json,
        params=rule.params,
        headers=actor.headers if actor else {},
    )
    want = expected(caller, rule)
    if want is None and rule.allowed_status is not None:
        assert response.status_code == rule.allowed_status, (caller, response.text)
    elif want is None:
        assert response.status_code < 400, (caller, response.status_code, response.text)
    else:
        assert response.status_code == want, (caller, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    if want == 401:
        assert response.headers["www-authenticate"] == "Bearer"
    if want == 404:
        # An outsider learns nothing: the same answer as for a project that does not exist.
        assert actor is not None
        ghost = await client.request(
            method, url.replace("/WEB", "/GHOST"), json=rule.json, headers=actor.headers
        )
        assert ghost.status_code == 404
        assert ghost.json()["detail"].replace("GHOST", "WEB") == response.json()["detail"]
