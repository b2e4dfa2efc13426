"""Project export and import: the archive format, the round trip of the demo, bad archives."""

import asyncio
import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import SQLModel
from time_machine import TimeMachineFixture

from app.db import Database
from app.demo.service import create_demo
from app.domain.archive import format as archive_format
from app.domain.archive.format import (
    EXCLUDED_COLUMNS,
    EXCLUDED_TABLES,
    NUMBER_SERIES,
    PLAIN,
    RESEQUENCED,
    SOFT_REFERENCES,
    is_project_scoped,
    needs_declaring,
)
from app.domain.archive.rules import RULES
from app.main import create_app
from app.settings import Settings
from tests.api.test_access import project_routes
from tests.contract import checked_client
from tests.factories import Actor, Factory
from tests.helpers import PROJECTS, all_pages, assert_problem, assert_unauthorized, status_ids

# A Friday afternoon in Berlin, the demo's time zone (as tests/api/test_demo.py).
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
COPY = "RESTORED"


async def _import(
    client: httpx.AsyncClient,
    actor: Actor,
    archive: dict[str, Any] | bytes,
    key: str = COPY,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST /projects/import of an archive (or of raw bytes) by `actor`."""
    body = archive if isinstance(archive, bytes) else json.dumps(archive).encode()
    sent = {**actor.headers, "Content-Type": "application/json", **(headers or {})}
    return await client.post(f"{PROJECTS}/import", params={"key": key}, content=body, headers=sent)


async def _export(client: httpx.AsyncClient, actor: Actor, key: str = "WEB") -> dict[str, Any]:
    response = await client.get(f"{PROJECTS}/{key}/export", headers=actor.headers)
    assert response.status_code == 200, response.text
    archive: dict[str, Any] = response.json()
    return archive


# --- the format covers every table ------------------------------------------------------------


def test_every_project_scoped_table_is_exported_or_excluded() -> None:
    spec = archive_format.archive_format()
    exported = {table.name for table in spec.tables}
    scoped = {table.name for table in SQLModel.metadata.sorted_tables if is_project_scoped(table)}
    assert exported | set(EXCLUDED_TABLES) == scoped
    assert not exported & set(EXCLUDED_TABLES)
    assert set(EXCLUDED_TABLES) <= scoped, "an exclusion names no project-scoped table"
    for table, column in EXCLUDED_COLUMNS:
        assert column in SQLModel.metadata.tables[table].c, (table, column)
    # Nothing that can sign in or sign things travels (a new such column forces a decision).
    secret = re.compile(r"token|secret|password|hash", re.IGNORECASE)
    for spec_table in (spec.project, *spec.tables):
        leaking = [column.name for column in spec_table.columns if secret.search(column.name)]
        assert not leaking, (spec_table.name, leaking)


def test_every_column_that_may_hold_ids_is_declared() -> None:
    spec = archive_format.archive_format()
    declared = set(RULES) | set(SOFT_REFERENCES) | set(PLAIN) | {RESEQUENCED}
    undeclared = [
        (table.name, column.name)
        for table in spec.tables
        for column in table.table.columns
        if needs_declaring(table.table, column)
        and (table.name, column.name) not in declared
        and (table.name, column.name) not in EXCLUDED_COLUMNS
    ]
    assert not undeclared, f"say what these hold (rules.RULES, format.PLAIN...): {undeclared}"
    columns = {(table.name, column.name) for table in spec.tables for column in table.columns}
    stale = [entry for entry in sorted(declared) if entry not in columns]
    assert not stale, f"declarations for no exported column: {stale}"


def test_every_number_counter_of_a_project_is_declared() -> None:
    counters = {
        column.name
        for column in SQLModel.metadata.tables["projects"].columns
        if column.name.startswith("next_")
    }
    assert counters == set(NUMBER_SERIES)
    spec = archive_format.archive_format()
    assert set(NUMBER_SERIES.values()) <= set(spec.by_name)


# --- the round trip of the demo project ------------------------------------------------------

# Keys that name people: user ids are the same on both sides (the same accounts), compared as
# they are, so a person mapped to the wrong account shows.
_USER_KEYS = frozenset(
    {
        "actor_id",
        "assignee_id",
        "author_id",
        "owner_id",
        "user_id",
        "facilitator_id",
        "approver_id",
        "raised_by",
        "cleared_by",
        "created_by",
        "closed_by",
        "reopened_by",
        "over_allocated",
    }
)
# Values that hold status ids without saying so by their key: an item history entry of the
# status field (and the snapshot of a created or deleted item), a status change in an event.
_STATUS_FIELDS = frozenset({"status"})


# Ids numbered in one space across every read, seeded with the project's statuses (in
# workflow order) and items (by number): an id naming the wrong status or item (or one of the
# original project) shows, wherever it is read.
_SHARED = {"status_id": "status", "item_id": "item"}
_SHARED_IDS = {
    ("/statuses", ".data.id"): "status",
    ("/statuses/{status_id}", ".id"): "status",
    ("/items", ".data.id"): "item",
    ("/items/{number}", ".id"): "item",
}


def _is_id_key(name: str) -> bool:
    return name == "id" or name.endswith(("_id", "_ids"))


def _space(route: str, where: str, name: str) -> str:
    """The space an id is numbered in: a shared one, else its route's and place's."""
    return _SHARED.get(name) or _SHARED_IDS.get((route, where)) or f"{route}:{where}"


class Canon:
    """Ids by order of first appearance, per (route, path of keys): the same on both sides
    exactly when every reference names the counterpart of what it named before, in order."""

    def __init__(self) -> None:
        self.seen: dict[str, dict[int, int]] = {}

    def of(self, namespace: str, value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return value
        table = self.seen.setdefault(namespace, {})
        return f"#{table.setdefault(value, len(table))}"


@dataclass
class Side:
    """One of the two projects, as its owner reads it."""

    key: str
    headers: dict[str, str]
    canon: Canon = field(default_factory=Canon)

    def text(self, value: str, route: str = "") -> str:
        """The project's key (in item keys, URLs, summaries) as a placeholder, and the status
        ids in a chart's series names (`series-status-3`) normalised."""
        value = re.sub(rf"(?<![A-Za-z0-9]){self.key}(?![A-Za-z0-9])", "<KEY>", value)
        return re.sub(
            r"series-status-([0-9]+)",
            lambda found: f"series-status-{self.canon.of('status', int(found[1]))}",
            value,
        )

    def normal(self, value: Any, route: str, path: str = "") -> Any:
        """The value with the key and every id (but people's) normalised; nothing else."""
        if isinstance(value, str):
            return self.text(value, route)
        if isinstance(value, list):
            return [self.normal(entry, route, path) for entry in value]
        if not isinstance(value, dict):
            return value
        normal: dict[str, Any] = {}
        statuses = value.get("field") in _STATUS_FIELDS
        for name, entry in value.items():
            where = f"{path}.{name}"
            if name in _USER_KEYS:
                normal[name] = entry
            elif _is_id_key(name):
                space = _space(route, where, name)
                normal[name] = (
                    [self.canon.of(space, one) for one in entry]
                    if isinstance(entry, list)
                    else self.canon.of(space, entry)
                )
            elif statuses and name in ("old_value", "new_value"):
                normal[name] = self.canon.of("status", entry)
            elif name in _STATUS_FIELDS and isinstance(entry, int):
                # A snapshot's status (created, deleted) and a change's old and new.
                normal[name] = self.canon.of("status", entry)
            elif name in _STATUS_FIELDS and isinstance(entry, dict) and "old" in entry:
                normal[name] = {
                    side: self.canon.of("status", one) if side in ("old", "new") else one
                    for side, one in entry.items()
                }
            else:
                normal[name] = self.normal(entry, route, where)
        return normal


async def _read(client: httpx.AsyncClient, side: Side, url: str) -> tuple[int, Any]:
    """A GET of the project (every page of a list), as status and body."""
    target = f"{PROJECTS}/{side.key}{url}"
    response = await client.get(target, headers=side.headers)
    if not response.headers.get("content-type", "").startswith(
        ("application/json", "application/problem+json")
    ):
        return response.status_code, response.text
    body = response.json()
    if response.status_code == 200 and isinstance(body, dict) and "next_cursor" in body:
        separator = "&" if "?" in url else "?"
        rows = await all_pages(
            client, Actor(0, "", side.headers["Authorization"][7:]), f"{target}{separator}x=1"
        )
        body = {**body, "data": rows, "next_cursor": None}
    return response.status_code, body


@dataclass
class World:
    """What the routes are read for: the same numbers on both sides, ids paired in order."""

    items: list[int]
    sprints: list[int]
    retros: list[int]
    actions: list[int]
    releases: list[int]
    risks: list[int]
    members: list[int]
    standup_days: list[str]
    # Ids of each side, paired by their order: (source, copy).
    pairs: dict[str, list[tuple[int, int]]]
    rounds: dict[int, list[int]]
    blockers: dict[int, list[tuple[int, int]]]


Urls = Callable[[World], list[tuple[str, str]]]


def _same(*urls: str) -> Urls:
    return lambda world: [(url, url) for url in urls]


def _each(kind: str, template: str) -> Urls:
    """The URL for each number of a kind (the same numbers on both sides)."""

    def urls(world: World) -> list[tuple[str, str]]:
        numbers: list[int] = getattr(world, kind)
        return [(template.format(n), template.format(n)) for n in numbers]

    return urls


def _paired(kind: str, template: str) -> Urls:
    """The URL for each id of a kind, paired with its copy's id."""
    return lambda world: [
        (template.format(old), template.format(new)) for old, new in world.pairs[kind]
    ]


def _rounds(world: World) -> list[tuple[str, str]]:
    return [
        (url, url)
        for number, rounds in world.rounds.items()
        for url in [f"/items/{number}/estimation/rounds/{r}" for r in rounds]
    ]


def _blockers(world: World) -> list[tuple[str, str]]:
    return [
        (f"/items/{number}/blockers/{old}", f"/items/{number}/blockers/{new}")
        for number, pairs in world.blockers.items()
        for old, new in pairs
    ]


def _standups(world: World) -> list[tuple[str, str]]:
    return [
        (url, url)
        for day in world.standup_days
        for url in [f"/standups/{day}/{user}" for user in world.members]
    ]


_SEED = "seed=1"
_GATED = ("planning", "execution", "closing", "post_mortem")
_ITEM = "/items/{}"
_SPRINT = "/sprints/{}"
# Every GET route of a project and what is read of it on both sides.
COMPARED: dict[str, Urls] = {
    "": _same(""),
    "/members": _same("/members"),
    "/members/{user_id}": _each("members", "/members/{}"),
    "/statuses": _same("/statuses"),
    "/statuses/{status_id}": _paired("statuses", "/statuses/{}"),
    "/items": _same("/items", "/items?sort=priority", "/items?sprint=backlog", "/items?q=checkout"),
    "/items/{number}": _each("items", _ITEM),
    "/items/{number}/history": _each("items", _ITEM + "/history"),
    "/items/{number}/comments": _each("items", _ITEM + "/comments"),
    "/items/{number}/blockers": _each("items", _ITEM + "/blockers"),
    "/items/{number}/blockers/{blocker_id}": _blockers,
    "/items/{number}/watchers": _each("items", _ITEM + "/watchers"),
    "/items/{number}/estimation": _each("items", _ITEM + "/estimation"),
    "/items/{number}/estimation/rounds/{round_number}": _rounds,
    "/items/{number}/worklogs": _each("items", _ITEM + "/worklogs"),
    "/board": lambda world: (
        [("/board", "/board")]
        + [(f"/board?sprint={n}", f"/board?sprint={n}") for n in world.sprints]
    ),
    "/sprints": _same("/sprints"),
    "/sprints/{number}": _each("sprints", _SPRINT),
    "/sprints/{number}/scope": _each("sprints", _SPRINT + "/scope"),
    "/sprints/{number}/report": _each("sprints", _SPRINT + "/report"),
    "/sprints/{number}/capacity": _each("sprints", _SPRINT + "/capacity"),
    "/sprints/{number}/workload": _each("sprints", _SPRINT + "/workload"),
    "/sprints/{number}/burndown": _each("sprints", _SPRINT + "/burndown"),
    "/sprints/{number}/burnup": _each("sprints", _SPRINT + "/burnup"),
    "/sprints/{number}/burndown.svg": _each("sprints", _SPRINT + "/burndown.svg"),
    "/sprints/{number}/burnup.svg": _each("sprints", _SPRINT + "/burnup.svg"),
    "/sprints/{number}/retro": _each("sprints", _SPRINT + "/retro"),
    "/sprints/{number}/retro/export": lambda world: [
        (url, url)
        for n in world.sprints
        for url in (f"/sprints/{n}/retro/export", f"/sprints/{n}/retro/export?format=markdown")
    ],
    "/estimation-sessions": _same("/estimation-sessions"),
    "/estimation-sessions/{session_id}": _paired("sessions", "/estimation-sessions/{}"),
    "/flow": _same("/flow", "/flow?from=2026-09-01&to=2026-10-31"),
    "/flow.svg": _same("/flow.svg"),
    "/velocity": _same("/velocity", "/velocity?last=3"),
    "/velocity.svg": _same("/velocity.svg"),
    "/forecast": _same(f"/forecast?{_SEED}", f"/forecast?{_SEED}&as_of=2026-10-15"),
    "/forecast.svg": _same(f"/forecast.svg?{_SEED}"),
    "/releases": _same("/releases"),
    "/releases/{number}": _each("releases", "/releases/{}?" + _SEED),
    "/roadmap": _same(f"/roadmap?{_SEED}"),
    "/roadmap.svg": _same(f"/roadmap.svg?{_SEED}"),
    "/standups": lambda world: [
        (f"/standups?date={d}", f"/standups?date={d}") for d in world.standup_days
    ],
    "/standups/history": _same("/standups/history"),
    "/standups/{date}/{user_id}": _standups,
    "/meetings": _same("/meetings"),
    "/actions": _same("/actions", "/actions?overdue=true"),
    "/actions/stats": _same("/actions/stats"),
    "/actions/{number}": _each("actions", "/actions/{}"),
    "/actions/{number}/history": _each("actions", "/actions/{}/history"),
    "/retros": _same("/retros"),
    "/retros/{number}": _each("retros", "/retros/{}"),
    "/retros/{number}/export": lambda world: [
        (url, url)
        for n in world.retros
        for url in (f"/retros/{n}/export", f"/retros/{n}/export?format=markdown")
    ],
    "/retros/{number}/actions": _each("retros", "/retros/{}/actions"),
    "/risks": _same("/risks"),
    "/risks/trend": _same("/risks/trend"),
    "/risks/{number}": _each("risks", "/risks/{}"),
    "/risks/{number}/history": _each("risks", "/risks/{}/history"),
    "/activity": _same("/activity"),
    "/worklogs": _same("/worklogs"),
    "/worklogs/{worklog_id}": _paired("worklogs", "/worklogs/{}"),
    "/time": _same(
        *(f"/time?group_by={by}" for by in ("member", "item", "sprint", "epic", "week"))
    ),
    "/budget": _same("/budget"),
    "/phases": _same("/phases"),
    "/phases/{phase}/signoffs": _same(*(f"/phases/{phase}/signoffs" for phase in _GATED)),
    "/phases/{phase}/signoffs/{signoff_id}": lambda world: [
        (f"/phases/{phase}/signoffs/{old}", f"/phases/{phase}/signoffs/{new}")
        for phase in _GATED
        for old, new in world.pairs[f"signoffs:{phase}"]
    ],
    "/closing-summary": _same("/closing-summary"),
    "/closing-summaries": _same("/closing-summaries"),
}
# GET routes not compared, and why.
SKIPPED = {
    "/export": "names the moment it was taken; its tables are compared by the import's counts",
    "/events": "a live stream that never ends (its replay is the activity feed, compared)",
    "/calendar.ics": "read with the feed's token, which never travels (the schedule: /meetings)",
    "/invitations": "invitations never travel",
    "/invitations/{invitation_id}": "invitations never travel",
    "/webhooks": "webhooks never travel",
    "/webhooks/{webhook_id}": "webhooks never travel",
    "/webhooks/{webhook_id}/deliveries": "webhooks never travel",
}


def _project_get_routes() -> set[str]:
    prefix = f"{PROJECTS}/{{key}}"
    return {path.removeprefix(prefix) for method, path in project_routes() if method == "GET"}


def test_every_project_read_is_compared_by_the_round_trip_or_skipped_with_a_reason() -> None:
    routes = _project_get_routes()
    assert routes, "no project routes found"
    assert not set(COMPARED) & set(SKIPPED)
    missing = sorted(routes - set(COMPARED) - set(SKIPPED))
    assert not missing, f"compare these after an import, or skip them: {missing}"
    stale = sorted((set(COMPARED) | set(SKIPPED)) - routes)
    assert not stale, f"these name no route: {stale}"


async def _ids(client: httpx.AsyncClient, side: Side, url: str, name: str = "id") -> list[int]:
    _, body = await _read(client, side, url)
    return [row[name] for row in body["data"]] if isinstance(body, dict) else []


async def _world(client: httpx.AsyncClient, source: Side, copy_: Side) -> World:
    async def numbers(url: str) -> list[int]:
        return sorted(await _ids(client, source, url, "number"))

    async def paired(url: str, name: str = "id") -> list[tuple[int, int]]:
        old, new = await _ids(client, source, url, name), await _ids(client, copy_, url, name)
        assert len(old) == len(new), url
        return list(zip(old, new, strict=True))

    items = await numbers("/items")
    # Deleted items' numbers too (both sides answer 404), up to the last number given out.
    everything = list(range(1, max(items, default=0) + 3))
    sprints = await numbers("/sprints")
    statuses = [
        (old["id"], new["id"])
        for old, new in zip(
            (await _read(client, source, "/statuses"))[1]["data"],
            (await _read(client, copy_, "/statuses"))[1]["data"],
            strict=True,
        )
    ]
    _, standups = await _read(client, source, "/standups/history")
    days = (
        sorted({entry["date"] for entry in standups["data"]}) if isinstance(standups, dict) else []
    )
    rounds: dict[int, list[int]] = {}
    blockers: dict[int, list[tuple[int, int]]] = {}
    for number in items:
        found = await _ids(client, source, f"/items/{number}/estimation", "number")
        if found:
            rounds[number] = found
        pairs = await paired(f"/items/{number}/blockers")
        if pairs:
            blockers[number] = pairs
    return World(
        items=everything,
        sprints=[*sprints, max(sprints, default=0) + 1],
        retros=await numbers("/retros"),
        actions=await numbers("/actions"),
        releases=await numbers("/releases"),
        risks=await numbers("/risks"),
        members=await _ids(client, source, "/members", "user_id"),
        standup_days=days,
        pairs={
            "statuses": statuses,
            "sessions": await paired("/estimation-sessions"),
            "worklogs": await paired("/worklogs"),
            **{f"signoffs:{phase}": await paired(f"/phases/{phase}/signoffs") for phase in _GATED},
        },
        rounds=rounds,
        blockers=blockers,
    )


def _difference(old: Any, new: Any, path: str = "") -> str | None:
    """Where two normalised bodies first differ, for the failure message."""
    if isinstance(old, dict) and isinstance(new, dict):
        for name in sorted(old.keys() | new.keys()):
            if name not in old or name not in new:
                return f"{path}.{name}: only on one side"
            found = _difference(old[name], new[name], f"{path}.{name}")
            if found:
                return found
        return None
    if isinstance(old, list) and isinstance(new, list):
        if len(old) != len(new):
            return f"{path}: {len(old)} entries against {len(new)}"
        for index, (one, other) in enumerate(zip(old, new, strict=True)):
            found = _difference(one, other, f"{path}[{index}]")
            if found:
                return found
        return None
    return None if old == new else f"{path}: {str(old)[:300]!r} against {str(new)[:300]!r}"


def _without_authors(body: Any) -> Any:
    """A retro board as its copy must read it: cards of an anonymous retro are nobody's (the
    archive never says who wrote them), so none is `mine`."""
    if isinstance(body, dict) and body.get("anonymous") is True and "board" in body:
        body = copy.deepcopy(body)
        for column in body["board"]:
            for card in column["cards"]:
                card["mine"] = False
    return body


async def test_the_demo_exported_and_imported_reads_the_same_everywhere(
    client: httpx.AsyncClient, database: Database, time_machine: TimeMachineFixture
) -> None:
    time_machine.move_to(NOW, tick=False)
    demo = await create_demo(database)
    owner = Actor(0, demo.emails[0], demo.token)
    archive = await _export(client, owner, demo.project_key)
    imported = await _import(client, owner, archive)
    assert imported.status_code == 201, imported.text
    assert imported.headers["Location"] == f"{PROJECTS}/{COPY}"
    result = imported.json()
    assert result["project"]["key"] == COPY and result["project"]["role"] == "owner"
    assert result["users_not_found"] == [] and result["users_matched"] == len(archive["users"])
    assert result["tables"] == {
        name: {"imported": len(rows), "dropped": 0} for name, rows in archive["tables"].items()
    }
    assert sum(len(rows) for rows in archive["tables"].values()) > 1000

    source, restored = Side(demo.project_key, owner.headers), Side(COPY, owner.headers)
    world = await _world(client, source, restored)
    sides = (source, restored)
    for side, statuses in zip(sides, zip(*world.pairs["statuses"], strict=True), strict=True):
        for status_id in statuses:
            side.canon.of("status", status_id)
        listed = await all_pages(client, owner, f"{PROJECTS}/{side.key}/items")
        for item in sorted(listed, key=lambda row: row["number"]):
            side.canon.of("item", item["id"])
    compared = 0
    for template, urls in COMPARED.items():
        pairs = urls(world)
        for start in range(0, len(pairs), 8):
            # A few reads at once; compared (and their ids numbered) in order.
            batch = pairs[start : start + 8]
            reads = await asyncio.gather(
                *(
                    _read(client, side, url)
                    for pair in batch
                    for side, url in zip(sides, pair, strict=True)
                )
            )
            for (old_url, _), (old_status, old_body), (new_status, new_body) in zip(
                batch, reads[0::2], reads[1::2], strict=True
            ):
                old = (old_status, source.normal(_without_authors(old_body), template))
                new = (new_status, restored.normal(new_body, template))
                assert old == new, (old_url, _difference(list(old), list(new)))
                compared += old_status == 200
    # Most reads found something (a route whose every read is a 404 compares little).
    assert compared > 800, compared

    # The copy lives on: numbers and the activity log continue where the demo's stopped.
    next_item = max(world.items) - 1
    created = await client.post(
        f"{PROJECTS}/{COPY}/items", headers=owner.headers, json={"title": "After the move"}
    )
    assert created.status_code == 201, created.text
    assert created.json()["number"] == next_item
    _, old_activity = await _read(client, source, "/activity?limit=1")
    _, new_activity = await _read(client, restored, "/activity?limit=5")
    assert new_activity["data"][0]["seq"] == old_activity["data"][0]["seq"] + 1


# --- a small project: what travels and what does not -----------------------------------------


@dataclass
class Small:
    """WEB with an epic and two stories (one assigned to the member), a started sprint, a
    comment, a vote, two retros (one anonymous) with the member's cards, a risk, a work log."""

    owner: Actor
    member: Actor
    viewer: Actor
    outsider: Actor


@pytest.fixture
async def small(factory: Factory) -> Small:
    team = await factory.team("WEB")
    owner, member = team.owner, team.member
    epic = await factory.item("WEB", owner, title="Checkout", type="epic")
    story = await factory.item(
        "WEB", owner, title="Pay by card", parent=epic, points=3, assignee_id=member.id
    )
    other = await factory.item("WEB", owner, title="Apply a coupon", points=5)
    await factory.comment("WEB", member, story, "Card first, coupons later.")
    await factory.sprint("WEB", owner, items=[story, other], start=True)
    await factory.estimation_round("WEB", owner, other)
    await factory.estimation_vote("WEB", member, other, 1, "5")
    for anonymous in (True, False):
        retro = await factory.retro("WEB", owner, anonymous=anonymous)
        await factory.retro_card("WEB", member, retro, f"anonymous={anonymous}")
    await factory.risk("WEB", owner, owner_id=member.id, items=[story])
    await factory.worklog("WEB", member, story, hours=1.5)
    await factory.action("WEB", owner)
    return Small(owner, member, team.viewer, team.outsider)


async def test_an_export_is_an_attachment_with_every_table_and_no_secrets(
    client: httpx.AsyncClient, small: Small
) -> None:
    webhook = await client.post(
        f"{PROJECTS}/WEB/webhooks",
        headers=small.owner.headers,
        json={"url": "https://93.184.215.14/hook"},
    )
    assert webhook.status_code == 201, webhook.text
    token = await client.post(f"{PROJECTS}/WEB/calendar/token", headers=small.owner.headers)
    assert token.status_code in (200, 201), token.text
    response = await client.get(f"{PROJECTS}/WEB/export", headers=small.owner.headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    assert re.fullmatch(
        r'attachment; filename="WEB-[0-9]{4}-[0-9]{2}-[0-9]{2}\.timebox\.json"',
        response.headers["content-disposition"],
    )
    assert response.headers["cache-control"] == "private, no-store"
    archive = response.json()
    assert (archive["format"], archive["version"]) == ("timebox.project", 1)
    assert archive["project"]["key"] == "WEB" and "id" not in archive["project"]
    spec = archive_format.archive_format()
    assert list(archive["tables"]) == [table.name for table in spec.tables]
    assert len(archive["tables"]["items"]) == 3
    assert all("project_id" not in row for rows in archive["tables"].values() for row in rows)
    emails = {person["email"] for person in archive["users"]}
    assert {small.owner.email, small.member.email, small.viewer.email} <= emails
    assert small.outsider.email not in emails
    # No webhook, its secret, the feed's token or anyone's password travels.
    body = response.text
    for secret in (webhook.json()["secret"], token.json()["token"], "argon2", "password"):
        assert secret not in body
    assert "feed_token_hash" not in json.dumps(archive["tables"]["meeting_schedules"])


async def test_cards_of_an_anonymous_retro_travel_without_their_author(
    client: httpx.AsyncClient, small: Small
) -> None:
    archive = await _export(client, small.owner)
    retros = {row["id"]: row["anonymous"] for row in archive["tables"]["retros"]}
    cards = archive["tables"]["retro_cards"]
    assert sorted((retros[card["retro_id"]], card["author_id"]) for card in cards) == [
        (False, small.member.id),
        (True, None),
    ]


async def test_an_importer_owns_the_copy_and_members_rejoin_with_their_roles(
    client: httpx.AsyncClient, small: Small
) -> None:
    archive = await _export(client, small.owner)
    # The outsider imports: they own the copy; the team is back with the roles it had.
    imported = await _import(client, small.outsider, archive)
    assert imported.status_code == 201, imported.text
    members = await all_pages(client, small.outsider, f"{PROJECTS}/{COPY}/members")
    roles = {member["user_id"]: member["role"] for member in members}
    assert roles == {
        small.owner.id: "owner",
        small.member.id: "member",
        small.viewer.id: "viewer",
        small.outsider.id: "owner",
    }
    # Both projects stand on their own: a change to the copy leaves the original alone.
    changed = await client.patch(
        f"{PROJECTS}/{COPY}/items/2", headers=small.outsider.headers, json={"points": 8}
    )
    assert changed.status_code == 200, changed.text
    original = await client.get(f"{PROJECTS}/WEB/items/2", headers=small.owner.headers)
    assert original.json()["points"] == 3
    copied = await client.get(f"{PROJECTS}/{COPY}/items/2", headers=small.member.headers)
    assert copied.json()["parent"] == 1 and copied.json()["key"] == f"{COPY}-2"
    assert copied.json()["id"] != original.json()["id"]
    # Ids inside the activity log's payloads name the copy's rows.
    activity = f"{PROJECTS}/{COPY}/activity"
    events = await all_pages(client, small.outsider, activity, type="comment.created")
    comments = await all_pages(client, small.outsider, f"{PROJECTS}/{COPY}/items/2/comments")
    assert [event["payload"]["comment"]["id"] for event in events] == [c["id"] for c in comments]
    statuses = set((await status_ids(client, small.outsider, COPY)).values())
    created = await all_pages(client, small.outsider, activity, type="item.created")
    assert {event["payload"]["item"]["status_id"] for event in created} <= statuses
    assert not statuses & set((await status_ids(client, small.owner, "WEB")).values())


async def test_a_retried_import_is_applied_once(client: httpx.AsyncClient, small: Small) -> None:
    archive = await _export(client, small.owner)
    retry = {"Idempotency-Key": "import-web-copy"}
    first = await _import(client, small.owner, archive, headers=retry)
    again = await _import(client, small.owner, archive, headers=retry)
    assert first.status_code == again.status_code == 201, again.text
    assert again.headers["idempotency-replayed"] == "true"
    assert again.json() == first.json()


async def test_people_without_an_account_here_are_reported_and_name_nobody(
    client: httpx.AsyncClient, small: Small
) -> None:
    archive = await _export(client, small.owner)
    for person in archive["users"]:
        if person["ref"] == small.member.id:
            person["email"] = "left-the-company@example.com"
    imported = await _import(client, small.owner, archive)
    assert imported.status_code == 201, imported.text
    result = imported.json()
    assert result["users_not_found"] == [
        {
            "ref": small.member.id,
            "email": "left-the-company@example.com",
            "display_name": small.member.email.split("@")[0],
        }
    ]
    assert result["users_matched"] == len(archive["users"]) - 1
    tables = result["tables"]
    # What cannot be without them is left out and counted; the rest names nobody.
    assert tables["project_members"] == {"imported": 2, "dropped": 1}
    assert tables["estimation_votes"] == {"imported": 0, "dropped": 1}
    assert tables["worklogs"] == {"imported": 0, "dropped": 1}
    assert tables["items"] == {"imported": 3, "dropped": 0}
    story = await client.get(f"{PROJECTS}/{COPY}/items/2", headers=small.owner.headers)
    assert story.json()["assignee"] is None
    comments = await all_pages(client, small.owner, f"{PROJECTS}/{COPY}/items/2/comments")
    assert [(c["body"], c["author"]) for c in comments] == [("Card first, coupons later.", None)]
    risk = await client.get(f"{PROJECTS}/{COPY}/risks/1", headers=small.owner.headers)
    assert risk.json()["owner"] is None
    history = await all_pages(client, small.owner, f"{PROJECTS}/{COPY}/items/2/history")
    assert history[0]["new_value"]["assignee"] is None
    assert (await client.get(f"{PROJECTS}/{COPY}", headers=small.member.headers)).status_code == 404


# --- bad archives: a 422 naming the place, nothing written ------------------------------------


def _row(archive: dict[str, Any], table: str, index: int = 0) -> dict[str, Any]:
    row: dict[str, Any] = archive["tables"][table][index]
    return row


def _set(table: str, column: str, value: Any, index: int = 0) -> Callable[[dict[str, Any]], None]:
    return lambda archive: _row(archive, table, index).__setitem__(column, value)


def _status_in_a_snapshot(archive: dict[str, Any]) -> None:
    created = next(row for row in archive["tables"]["item_events"] if row["kind"] == "created")
    created["new_value"]["status"] = "To Do"


def _parent_cycle(archive: dict[str, Any]) -> None:
    items = archive["tables"]["items"]
    items[0]["parent_id"], items[1]["parent_id"] = items[1]["id"], items[0]["id"]


BAD_ARCHIVES: dict[str, tuple[Callable[[dict[str, Any]], Any], str]] = {
    "wrong format": (lambda a: a.__setitem__("format", "jira.backup"), "body.format"),
    "newer version": (lambda a: a.__setitem__("version", 2), "body.version"),
    "version as text": (lambda a: a.__setitem__("version", "1"), "body.version"),
    "no project": (lambda a: a.pop("project"), "body.project"),
    "no users": (lambda a: a.pop("users"), "body.users"),
    "no tables": (lambda a: a.__setitem__("tables", []), "body.tables"),
    "missing table": (lambda a: a["tables"].pop("items"), "body.tables.items"),
    "unknown table": (lambda a: a["tables"].__setitem__("gadgets", []), "body.tables.gadgets"),
    "table not a list": (lambda a: a["tables"].__setitem__("sprints", {}), "body.tables.sprints"),
    "row not an object": (
        lambda a: a["tables"]["items"].__setitem__(0, [1, 2]),
        "body.tables.items.0",
    ),
    "unknown column": (_set("items", "colour", "red"), "body.tables.items.0.colour"),
    "missing column": (
        lambda a: _row(a, "items").pop("title"),
        "body.tables.items.0.title",
    ),
    "null where a value is needed": (_set("items", "title", None), "body.tables.items.0.title"),
    "text where a number is needed": (
        _set("items", "points", "five"),
        "body.tables.items.0.points",
    ),
    "boolean where an integer is needed": (
        _set("items", "number", True),
        "body.tables.items.0.number",
    ),
    "id beyond bigint": (_set("items", "id", 2**63), "body.tables.items.0.id"),
    "text too long": (_set("items", "title", "x" * 256), "body.tables.items.0.title"),
    "unknown enum value": (_set("items", "type", "saga"), "body.tables.items.0.type"),
    "naive date-time": (
        _set("items", "created_at", "2026-11-27T10:00:00"),
        "body.tables.items.0.created_at",
    ),
    "date that is no date": (
        _set("sprints", "start_date", "2026-02-30"),
        "body.tables.sprints.0.start_date",
    ),
    "NUL in text": (_set("comments", "body", "a\x00b"), "body.tables.comments.0.body"),
    "two rows with one id": (
        lambda a: _row(a, "items", 1).__setitem__("id", _row(a, "items", 0)["id"]),
        "body.tables.items.1.id",
    ),
    "reference to no row": (_set("items", "status_id", 987654), "body.tables.items.0.status_id"),
    "reference to a row of another table": (
        lambda a: _row(a, "comments").__setitem__("item_id", _row(a, "sprints")["id"] + 9999),
        "body.tables.comments.0.item_id",
    ),
    "reference to nobody": (_set("items", "created_by", 424242), "body.tables.items.0.created_by"),
    "parent that is not there": (
        _set("items", "parent_id", 987654, index=1),
        "body.tables.items.1.parent_id",
    ),
    "parents in a circle": (_parent_cycle, "body.tables.items"),
    "id in a log that is no id": (_status_in_a_snapshot, "body.tables.item_events.0.new_value"),
    "event type nobody knows": (
        _set("project_events", "type", "item.teleported"),
        "body.tables.project_events.0.type",
    ),
    "event payload of another shape": (
        _set("project_events", "payload", {"item": 3}),
        "body.tables.project_events.0.payload",
    ),
    "rank that is no rank": (_set("items", "rank", "!!"), "body.tables.items.0.rank"),
    "a rule of the database": (_set("items", "priority", 9), "body.tables.items"),
    "unknown time zone": (
        lambda a: a["project"].__setitem__("time_zone", "Mars/Olympus"),
        "body.project.time_zone",
    ),
    "counter below the numbers in use": (
        lambda a: a["project"].__setitem__("next_item_number", 1),
        "body.project.next_item_number",
    ),
    "old key that is no key": (
        lambda a: a["project"].__setitem__("key", "web"),
        "body.project.key",
    ),
    "person twice": (lambda a: a["users"].append(dict(a["users"][0])), "body.users.3.ref"),
    "person without an email": (lambda a: a["users"][0].pop("email"), "body.users.0.email"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARCHIVES))
async def test_a_bad_archive_is_a_422_naming_where_and_nothing_is_written(
    client: httpx.AsyncClient, small: Small, database: Database, case: str
) -> None:
    archive = await _export(client, small.owner)
    break_it, where = BAD_ARCHIVES[case]
    break_it(archive)
    async with database.engine.connect() as connection:
        before: int = (await connection.execute(text("SELECT count(*) FROM items"))).scalar_one()
    response = await _import(client, small.owner, archive)
    body = assert_problem(response, 422)
    named = [error["field"] for error in body["errors"]]
    assert any(field == where or field.startswith(where + ".") for field in named), named
    assert where in body["detail"] or named[0] in body["detail"]
    assert (await client.get(f"{PROJECTS}/{COPY}", headers=small.owner.headers)).status_code == 404
    async with database.engine.connect() as connection:
        after: int = (await connection.execute(text("SELECT count(*) FROM items"))).scalar_one()
        projects: int = (
            await connection.execute(text("SELECT count(*) FROM projects"))
        ).scalar_one()
    assert (after, projects) == (before, 1)


async def test_the_key_must_be_valid_and_free(client: httpx.AsyncClient, small: Small) -> None:
    archive = await _export(client, small.owner)
    taken = assert_problem(await _import(client, small.owner, archive, key="WEB"), 409, "query.key")
    assert "WEB" in taken["detail"]
    assert_problem(await _import(client, small.owner, archive, key="web"), 422, "query.key")
    assert_problem(await _import(client, small.owner, archive, key="TOOLONGAKEY"), 422, "query.key")
    missing = await client.post(f"{PROJECTS}/import", headers=small.owner.headers, json=archive)
    assert_problem(missing, 422, "query.key")


async def test_import_takes_a_json_body_of_a_logged_in_caller(
    client: httpx.AsyncClient, small: Small
) -> None:
    archive = await _export(client, small.owner)
    body = json.dumps(archive).encode()
    anonymous = await client.post(
        f"{PROJECTS}/import",
        params={"key": COPY},
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_unauthorized(anonymous)
    as_text = await _import(client, small.owner, body, headers={"Content-Type": "text/plain"})
    assert_problem(as_text, 415)
    assert as_text.headers["accept-post"] == "application/json"
    for broken in (b"", b"{", b"\xff\xfe", b"[]"):
        assert_problem(await _import(client, small.owner, broken), 422, "body")
    nan = assert_problem(await _import(client, small.owner, b'{"format": NaN}'), 422)
    assert all(error["field"].startswith("body") for error in nan["errors"])
    extra = assert_problem(await _import(client, small.owner, {**archive, "extra": 1}), 422)
    assert "body.extra" in [error["field"] for error in extra["errors"]]
    # Any role can export nothing but its own projects' archives: owners only.
    refused = await client.get(f"{PROJECTS}/WEB/export", headers=small.member.headers)
    assert_problem(refused, 403)
    assert_problem(await client.get(f"{PROJECTS}/WEB/export", headers=small.outsider.headers), 404)


async def test_an_imported_archive_exports_again_as_the_same_archive(
    client: httpx.AsyncClient, small: Small
) -> None:
    first = await _export(client, small.owner)
    assert (await _import(client, small.owner, first)).status_code == 201
    second = await _export(client, small.owner, COPY)
    # Ids are new, but in the order they had: the two archives differ by ids and key alone.
    old, new = Side("WEB", {}), Side(COPY, {})
    for name in first["tables"]:
        assert old.normal(first["tables"][name], name) == new.normal(second["tables"][name], name)
    # The name is the user's text: kept as it is, even where it says the old key.
    assert first["project"].pop("name") == second["project"].pop("name") == "Project WEB"
    assert old.normal(first["project"], "p") == new.normal(second["project"], "p")
    assert first["users"] == second["users"]


async def test_archives_are_limited_in_size_and_in_how_often(
    settings: Settings, database: Database, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    limited = create_app(
        settings.model_copy(update={"max_import_bytes": 4096, "imports_per_user_per_hour": 2})
    )
    async with limited.router.lifespan_context(limited), checked_client(limited) as client:
        archive = await _export(client, owner)
        small_enough = json.dumps(archive).encode()
        assert len(small_enough) < 4096
        too_large = json.dumps({**archive, "padding": "x" * 5000}).encode()
        assert_problem(await _import(client, owner, too_large), 413)
        # The limit is the import's own: other bodies keep the usual one.
        first = await _import(client, owner, small_enough, key="ONE")
        assert first.status_code == 201, first.text
        assert (await _import(client, owner, small_enough, key="TWO")).status_code == 201
        refused = await _import(client, owner, small_enough, key="THREE")
        assert_problem(refused, 429)
        assert int(refused.headers["retry-after"]) > 0
