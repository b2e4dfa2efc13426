"""Project members API: add, list, read, change role, remove — over HTTP on real PostgreSQL."""

import asyncio
from typing import Any

import httpx
import pytest

from app.domain.kernel.pagination import encode_cursor
from app.domain.projects import repository as projects_repository
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, etag_version, rendezvous

PROJECTS = "/api/v1/projects"
PROBLEM = "application/problem+json"


def members_url(key: str = "WEB", user_id: int | None = None) -> str:
    base = f"{PROJECTS}/{key}/members"
    return base if user_id is None else f"{base}/{user_id}"


async def roles(client: httpx.AsyncClient, actor: Actor, key: str = "WEB") -> dict[int, str]:
    """Every member's role, by user id, as `actor` sees them."""
    response = await client.get(members_url(key), headers=actor.headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return {member["user_id"]: member["role"] for member in response.json()["data"]}


@pytest.fixture
async def owner(factory: Factory) -> Actor:
    """The owner of project WEB."""
    actor = await factory.user()
    await factory.project(actor, "WEB")
    return actor


# --- add ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "member", "owner"])
async def test_owner_adds_member_by_user_id(
    client: httpx.AsyncClient, factory: Factory, owner: Actor, role: str
) -> None:
    newcomer = await factory.user("Newcomer@Example.com")
    await factory.acquaint(owner, newcomer)
    response = await client.post(
        members_url(), headers=owner.headers, json={"user_id": newcomer.id, "role": role}
    )
    assert response.status_code == 201, response.text
    assert etag_version(response) == 1
    body = response.json()
    assert body["user_id"] == newcomer.id
    assert body["email"] == "newcomer@example.com"
    assert body["display_name"] == "Newcomer"
    assert body["role"] == role
    assert body["version"] == 1
    assert body["created_at"]

    assert await roles(client, owner) == {owner.id: "owner", newcomer.id: role}
    project = await client.get(f"{PROJECTS}/WEB", headers=newcomer.headers)
    assert project.status_code == 200
    assert project.json()["role"] == role


async def test_role_defaults_to_member(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    newcomer = await factory.user()
    await factory.acquaint(owner, newcomer)
    response = await client.post(
        members_url(), headers=owner.headers, json={"user_id": newcomer.id}
    )
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "member"


@pytest.mark.parametrize("spelling", ["ann@example.com", "ANN@EXAMPLE.COM", "Ann@Example.Com"])
async def test_adding_by_email_invites_the_lower_cased_address(
    client: httpx.AsyncClient, factory: Factory, owner: Actor, spelling: str
) -> None:
    ann = await factory.user("ann@example.com")
    response = await client.post(
        members_url(), headers=owner.headers, json={"email": spelling, "role": "viewer"}
    )
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["email"] == "ann@example.com"
    assert body["role"] == "viewer"
    assert body["state"] == "pending"
    assert response.headers["Location"] == f"{PROJECTS}/WEB/invitations/{body['id']}"
    # An invitation, not a membership: Ann joins when she accepts.
    assert await roles(client, owner) == {owner.id: "owner"}
    mine = await client.get("/api/v1/me/invitations", headers=ann.headers)
    assert [invitation["id"] for invitation in mine.json()["data"]] == [body["id"]]


async def test_adding_an_unknown_user_id_is_422_naming_the_field(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    response = await client.post(members_url(), headers=owner.headers, json={"user_id": 987654})
    assert_problem(response, 422, "body.user_id")
    assert await roles(client, owner) == {owner.id: "owner"}


async def test_adding_an_unknown_email_invites_instead_of_revealing_it(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    # The probe's reproduction: this answered 422 "No active user matches", so any owner could
    # tell which addresses have accounts.
    response = await client.post(
        members_url(), headers=owner.headers, json={"email": "ghost@example.com"}
    )
    assert response.status_code == 202, response.text
    assert response.json()["email"] == "ghost@example.com"
    assert response.json()["role"] == "member"
    assert "No active user" not in response.text
    assert await roles(client, owner) == {owner.id: "owner"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"role": "member"}, "body"),
        ({}, "body"),
        ({"user_id": None, "email": None}, "body"),
        ({"user_id": "me"}, "body.user_id"),
        ({"email": "not-an-email"}, "body.email"),
        ({"user_id": 1, "role": "admin"}, "body.role"),
        ({"user_id": 1, "nickname": "x"}, "body.nickname"),
    ],
    ids=["neither", "empty", "both-null", "user-id-string", "bad-email", "bad-role", "extra"],
)
async def test_add_rejects_invalid_bodies(
    client: httpx.AsyncClient,
    owner: Actor,
    body: dict[str, Any],
    field: str,
) -> None:
    response = await client.post(members_url(), headers=owner.headers, json=body)
    assert_problem(response, 422, field)
    assert await roles(client, owner) == {owner.id: "owner"}


async def test_add_rejects_both_user_id_and_email(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    newcomer = await factory.user()
    response = await client.post(
        members_url(),
        headers=owner.headers,
        json={"user_id": newcomer.id, "email": newcomer.email},
    )
    assert_problem(response, 422, "body")
    assert await roles(client, owner) == {owner.id: "owner"}


async def test_adding_an_existing_member_is_409(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    viewer = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)

    by_id = await client.post(
        members_url(), headers=owner.headers, json={"user_id": viewer.id, "role": "owner"}
    )
    assert_problem(by_id, 409)
    # By email it is an invitation like any other: the address is not looked up.
    by_email = await client.post(
        members_url(), headers=owner.headers, json={"email": viewer.email.upper()}
    )
    assert by_email.status_code == 202, by_email.text
    myself = await client.post(members_url(), headers=owner.headers, json={"user_id": owner.id})
    assert_problem(myself, 409)
    # The existing role is not overwritten.
    assert await roles(client, owner) == {owner.id: "owner", viewer.id: "viewer"}


# --- list and get ---------------------------------------------------------------------------


async def test_list_members_ordered_by_user_id_with_pagination(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    first = await factory.user()
    second = await factory.user()
    third = await factory.user()
    # The owner has the highest id, so the list order is not simply insertion order.
    owner = await factory.user()
    await factory.project(owner, "WEB")
    await factory.member("WEB", owner, third, Role.MEMBER)
    await factory.member("WEB", owner, first, Role.VIEWER)
    await factory.member("WEB", owner, second, Role.OWNER)
    expected = sorted([first.id, second.id, third.id, owner.id])

    everything = await client.get(members_url(), headers=first.headers)
    assert everything.status_code == 200, everything.text
    assert [m["user_id"] for m in everything.json()["data"]] == expected
    assert everything.json()["next_cursor"] is None
    assert "Link" not in everything.headers

    seen: list[int] = []
    url: str | None = members_url() + "?limit=1"
    pages = 0
    while url is not None:
        page = await client.get(url, headers=third.headers)
        assert page.status_code == 200, page.text
        data = page.json()["data"]
        assert len(data) == 1
        seen.extend(member["user_id"] for member in data)
        pages += 1
        cursor = page.json()["next_cursor"]
        if cursor is None:
            assert "Link" not in page.headers
            url = None
        else:
            link = page.headers["Link"]
            assert link.endswith('>; rel="next"')
            url = link[link.index("<") + 1 : link.index(">")]
            assert f"cursor={cursor}" in url
    assert seen == expected
    assert pages == 4

    two = await client.get(members_url(), headers=owner.headers, params={"limit": 3})
    assert [m["user_id"] for m in two.json()["data"]] == expected[:3]
    rest = await client.get(
        members_url(),
        headers=owner.headers,
        params={"limit": 3, "cursor": two.json()["next_cursor"]},
    )
    assert [m["user_id"] for m in rest.json()["data"]] == expected[3:]
    assert rest.json()["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    ["garbage!", encode_cursor([]), encode_cursor(["abc"]), encode_cursor([10**30])],
    ids=["garbage", "empty", "string-for-int", "overflow"],
)
async def test_list_members_rejects_bad_cursor(
    client: httpx.AsyncClient, owner: Actor, cursor: str
) -> None:
    response = await client.get(members_url(), headers=owner.headers, params={"cursor": cursor})
    assert_problem(response, 422, "query.cursor")


@pytest.mark.parametrize("limit", [0, 201])
async def test_list_members_rejects_bad_limit(
    client: httpx.AsyncClient, owner: Actor, limit: int
) -> None:
    response = await client.get(members_url(), headers=owner.headers, params={"limit": limit})
    assert_problem(response, 422, "query.limit")


async def test_get_member(client: httpx.AsyncClient, factory: Factory, owner: Actor) -> None:
    viewer = await factory.user("viv@example.com")
    await factory.member("WEB", owner, viewer, Role.VIEWER)

    response = await client.get(members_url(user_id=owner.id), headers=viewer.headers)
    assert response.status_code == 200, response.text
    assert etag_version(response) == 1
    assert response.json()["user_id"] == owner.id
    assert response.json()["role"] == "owner"
    assert response.json()["email"] == owner.email

    me = await client.get(members_url(user_id=viewer.id), headers=viewer.headers)
    assert me.json()["role"] == "viewer"
    assert me.json()["email"] == "viv@example.com"
    assert me.json()["display_name"] == "viv"

    stranger = await factory.user()
    missing = await client.get(members_url(user_id=stranger.id), headers=owner.headers)
    assert_problem(missing, 404)
    not_an_id = await client.get(members_url() + "/abc", headers=owner.headers)
    assert_problem(not_an_id, 422, "path.user_id")


# --- change role ----------------------------------------------------------------------------


async def test_owner_changes_a_role(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.VIEWER)

    response = await client.patch(
        members_url(user_id=dev.id), headers=owner.headers, json={"role": "member"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "member"
    assert response.json()["version"] == 2
    assert etag_version(response) == 2

    fetched = await client.get(members_url(user_id=dev.id), headers=dev.headers)
    assert fetched.json()["role"] == "member"
    assert etag_version(fetched) == 2
    project = await client.get(f"{PROJECTS}/WEB", headers=dev.headers)
    assert project.json()["role"] == "member"

    promoted = await client.patch(
        members_url(user_id=dev.id), headers=owner.headers, json={"role": "owner"}
    )
    assert promoted.status_code == 200, promoted.text
    # The new owner can now change settings.
    patch = await client.patch(f"{PROJECTS}/WEB", headers=dev.headers, json={"name": "Ours"})
    assert patch.status_code == 200, patch.text


@pytest.mark.parametrize(
    "body", [{}, {"role": "admin"}, {"role": None}, {"role": "member", "x": 1}]
)
async def test_change_role_rejects_invalid_body(
    client: httpx.AsyncClient, factory: Factory, owner: Actor, body: dict[str, Any]
) -> None:
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.VIEWER)
    response = await client.patch(members_url(user_id=dev.id), headers=owner.headers, json=body)
    problem = assert_problem(response, 422)
    assert all(error["field"].startswith("body") for error in problem["errors"])
    assert await roles(client, owner) == {owner.id: "owner", dev.id: "viewer"}


async def test_change_role_of_non_member_is_404(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    stranger = await factory.user()
    response = await client.patch(
        members_url(user_id=stranger.id), headers=owner.headers, json={"role": "member"}
    )
    assert_problem(response, 404)
    removal = await client.delete(members_url(user_id=stranger.id), headers=owner.headers)
    assert_problem(removal, 404)
    assert await roles(client, owner) == {owner.id: "owner"}


async def test_member_patch_with_stale_if_match_is_412(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.VIEWER)
    url = members_url(user_id=dev.id)

    first = await client.patch(
        url, headers={**owner.headers, "If-Match": '"1"'}, json={"role": "member"}
    )
    assert first.status_code == 200, first.text
    assert etag_version(first) == 2

    stale = await client.patch(
        url, headers={**owner.headers, "If-Match": '"1"'}, json={"role": "owner"}
    )
    assert_problem(stale, 412)
    assert (await roles(client, owner))[dev.id] == "member"

    stale_delete = await client.delete(url, headers={**owner.headers, "If-Match": '"1"'})
    assert_problem(stale_delete, 412)
    assert dev.id in await roles(client, owner)

    current = await client.patch(
        url, headers={**owner.headers, "If-Match": '"2"'}, json={"role": "viewer"}
    )
    assert current.status_code == 200, current.text
    assert etag_version(current) == 3
    assert (await roles(client, owner))[dev.id] == "viewer"


# --- permissions ----------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_non_owner_cannot_manage_members(
    client: httpx.AsyncClient, factory: Factory, owner: Actor, role: Role
) -> None:
    someone = await factory.user()
    colleague = await factory.user()
    outsider = await factory.user()
    await factory.member("WEB", owner, someone, role)
    await factory.member("WEB", owner, colleague, Role.VIEWER)
    before = await roles(client, owner)

    add = await client.post(
        members_url(), headers=someone.headers, json={"user_id": outsider.id, "role": "owner"}
    )
    assert_problem(add, 403)
    promote_self = await client.patch(
        members_url(user_id=someone.id), headers=someone.headers, json={"role": "owner"}
    )
    assert_problem(promote_self, 403)
    change = await client.patch(
        members_url(user_id=colleague.id), headers=someone.headers, json={"role": "member"}
    )
    assert_problem(change, 403)
    remove_owner = await client.delete(members_url(user_id=owner.id), headers=someone.headers)
    assert_problem(remove_owner, 403)
    remove_colleague = await client.delete(
        members_url(user_id=colleague.id), headers=someone.headers
    )
    assert_problem(remove_colleague, 403)

    # Reading is allowed for every role.
    listing = await client.get(members_url(), headers=someone.headers)
    assert listing.status_code == 200
    assert (await client.get(members_url(user_id=owner.id), headers=someone.headers)).is_success
    assert await roles(client, owner) == before


async def test_outsider_gets_404_on_every_members_route(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    outsider = await factory.user()
    viewer = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    before = await roles(client, owner)

    for key in ("WEB", "NOPE"):
        responses = [
            await client.get(members_url(key), headers=outsider.headers),
            await client.post(
                members_url(key), headers=outsider.headers, json={"user_id": outsider.id}
            ),
            await client.get(members_url(key, owner.id), headers=outsider.headers),
            await client.patch(
                members_url(key, viewer.id), headers=outsider.headers, json={"role": "owner"}
            ),
            await client.delete(members_url(key, viewer.id), headers=outsider.headers),
            # Even with a broken body the answer must not reveal the project.
            await client.post(members_url(key), headers=outsider.headers, json={"bogus": 1}),
        ]
        details = [assert_problem(response, 404)["detail"] for response in responses]
        assert len(set(details)) == 1
    assert await roles(client, owner) == before


async def test_unauthenticated_members_routes_are_401(
    client: httpx.AsyncClient, owner: Actor
) -> None:
    response = await client.get(members_url())
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"


# --- last owner -----------------------------------------------------------------------------


async def test_last_owner_cannot_be_removed_or_demoted(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    me = members_url(user_id=owner.id)

    for role in ("member", "viewer"):
        demote = await client.patch(me, headers=owner.headers, json={"role": role})
        assert_problem(demote, 409)
    remove = await client.delete(me, headers=owner.headers)
    assert_problem(remove, 409)
    assert await roles(client, owner) == {owner.id: "owner", dev.id: "member"}
    member = await client.get(me, headers=owner.headers)
    assert etag_version(member) == 1

    # "Changing" the sole owner to owner is a no-op, not a conflict.
    same = await client.patch(me, headers=owner.headers, json={"role": "owner"})
    assert same.status_code == 200, same.text
    assert same.json()["role"] == "owner"


async def test_owner_can_step_down_once_a_second_owner_exists(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    second = await factory.user()
    await factory.member("WEB", owner, second, Role.MEMBER)
    promote = await client.patch(
        members_url(user_id=second.id), headers=owner.headers, json={"role": "owner"}
    )
    assert promote.status_code == 200, promote.text

    demote = await client.patch(
        members_url(user_id=owner.id), headers=owner.headers, json={"role": "viewer"}
    )
    assert demote.status_code == 200, demote.text
    assert demote.json()["role"] == "viewer"
    assert await roles(client, second) == {owner.id: "viewer", second.id: "owner"}

    # Now `second` is the last owner.
    assert_problem(await client.delete(members_url(user_id=second.id), headers=second.headers), 409)
    # And the former owner lost the owner's rights.
    forbidden = await client.patch(f"{PROJECTS}/WEB", headers=owner.headers, json={"name": "X"})
    assert_problem(forbidden, 403)


async def test_an_owner_can_be_removed_once_a_second_owner_exists(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    second = await factory.user()
    await factory.member("WEB", owner, second, Role.OWNER)

    removed = await client.delete(members_url(user_id=owner.id), headers=second.headers)
    assert removed.status_code == 204, removed.text
    assert removed.content == b""
    assert await roles(client, second) == {second.id: "owner"}
    assert_problem(await client.delete(members_url(user_id=second.id), headers=second.headers), 409)


async def test_removing_a_member_makes_the_project_404_for_them(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    dev = await factory.user()
    await factory.member("WEB", owner, dev, Role.MEMBER)
    assert (await client.get(f"{PROJECTS}/WEB", headers=dev.headers)).status_code == 200

    removed = await client.delete(members_url(user_id=dev.id), headers=owner.headers)
    assert removed.status_code == 204, removed.text

    assert_problem(await client.get(f"{PROJECTS}/WEB", headers=dev.headers), 404)
    assert_problem(await client.get(members_url(), headers=dev.headers), 404)
    listing = await client.get(PROJECTS, headers=dev.headers)
    assert listing.json()["data"] == []
    assert await roles(client, owner) == {owner.id: "owner"}
    assert_problem(await client.get(members_url(user_id=dev.id), headers=owner.headers), 404)

    # They can be added back by id while the owner still shares another project with them.
    await factory.acquaint(owner, dev)
    again = await client.post(
        members_url(), headers=owner.headers, json={"user_id": dev.id, "role": "viewer"}
    )
    assert again.status_code == 201, again.text
    assert (await client.get(f"{PROJECTS}/WEB", headers=dev.headers)).json()["role"] == "viewer"


async def test_a_member_can_be_removed_and_leaves_others_untouched(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    keep = await factory.user()
    leave = await factory.user()
    await factory.member("WEB", owner, keep, Role.VIEWER)
    await factory.member("WEB", owner, leave, Role.MEMBER)
    await factory.project(owner, "API")
    await factory.member("API", owner, leave, Role.MEMBER)

    removed = await client.delete(members_url(user_id=leave.id), headers=owner.headers)
    assert removed.status_code == 204
    assert await roles(client, owner) == {owner.id: "owner", keep.id: "viewer"}
    # Membership in another project is unaffected.
    assert await roles(client, owner, "API") == {owner.id: "owner", leave.id: "member"}


# --- concurrency ----------------------------------------------------------------------------


async def two_owners(factory: Factory, monkeypatch: pytest.MonkeyPatch) -> tuple[Actor, Actor]:
    """Alice and Bob, both owners of WEB; their next two requests read their roles together.

    Each request then passes its role check as an owner before either writes, and the two meet
    at the owner lock, which must let exactly one through. Without the rendezvous the first
    request may finish before the second starts, which then fails its role check instead.
    """
    alice = await factory.owner()
    bob = await factory.user()
    await factory.member("WEB", alice, bob, Role.OWNER)
    rendezvous(monkeypatch, projects_repository, "project_with_role")
    return alice, bob


async def test_concurrent_demotion_of_two_owners_keeps_one(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await two_owners(factory, monkeypatch)

    # Each owner demotes the other at the same moment.
    responses = await asyncio.gather(
        client.patch(members_url(user_id=bob.id), headers=alice.headers, json={"role": "member"}),
        client.patch(members_url(user_id=alice.id), headers=bob.headers, json={"role": "member"}),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200, 409], [r.text for r in responses]
    loser = next(r for r in responses if r.status_code == 409)
    assert_problem(loser, 409)

    final = await roles(client, alice)
    assert list(final.values()).count("owner") == 1
    assert sorted(final.values()) == ["member", "owner"]


async def test_concurrent_removal_of_two_owners_keeps_one(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    alice, bob = await two_owners(factory, monkeypatch)

    # Each owner removes the other at the same moment.
    responses = await asyncio.gather(
        client.delete(members_url(user_id=bob.id), headers=alice.headers),
        client.delete(members_url(user_id=alice.id), headers=bob.headers),
    )
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [204, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)

    survivor = alice if responses[0].status_code == 204 else bob
    assert await roles(client, survivor) == {survivor.id: "owner"}


async def test_removing_a_member_unassigns_their_items_with_history(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    dev = await factory.user()
    await factory.project(owner, "WEB")
    await factory.member("WEB", owner, dev, Role.MEMBER)
    number = await factory.item("WEB", owner, assignee_id=dev.id)
    other = await factory.item("WEB", owner, assignee_id=owner.id)

    removed = await client.delete(f"/api/v1/projects/WEB/members/{dev.id}", headers=owner.headers)

    assert removed.status_code == 204
    item = (await client.get(f"/api/v1/projects/WEB/items/{number}", headers=owner.headers)).json()
    assert item["assignee"] is None
    history = (
        await client.get(f"/api/v1/projects/WEB/items/{number}/history", headers=owner.headers)
    ).json()["data"]
    assert history[-1]["field"] == "assignee"
    assert (history[-1]["old_value"], history[-1]["new_value"]) == (dev.id, None)
    kept = (await client.get(f"/api/v1/projects/WEB/items/{other}", headers=owner.headers)).json()
    assert kept["assignee"]["id"] == owner.id


async def test_adding_by_id_takes_only_people_the_owner_shares_a_project_with(
    client: httpx.AsyncClient, factory: Factory, owner: Actor
) -> None:
    """Found in review: counting up user ids returned every account's email."""
    stranger = await factory.user("stranger@example.com")
    strange = await client.post(
        members_url(), headers=owner.headers, json={"user_id": stranger.id, "role": "viewer"}
    )
    nobody = await client.post(
        members_url(), headers=owner.headers, json={"user_id": 999_999, "role": "viewer"}
    )
    assert assert_problem(strange, 422, "body.user_id") == {
        **assert_problem(nobody, 422, "body.user_id"),
    }
    assert "stranger@example.com" not in strange.text
    await factory.acquaint(owner, stranger)
    known = await client.post(
        members_url(), headers=owner.headers, json={"user_id": stranger.id, "role": "viewer"}
    )
    assert known.status_code == 201, known.text
