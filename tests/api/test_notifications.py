"""Notifications: each kind reaches the right people (never the actor), preferences, mentions,
anonymous retro cards, due-action reminders, the inbox's order, paging and marking read, and
the NOTIFY for the personal stream — over HTTP, on real PostgreSQL."""

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any, NamedTuple

import asyncpg
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.notifications import service as notifications
from app.domain.notifications.models import Notification
from app.domain.notifications.repository import CHANNEL
from app.domain.projects.models import Role
from app.main import create_app
from app.settings import Settings
from tests.factories import Actor, Factory
from tests.helpers import all_pages, assert_problem, status_ids

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
INBOX = "/api/v1/me/notifications"
PREFERENCES = "/api/v1/me/notification-preferences"


class People(NamedTuple):
    """WEB's owner ada, members bob and dan, viewer cy, and eve who is not in WEB."""

    ada: Actor
    bob: Actor
    cy: Actor
    dan: Actor
    eve: Actor


@pytest.fixture
async def people(factory: Factory) -> People:
    ada = await factory.user("ada@example.com")
    await factory.project(ada, "WEB")
    bob, cy, dan, eve = [
        await factory.user(f"{name}@example.com") for name in ("bob", "cy", "dan", "eve")
    ]
    await factory.member("WEB", ada, bob, Role.MEMBER)
    await factory.member("WEB", ada, cy, Role.VIEWER)
    await factory.member("WEB", ada, dan, Role.MEMBER)
    await factory.project(eve, "OUT")
    return People(ada, bob, cy, dan, eve)


async def inbox(client: httpx.AsyncClient, actor: Actor, **params: Any) -> list[dict[str, Any]]:
    """All of `actor`'s notifications, in the inbox's order."""
    return await all_pages(client, actor, INBOX, **params)


async def kinds(client: httpx.AsyncClient, actor: Actor) -> list[str]:
    """The kinds of `actor`'s notifications, newest first."""
    return [notice["kind"] for notice in await inbox(client, actor)]


async def create_item(client: httpx.AsyncClient, actor: Actor, **fields: Any) -> int:
    response = await client.post(ITEMS, headers=actor.headers, json={"title": "Item", **fields})
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    return number


async def patch_item(client: httpx.AsyncClient, actor: Actor, number: int, **fields: Any) -> None:
    response = await client.patch(f"{ITEMS}/{number}", headers=actor.headers, json=fields)
    assert response.status_code == 200, response.text


async def comment(client: httpx.AsyncClient, actor: Actor, number: int, body: str) -> None:
    response = await client.post(
        f"{ITEMS}/{number}/comments", headers=actor.headers, json={"body": body}
    )
    assert response.status_code == 201, response.text


async def count_notifications(database: Database) -> int:
    async with database.sessions() as session:
        return int(
            (await session.execute(select(func.count()).select_from(Notification))).scalar_one()
        )


# --- each kind, for the right people ---------------------------------------------------------


async def test_assignment_notifies_the_assignee_and_never_the_actor(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob = people.ada, people.bob
    number = await create_item(client, ada, title="Fix login", assignee_id=bob.id)
    [notice] = await inbox(client, bob)
    assert notice["kind"] == "assigned"
    assert notice["project"] == "WEB" and notice["item"] == number
    assert notice["actor"] == {"id": ada.id, "display_name": "ada"}
    assert notice["summary"] == f"ada assigned you WEB-{number} “Fix login”"
    assert isinstance(notice["event_seq"], int) and notice["read_at"] is None
    assert notice["sprint"] is None and notice["retro"] is None and notice["action"] is None
    # Assigning yourself tells nobody; reassigning tells the new assignee only.
    await patch_item(client, bob, number, assignee_id=bob.id)
    other = await create_item(client, bob, assignee_id=bob.id)
    await patch_item(client, bob, other, assignee_id=ada.id)
    assert await kinds(client, bob) == ["assigned"]
    assert [(n["kind"], n["item"]) for n in await inbox(client, ada)] == [("assigned", other)]


async def test_a_status_change_notifies_every_watcher_but_the_actor(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob, cy, dan = people.ada, people.bob, people.cy, people.dan
    number = await create_item(client, ada)  # ada watches what she creates
    await comment(client, bob, number, "On it")  # bob watches what he comments on
    watched = await client.post(f"{ITEMS}/{number}/watch", headers=cy.headers)
    assert watched.status_code == 200, watched.text
    statuses = await status_ids(client, ada)
    await patch_item(client, bob, number, status_id=statuses["In Progress"])
    for watcher in (ada, cy):
        [notice] = await inbox(client, watcher)
        assert notice["kind"] == "status_changed" and notice["item"] == number
        assert notice["actor"]["id"] == bob.id
        assert "In Progress" in notice["summary"]
    assert await kinds(client, bob) == []  # the actor
    assert await kinds(client, dan) == []  # not watching
    # A change that is not a status tells watchers nothing.
    await patch_item(client, bob, number, points=3)
    assert await kinds(client, cy) == ["status_changed"]


async def test_mentions_in_comments_reach_members_only(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob, cy, dan, eve = people
    renamed = await client.patch("/api/v1/me", headers=dan.headers, json={"display_name": "Dan K"})
    assert renamed.status_code == 200, renamed.text
    number = await create_item(client, ada)
    body = (
        "@ADA and @cy: see this. @DanK too, @eve and @nobody not; "
        "mail bob@example.com, and @bob is me, @ada again."
    )
    await comment(client, bob, number, body)
    for member in (ada, cy, dan):
        mentions = [n for n in await inbox(client, member) if n["kind"] == "mentioned"]
        assert len(mentions) == 1, member.email
        assert mentions[0]["item"] == number and mentions[0]["actor"]["id"] == bob.id
        assert mentions[0]["summary"].startswith(f"bob mentioned you on WEB-{number}: “@ADA")
    assert await kinds(client, eve) == []  # not a member of WEB
    assert await kinds(client, bob) == []  # his own comment


async def test_sprint_start_and_completion_reach_the_people_in_it(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob, cy, dan = people.ada, people.bob, people.cy, people.dan
    mine = await create_item(client, ada, assignee_id=bob.id)
    await create_item(client, ada, assignee_id=cy.id)  # an item not in the sprint
    sprint = await client.post(f"{PROJECTS}/WEB/sprints", headers=ada.headers, json={})
    assert sprint.status_code == 201, sprint.text
    n = sprint.json()["number"]
    added = await client.post(
        f"{PROJECTS}/WEB/sprints/{n}/items", headers=ada.headers, json={"items": [mine]}
    )
    assert added.status_code < 300, added.text
    capacity = await client.put(
        f"{PROJECTS}/WEB/sprints/{n}/capacity",
        headers=ada.headers,
        json={"members": [{"user_id": dan.id}, {"user_id": ada.id}]},
    )
    assert capacity.status_code == 200, capacity.text
    started = await client.post(f"{PROJECTS}/WEB/sprints/{n}/start", headers=ada.headers)
    assert started.status_code == 200, started.text
    completed = await client.post(f"{PROJECTS}/WEB/sprints/{n}/complete", headers=ada.headers)
    assert completed.status_code == 200, completed.text
    for person in (bob, dan):
        sprint_notices = [n for n in await inbox(client, person) if n["kind"].startswith("sprint")]
        assert [n["kind"] for n in sprint_notices] == ["sprint_completed", "sprint_started"]
        assert {notice["sprint"] for notice in sprint_notices} == {n}
    assert [k for k in await kinds(client, cy) if k.startswith("sprint")] == []
    assert await kinds(client, ada) == []  # she started and completed it


# --- preferences ----------------------------------------------------------------------------


async def test_a_kind_switched_off_is_not_made(
    client: httpx.AsyncClient, people: People, database: Database
) -> None:
    ada, bob = people.ada, people.bob
    default = await client.get(PREFERENCES, headers=bob.headers)
    assert default.status_code == 200 and set(default.json().values()) == {True}
    put = await client.put(PREFERENCES, headers=bob.headers, json={"assigned": False})
    assert put.status_code == 200, put.text
    assert put.json()["assigned"] is False and put.json()["mentioned"] is True
    assert (await client.get(PREFERENCES, headers=bob.headers)).json() == put.json()
    number = await create_item(client, ada, assignee_id=bob.id)
    assert await kinds(client, bob) == []
    assert await count_notifications(database) == 0
    await comment(client, ada, number, "@bob look")
    assert await kinds(client, bob) == ["mentioned"]
    # A kind left out of a PUT is on again.
    await client.put(PREFERENCES, headers=bob.headers, json={"mentioned": False})
    await create_item(client, ada, assignee_id=bob.id)
    assert await kinds(client, bob) == ["assigned", "mentioned"]
    bad = await client.put(PREFERENCES, headers=bob.headers, json={"assigned": "no"})
    assert_problem(bad, 422, "body.assigned")
    assert_problem(await client.put(PREFERENCES, headers=bob.headers, json={"x": True}), 422)


# --- retro cards ----------------------------------------------------------------------------


async def _retro(client: httpx.AsyncClient, actor: Actor, anonymous: bool) -> int:
    response = await client.post(
        f"{PROJECTS}/WEB/retros",
        headers=actor.headers,
        json={"title": "Q4 retro", "anonymous": anonymous},
    )
    assert response.status_code == 201, response.text
    number: int = response.json()["number"]
    return number


async def _card(client: httpx.AsyncClient, actor: Actor, retro: int, text: str) -> int:
    response = await client.post(
        f"{PROJECTS}/WEB/retros/{retro}/cards",
        headers=actor.headers,
        json={"column": "Start", "text": text},
    )
    assert response.status_code == 201, response.text
    card_id: int = response.json()["id"]
    return card_id


async def test_a_mention_on_an_anonymous_card_names_nobody(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob, cy = people.ada, people.bob, people.cy
    retro = await _retro(client, ada, anonymous=True)
    card = await _card(client, bob, retro, "@ada the deploys keep breaking, @bob")
    [notice] = await inbox(client, ada)
    assert notice["kind"] == "mentioned" and notice["retro"] == retro
    assert notice["actor"] is None and notice["event_seq"] is None
    assert notice["summary"] == f"Someone mentioned you on a card in retro {retro} “Q4 retro”"
    assert "bob" not in json.dumps(notice).lower()
    assert await kinds(client, bob) == []  # the author mentioned himself
    # An edit notifies whom it newly mentions, and nobody twice.
    edited = await client.patch(
        f"{PROJECTS}/WEB/retros/{retro}/cards/{card}",
        headers=bob.headers,
        json={"text": "@ada the deploys keep breaking; @cy knows"},
    )
    assert edited.status_code == 200, edited.text
    assert await kinds(client, ada) == ["mentioned"]
    [for_cy] = await inbox(client, cy)
    assert for_cy["actor"] is None


async def test_a_mention_on_a_named_card_names_its_author(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob = people.ada, people.bob
    retro = await _retro(client, ada, anonymous=False)
    await _card(client, bob, retro, "Thanks @Ada!")
    [notice] = await inbox(client, ada)
    assert notice["actor"]["id"] == bob.id
    assert notice["summary"] == f"bob mentioned you on a card in retro {retro} “Q4 retro”"


# --- due and overdue action items -----------------------------------------------------------


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def scan(database: Database) -> int:
    """Run the reminder scan once, in its own transaction, as the background task does; how
    many reminders it made."""
    async with database.sessions() as session, session.begin():
        return await notifications.scan_due_actions(session)


async def test_due_and_overdue_reminders_are_made_once_in_the_projects_time_zone(
    client: httpx.AsyncClient,
    people: People,
    database: Database,
    time_machine: TimeMachineFixture,
) -> None:
    ada, bob = people.ada, people.bob
    # 12:00 UTC on 10 December is already 11 December in Auckland.
    freeze(time_machine, "2026-12-10T12:00:00")
    zone = await client.patch(
        f"{PROJECTS}/WEB", headers=ada.headers, json={"time_zone": "Pacific/Auckland"}
    )
    assert zone.status_code == 200, zone.text
    for title, day in (("Checklist", "2026-12-11"), ("Later", "2026-12-12")):
        created = await client.post(
            f"{PROJECTS}/WEB/actions",
            headers=ada.headers,
            json={"title": title, "owner_id": bob.id, "due_date": day},
        )
        assert created.status_code == 201, created.text
    unowned = await client.post(
        f"{PROJECTS}/WEB/actions",
        headers=ada.headers,
        json={"title": "x", "due_date": "2026-12-01"},
    )
    assert unowned.status_code == 201
    # The app's own periodic scan may run at any moment too: count what exists, not who made it.
    assert await scan(database) <= 1
    assert await scan(database) == 0  # idempotent: the same day, the same reminder
    [due] = await inbox(client, bob)
    assert due["kind"] == "action_due" and due["action"] == 1 and due["actor"] is None
    assert due["summary"] == "Action #1 “Checklist” is due today"
    freeze(time_machine, "2026-12-11T12:00:00")  # 12 December in Auckland
    made = await asyncio.gather(scan(database), scan(database))
    assert sum(made) <= 2
    assert await scan(database) == 0
    notices = await inbox(client, bob)
    assert sorted((n["kind"], n["action"]) for n in notices) == [
        ("action_due", 1),
        ("action_due", 2),
        ("action_overdue", 1),
    ]
    overdue = next(n for n in notices if n["kind"] == "action_overdue")
    assert overdue["summary"] == "Action #1 “Checklist” is overdue (due 2026-12-11)"
    assert await kinds(client, ada) == []


async def test_reminders_skip_done_actions_owners_who_left_and_switched_off_kinds(
    client: httpx.AsyncClient,
    people: People,
    database: Database,
    time_machine: TimeMachineFixture,
) -> None:
    ada, bob, dan = people.ada, people.bob, people.dan
    freeze(time_machine, "2026-12-10T09:00:00")
    today = date(2026, 12, 10).isoformat()
    for owner in (bob, dan, ada):
        created = await client.post(
            f"{PROJECTS}/WEB/actions",
            headers=ada.headers,
            json={"title": "Do", "owner_id": owner.id, "due_date": today},
        )
        assert created.status_code == 201, created.text
    done = await client.patch(
        f"{PROJECTS}/WEB/actions/3", headers=ada.headers, json={"status": "done"}
    )
    assert done.status_code == 200, done.text
    await client.put(PREFERENCES, headers=dan.headers, json={"action_due": False})
    removed = await client.delete(f"{PROJECTS}/WEB/members/{bob.id}", headers=ada.headers)
    assert removed.status_code == 204, removed.text
    assert await scan(database) == 0
    assert await kinds(client, bob) == [] and await kinds(client, dan) == []


async def test_the_server_scans_for_due_actions_on_its_own(
    client: httpx.AsyncClient, people: People, database: Database, settings: Settings
) -> None:
    ada, bob = people.ada, people.bob
    created = await client.post(
        f"{PROJECTS}/WEB/actions",
        headers=ada.headers,
        json={"title": "Do", "owner_id": bob.id, "due_date": "2020-01-01"},
    )
    assert created.status_code == 201, created.text
    quick = create_app(settings.model_copy(update={"notification_scan_seconds": 0.05}))
    async with quick.router.lifespan_context(quick), asyncio.timeout(10):
        while await count_notifications(database) == 0:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
    assert await kinds(client, bob) == ["action_overdue"]


# --- the inbox ------------------------------------------------------------------------------


async def test_unread_first_then_newest_with_pages_filters_and_marking_read(
    client: httpx.AsyncClient, people: People, factory: Factory
) -> None:
    ada, bob = people.ada, people.bob
    numbers = [await create_item(client, ada, assignee_id=bob.id) for _ in range(5)]
    await factory.project(ada, "APP")
    await factory.member("APP", ada, bob, Role.MEMBER)
    other = await client.post(
        f"{PROJECTS}/APP/items", headers=ada.headers, json={"title": "x", "assignee_id": bob.id}
    )
    assert other.status_code == 201
    ids = [n["id"] for n in await inbox(client, bob)]
    assert ids == sorted(ids, reverse=True) and len(ids) == 6
    read = await client.post(f"{INBOX}/{ids[1]}/read", headers=bob.headers)
    assert read.status_code == 200, read.text
    first_read_at = read.json()["read_at"]
    assert first_read_at is not None
    again = await client.post(f"{INBOX}/{ids[1]}/read", headers=bob.headers)
    assert again.json()["read_at"] == first_read_at
    # Unread first (newest first among them), then the read one; two a page.
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        page = await client.get(INBOX, headers=bob.headers, params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert body["unread_count"] == 5
        seen += [n["id"] for n in body["data"]]
        if body["next_cursor"] is None:
            assert "link" not in page.headers
            break
        assert 'rel="next"' in page.headers["link"]
        params["cursor"] = body["next_cursor"]
    assert seen == [ids[0], *ids[2:], ids[1]]
    unread = await inbox(client, bob, unread="true")
    assert [n["id"] for n in unread] == [ids[0], *ids[2:]]
    assert [n["id"] for n in await inbox(client, bob, unread="false")] == [ids[1]]
    web = await client.get(INBOX, headers=bob.headers, params={"project": "WEB"})
    assert web.json()["unread_count"] == 4 and len(web.json()["data"]) == 5
    assert {n["item"] for n in web.json()["data"]} == set(numbers)
    assert await inbox(client, bob, kind="mentioned") == []
    # Mark all of one project read, then the rest.
    marked = await client.post(f"{INBOX}/read-all", headers=bob.headers, params={"project": "APP"})
    assert marked.status_code == 200 and marked.json() == {"marked": 1}
    marked = await client.post(f"{INBOX}/read-all", headers=bob.headers)
    assert marked.json() == {"marked": 4}
    final = await client.get(INBOX, headers=bob.headers)
    assert final.json()["unread_count"] == 0
    assert all(n["read_at"] is not None for n in final.json()["data"])


async def test_marking_someone_elses_notification_is_a_404(
    client: httpx.AsyncClient, people: People
) -> None:
    ada, bob = people.ada, people.bob
    await create_item(client, ada, assignee_id=bob.id)
    [notice] = await inbox(client, bob)
    assert_problem(await client.post(f"{INBOX}/{notice['id']}/read", headers=ada.headers), 404)
    assert_problem(await client.post(f"{INBOX}/999999/read", headers=bob.headers), 404)
    assert (await inbox(client, bob))[0]["read_at"] is None
    assert_problem(await client.get(INBOX, headers=bob.headers, params={"kind": "nope"}), 422)
    assert_problem(await client.get(INBOX, headers=bob.headers, params={"cursor": "garbage!"}), 422)
    assert (await client.get(INBOX)).status_code == 401


async def test_someone_who_left_no_longer_reads_the_projects_notifications(
    client: httpx.AsyncClient, people: People, factory: Factory
) -> None:
    ada, bob = people.ada, people.bob
    await create_item(client, ada, title="Secret plan", assignee_id=bob.id)
    assert len(await inbox(client, bob)) == 1
    removed = await client.delete(f"{PROJECTS}/WEB/members/{bob.id}", headers=ada.headers)
    assert removed.status_code == 204, removed.text
    listed = await client.get(INBOX, headers=bob.headers)
    assert listed.json()["data"] == [] and listed.json()["unread_count"] == 0
    # Back in the project, the notice is theirs to read again.
    await factory.member("WEB", ada, bob, Role.MEMBER)
    assert [n["summary"] for n in await inbox(client, bob)] == [
        "ada assigned you WEB-1 “Secret plan”"
    ]


# --- the personal stream --------------------------------------------------------------------


async def test_each_notification_is_announced_at_commit_and_replayable(
    client: httpx.AsyncClient, people: People, database: Database, database_url: str
) -> None:
    ada, bob, cy = people.ada, people.bob, people.cy
    url = make_url(database_url)
    listener = await asyncpg.connect(
        user=url.username,
        password=url.password,
        host=url.query.get("host") or url.host,
        port=url.port,
        database=url.database,
    )
    heard: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(CHANNEL, lambda *args: heard.put_nowait(args[3]))
    try:
        number = await create_item(client, ada, assignee_id=bob.id)
        await comment(client, ada, number, "@bob @cy")
        payloads: list[str] = []
        async with asyncio.timeout(10):
            while len(payloads) < 3:
                payloads.append(await heard.get())
    finally:
        await listener.close()
    bob_ids = [n["id"] for n in reversed(await inbox(client, bob))]
    [cy_id] = [n["id"] for n in await inbox(client, cy)]
    assert sorted(payloads) == sorted(
        [f"{bob.id}:{bob_ids[0]}", f"{bob.id}:{bob_ids[1]}", f"{cy.id}:{cy_id}"]
    )
    async with database.sessions() as session:
        replay = await notifications.notifications_after(session, bob.id, 0, 10)
        rest = await notifications.notifications_after(session, bob.id, bob_ids[0], 10)
    assert [n.id for n in replay] == bob_ids
    assert [n.kind for n in replay] == ["assigned", "mentioned"]
    assert [n.id for n in rest] == bob_ids[1:]
    assert replay[0].project == "WEB" and replay[0].actor is not None
