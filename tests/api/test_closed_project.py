"""A closed project is read-only: every write route of the app answers 409 `project-closed`,
but for those that opt in (the lifecycle and retros) and what a viewer may do.

The routes are the app's own, walked like `test_access` does, so a new write route is refused
on a closed project unless it is named here as allowed.
"""

import re
from typing import Any

import httpx

from app.domain.projects.models import Role
from tests.api.test_access import ACCESS, project_routes
from tests.factories import Factory, Team

CLOSED = "https://timebox.dev/problems/project-closed"
PROJECT = "/api/v1/projects/WEB"

# The writes a closed project takes: its lifecycle, and its retros (the post-mortem).
ALLOWED_WHILE_CLOSED = {
    ("POST", "/api/v1/projects/{key}/phase"),
    ("POST", "/api/v1/projects/{key}/reopen"),
    ("PUT", "/api/v1/projects/{key}/phases/{phase}/approvers"),
    ("POST", "/api/v1/projects/{key}/phases/{phase}/signoffs"),
    ("POST", "/api/v1/projects/{key}/transfer"),
    ("POST", "/api/v1/projects/{key}/sprints/{number}/retro"),
    ("POST", "/api/v1/projects/{key}/retros"),
    ("PATCH", "/api/v1/projects/{key}/retros/{number}"),
    ("POST", "/api/v1/projects/{key}/retros/{number}/phase"),
    ("POST", "/api/v1/projects/{key}/retros/{number}/cards"),
    ("PATCH", "/api/v1/projects/{key}/retros/{number}/cards/{card_id}"),
    ("DELETE", "/api/v1/projects/{key}/retros/{number}/cards/{card_id}"),
    ("POST", "/api/v1/projects/{key}/retros/{number}/groups"),
    ("PATCH", "/api/v1/projects/{key}/retros/{number}/groups/{group_id}"),
    ("DELETE", "/api/v1/projects/{key}/retros/{number}/groups/{group_id}"),
    ("POST", "/api/v1/projects/{key}/retros/{number}/votes"),
    ("DELETE", "/api/v1/projects/{key}/retros/{number}/votes/{vote_id}"),
    ("POST", "/api/v1/projects/{key}/retros/{number}/actions"),
}
SAFE = {"GET", "HEAD", "OPTIONS"}
ROUTES = sorted(project_routes())
WRITES = [(method, path) for method, path in ROUTES if method not in SAFE]


def _viewer_may(method: str, path: str) -> bool:
    """A viewer may call it (watching, the live stream's ticket): it changes no project data."""
    rule = ACCESS.get((method, path))
    return rule is not None and rule.min_role == Role.VIEWER


def _url(path: str) -> str:
    # Any number or id will do: a refused write is refused before anything is looked up.
    return re.sub(r"\{[a-z_]+\}", "1", path.replace("{key}", "WEB").replace("{phase}", "closing"))


async def _closed_team(client: httpx.AsyncClient, factory: Factory) -> Team:
    team = await factory.team()
    for phase in ("planning", "execution", "closing"):
        moved = await client.post(
            f"{PROJECT}/phase", headers=team.owner.headers, json={"phase": phase}
        )
        assert moved.status_code == 200, moved.text
    return team


async def _call(client: httpx.AsyncClient, team: Team, method: str, path: str) -> httpx.Response:
    rule = ACCESS.get((method, path))
    kwargs: dict[str, Any] = {"headers": team.owner.headers}
    if rule is not None and rule.json is not None:
        kwargs["json"] = rule.json
    if rule is not None and rule.params:
        kwargs["params"] = rule.params
    return await client.request(method, _url(path), **kwargs)


def test_the_allowed_routes_exist_and_the_walk_finds_writes() -> None:
    assert len(WRITES) > 80, WRITES
    assert set(WRITES) >= ALLOWED_WHILE_CLOSED, ALLOWED_WHILE_CLOSED - set(WRITES)


async def test_every_other_write_route_is_refused_while_closed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await _closed_team(client, factory)
    wrong = []
    refused = 0
    for method, path in WRITES:
        if (method, path) in ALLOWED_WHILE_CLOSED or _viewer_may(method, path):
            continue
        response = await _call(client, team, method, path)
        body = response.json() if response.content else {}
        if response.status_code != 409 or body.get("type") != CLOSED:
            wrong.append((method, path, response.status_code, body.get("detail")))
        refused += 1
    assert not wrong, wrong
    assert refused > 60
    # Nothing of those went through: the project is as it was.
    items = await client.get(f"{PROJECT}/items", headers=team.owner.headers)
    assert items.json()["data"] == []
    project = await client.get(PROJECT, headers=team.owner.headers)
    assert (project.json()["name"], project.json()["phase"]) == ("Project WEB", "closing")


async def test_the_allowed_writes_and_every_read_are_not_refused_while_closed(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await _closed_team(client, factory)
    wrong = []
    for method, path in ROUTES:
        allowed = method in SAFE or (method, path) in ALLOWED_WHILE_CLOSED
        if not allowed and not _viewer_may(method, path):
            continue
        if path.endswith("/events") or path.endswith("/reopen"):
            continue  # the live stream never ends; reopening is tested on its own
        response = await _call(client, team, "HEAD" if method == "HEAD" else method, path)
        body = (
            response.json()
            if response.content and "json" in response.headers.get("content-type", "")
            else {}
        )
        if response.status_code >= 500 or body.get("type") == CLOSED:
            wrong.append((method, path, response.status_code, body.get("detail")))
    assert not wrong, wrong
