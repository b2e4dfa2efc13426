"""Account administration (instance admins only) — over HTTP on real PostgreSQL."""

import asyncio
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db import Database
from app.domain.users.models import User
from tests.factories import PASSWORD, Actor, Factory
from tests.helpers import (
    assert_problem,
    assert_unauthorized,
    bearer,
    count_users,
    etag_version,
    login,
    login_token,
    stored_user,
)

USERS = "/api/v1/users"
ME = "/api/v1/me"
LINK_NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


def new_user(email: str = "new@example.com", **fields: Any) -> dict[str, Any]:
    """A valid body for POST /users."""
    return {"email": email, "display_name": "New Person", "password": PASSWORD, **fields}


async def active_admin_ids(database: Database) -> list[int]:
    async with database.sessions() as session:
        rows = await session.execute(
            select(col(User.id))
            .where(col(User.is_admin).is_(True), col(User.is_active).is_(True))
            .order_by(col(User.id))
        )
        # A primary key is never null; the filter only tells the type checker so.
        return [user_id for user_id in rows.scalars() if user_id is not None]


async def patch_user(
    client: httpx.AsyncClient, admin: Actor, user_id: int, body: Any, **headers: str
) -> httpx.Response:
    return await client.patch(f"{USERS}/{user_id}", headers={**admin.headers, **headers}, json=body)


async def get_user(client: httpx.AsyncClient, admin: Actor, user_id: int) -> httpx.Response:
    response = await client.get(f"{USERS}/{user_id}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return response


# --- access ---------------------------------------------------------------------------------


def _requests(target_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", USERS, None),
        ("POST", USERS, new_user()),
        ("GET", f"{USERS}/{target_id}", None),
        ("PATCH", f"{USERS}/{target_id}", {"display_name": "Hijacked"}),
        ("PATCH", f"{USERS}/{target_id}", {"is_active": False}),
    ]


async def test_anonymous_callers_are_unauthorized(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    target = await factory.user()
    before = await stored_user(database, target.id)
    for method, url, body in _requests(target.id):
        response = await client.request(method, url, json=body)
        assert_unauthorized(response)
        bad = await client.request(method, url, json=body, headers=bearer("tbx_nope"))
        assert_unauthorized(bad)
    assert await count_users(database) == 1
    assert (await stored_user(database, target.id)).model_dump() == before.model_dump()


async def test_non_admins_are_forbidden(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    await factory.user(admin=True)
    plain = await factory.user()
    target = await factory.user()
    before = await stored_user(database, target.id)
    for method, url, body in _requests(target.id):
        response = await client.request(method, url, json=body, headers=plain.headers)
        assert_problem(response, 403)
    assert await count_users(database) == 3
    assert (await stored_user(database, target.id)).model_dump() == before.model_dump()


async def test_non_admin_cannot_promote_themselves(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    await factory.user(admin=True)
    plain = await factory.user()

    get_self = await client.get(f"{USERS}/{plain.id}", headers=plain.headers)
    assert_problem(get_self, 403)
    promote = await patch_user(client, plain, plain.id, {"is_admin": True})
    assert_problem(promote, 403)

    stored = await stored_user(database, plain.id)
    assert stored.is_admin is False
    assert stored.version == 1
    me = (await client.get(ME, headers=plain.headers)).json()
    assert me["is_admin"] is False


# --- list -----------------------------------------------------------------------------------


async def test_admin_lists_every_user_by_id(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user("boss@example.com", admin=True)
    others = [await factory.user(f"member{n}@example.com") for n in range(3)]

    response = await client.get(USERS, headers=admin.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["next_cursor"] is None
    assert "Link" not in response.headers
    assert [u["id"] for u in body["data"]] == [admin.id, *(o.id for o in others)]
    assert [u["email"] for u in body["data"]] == [
        "boss@example.com",
        "member0@example.com",
        "member1@example.com",
        "member2@example.com",
    ]
    assert [u["is_admin"] for u in body["data"]] == [True, False, False, False]
    for entry in body["data"]:
        assert set(entry) == {
            "id",
            "email",
            "display_name",
            "is_admin",
            "is_active",
            "created_at",
            "version",
        }


async def test_list_users_paginates(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    ids = [admin.id] + [(await factory.user()).id for _ in range(4)]

    first = await client.get(USERS, headers=admin.headers, params={"limit": 2})
    assert first.status_code == 200, first.text
    assert [u["id"] for u in first.json()["data"]] == ids[:2]
    cursor = first.json()["next_cursor"]
    assert cursor
    match = LINK_NEXT.match(first.headers["Link"])
    assert match, first.headers["Link"]

    second = await client.get(match.group(1), headers=admin.headers)
    assert second.status_code == 200, second.text
    assert [u["id"] for u in second.json()["data"]] == ids[2:4]

    rest = await client.get(
        USERS, headers=admin.headers, params={"limit": 2, "cursor": second.json()["next_cursor"]}
    )
    assert [u["id"] for u in rest.json()["data"]] == ids[4:]
    assert rest.json()["next_cursor"] is None
    assert "Link" not in rest.headers

    via_cursor = await client.get(
        USERS, headers=admin.headers, params={"limit": 50, "cursor": cursor}
    )
    assert [u["id"] for u in via_cursor.json()["data"]] == ids[2:]


async def test_list_users_rejects_bad_paging(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    assert_problem(
        await client.get(USERS, headers=admin.headers, params={"limit": 201}), 422, "query.limit"
    )
    assert_problem(
        await client.get(USERS, headers=admin.headers, params={"cursor": "not-a-cursor"}),
        422,
        "query.cursor",
    )


# --- create ---------------------------------------------------------------------------------


async def test_admin_creates_a_user_who_can_log_in(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    response = await client.post(
        USERS, headers=admin.headers, json=new_user("New.Person@Example.com")
    )

    assert response.status_code == 201, response.text
    assert etag_version(response) == 1
    body = response.json()
    assert body["email"] == "new.person@example.com"
    assert body["display_name"] == "New Person"
    assert body["is_admin"] is False
    assert body["is_active"] is True
    assert body["version"] == 1
    assert await count_users(database) == 2

    token = await login_token(client, "new.person@example.com")
    me = await client.get(ME, headers=bearer(token))
    assert me.json()["id"] == body["id"]
    assert_problem(await client.get(USERS, headers=bearer(token)), 403)


async def test_admin_creates_another_admin(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    response = await client.post(
        USERS, headers=admin.headers, json=new_user("deputy@example.com", is_admin=True)
    )
    assert response.status_code == 201, response.text
    assert response.json()["is_admin"] is True
    token = await login_token(client, "deputy@example.com")
    assert (await client.get(USERS, headers=bearer(token))).status_code == 200


async def test_create_duplicate_email_in_another_case_is_a_conflict(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    existing = await factory.user("taken@example.com")

    response = await client.post(USERS, headers=admin.headers, json=new_user("TAKEN@example.COM"))
    assert_problem(response, 409)
    assert await count_users(database) == 2
    assert (await stored_user(database, existing.id)).display_name == "taken"


async def test_concurrent_creates_with_one_email_give_one_201_and_one_409(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    responses = await asyncio.gather(
        client.post(USERS, headers=admin.headers, json=new_user("twin@example.com")),
        client.post(USERS, headers=admin.headers, json=new_user("Twin@example.com")),
    )
    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)
    assert await count_users(database) == 2


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (new_user("nope"), {"body.email"}),
        (new_user(password="short"), {"body.password"}),
        (new_user(display_name="  "), {"body.display_name"}),
        (new_user(is_admin="maybe"), {"body.is_admin"}),
        (new_user(is_admin=1), {"body.is_admin"}),
        (new_user(is_admin="true"), {"body.is_admin"}),
        (new_user(is_active=False), {"body.is_active"}),
        (
            new_user("nope", password="x", display_name=""),
            {
                "body.email",
                "body.password",
                "body.display_name",
            },
        ),
        ({}, {"body.email", "body.password", "body.display_name"}),
    ],
    ids=[
        "bad-email",
        "short-password",
        "blank-name",
        "non-bool-admin",
        "one-as-admin",
        "string-true-as-admin",
        "unknown-field",
        "three-bad-fields",
        "empty-body",
    ],
)
async def test_create_rejects_invalid_input_and_writes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    body: dict[str, Any],
    fields: set[str],
) -> None:
    admin = await factory.user(admin=True)
    response = await client.post(USERS, headers=admin.headers, json=body)
    assert_problem(response, 422, fields=fields)
    assert await count_users(database) == 1


# --- get ------------------------------------------------------------------------------------


async def test_admin_gets_a_user_with_an_etag(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user("target@example.com")

    response = await get_user(client, admin, target.id)
    assert etag_version(response) == 1
    body = response.json()
    assert body["id"] == target.id
    assert body["email"] == "target@example.com"
    assert body["display_name"] == "target"
    assert body["is_admin"] is False
    assert body["is_active"] is True
    assert body["version"] == 1


async def test_get_unknown_user_is_not_found(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    assert_problem(await client.get(f"{USERS}/999999", headers=admin.headers), 404)
    assert_problem(
        await client.patch(
            f"{USERS}/999999", headers=admin.headers, json={"display_name": "Ghost"}
        ),
        404,
    )
    assert_problem(await client.get(f"{USERS}/abc", headers=admin.headers), 422, "path.user_id")


# --- update ---------------------------------------------------------------------------------


async def test_admin_renames_a_user(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()

    response = await patch_user(client, admin, target.id, {"display_name": "  Renamed  "})
    assert response.status_code == 200, response.text
    assert etag_version(response) == 2
    assert response.json()["display_name"] == "Renamed"
    assert response.json()["version"] == 2
    assert (await client.get(ME, headers=target.headers)).json()["display_name"] == "Renamed"

    same = await patch_user(client, admin, target.id, {"display_name": "Renamed"})
    assert same.status_code == 200
    assert etag_version(same) == 2


async def test_admin_promotes_and_demotes_a_user(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    assert_problem(await client.get(USERS, headers=target.headers), 403)

    promoted = await patch_user(client, admin, target.id, {"is_admin": True})
    assert promoted.status_code == 200, promoted.text
    assert promoted.json()["is_admin"] is True
    assert promoted.json()["version"] == 2
    assert (await client.get(USERS, headers=target.headers)).status_code == 200

    demoted = await patch_user(client, admin, target.id, {"is_admin": False})
    assert demoted.status_code == 200, demoted.text
    assert demoted.json()["is_admin"] is False
    assert demoted.json()["version"] == 3
    assert_problem(await client.get(USERS, headers=target.headers), 403)


async def test_deactivation_ends_every_token_and_login(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    bystander = await factory.user()
    login_secret = await login_token(client, target.email)
    pat = await client.post(f"{ME}/tokens", headers=target.headers, json={"name": "ci"})
    pat_secret = pat.json()["token"]
    for token in (target.token, login_secret, pat_secret):
        assert (await client.get(ME, headers=bearer(token))).status_code == 200

    response = await patch_user(client, admin, target.id, {"is_active": False})
    assert response.status_code == 200, response.text
    assert response.json()["is_active"] is False
    assert response.json()["version"] == 2

    for token in (target.token, login_secret, pat_secret):
        assert_unauthorized(await client.get(ME, headers=bearer(token)))
    refused = assert_unauthorized(await login(client, target.email))
    wrong = assert_unauthorized(await login(client, bystander.email, "wrong password"))
    assert refused["detail"] == wrong["detail"]

    # The admin still sees the account, and the bystander is unaffected.
    assert (await get_user(client, admin, target.id)).json()["is_active"] is False
    assert (await client.get(ME, headers=bystander.headers)).status_code == 200
    assert (await stored_user(database, target.id)).is_active is False


async def test_reactivation_does_not_revive_old_tokens(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    login_secret = await login_token(client, target.email)

    assert (await patch_user(client, admin, target.id, {"is_active": False})).status_code == 200
    again = await patch_user(client, admin, target.id, {"is_active": False})
    assert again.status_code == 200
    assert again.json()["version"] == 2  # no change, no new version

    reactivated = await patch_user(client, admin, target.id, {"is_active": True})
    assert reactivated.status_code == 200, reactivated.text
    assert reactivated.json()["is_active"] is True
    assert reactivated.json()["version"] == 3

    assert_unauthorized(await client.get(ME, headers=target.headers))
    assert_unauthorized(await client.get(ME, headers=bearer(login_secret)))
    fresh = await login_token(client, target.email)
    me = await client.get(ME, headers=bearer(fresh))
    assert me.status_code == 200
    assert me.json()["id"] == target.id


async def test_admin_can_deactivate_another_admin(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    other = await factory.user(admin=True)
    response = await patch_user(client, admin, other.id, {"is_active": False})
    assert response.status_code == 200, response.text
    assert_unauthorized(await client.get(USERS, headers=other.headers))
    assert await active_admin_ids(database) == [admin.id]


@pytest.mark.parametrize(
    "body",
    [{"is_active": False}, {"is_admin": False}, {"is_admin": False, "display_name": "Me"}],
    ids=["deactivate", "demote", "demote-and-rename"],
)
async def test_admin_cannot_deactivate_or_demote_themselves(
    client: httpx.AsyncClient, database: Database, factory: Factory, body: dict[str, Any]
) -> None:
    admin = await factory.user(admin=True)
    await factory.user(admin=True)  # another admin exists; the rule is about oneself
    before = await stored_user(database, admin.id)

    response = await patch_user(client, admin, admin.id, body)
    assert_problem(response, 409)

    assert (await stored_user(database, admin.id)).model_dump() == before.model_dump()
    assert (await client.get(USERS, headers=admin.headers)).status_code == 200


async def test_admin_may_rename_themselves(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    response = await patch_user(
        client, admin, admin.id, {"display_name": "Chief", "is_admin": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Chief"
    assert response.json()["is_admin"] is True
    assert response.json()["version"] == 2


async def test_two_admins_demoting_each_other_leaves_one_admin(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    first = await factory.user(admin=True)
    second = await factory.user(admin=True)

    responses = await asyncio.gather(
        patch_user(client, first, second.id, {"is_admin": False}),
        patch_user(client, second, first.id, {"is_admin": False}),
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)
    remaining = await active_admin_ids(database)
    assert len(remaining) == 1
    winner = first if responses[0].status_code == 200 else second
    assert remaining == [winner.id]
    assert (await client.get(USERS, headers=winner.headers)).status_code == 200


async def test_two_admins_deactivating_each_other_leaves_one_admin(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    first = await factory.user(admin=True)
    second = await factory.user(admin=True)

    responses = await asyncio.gather(
        patch_user(client, first, second.id, {"is_active": False}),
        patch_user(client, second, first.id, {"is_active": False}),
    )

    assert sorted(r.status_code for r in responses) == [200, 409], [r.text for r in responses]
    assert len(await active_admin_ids(database)) == 1


async def test_a_just_demoted_admin_cannot_demote_anyone(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    first = await factory.user(admin=True)
    second = await factory.user(admin=True)
    third = await factory.user(admin=True)

    responses = await asyncio.gather(
        patch_user(client, first, second.id, {"is_admin": False}),
        patch_user(client, second, first.id, {"is_admin": False}),
    )

    # Whichever demotion lands first strips the other side of the right to demote.
    assert sorted(r.status_code for r in responses) == [200, 403], [r.text for r in responses]
    winner = first if responses[0].status_code == 200 else second
    assert await active_admin_ids(database) == sorted([winner.id, third.id])


# --- update: If-Match -----------------------------------------------------------------------


async def test_patch_user_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    current = await get_user(client, admin, target.id)
    etag = current.headers["ETag"]
    assert etag_version(current) == 1

    changed = await patch_user(
        client, admin, target.id, {"display_name": "A"}, **{"If-Match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert etag_version(changed) == 2

    stale = await patch_user(client, admin, target.id, {"display_name": "B"}, **{"If-Match": etag})
    problem = assert_problem(stale, 412)
    assert "2" in problem["detail"]
    assert (await get_user(client, admin, target.id)).json()["display_name"] == "A"

    stale_deactivation = await patch_user(
        client, admin, target.id, {"is_active": False}, **{"If-Match": etag}
    )
    assert_problem(stale_deactivation, 412)
    assert (await client.get(ME, headers=target.headers)).status_code == 200

    weak = await patch_user(
        client, admin, target.id, {"display_name": "C"}, **{"If-Match": 'W/"2"'}
    )
    assert_problem(weak, 412)  # If-Match compares strongly

    star = await patch_user(client, admin, target.id, {"display_name": "D"}, **{"If-Match": "*"})
    assert star.status_code == 200, star.text
    assert etag_version(star) == 3


@pytest.mark.parametrize("if_match", ["garbage", '"abc"', "W/", '""', '"-1"'])
async def test_garbage_if_match_is_a_failed_precondition(
    client: httpx.AsyncClient, database: Database, factory: Factory, if_match: str
) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    response = await patch_user(
        client, admin, target.id, {"display_name": "Nope"}, **{"If-Match": if_match}
    )
    assert_problem(response, 412)
    stored = await stored_user(database, target.id)
    assert stored.display_name != "Nope"
    assert stored.version == 1


# --- update: invalid input ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"is_active": None}, "body.is_active"),
        ({"is_admin": None}, "body.is_admin"),
        ({"display_name": None}, "body.display_name"),
        ({"display_name": ""}, "body.display_name"),
        ({"display_name": "x" * 121}, "body.display_name"),
        ({"is_active": "sometimes"}, "body.is_active"),
        ({"is_active": 0}, "body.is_active"),
        ({"is_admin": "true"}, "body.is_admin"),
        ({"email": "new@example.com"}, "body.email"),
        ({"password": "a new password"}, "body.password"),
    ],
    ids=[
        "null-active",
        "null-admin",
        "null-name",
        "empty-name",
        "long-name",
        "non-bool-active",
        "zero-as-active",
        "string-true-as-admin",
        "email-field",
        "password-field",
    ],
)
async def test_patch_user_rejects_invalid_input_and_changes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    body: dict[str, Any],
    field: str,
) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    before = await stored_user(database, target.id)

    response = await patch_user(client, admin, target.id, body)
    assert_problem(response, 422, field)

    assert (await stored_user(database, target.id)).model_dump() == before.model_dump()
    assert (await client.get(ME, headers=target.headers)).status_code == 200


# --- update: concurrency --------------------------------------------------------------------


async def test_concurrent_patches_of_one_user_each_bump_the_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    target = await factory.user()
    bodies = [{"display_name": f"Name {n}"} for n in range(4)] + [{"is_admin": True}]

    responses = await asyncio.gather(
        *(patch_user(client, admin, target.id, body) for body in bodies)
    )

    assert [r.status_code for r in responses] == [200] * len(bodies), [r.text for r in responses]
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == list(range(2, 2 + len(bodies)))
    assert sorted(int(r.headers["ETag"].strip('"')) for r in responses) == versions
    final = (await get_user(client, admin, target.id)).json()
    assert final["version"] == 1 + len(bodies)
    assert final["is_admin"] is True
    last = next(r for r in responses if r.json()["version"] == final["version"])
    assert final["display_name"] == last.json()["display_name"]


async def test_deactivation_while_the_user_is_busy_never_fails_the_server(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    targets = [await factory.user() for _ in range(4)]

    responses = await asyncio.gather(
        *(
            request
            for target in targets
            for request in (
                patch_user(client, admin, target.id, {"is_active": False}),
                client.patch(ME, headers=target.headers, json={"display_name": "Busy"}),
            )
        )
    )

    deactivations, own_patches = responses[0::2], responses[1::2]
    assert [r.status_code for r in deactivations] == [200] * 4, [r.text for r in deactivations]
    # Each user's request either finished first or was refused; never a deadlock's 500.
    assert all(r.status_code in {200, 401} for r in own_patches), [r.text for r in own_patches]
    for target in targets:
        assert (await stored_user(database, target.id)).is_active is False
        assert_unauthorized(await client.get(ME, headers=target.headers))
