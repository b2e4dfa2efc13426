"""Comments on items: add, list, edit, delete, roles, If-Match, markdown kept verbatim — over
HTTP on real PostgreSQL."""

from collections.abc import Sequence
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from app.db import Database
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import all_pages, assert_problem, etag_version

ITEMS = "/api/v1/projects/WEB/items"


def comments_url(number: int, comment_id: int | None = None) -> str:
    url = f"{ITEMS}/{number}/comments"
    return url if comment_id is None else f"{url}/{comment_id}"


async def comments(client: httpx.AsyncClient, actor: Actor, number: int) -> list[dict[str, Any]]:
    """Every comment of an item, oldest first (all pages)."""
    return await all_pages(client, actor, comments_url(number))


async def add(
    client: httpx.AsyncClient, actor: Actor, number: int, body: str, **headers: str
) -> httpx.Response:
    return await client.post(
        comments_url(number), headers={**actor.headers, **headers}, json={"body": body}
    )


async def team(factory: Factory) -> tuple[Actor, Actor, Actor, Actor, int]:
    """Owner, two members, a viewer of WEB, and one item's number."""
    owner, ada, viewer, _ = await factory.team()
    bob = await factory.user()
    await factory.member("WEB", owner, bob, Role.MEMBER)
    number = await factory.item("WEB", owner, title="Discuss me")
    return owner, ada, bob, viewer, number


# --- add and list ----------------------------------------------------------------------------


async def test_members_add_comments_and_everyone_in_the_project_reads_them(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, ada, bob, viewer, number = await team(factory)

    response = await add(client, ada, number, "First!")

    assert response.status_code == 201, response.text
    assert etag_version(response) == 1
    created = response.json()
    assert created["body"] == "First!"
    assert created["author"] == {"id": ada.id, "display_name": ada.email.split("@")[0]}
    assert created["version"] == 1
    assert created["created_at"] == created["updated_at"]
    assert isinstance(created["id"], int)

    second = await add(client, owner, number, "Second")
    assert second.status_code == 201, second.text
    for reader in (owner, ada, bob, viewer):
        listed = await comments(client, reader, number)
        assert [c["body"] for c in listed] == ["First!", "Second"]
        assert listed[0] == created


async def test_comments_are_listed_oldest_first_in_pages(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, ada, bob, viewer, number = await team(factory)
    other = await factory.item("WEB", owner, title="Elsewhere")
    for n in range(5):
        await factory.comment("WEB", ada if n % 2 else bob, number, f"comment {n}")
        await factory.comment("WEB", owner, other, f"other {n}")

    pages: list[list[str]] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        response = await client.get(comments_url(number), headers=viewer.headers, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([c["body"] for c in body["data"]])
        if body["next_cursor"] is None:
            assert "Link" not in response.headers
            break
        assert body["next_cursor"] in response.headers["Link"]
        assert response.headers["Link"].endswith('; rel="next"')
        params["cursor"] = body["next_cursor"]
    assert pages == [["comment 0", "comment 1"], ["comment 2", "comment 3"], ["comment 4"]]
    assert_problem(
        await client.get(comments_url(number), headers=viewer.headers, params={"limit": 0}),
        422,
        "query.limit",
    )


async def test_an_item_without_comments_has_an_empty_list(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, _, _, viewer, number = await team(factory)
    response = await client.get(comments_url(number), headers=viewer.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"data": [], "next_cursor": None}


# --- markdown --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "**bold** and _em_ and `code`",
        "<script>alert('x')</script> & <b>not html</b>",
        "    indented code block\n\nthen text\n",
        "- one\n- two\n\n```python\nprint('hi')\n```\n",
        "  leading and trailing spaces  ",
        "Ünïcödé ✓ 日本語 🚀",
        "a\r\nwindows line\r\n",
    ],
    ids=["inline", "html", "indented-code", "fence", "spaces", "unicode", "crlf"],
)
async def test_markdown_is_kept_verbatim(
    client: httpx.AsyncClient, factory: Factory, body: str
) -> None:
    _, ada, _, _, number = await team(factory)
    response = await add(client, ada, number, body)
    assert response.status_code == 201, response.text
    assert response.json()["body"] == body
    assert [c["body"] for c in await comments(client, ada, number)] == [body]
    edited = await client.patch(
        comments_url(number, response.json()["id"]),
        headers=ada.headers,
        json={"body": body + "\n\n> quoted"},
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["body"] == body + "\n\n> quoted"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "body.body"),
        ({"body": ""}, "body.body"),
        ({"body": "   \n\t "}, "body.body"),
        ({"body": None}, "body.body"),
        ({"body": 42}, "body.body"),
        ({"body": "x" * (64 * 1024 + 1)}, "body.body"),
        ({"body": "ok", "pinned": True}, "body.pinned"),
    ],
    ids=["missing", "empty", "blank", "null", "number", "too-long", "unknown-field"],
)
async def test_bad_comment_bodies_are_rejected(
    client: httpx.AsyncClient, factory: Factory, payload: dict[str, Any], field: str
) -> None:
    _, ada, _, _, number = await team(factory)
    response = await client.post(comments_url(number), headers=ada.headers, json=payload)
    assert_problem(response, 422, field)
    existing = (await add(client, ada, number, "fine")).json()
    edit = await client.patch(
        comments_url(number, existing["id"]), headers=ada.headers, json=payload
    )
    assert_problem(edit, 422, field)
    assert [c["body"] for c in await comments(client, ada, number)] == ["fine"]


# --- edit ------------------------------------------------------------------------------------


async def test_authors_edit_their_own_comments(client: httpx.AsyncClient, factory: Factory) -> None:
    _, ada, _, _, number = await team(factory)
    created = (await add(client, ada, number, "Draft")).json()
    url = comments_url(number, created["id"])

    response = await client.patch(url, headers=ada.headers, json={"body": "Final"})

    assert response.status_code == 200, response.text
    assert etag_version(response) == 2
    edited = response.json()
    assert edited["body"] == "Final"
    assert edited["version"] == 2
    assert edited["created_at"] == created["created_at"]
    assert edited["updated_at"] > created["updated_at"]
    assert edited["author"] == created["author"]
    assert await comments(client, ada, number) == [edited]

    # The same text again changes nothing.
    same = await client.patch(url, headers=ada.headers, json={"body": "Final"})
    assert same.status_code == 200, same.text
    assert same.json() == edited


@pytest.mark.parametrize("editor", ["owner", "bob"])
async def test_nobody_else_edits_a_comment(
    client: httpx.AsyncClient, factory: Factory, editor: str
) -> None:
    owner, ada, bob, _, number = await team(factory)
    created = (await add(client, ada, number, "Mine")).json()
    actor = {"owner": owner, "bob": bob}[editor]
    response = await client.patch(
        comments_url(number, created["id"]), headers=actor.headers, json={"body": "Hijacked"}
    )
    assert_problem(response, 403)
    assert await comments(client, ada, number) == [created]


async def test_comment_writes_honour_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    _, ada, _, _, number = await team(factory)
    created = await add(client, ada, number, "v1")
    url = comments_url(number, created.json()["id"])
    etag = created.headers["ETag"]

    stale = await client.patch(url, headers={**ada.headers, "If-Match": '"3"'}, json={"body": "v2"})
    assert_problem(stale, 412)
    fresh = await client.patch(url, headers={**ada.headers, "If-Match": etag}, json={"body": "v2"})
    assert fresh.status_code == 200, fresh.text
    assert etag_version(fresh) == 2
    again = await client.patch(url, headers={**ada.headers, "If-Match": etag}, json={"body": "v3"})
    assert_problem(again, 412)

    assert_problem(await client.delete(url, headers={**ada.headers, "If-Match": etag}), 412)
    assert [c["body"] for c in await comments(client, ada, number)] == ["v2"]
    deleted = await client.delete(url, headers={**ada.headers, "If-Match": '"2"'})
    assert deleted.status_code == 204, deleted.text
    assert await comments(client, ada, number) == []


# --- delete ----------------------------------------------------------------------------------


async def test_authors_delete_their_own_comments(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, ada, bob, _, number = await team(factory)
    mine = (await add(client, ada, number, "oops")).json()
    theirs = (await add(client, bob, number, "stays")).json()
    response = await client.delete(comments_url(number, mine["id"]), headers=ada.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""
    assert await comments(client, bob, number) == [theirs]
    again = await client.delete(comments_url(number, mine["id"]), headers=ada.headers)
    assert_problem(again, 404)


async def test_owners_delete_any_comment_members_only_their_own(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, ada, bob, viewer, number = await team(factory)
    first = (await add(client, ada, number, "one")).json()
    second = (await add(client, ada, number, "two")).json()

    assert_problem(await client.delete(comments_url(number, first["id"]), headers=bob.headers), 403)
    assert_problem(
        await client.delete(comments_url(number, first["id"]), headers=viewer.headers), 403
    )
    assert [c["id"] for c in await comments(client, owner, number)] == [first["id"], second["id"]]

    response = await client.delete(comments_url(number, first["id"]), headers=owner.headers)
    assert response.status_code == 204, response.text
    assert await comments(client, owner, number) == [second]


# --- who may comment at all ------------------------------------------------------------------


async def test_viewers_and_strangers_cannot_comment(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, _, _, viewer, number = await team(factory)
    stranger = await factory.user()
    existing = (await add(client, owner, number, "hello")).json()
    url = comments_url(number, existing["id"])

    assert_problem(await add(client, viewer, number, "me too"), 403)
    assert_problem(await client.patch(url, headers=viewer.headers, json={"body": "x"}), 403)
    assert_problem(await add(client, stranger, number, "hi"), 404)
    assert_problem(await client.get(comments_url(number), headers=stranger.headers), 404)
    assert_problem(await client.patch(url, headers=stranger.headers, json={"body": "x"}), 404)
    assert_problem(await client.delete(url, headers=stranger.headers), 404)
    assert_problem(await client.get(comments_url(number)), 401)
    assert_problem(await client.post(comments_url(number), json={"body": "anon"}), 401)
    assert await comments(client, owner, number) == [existing]


async def test_unknown_items_and_comments_are_404(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, ada, _, _, number = await team(factory)
    other = await factory.item("WEB", owner, title="Other")
    existing = (await add(client, ada, number, "here")).json()

    assert_problem(await add(client, ada, 999, "nowhere"), 404)
    assert_problem(await client.get(comments_url(999), headers=ada.headers), 404)
    assert_problem(
        await client.patch(comments_url(number, 999999), headers=ada.headers, json={"body": "x"}),
        404,
    )
    assert_problem(await client.delete(comments_url(number, 999999), headers=ada.headers), 404)
    # A comment is only reachable through its own item.
    wrong_item = comments_url(other, existing["id"])
    assert_problem(await client.patch(wrong_item, headers=ada.headers, json={"body": "x"}), 404)
    assert_problem(await client.delete(wrong_item, headers=ada.headers), 404)
    # Nor through another project's item with the same number.
    await factory.project(owner, "OPS")
    await factory.member("OPS", owner, ada, Role.MEMBER)
    await factory.item("OPS", owner)
    ops_url = f"/api/v1/projects/OPS/items/{number}/comments/{existing['id']}"
    assert_problem(await client.delete(ops_url, headers=ada.headers), 404)
    assert await comments(client, ada, number) == [existing]


# --- comments and their item -----------------------------------------------------------------


async def test_comments_do_not_touch_the_item_or_its_history(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, ada, _, _, number = await team(factory)
    before = (await client.get(f"{ITEMS}/{number}", headers=ada.headers)).json()
    created = (await add(client, ada, number, "note")).json()
    await client.patch(comments_url(number, created["id"]), headers=ada.headers, json={"body": "n"})
    await client.delete(comments_url(number, created["id"]), headers=ada.headers)
    after = (await client.get(f"{ITEMS}/{number}", headers=ada.headers)).json()
    assert after == before
    history = (await client.get(f"{ITEMS}/{number}/history", headers=ada.headers)).json()
    assert [e["kind"] for e in history["data"]] == ["created"]


async def test_deleting_an_item_deletes_its_comments(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, ada, _, _, number = await team(factory)
    keep = await factory.item("WEB", owner, title="Keep")
    for n in range(3):
        await factory.comment("WEB", ada, number, f"bye {n}")
    kept = await factory.comment("WEB", ada, keep, "stays")
    response = await client.delete(f"{ITEMS}/{number}", headers=owner.headers)
    assert response.status_code == 204, response.text
    assert_problem(await client.get(comments_url(number), headers=ada.headers), 404)
    async with database.engine.connect() as connection:
        remaining: Sequence[int] = (
            (await connection.execute(text("SELECT id FROM comments"))).scalars().all()
        )
    assert list(remaining) == [kept]


async def test_a_retried_comment_with_the_same_idempotency_key_is_added_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    _, ada, _, _, number = await team(factory)
    first = await add(client, ada, number, "once", **{"Idempotency-Key": "comment-1"})
    retry = await add(client, ada, number, "once", **{"Idempotency-Key": "comment-1"})
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert [c["body"] for c in await comments(client, ada, number)] == ["once"]
