"""HTTP semantics: Allow on 405, 415 for bodies of the wrong type, where malformed JSON breaks,
ETags (strong, weak and versions), If-None-Match and 304, and HEAD."""

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, params
from fastapi.routing import APIRoute, iter_route_contexts

from app.domain.items import repository as items_repository
from app.domain.items import service as items_service
from tests.factories import Actor, Factory, Team
from tests.helpers import PROJECTS, assert_problem, etag_version, login, status_ids

WEB = f"{PROJECTS}/WEB"
CACHE_CONTROL = "private, no-cache"


@pytest.fixture
async def team(factory: Factory) -> Team:
    return await factory.team()


async def read(client: httpx.AsyncClient, actor: Actor, url: str, **headers: str) -> httpx.Response:
    """GET `url` as `actor` with extra headers (If-None-Match, ...)."""
    return await client.get(url, headers={**actor.headers, **headers})


def assert_not_modified(response: httpx.Response, etag: str) -> None:
    """A 304 that names the representation the client has, with the 200's cache headers."""
    assert response.status_code == 304, response.text
    assert response.content == b""
    assert response.headers["etag"] == etag
    assert response.headers["cache-control"] == CACHE_CONTROL
    assert "content-type" not in response.headers


# --- 405 and Allow ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", f"{WEB}/items", "GET, HEAD, POST"),
        ("PUT", f"{WEB}/items/1", "GET, HEAD, PATCH, DELETE"),
        ("GET", f"{WEB}/sprints/1/start", "POST"),
        ("PATCH", f"{WEB}/sprints/1/items", "POST, DELETE"),
        ("POST", f"{WEB}/sprints/1/capacity", "GET, HEAD, PUT"),
        ("DELETE", PROJECTS, "GET, HEAD, POST"),
        ("GET", "/api/v1/auth/token", "POST"),
        ("HEAD", f"{WEB}/sprints/1/complete", "POST"),
    ],
)
async def test_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allow: str
) -> None:
    response = await client.request(method, path)
    assert response.headers["allow"] == allow
    if method != "HEAD":
        body = assert_problem(response, 405)
        assert allow in body["detail"]
    else:
        assert response.status_code == 405
        assert response.content == b""


# --- HEAD ------------------------------------------------------------------------------------


async def test_head_is_a_get_without_body(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    await factory.item("WEB", team.owner)
    got = await read(client, team.viewer, f"{WEB}/items")
    head = await client.head(f"{WEB}/items", headers=team.viewer.headers)
    assert head.status_code == 200
    assert head.content == b""
    for name in ("etag", "cache-control", "content-type", "content-length"):
        assert head.headers[name] == got.headers[name], name
    again = await client.head(
        f"{WEB}/items", headers={**team.viewer.headers, "If-None-Match": got.headers["etag"]}
    )
    assert_not_modified(again, got.headers["etag"])
    assert (await client.head("/healthz")).status_code == 200
    assert (await client.head(f"{WEB}/items/99", headers=team.viewer.headers)).status_code == 404


# --- 415 -------------------------------------------------------------------------------------


def body_routes(app: FastAPI) -> list[tuple[str, str, bool]]:
    """(method, path with sample values, reads a form) of every route that takes a body."""
    found: list[tuple[str, str, bool]] = []
    for context in iter_route_contexts(app.router.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or route.body_field is None:
            continue
        path = str(context.path).replace("{key}", "WEB")
        for name in route.param_convertors:
            path = path.replace("{" + name + "}", "1")
        form = isinstance(route.body_field.field_info, params.Form)
        found.extend((method, path, form) for method in sorted(context.methods or ()))
    return found


ACCEPT = {"POST": "accept-post", "PATCH": "accept-patch"}


async def test_every_json_route_answers_415_to_other_types(
    client: httpx.AsyncClient, app: FastAPI, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    await factory.project(admin, "WEB")
    routes = body_routes(app)
    assert len(routes) > 15
    for method, path, form in routes:
        for content_type, content in (
            ("text/plain", b'{"name": "x"}'),
            ("application/x-www-form-urlencoded", b"name=x"),
        ):
            if form and content_type.endswith("urlencoded"):
                continue
            response = await client.request(
                method,
                path,
                content=content,
                headers={**admin.headers, "Content-Type": content_type},
            )
            accepted = "application/x-www-form-urlencoded" if form else "application/json"
            body = assert_problem(response, 415)
            assert accepted in body["detail"] and content_type in body["detail"]
            assert response.headers[ACCEPT.get(method, "accept")] == accepted, (method, path)


async def test_415_writes_nothing_and_json_types_are_read(
    client: httpx.AsyncClient, team: Team
) -> None:
    items = f"{WEB}/items"
    as_text = await client.post(
        items,
        content=b'{"title": "Plain"}',
        headers={**team.member.headers, "Content-Type": "text/plain"},
    )
    assert_problem(as_text, 415)
    as_form = await client.post(items, data={"title": "Form"}, headers=team.member.headers)
    assert_problem(as_form, 415)
    assert as_form.headers["accept-post"] == "application/json"
    assert (await read(client, team.member, items)).json()["data"] == []
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        created = await client.post(
            items,
            content=b'{"title": "JSON"}',
            headers={**team.member.headers, "Content-Type": content_type},
        )
        assert created.status_code == 201, created.text


async def test_a_json_body_without_content_type_is_a_415_that_says_so(
    client: httpx.AsyncClient, team: Team
) -> None:
    # FastAPI reads only bodies declared as JSON (`strict_content_type`): a body a browser could
    # send cross-site without a preflight is never taken for JSON.
    request = client.build_request(
        "POST", f"{WEB}/items", content=b'{"title": "curl"}', headers=team.member.headers
    )
    assert "content-type" not in request.headers
    response = await client.send(request)
    body = assert_problem(response, 415)
    assert body["detail"] == (
        "This endpoint reads a body of type application/json; the request has no Content-Type."
    )
    assert response.headers["accept-post"] == "application/json"


async def test_login_reads_its_form_and_refuses_json(client: httpx.AsyncClient, team: Team) -> None:
    assert (await login(client, team.owner.email)).status_code == 200
    as_json = await client.post(
        "/api/v1/auth/token", json={"username": team.owner.email, "password": "x"}
    )
    body = assert_problem(as_json, 415)
    assert as_json.headers["accept-post"] == "application/x-www-form-urlencoded"
    assert "application/json" in body["detail"]
    # Without any body the form is just incomplete: the fields are named.
    assert_problem(await client.post("/api/v1/auth/token"), 422, "body.username")


async def test_invalid_json_fields_are_still_422(client: httpx.AsyncClient, team: Team) -> None:
    response = await client.post(f"{WEB}/items", json={"title": 7}, headers=team.member.headers)
    assert_problem(response, 422, "body.title")


# --- malformed JSON --------------------------------------------------------------------------


async def test_malformed_json_names_the_body_with_line_and_column(
    client: httpx.AsyncClient, team: Team
) -> None:
    response = await client.post(
        f"{WEB}/items",
        content=b'{\n  "title": "x"\n  "points": 3\n}',
        headers={**team.member.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422, fields={"body"})
    message = "Malformed JSON at line 3, column 3: Expecting ',' delimiter"
    assert body["errors"] == [{"field": "body", "message": message, "type": "json_invalid"}]
    assert body["detail"] == message + "."


# --- weak ETags and 304 on lists, the board and live reports ---------------------------------


async def test_list_has_a_weak_etag_and_answers_304_until_it_changes(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    await factory.item("WEB", team.owner)
    url = f"{WEB}/items"
    first = await read(client, team.viewer, url)
    etag = first.headers["etag"]
    assert etag.startswith('W/"') and etag.endswith('"')
    assert first.headers["cache-control"] == CACHE_CONTROL
    assert "Authorization" in first.headers["vary"]
    assert (await read(client, team.viewer, url)).headers["etag"] == etag
    assert_not_modified(await read(client, team.viewer, url, **{"If-None-Match": etag}), etag)

    await factory.item("WEB", team.owner)
    changed = await read(client, team.viewer, url, **{"If-None-Match": etag})
    assert changed.status_code == 200
    assert len(changed.json()["data"]) == 2
    assert changed.headers["etag"] != etag
    # The query string is part of the URL; each page has its own tag.
    page = await read(client, team.viewer, url, **{"If-None-Match": changed.headers["etag"]})
    assert page.status_code == 304
    limited = await client.get(
        url,
        params={"limit": 1},
        headers={**team.viewer.headers, "If-None-Match": changed.headers["etag"]},
    )
    assert limited.status_code == 200


async def test_if_none_match_lists_star_and_weak_comparison(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    await factory.item("WEB", team.owner)
    url = f"{WEB}/items"
    etag = (await read(client, team.viewer, url)).headers["etag"]
    opaque = etag.removeprefix("W/")
    for value in (
        f'"other", {etag}',
        f'W/"a,b", "c" , {opaque}',  # a comma inside a tag is part of it
        opaque,  # the weak comparison ignores W/
        "*",
    ):
        answer = await read(client, team.viewer, url, **{"If-None-Match": value})
        assert_not_modified(answer, etag)
    for value in ('"other"', 'W/"other", "more"', "", "not a tag", opaque.rstrip('"')):
        answer = await read(client, team.viewer, url, **{"If-None-Match": value})
        assert answer.status_code == 200, value


async def test_the_tag_varies_with_what_each_caller_sees(
    client: httpx.AsyncClient, team: Team
) -> None:
    # Same URL, different answer: each project shows the caller's own role.
    owners = await read(client, team.owner, PROJECTS)
    viewers = await read(client, team.viewer, PROJECTS)
    assert owners.headers["etag"] != viewers.headers["etag"]
    crossed = await read(client, team.viewer, PROJECTS, **{"If-None-Match": owners.headers["etag"]})
    assert crossed.status_code == 200
    assert crossed.json()["data"][0]["role"] == "viewer"


async def test_board_304_stops_when_the_board_changes(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    number = await factory.item("WEB", team.owner, title="Card")
    url = f"{WEB}/board"
    etag = (await read(client, team.viewer, url)).headers["etag"]
    assert etag.startswith('W/"')
    assert_not_modified(await read(client, team.viewer, url, **{"If-None-Match": etag}), etag)

    # A status renamed changes every card in it, though no item changed.
    todo = (await status_ids(client, team.owner))["To Do"]
    renamed = await client.patch(
        f"{WEB}/statuses/{todo}", json={"name": "Ready"}, headers=team.owner.headers
    )
    assert renamed.status_code == 200, renamed.text
    after = await read(client, team.viewer, url, **{"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["columns"][0]["status"]["name"] == "Ready"
    assert after.headers["etag"] != etag

    deleted = await client.delete(f"{WEB}/items/{number}", headers=team.owner.headers)
    assert deleted.status_code == 204
    gone = await read(client, team.viewer, url, **{"If-None-Match": after.headers["etag"]})
    assert gone.status_code == 200
    assert gone.json()["count"] == 0


# --- the board: a validator taken before the board is built ----------------------------------

BOARD = f"{WEB}/board"
_BOARD_TAG = re.compile(r'W/"[0-9a-f]{32}"')


@dataclass
class BoardSetup:
    """A board with something of everything a card shows: a parent, an assignee, labels,
    points on a scale, a sprint, an empty extra column."""

    team: Team
    epic: int
    other_epic: int
    a: int  # backlog: epic's child, assigned to the member, 3 points, labelled
    b: int  # backlog, after `a`
    c: int  # in planned sprint 1, assigned to the member
    sprint: int
    statuses: dict[str, int]


@pytest.fixture
async def board_setup(client: httpx.AsyncClient, factory: Factory, team: Team) -> BoardSetup:
    epic = await factory.item("WEB", team.owner, type="epic", title="Epic")
    other_epic = await factory.item("WEB", team.owner, type="epic", title="Other epic")
    a = await factory.item(
        "WEB", team.owner, parent=epic, assignee_id=team.member.id, points=3, labels=["ux"]
    )
    b = await factory.item("WEB", team.owner)
    c = await factory.item("WEB", team.owner, assignee_id=team.member.id, points=2)
    sprint = await factory.sprint("WEB", team.owner, [c])
    await factory.status("WEB", team.owner, "Blocked", "in_progress")
    return BoardSetup(team, epic, other_epic, a, b, c, sprint, await status_ids(client, team.owner))


async def board_read(
    client: httpx.AsyncClient, actor: Actor, sprint: str = "backlog", **headers: str
) -> httpx.Response:
    """GET the board of a scope as `actor`."""
    return await client.get(BOARD, params={"sprint": sprint}, headers={**actor.headers, **headers})


async def test_a_board_304_is_answered_without_building_the_board(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, board_setup: BoardSetup
) -> None:
    viewer = board_setup.team.viewer
    first = await board_read(client, viewer)
    etag = first.headers["etag"]
    assert _BOARD_TAG.fullmatch(etag), etag  # the route's own tag, left as it is
    assert first.headers["cache-control"] == CACHE_CONTROL
    assert "Authorization" in first.headers["vary"]
    assert (await board_read(client, viewer)).headers["etag"] == etag

    def unbuilt(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the board was built for a 304")

    monkeypatch.setattr(items_service, "board", unbuilt)
    monkeypatch.setattr(items_repository, "board_items", unbuilt)
    for value in (etag, etag.removeprefix("W/"), f'"other", {etag}', "*"):
        answer = await board_read(client, viewer, **{"If-None-Match": value})
        assert_not_modified(answer, etag)
        assert "Authorization" in answer.headers["vary"]
    head = await client.head(
        BOARD, params={"sprint": "backlog"}, headers={**viewer.headers, "If-None-Match": etag}
    )
    assert_not_modified(head, etag)

    # The access check comes first: an outsider gets the 404, and nothing is computed for them.
    monkeypatch.setattr(items_repository, "board_row_versions", unbuilt)
    outsider = await board_read(client, board_setup.team.outsider, **{"If-None-Match": "*"})
    assert_problem(outsider, 404)


async def test_board_tags_differ_by_scope(
    client: httpx.AsyncClient, board_setup: BoardSetup
) -> None:
    viewer = board_setup.team.viewer
    scopes = ("backlog", "active", "1", "01")
    tags = {scope: (await board_read(client, viewer, scope)).headers["etag"] for scope in scopes}
    assert len(set(tags.values())) == len(scopes), tags
    crossed = await board_read(client, viewer, "1", **{"If-None-Match": tags["backlog"]})
    assert crossed.status_code == 200
    assert crossed.headers["etag"] == tags["1"]
    # A scope the board cannot draw is still its 422, whatever the client holds.
    for scope in ("9", "soon"):
        assert_problem(await board_read(client, viewer, scope, **{"If-None-Match": "*"}), 422)


Change = Callable[[httpx.AsyncClient, BoardSetup], Awaitable[httpx.Response]]


def _item(number: Callable[[BoardSetup], int], **body: Any) -> Change:
    def change(client: httpx.AsyncClient, s: BoardSetup) -> Awaitable[httpx.Response]:
        fields = {key: value(s) if callable(value) else value for key, value in body.items()}
        return client.patch(f"{WEB}/items/{number(s)}", json=fields, headers=s.team.member.headers)

    return change


def _status(column: str, **body: Any) -> Change:
    def change(client: httpx.AsyncClient, s: BoardSetup) -> Awaitable[httpx.Response]:
        url = f"{WEB}/statuses/{s.statuses[column]}"
        return client.patch(url, json=body, headers=s.team.owner.headers)

    return change


def _sprint_items(method: str, number: Callable[[BoardSetup], int]) -> Change:
    def change(client: httpx.AsyncClient, s: BoardSetup) -> Awaitable[httpx.Response]:
        url = f"{WEB}/sprints/{s.sprint}/items"
        body = {"items": [number(s)]}
        return client.request(method, url, json=body, headers=s.team.member.headers)

    return change


CHANGES: dict[str, tuple[str, Change]] = {
    "item created": (
        "backlog",
        lambda c, s: c.post(f"{WEB}/items", json={"title": "New"}, headers=s.team.member.headers),
    ),
    "title edited": ("backlog", _item(lambda s: s.a, title="Renamed")),
    "points edited": ("backlog", _item(lambda s: s.a, points=5)),
    "assignee changed": ("backlog", _item(lambda s: s.a, assignee_id=lambda s: s.team.owner.id)),
    "labels edited": ("backlog", _item(lambda s: s.a, labels=["ux", "api"])),
    "priority edited": ("backlog", _item(lambda s: s.a, priority="highest")),
    "moved to another status": (
        "backlog",
        _item(lambda s: s.a, status_id=lambda s: s.statuses["In Progress"]),
    ),
    "re-ranked": (
        "backlog",
        lambda c, s: c.post(
            f"{WEB}/items/{s.b}/move", json={"top": True}, headers=s.team.member.headers
        ),
    ),
    "deleted": (
        "backlog",
        lambda c, s: c.delete(f"{WEB}/items/{s.b}", headers=s.team.member.headers),
    ),
    "parent changed": ("backlog", _item(lambda s: s.a, parent=lambda s: s.other_epic)),
    "parent removed": ("backlog", _item(lambda s: s.a, parent=None)),
    "turned into an epic": ("backlog", _item(lambda s: s.b, type="epic")),
    "added to the sprint (backlog)": ("backlog", _sprint_items("POST", lambda s: s.a)),
    "added to the sprint (sprint)": ("1", _sprint_items("POST", lambda s: s.a)),
    "removed from the sprint (sprint)": ("1", _sprint_items("DELETE", lambda s: s.c)),
    "removed from the sprint (backlog)": ("backlog", _sprint_items("DELETE", lambda s: s.c)),
    "sprint item edited": ("1", _item(lambda s: s.c, title="Renamed")),
    "status renamed": ("backlog", _status("To Do", name="Ready")),
    "status WIP limit changed": ("backlog", _status("To Do", wip_limit=1)),
    "status moved": ("backlog", _status("Blocked", position=0)),
    "status category changed": ("backlog", _status("Blocked", category="todo")),
    "status added": (
        "backlog",
        lambda c, s: c.post(
            f"{WEB}/statuses",
            json={"name": "QA", "category": "in_progress"},
            headers=s.team.owner.headers,
        ),
    ),
    "status deleted": (
        "backlog",
        lambda c, s: c.delete(
            f"{WEB}/statuses/{s.statuses['Blocked']}", headers=s.team.owner.headers
        ),
    ),
    "assignee renamed": (
        "backlog",
        lambda c, s: c.patch(
            "/api/v1/me", json={"display_name": "Renamed"}, headers=s.team.member.headers
        ),
    ),
    "sprint assignee renamed": (
        "1",
        lambda c, s: c.patch(
            "/api/v1/me", json={"display_name": "Renamed"}, headers=s.team.member.headers
        ),
    ),
    "estimation scale changed": (
        "backlog",
        lambda c, s: c.patch(
            WEB, json={"estimation_scale": "tshirt"}, headers=s.team.owner.headers
        ),
    ),
    "sprint started": (
        "active",
        lambda c, s: c.post(f"{WEB}/sprints/{s.sprint}/start", headers=s.team.owner.headers),
    ),
}


@pytest.mark.parametrize("name", list(CHANGES))
async def test_every_change_the_board_shows_ends_its_304(
    client: httpx.AsyncClient, board_setup: BoardSetup, name: str
) -> None:
    scope, change = CHANGES[name]
    viewer = board_setup.team.viewer
    before = await board_read(client, viewer, scope)
    etag = before.headers["etag"]
    assert_not_modified(await board_read(client, viewer, scope, **{"If-None-Match": etag}), etag)

    done = await change(client, board_setup)
    assert done.is_success, done.text
    after = await board_read(client, viewer, scope, **{"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json() != before.json()  # the board shows the change...
    assert after.headers["etag"] != etag  # ...and its tag moved with it
    again = await board_read(client, viewer, scope, **{"If-None-Match": after.headers["etag"]})
    assert_not_modified(again, after.headers["etag"])


def _hold(monkeypatch: pytest.MonkeyPatch, name: str, *, after: bool) -> tuple[Any, Any]:
    """Stop the next call of `items_repository.name` (before or after it runs) until released;
    returns the events (reached, release)."""
    call = getattr(items_repository, name)
    reached, release = asyncio.Event(), asyncio.Event()

    async def held(*args: Any, **kwargs: Any) -> Any:
        if not after:
            reached.set()
            await release.wait()
        result = await call(*args, **kwargs)
        if after:
            reached.set()
            await release.wait()
        return result

    monkeypatch.setattr(items_repository, name, held)
    return reached, release


async def _while_held(
    client: httpx.AsyncClient,
    reached: asyncio.Event,
    release: asyncio.Event,
    read: Awaitable[httpx.Response],
    change: Awaitable[httpx.Response],
) -> httpx.Response:
    """Run `read` up to the hold, commit `change`, then let `read` finish."""
    reading = asyncio.ensure_future(read)
    async with asyncio.timeout(10):
        await reached.wait()
    done = await change
    assert done.is_success, done.text
    release.set()
    return await reading


async def test_a_change_after_the_tag_is_taken_never_earns_a_stale_304(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, board_setup: BoardSetup
) -> None:
    # The board's items are read, then an item changes: the body is older than the database,
    # so its tag must be too (taken first), and the next poll must not be a 304.
    s = board_setup
    reached, release = _hold(monkeypatch, "board_items", after=True)
    change = client.patch(
        f"{WEB}/items/{s.a}", json={"title": "Late"}, headers=s.team.member.headers
    )
    read = await _while_held(client, reached, release, board_read(client, s.team.viewer), change)
    assert read.status_code == 200
    titles = [item["title"] for column in read.json()["columns"] for item in column["items"]]
    assert "Late" not in titles
    poll = await board_read(client, s.team.viewer, **{"If-None-Match": read.headers["etag"]})
    assert poll.status_code == 200
    assert "Late" in [
        item["title"] for column in poll.json()["columns"] for item in column["items"]
    ]


async def test_the_caller_renamed_while_reading_their_own_cards_never_earns_a_stale_304(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, board_setup: BoardSetup
) -> None:
    # The caller is loaded with their token, before the tag; their cards show that object.
    member = board_setup.team.member
    reached, release = _hold(monkeypatch, "board_row_versions", after=False)
    change = client.patch("/api/v1/me", json={"display_name": "Renamed"}, headers=member.headers)
    read = await _while_held(client, reached, release, board_read(client, member), change)
    assert read.status_code == 200
    poll = await board_read(client, member, **{"If-None-Match": read.headers["etag"]})
    assert poll.status_code == 200
    names = {
        item["assignee"]["display_name"]
        for column in poll.json()["columns"]
        for item in column["items"]
        if item["assignee"]
    }
    assert names == {"Renamed"}


async def test_svg_charts_get_weak_etags(client: httpx.AsyncClient, team: Team) -> None:
    url = f"{WEB}/velocity.svg"
    first = await read(client, team.viewer, url)
    assert first.headers["content-type"] == "image/svg+xml"
    etag = first.headers["etag"]
    assert etag.startswith('W/"')
    assert_not_modified(await read(client, team.viewer, url, **{"If-None-Match": etag}), etag)


async def test_errors_get_no_etag_and_ignore_if_none_match(
    client: httpx.AsyncClient, team: Team
) -> None:
    missing = await read(client, team.viewer, f"{WEB}/items/42", **{"If-None-Match": "*"})
    assert_problem(missing, 404)
    assert "etag" not in missing.headers
    outsider = await read(client, team.outsider, f"{WEB}/items", **{"If-None-Match": "*"})
    assert_problem(outsider, 404)


# --- single resources: versions ---------------------------------------------------------------


async def test_a_single_resource_etag_leads_with_its_version_and_covers_what_it_shows(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    number = await factory.item("WEB", team.owner)
    url = f"{WEB}/items/{number}"
    first = await read(client, team.viewer, url)
    etag = first.headers["etag"]
    assert etag_version(first) == 1  # strong, `"1.<digest>"`: the version leads, for If-Match
    assert first.headers["cache-control"] == CACHE_CONTROL
    assert_not_modified(await read(client, team.viewer, url, **{"If-None-Match": etag}), etag)
    assert_not_modified(await read(client, team.viewer, url, **{"If-None-Match": "*"}), etag)

    # The version covers the item's own fields, not the status it shows by name: the digest
    # does, so a renamed status ends the 304s though the item is still at version 1.
    todo = (await status_ids(client, team.owner))["To Do"]
    renamed = await client.patch(
        f"{WEB}/statuses/{todo}", json={"name": "Ready"}, headers=team.owner.headers
    )
    assert renamed.status_code == 200, renamed.text
    after = await read(client, team.viewer, url, **{"If-None-Match": etag})
    assert after.status_code == 200
    assert after.headers["etag"] != etag
    assert etag_version(after) == 1
    assert after.json()["status"]["name"] == "Ready"

    # Either tag names version 1 for If-Match: the one from the GET, or the version alone.
    changed = await client.patch(
        url, json={"title": "New"}, headers={**team.member.headers, "If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert changed.headers["etag"] == '"2"'
    stale = await client.patch(
        url, json={"title": "Newer"}, headers={**team.member.headers, "If-Match": etag}
    )
    assert_problem(stale, 412)


async def test_a_sprint_etag_covers_its_points_now(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    number = await factory.item("WEB", team.owner, points=3)
    sprint = await factory.sprint("WEB", team.owner, [number])
    url = f"{WEB}/sprints/{sprint}"
    first = await read(client, team.viewer, url)
    etag = first.headers["etag"]
    assert first.json()["points"] == 3
    assert_not_modified(await read(client, team.viewer, url, **{"If-None-Match": etag}), etag)
    estimated = await client.patch(
        f"{WEB}/items/{number}", json={"points": 5}, headers=team.member.headers
    )
    assert estimated.status_code == 200, estimated.text
    after = await read(client, team.viewer, url, **{"If-None-Match": etag})
    assert after.status_code == 200
    assert after.json()["points"] == 5
    assert after.headers["etag"] != etag
    assert etag_version(after) == etag_version(first)


# --- sprint reports: live is weak, frozen is strong ------------------------------------------


async def report(client: httpx.AsyncClient, actor: Actor, sprint: int, **headers: str) -> Any:
    return await read(client, actor, f"{WEB}/sprints/{sprint}/report", **headers)


async def test_live_report_is_weak_and_the_frozen_one_strong(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    a = await factory.item("WEB", team.owner, points=2)
    b = await factory.item("WEB", team.owner, points=3)
    sprint = await factory.sprint("WEB", team.owner, [a, b], start=True)

    live = await report(client, team.viewer, sprint)
    assert live.json()["frozen"] is False
    live_etag = live.headers["etag"]
    assert live_etag.startswith('W/"')
    assert_not_modified(
        await report(client, team.viewer, sprint, **{"If-None-Match": live_etag}), live_etag
    )
    done = (await status_ids(client, team.owner))["Done"]
    moved = await client.patch(
        f"{WEB}/items/{a}", json={"status_id": done}, headers=team.member.headers
    )
    assert moved.status_code == 200, moved.text
    moved_on = await report(client, team.viewer, sprint, **{"If-None-Match": live_etag})
    assert moved_on.status_code == 200
    assert moved_on.json()["completed"]["count"] == 1

    completed = await client.post(f"{WEB}/sprints/{sprint}/complete", headers=team.owner.headers)
    assert completed.status_code == 200, completed.text
    frozen = await report(client, team.viewer, sprint)
    assert frozen.json()["frozen"] is True
    etag = frozen.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "x-timebox-strong-etag" not in frozen.headers
    assert_not_modified(await report(client, team.viewer, sprint, **{"If-None-Match": etag}), etag)
    # The kept report is the same document whatever happens to its items afterwards.
    await client.patch(f"{WEB}/items/{b}", json={"points": 8}, headers=team.member.headers)
    later = await report(client, team.owner, sprint, **{"If-None-Match": f"W/{etag}"})
    assert_not_modified(later, etag)


async def test_if_match_compares_strongly_and_a_list_matches_when_any_tag_does(
    client: httpx.AsyncClient, factory: Factory, team: Team
) -> None:
    number = await factory.item("WEB", team.owner)
    url = f"{WEB}/items/{number}"
    etag = (await read(client, team.viewer, url)).headers["etag"]

    async def patch(if_match: str, title: str) -> httpx.Response:
        headers = {**team.member.headers, "If-Match": if_match}
        return await client.patch(url, json={"title": title}, headers=headers)

    assert_problem(await patch(f"W/{etag}", "weak"), 412)  # a weak tag never matches
    assert_problem(await patch("not a tag", "malformed"), 412)
    listed = await patch(f'"0", {etag}', "listed")
    assert listed.status_code == 200, listed.text
    assert listed.headers["etag"] == '"2"'
    assert (await patch('"7", W/"2", "2"', "again")).status_code == 200
