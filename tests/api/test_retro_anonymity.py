"""An anonymous retro never reveals who wrote a card: not in any GET route of the API, for any
role, nor in an error message or a log line.

Member A ("Zed Quillfeather") writes cards carrying unique markers through a whole anonymous
retro, edits one and deletes one. Then every GET route of the app (found by walking
`app.routes`, so routes added later are covered too) is called as the owner, an instance admin
who is in the project, A, another member and a viewer, and each answer is checked.
"""

import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import text
from starlette.routing import BaseRoute

from app.db import Database
from app.domain.projects.models import Role
from app.main import create_app
from app.settings import Settings
from tests.factories import Actor, Factory
from tests.helpers import assert_problem

BASE = "/api/v1/projects/WEB"
NAME = "Zed Quillfeather"
EMAIL = "zed.quillfeather@example.com"
# A's user id: far from every other id the world has, so any integer equal to it is A's id.
A_ID = 900_001
MARKER = "QX7-MARKER"

# Path parameters the world fills with something that names nothing of its own (a 404 is
# still an answer to check): the world has none of these.
PLACEHOLDERS = {
    "round_number": "1",  # no planning-poker round: poker carries no retro data
    "session_id": "1",  # no estimation session
    "blocker_id": "1",  # no stand-up blocker
    "phase": "planning",  # gate sign-offs carry no retro data
    "signoff_id": "1",  # no sign-off
}
# Routes the walk cannot call meaningfully, with the reason. Any other route whose path
# parameters the walk cannot fill fails the test, so a new route is never skipped silently.
UNFILLABLE: dict[str, str] = {
    # Streams never end: what they carry is the activity feed's events (walked here) and the
    # caller's notifications (`/me/notifications`, walked here).
    "/api/v1/projects/{key}/events": "an endless stream of the events /activity lists",
    "/api/v1/me/events": "an endless stream of the notifications /me/notifications lists",
}


def _get_routes(routes: list[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute) and "GET" in (route.methods or ()):
            yield route
        nested = getattr(route, "original_router", None) or getattr(route, "routes", None)
        if nested is not None:
            yield from _get_routes(list(getattr(nested, "routes", nested)))


def _ints(value: Any) -> Iterator[int]:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _ints(item)
    elif isinstance(value, list):
        for item in value:
            yield from _ints(item)


def _mentions_cards(value: Any, card_ids: set[int]) -> bool:
    """Whether a JSON value holds one of the cards: a card object, or a reference to one."""
    if isinstance(value, dict):
        if value.get("id") in card_ids and "text" in value:
            return True
        if value.get("card_id") in card_ids:
            return True
        if set(value.get("card_ids") or []) & card_ids:
            return True
        return any(_mentions_cards(item, card_ids) for item in value.values())
    if isinstance(value, list):
        return any(_mentions_cards(item, card_ids) for item in value)
    return False


def _reveals_a(body: str) -> list[str]:
    """What in a text names A."""
    found = [word for word in (NAME, EMAIL, "Quillfeather") if word.lower() in body.lower()]
    if re.search(rf"(?<![0-9]){A_ID}(?![0-9])", body):
        found.append("A's id")
    return found


async def _card(client: httpx.AsyncClient, actor: Actor, text_: str, column: str) -> int:
    response = await client.post(
        f"{BASE}/retros/1/cards", headers=actor.headers, json={"column": column, "text": text_}
    )
    assert response.status_code == 201, response.text
    assert response.json()["author"] is None and response.json()["mine"] is True
    card_id: int = response.json()["id"]
    return card_id


async def _move(client: httpx.AsyncClient, owner: Actor, phase: str) -> None:
    response = await client.post(
        f"{BASE}/retros/1/phase", headers=owner.headers, json={"phase": phase}
    )
    assert response.status_code == 200, response.text


async def test_an_anonymous_retro_never_reveals_an_author(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    owner = await factory.user("owner@example.com")
    await factory.project(owner, "WEB")
    # A webhook from the start, so its deliveries cover everything the world does.
    hook = await client.post(
        f"{BASE}/webhooks", headers=owner.headers, json={"url": "http://127.0.0.1:9/hook"}
    )
    assert hook.status_code == 201, hook.text
    admin = await factory.user("admin@example.com", admin=True)
    await factory.member("WEB", owner, admin, Role.MEMBER)
    async with database.engine.begin() as connection:
        await connection.execute(text(f"ALTER TABLE users ALTER COLUMN id RESTART WITH {A_ID}"))
    a = await factory.user(EMAIL)
    assert a.id == A_ID
    await factory.member("WEB", owner, a, Role.MEMBER)
    renamed = await client.patch("/api/v1/me", headers=a.headers, json={"display_name": NAME})
    assert renamed.status_code == 200, renamed.text
    other = await factory.user("bea@example.com")
    await factory.member("WEB", owner, other, Role.MEMBER)
    viewer = await factory.user("vic@example.com")
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    item = await factory.item("WEB", owner, title="Checkout", points=3)
    sprint = await factory.sprint("WEB", owner, items=[item], start=True)
    # Every kind of project resource exists, so each route below reads a real one.
    release = await factory.release("WEB", owner)
    risk = await factory.risk("WEB", owner, items=[item], sprints=[sprint], releases=[release])
    worklog = await factory.worklog("WEB", owner, item)
    await factory.comment("WEB", a, item, "A's ordinary comment")
    invited = await client.post(
        f"{BASE}/members",
        headers=owner.headers,
        json={"email": "new@example.com", "role": "viewer"},
    )
    assert invited.status_code == 202, invited.text
    created = await client.post(
        f"{BASE}/sprints/{sprint}/retro", headers=owner.headers, json={"anonymous": True}
    )
    assert created.status_code == 201, created.text

    # Collecting: A writes three cards, edits one, deletes one; the others write theirs.
    mine = [await _card(client, a, f"{MARKER}-{n}", "Start") for n in (1, 2, 3)]
    edited = await client.patch(
        f"{BASE}/retros/1/cards/{mine[0]}", headers=a.headers, json={"text": f"{MARKER}-1-edited"}
    )
    assert edited.status_code == 200 and edited.json()["author"] is None
    deleted = await client.delete(f"{BASE}/retros/1/cards/{mine[2]}", headers=a.headers)
    assert deleted.status_code == 204
    theirs = await _card(client, other, "Bea's card", "Stop")
    owners = await _card(client, owner, "The owner's card", "Continue")
    # Changing someone else's card: refused, naming nobody, either way round.
    for actor, card, victim in ((a, theirs, other), (other, mine[0], a), (owner, mine[1], a)):
        refused = await client.patch(
            f"{BASE}/retros/1/cards/{card}", headers=actor.headers, json={"text": "hijack"}
        )
        body = assert_problem(refused, 403)
        assert not _reveals_a(refused.text)
        assert victim.email not in refused.text and str(victim.id) not in body["detail"]
        gone = await client.delete(f"{BASE}/retros/1/cards/{card}", headers=actor.headers)
        assert_problem(gone, 403)
        assert not _reveals_a(gone.text)

    # Grouping, voting, discussing (with an action item), closed.
    await _move(client, owner, "grouping")
    grouped = await client.post(
        f"{BASE}/retros/1/groups",
        headers=a.headers,
        json={"name": "Reviews", "card_ids": [mine[0], theirs]},
    )
    assert grouped.status_code == 201, grouped.text
    assert not _reveals_a(grouped.text)
    await _move(client, owner, "voting")
    for actor, target in (
        (a, {"group_id": grouped.json()["id"]}),
        (a, {"card_id": mine[1]}),
        (other, {"card_id": mine[1]}),
        (owner, {"card_id": owners}),
    ):
        vote = await client.post(f"{BASE}/retros/1/votes", headers=actor.headers, json=target)
        assert vote.status_code == 201, vote.text
        assert not _reveals_a(vote.text)
    await _move(client, owner, "discussing")
    action = await client.post(
        f"{BASE}/retros/1/actions",
        headers=owner.headers,
        json={"title": "Review within a day", "owner_id": other.id},
    )
    assert action.status_code == 201, action.text
    await _move(client, owner, "closed")

    card_ids = set(mine[:2]) | {mine[2]}
    markers = (f"{MARKER}-1-edited", f"{MARKER}-2", MARKER)
    fills = {
        "key": "WEB",
        "user_id": str(A_ID),
        "status_id": str(
            (await client.get(f"{BASE}/statuses", headers=owner.headers)).json()["data"][0]["id"]
        ),
        "invitation_id": str(invited.json()["id"]),
        "comment_id": "1",
        "webhook_id": str(hook.json()["id"]),
        "worklog_id": str(worklog),
        "date": "2026-12-01",
        **PLACEHOLDERS,
    }
    numbers = {
        "items": item,
        "sprints": sprint,
        "retros": 1,
        "actions": 1,
        "releases": release,
        "risks": risk,
    }
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    paths = sorted({route.path for route in _get_routes(app.routes)})
    unfilled: list[str] = []
    calls: list[tuple[str, dict[str, str]]] = []
    for path in paths:
        if path in UNFILLABLE:
            continue
        url = path
        for name in re.findall(r"\{([a-z_]+)\}", path):
            if name == "number":
                parent = path.split("/{number}")[0].rsplit("/", 1)[1]
                if parent not in numbers:
                    unfilled.append(path)
                    break
                url = url.replace("{number}", str(numbers[parent]), 1)
            elif name in fills:
                url = url.replace("{" + name + "}", fills[name])
            else:
                unfilled.append(path)
                break
        else:
            calls.append((url, {}))
            if url.endswith("/export"):
                calls.append((url, {"format": "json"}))
    assert not unfilled, f"fill these routes' parameters or list them in UNFILLABLE: {unfilled}"
    assert any("/retros/1" in url for url, _ in calls)

    actors = {"owner": owner, "admin": admin, "A": a, "other": other, "viewer": viewer}
    seen_markers = False
    for url, params in calls:
        for name, actor in actors.items():
            response = await client.get(url, headers=actor.headers, params=params)
            answer = response.text
            where = (name, url, params, response.status_code)
            has_marker = any(marker in answer for marker in markers)
            if url == f"{BASE}/export":
                # The owner's archive of the whole project holds the cards' texts and, as
                # members, everyone: what it must not hold is who wrote an anonymous card.
                if response.status_code == 200:
                    cards_in_archive = json.loads(answer)["tables"]["retro_cards"]
                    assert cards_in_archive and all(
                        card["author_id"] is None for card in cards_in_archive
                    ), where
                continue
            if has_marker:
                seen_markers = True
                assert "/retro" in url, where  # card texts live in retro routes only
            document: Any = None
            if response.headers.get("content-type", "").startswith(
                ("application/json", "application/problem+json")
            ):
                document = json.loads(answer)
            holds_cards = has_marker or (
                document is not None and _mentions_cards(document, card_ids)
            )
            if holds_cards:
                assert not _reveals_a(answer), (where, _reveals_a(answer))
                if document is not None:
                    assert A_ID not in set(_ints(document)), where
    assert seen_markers, "no route showed A's cards: is the walk broken?"

    # The board shows A their own cards as `mine`, never with an author.
    board = await client.get(f"{BASE}/retros/1", headers=a.headers)
    cards = [card for column in board.json()["board"] for card in column["cards"]]
    assert {card["id"] for card in cards if card["mine"]} == set(mine[:2])
    assert all(card["author"] is None for card in cards)
    for record in caplog.records:
        line = record.getMessage() + " " + json.dumps(record.__dict__, default=str)
        assert NAME.lower() not in line.lower() and EMAIL not in line, line
        if re.search(rf"(?<![0-9]){A_ID}(?![0-9])", line):
            assert not any(marker in line for marker in markers), line
            assert not any(f"/cards/{card}" in line for card in card_ids), line
