"""The caller's own account and personal access tokens — over HTTP on real PostgreSQL."""

import asyncio
import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from app.db import Database
from app.domain.kernel import clock
from app.domain.users import repository as users_repository
from app.domain.users import service as users_service
from app.domain.users.models import ApiToken
from app.domain.users.schemas import PersonalTokenCreate
from app.domain.users.security import hash_token
from tests.factories import PASSWORD, Actor, Factory
from tests.helpers import (
    assert_problem,
    assert_unauthorized,
    bearer,
    etag_version,
    login,
    login_token,
    pause_after,
    rendezvous,
    set_expires_at,
    stored_user,
)

ME = "/api/v1/me"
TOKENS = "/api/v1/me/tokens"
NEW_PASSWORD = "a much better passphrase"
LINK_NEXT = re.compile(r'^<([^>]+)>; rel="next"$')


async def get_me(client: httpx.AsyncClient, headers: dict[str, str]) -> httpx.Response:
    response = await client.get(ME, headers=headers)
    assert response.status_code == 200, response.text
    return response


async def patch_me(
    client: httpx.AsyncClient, headers: dict[str, str], body: Any, **extra: str
) -> httpx.Response:
    return await client.patch(ME, headers={**headers, **extra}, json=body)


async def create_token(
    client: httpx.AsyncClient, actor: Actor, name: str = "script", **fields: Any
) -> dict[str, Any]:
    response = await client.post(TOKENS, headers=actor.headers, json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def list_all_token_ids(client: httpx.AsyncClient, actor: Actor) -> list[int]:
    response = await client.get(TOKENS, headers=actor.headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return [token["id"] for token in response.json()["data"]]


# --- GET /me --------------------------------------------------------------------------------


async def test_get_me_returns_the_account_with_an_etag(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user("ada@example.com")
    await factory.user("someone.else@example.com")

    response = await get_me(client, user.headers)
    assert etag_version(response) == 1
    body = response.json()
    assert body["id"] == user.id
    assert body["email"] == "ada@example.com"
    assert body["display_name"] == "ada"
    assert body["is_admin"] is False
    assert body["is_active"] is True
    assert body["version"] == 1
    assert "password_hash" not in body and "password" not in body


async def test_get_me_needs_a_token(client: httpx.AsyncClient, database: Database) -> None:
    assert_unauthorized(await client.get(ME))
    assert_unauthorized(await client.patch(ME, json={"display_name": "X"}))
    assert_unauthorized(await client.get(TOKENS))
    assert_unauthorized(await client.post(TOKENS, json={"name": "x"}))
    assert_unauthorized(await client.delete(f"{TOKENS}/1"))


# --- PATCH /me: display name ----------------------------------------------------------------


async def test_patch_display_name_bumps_the_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    response = await patch_me(client, user.headers, {"display_name": "  Ada Lovelace  "})

    assert response.status_code == 200, response.text
    assert etag_version(response) == 2
    assert response.json()["display_name"] == "Ada Lovelace"
    assert response.json()["version"] == 2
    fetched = await get_me(client, user.headers)
    assert etag_version(fetched) == 2
    assert fetched.json() == response.json()


@pytest.mark.parametrize("body", [{}, {"display_name": "same"}], ids=["empty", "same-name"])
async def test_patch_without_a_real_change_keeps_the_version(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any]
) -> None:
    user = await factory.user("same@example.com")  # display name "same"
    before = (await get_me(client, user.headers)).json()

    response = await patch_me(client, user.headers, body)
    assert response.status_code == 200, response.text
    assert etag_version(response) == 1
    assert response.json() == before
    assert (await get_me(client, user.headers)).json()["version"] == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": None}, "body.display_name"),
        ({"password": None}, "body.password"),
        ({"password": None, "current_password": PASSWORD}, "body.password"),
        ({"display_name": ""}, "body.display_name"),
        ({"display_name": "   "}, "body.display_name"),
        ({"display_name": "x" * 121}, "body.display_name"),
        ({"password": "short", "current_password": PASSWORD}, "body.password"),
        ({"email": "new@example.com"}, "body.email"),
        ({"is_admin": True}, "body.is_admin"),
    ],
    ids=[
        "null-name",
        "null-password",
        "null-password-with-current",
        "empty-name",
        "blank-name",
        "long-name",
        "short-password",
        "email-not-changeable",
        "cannot-self-promote",
    ],
)
async def test_patch_me_rejects_invalid_input_and_changes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    body: dict[str, Any],
    field: str,
) -> None:
    user = await factory.user()
    before = await stored_user(database, user.id)

    response = await patch_me(client, user.headers, body)
    assert_problem(response, 422, field)

    after = await stored_user(database, user.id)
    assert after.model_dump() == before.model_dump()
    assert (await login(client, user.email)).status_code == 200


async def test_concurrent_patches_of_me_each_bump_the_version(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    names = [f"Name {n}" for n in range(5)]
    responses = await asyncio.gather(
        *(patch_me(client, user.headers, {"display_name": name}) for name in names)
    )
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
    versions = sorted(r.json()["version"] for r in responses)
    assert versions == [2, 3, 4, 5, 6]
    final = (await get_me(client, user.headers)).json()
    assert final["version"] == 6
    last = next(r for r in responses if r.json()["version"] == 6)
    assert final["display_name"] == last.json()["display_name"]


# --- PATCH /me: If-Match --------------------------------------------------------------------


async def test_patch_me_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    user = await factory.user()
    etag = (await get_me(client, user.headers)).headers["ETag"]

    changed = await patch_me(client, user.headers, {"display_name": "First"}, **{"If-Match": etag})
    assert changed.status_code == 200, changed.text
    new_etag = changed.headers["ETag"]
    assert new_etag == '"2"'

    stale = await patch_me(client, user.headers, {"display_name": "Second"}, **{"If-Match": etag})
    assert_problem(stale, 412)
    assert (await get_me(client, user.headers)).json()["display_name"] == "First"

    current = await patch_me(
        client, user.headers, {"display_name": "Second"}, **{"If-Match": new_etag}
    )
    assert current.status_code == 200, current.text
    assert etag_version(current) == 3
    assert current.json()["display_name"] == "Second"


async def test_stale_if_match_blocks_a_password_change(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    await patch_me(client, user.headers, {"display_name": "Renamed"})
    stale = await patch_me(
        client,
        user.headers,
        {"password": NEW_PASSWORD, "current_password": PASSWORD},
        **{"If-Match": '"1"'},
    )
    assert_problem(stale, 412)
    assert (await login(client, user.email)).status_code == 200
    assert_unauthorized(await login(client, user.email, NEW_PASSWORD))


# --- PATCH /me: password --------------------------------------------------------------------


@pytest.mark.parametrize(
    "current",
    [{"current_password": "not my password"}, {}, {"current_password": ""}],
    ids=["wrong", "missing", "empty"],
)
async def test_password_change_needs_the_current_password(
    client: httpx.AsyncClient, database: Database, factory: Factory, current: dict[str, str]
) -> None:
    user = await factory.user()
    other_login = await login_token(client, user.email)
    before = await stored_user(database, user.id)

    response = await patch_me(
        client, user.headers, {"password": NEW_PASSWORD, "display_name": "Changed", **current}
    )
    assert_problem(response, 422, "body.current_password")

    after = await stored_user(database, user.id)
    assert after.model_dump() == before.model_dump()
    assert (await login(client, user.email)).status_code == 200
    assert_unauthorized(await login(client, user.email, NEW_PASSWORD))
    assert (await client.get(ME, headers=bearer(other_login))).status_code == 200


async def test_password_change_ends_other_logins_but_keeps_this_one_and_pats(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    bystander = await factory.user()
    bystander_login = await login_token(client, bystander.email)
    used = await login_token(client, user.email)
    other = await login_token(client, user.email)
    pat = (await create_token(client, user, "ci"))["token"]

    response = await patch_me(
        client, bearer(used), {"password": NEW_PASSWORD, "current_password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["version"] == 2
    assert etag_version(response) == 2

    assert_unauthorized(await client.get(ME, headers=bearer(other)))
    assert (await client.get(ME, headers=bearer(used))).status_code == 200
    assert (await client.get(ME, headers=bearer(pat))).status_code == 200
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    # Another user's login is untouched.
    assert (await client.get(ME, headers=bearer(bystander_login))).status_code == 200

    old = await login(client, user.email)
    assert_unauthorized(old)
    assert (await login(client, user.email, NEW_PASSWORD)).status_code == 200


async def test_password_change_with_a_pat_ends_every_login(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    logins = [await login_token(client, user.email) for _ in range(2)]

    response = await patch_me(
        client, user.headers, {"password": NEW_PASSWORD, "current_password": PASSWORD}
    )
    assert response.status_code == 200, response.text

    for token in logins:
        assert_unauthorized(await client.get(ME, headers=bearer(token)))
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    fresh = await login_token(client, user.email, NEW_PASSWORD)
    assert (await client.get(ME, headers=bearer(fresh))).status_code == 200


async def test_name_and_password_in_one_patch_bump_the_version_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    response = await patch_me(
        client,
        user.headers,
        {"display_name": "Both", "password": NEW_PASSWORD, "current_password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    assert response.json()["display_name"] == "Both"
    assert response.json()["version"] == 2
    assert etag_version(response) == 2
    assert (await login(client, user.email, NEW_PASSWORD)).status_code == 200


# --- personal access tokens: create ---------------------------------------------------------


async def test_create_personal_token_shows_the_secret_once(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    response = await client.post(TOKENS, headers=user.headers, json={"name": "deploy script"})

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "expires_at",
        "last_used_at",
        "token",
    }
    assert body["name"] == "deploy script"
    assert body["expires_at"] is None
    assert body["last_used_at"] is None
    secret = body["token"]
    assert isinstance(secret, str) and len(secret) >= 32
    assert len(body["prefix"]) >= 4 and len(body["prefix"]) < len(secret)
    assert secret.startswith(body["prefix"])

    me = await client.get(ME, headers=bearer(secret))
    assert me.status_code == 200
    assert me.json()["id"] == user.id

    listed = await client.get(TOKENS, headers=user.headers)
    entry = next(item for item in listed.json()["data"] if item["id"] == body["id"])
    assert "token" not in entry
    assert entry["prefix"] == body["prefix"]
    assert entry["last_used_at"] is not None
    assert secret not in listed.text


async def test_create_personal_token_with_an_expiry(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    before = clock.now()
    body = await create_token(client, user, "monthly", expires_in_days=30)
    after = clock.now()
    expires_at = datetime.fromisoformat(body["expires_at"])
    month = timedelta(days=30)
    assert before + month - timedelta(seconds=1) <= expires_at <= after + month
    assert (await client.get(ME, headers=bearer(body["token"]))).status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "expires_in_days": 0}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": 3651}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": -1}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": "soon"}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": True}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": "30"}, "body.expires_in_days"),
        ({"name": "x", "expires_in_days": 30.0}, "body.expires_in_days"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 101}, "body.name"),
        ({}, "body.name"),
        ({"name": "x", "token": "tbx_mine"}, "body.token"),
    ],
    ids=[
        "zero-days",
        "3651-days",
        "negative-days",
        "string-days",
        "boolean-days",
        "numeric-string-days",
        "float-days",
        "empty-name",
        "long-name",
        "missing-name",
        "chosen-secret",
    ],
)
async def test_create_personal_token_rejects_invalid_input(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    user = await factory.user()
    before = await list_all_token_ids(client, user)
    response = await client.post(TOKENS, headers=user.headers, json=body)
    assert_problem(response, 422, field)
    assert await list_all_token_ids(client, user) == before


async def test_expires_in_days_bounds_are_accepted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    for days in (1, 3650):
        body = await create_token(client, user, f"{days}d", expires_in_days=days)
        assert body["expires_at"] is not None


# --- personal access tokens: list -----------------------------------------------------------


async def test_list_tokens_pages_with_cursor_and_link_header(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()  # holds one token named "tests"
    other = await factory.user()
    await create_token(client, other, "not mine")
    created = [await create_token(client, user, f"t{n}") for n in range(3)]
    every = await list_all_token_ids(client, user)
    assert len(every) == 4
    assert every == sorted(every)
    assert [c["id"] for c in created] == every[1:]

    first = await client.get(TOKENS, headers=user.headers, params={"limit": 1})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [item["id"] for item in page["data"]] == every[:1]
    assert all("token" not in item for item in page["data"])
    assert page["next_cursor"]
    match = LINK_NEXT.match(first.headers["Link"])
    assert match, first.headers["Link"]
    next_url = match.group(1)
    assert f"cursor={page['next_cursor']}" in next_url
    assert "limit=1" in next_url

    # Follow the Link header to the end.
    via_link: list[int] = [item["id"] for item in page["data"]]
    url: str | None = next_url
    pages = 1
    while url:
        response = await client.get(url, headers=user.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["data"]) == 1
        via_link += [item["id"] for item in body["data"]]
        pages += 1
        link = response.headers.get("Link")
        if body["next_cursor"] is None:
            assert link is None
            url = None
        else:
            link_match = LINK_NEXT.match(link or "")
            assert link_match, link
            url = link_match.group(1)
        assert pages <= 10
    assert via_link == every

    # Follow next_cursor with a larger page: the rest in one go, nothing repeated.
    rest = await client.get(
        TOKENS, headers=user.headers, params={"limit": 50, "cursor": page["next_cursor"]}
    )
    assert rest.status_code == 200
    assert [item["id"] for item in rest.json()["data"]] == every[1:]
    assert rest.json()["next_cursor"] is None
    assert "Link" not in rest.headers


async def test_list_tokens_with_a_malformed_cursor_is_invalid_input(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    response = await client.get(TOKENS, headers=user.headers, params={"cursor": "%%%"})
    assert_problem(response, 422, "query.cursor")
    response = await client.get(TOKENS, headers=user.headers, params={"limit": 0})
    assert_problem(response, 422, "query.limit")


async def test_login_tokens_are_not_listed_as_personal_tokens(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    token = await login_token(client, user.email)
    response = await client.get(TOKENS, headers=bearer(token))
    assert [item["name"] for item in response.json()["data"]] == ["tests"]


async def test_expired_personal_token_is_not_listed_and_is_unauthorized(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    expiring = await create_token(client, user, "expiring", expires_in_days=1)
    kept = await create_token(client, user, "kept")
    assert (await client.get(ME, headers=bearer(expiring["token"]))).status_code == 200

    await set_expires_at(database, expiring["token"], clock.now() - timedelta(seconds=1))

    assert_unauthorized(await client.get(ME, headers=bearer(expiring["token"])))
    ids = await list_all_token_ids(client, user)
    assert expiring["id"] not in ids
    assert kept["id"] in ids
    assert (await client.get(ME, headers=bearer(kept["token"]))).status_code == 200


# --- personal access tokens: revoke ---------------------------------------------------------


async def test_revoke_personal_token(client: httpx.AsyncClient, factory: Factory) -> None:
    user = await factory.user()
    doomed = await create_token(client, user, "doomed")
    kept = await create_token(client, user, "kept")

    response = await client.delete(f"{TOKENS}/{doomed['id']}", headers=user.headers)
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert_unauthorized(await client.get(ME, headers=bearer(doomed["token"])))
    ids = await list_all_token_ids(client, user)
    assert doomed["id"] not in ids
    assert kept["id"] in ids
    assert (await client.get(ME, headers=bearer(kept["token"]))).status_code == 200

    again = await client.delete(f"{TOKENS}/{doomed['id']}", headers=user.headers)
    assert_problem(again, 404)


async def test_a_personal_token_can_revoke_itself(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    token = await create_token(client, user, "self")
    response = await client.delete(f"{TOKENS}/{token['id']}", headers=bearer(token["token"]))
    assert response.status_code == 204, response.text
    assert_unauthorized(await client.get(ME, headers=bearer(token["token"])))
    assert (await client.get(ME, headers=user.headers)).status_code == 200


async def test_revoke_unknown_token_is_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    response = await client.delete(f"{TOKENS}/999999", headers=user.headers)
    assert_problem(response, 404)
    assert len(await list_all_token_ids(client, user)) == 1


async def test_revoke_another_users_token_is_not_found(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    victim = await factory.user()
    target = await create_token(client, victim, "victim's")

    response = await client.delete(f"{TOKENS}/{target['id']}", headers=user.headers)
    assert_problem(response, 404)

    assert (await client.get(ME, headers=bearer(target["token"]))).status_code == 200
    assert target["id"] in await list_all_token_ids(client, victim)


async def test_revoke_a_login_token_by_id_is_not_found(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    token = await login_token(client, user.email)
    async with database.sessions() as session:
        token_id = (
            await session.execute(
                select(col(ApiToken.id)).where(col(ApiToken.token_hash) == hash_token(token))
            )
        ).scalar_one()

    response = await client.delete(f"{TOKENS}/{token_id}", headers=user.headers)
    assert_problem(response, 404)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200


async def test_password_change_racing_another_login_never_fails_the_server(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    users = [await factory.user() for _ in range(4)]
    changers = [await login_token(client, user.email) for user in users]
    others = [await login_token(client, user.email) for user in users]
    change = {"password": NEW_PASSWORD, "current_password": PASSWORD}

    responses = await asyncio.gather(
        *(
            request
            for changer, other in zip(changers, others, strict=True)
            for request in (
                patch_me(client, bearer(changer), change),
                patch_me(client, bearer(other), {"display_name": "Racing"}),
            )
        )
    )

    changes, renames = responses[0::2], responses[1::2]
    assert [r.status_code for r in changes] == [200] * 4, [r.text for r in changes]
    # The other login either finished first or was already revoked; never a deadlock's 500.
    assert all(r.status_code in {200, 401} for r in renames), [r.text for r in renames]
    for changer, other in zip(changers, others, strict=True):
        assert_unauthorized(await client.get(ME, headers=bearer(other)))
        assert (await client.get(ME, headers=bearer(changer))).status_code == 200


# --- personal access tokens: at most 50 live ones -------------------------------------------


async def add_personal_tokens(database: Database, actor: Actor, count: int) -> None:
    """Give `actor` `count` more personal access tokens, straight through the service."""
    async with database.sessions() as session, session.begin():
        user = await users_repository.get_user(session, actor.id)
        assert user is not None
        for n in range(count):
            await users_service.create_personal_token(
                session, user, PersonalTokenCreate(name=f"bulk {n}")
            )


async def test_an_account_holds_at_most_50_live_personal_tokens(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    assert users_service.MAX_PERSONAL_TOKENS == 50  # docs/api.md, "Limits"
    user = await factory.user()  # holds one token already
    await add_personal_tokens(database, user, 48)
    last = await create_token(client, user, "the fiftieth")

    refused = await client.post(TOKENS, headers=user.headers, json={"name": "one too many"})
    problem = assert_problem(refused, 409)
    assert "50 live personal access tokens" in problem["detail"]
    assert "DELETE /api/v1/me/tokens" in problem["detail"]
    assert len(await list_all_token_ids(client, user)) == 50
    # Another account has room of its own.
    await create_token(client, await factory.user(), "someone else's")

    revoked = await client.delete(f"{TOKENS}/{last['id']}", headers=user.headers)
    assert revoked.status_code == 204, revoked.text
    await create_token(client, user, "room again")


async def test_expired_personal_tokens_do_not_count_against_the_limit(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    await add_personal_tokens(database, user, 48)
    expiring = await create_token(client, user, "expiring", expires_in_days=1)
    assert_problem(await client.post(TOKENS, headers=user.headers, json={"name": "x"}), 409)

    await set_expires_at(database, expiring["token"], clock.now() - timedelta(seconds=1))
    await create_token(client, user, "in its place")


async def test_concurrent_token_creations_cannot_pass_the_limit_together(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await factory.user()
    await add_personal_tokens(database, user, 47)  # 48 live: room for two more
    # All four requests are authenticated together, and each holds a moment after counting, so
    # without the user row's lock every one would count 48 and insert.
    rendezvous(monkeypatch, users_repository, "user_for_token", parties=4)
    pause_after(monkeypatch, users_repository, "count_live_personal_tokens")

    responses = await asyncio.gather(
        *(client.post(TOKENS, headers=user.headers, json={"name": f"racer {n}"}) for n in range(4))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 201, 409, 409], [response.text for response in responses]
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409)
    assert len(await list_all_token_ids(client, user)) == 50


# --- DELETE /me/tokens: revoke them all -----------------------------------------------------


async def test_revoke_all_tokens_from_a_login_keeps_only_that_login(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()  # its "tests" token is a personal access token
    bystander = await factory.user()
    bystander_login = await login_token(client, bystander.email)
    pats = [(await create_token(client, user, f"script {n}"))["token"] for n in range(2)]
    expired = await create_token(client, user, "expired", expires_in_days=1)
    await set_expires_at(database, expired["token"], clock.now() - timedelta(seconds=1))
    current = await login_token(client, user.email)
    other_login = await login_token(client, user.email)

    response = await client.delete(TOKENS, headers=bearer(current))

    assert response.status_code == 200, response.text
    # Three personal access tokens and one other login stopped working; the expired one had.
    assert response.json() == {"revoked": 4}
    for token in [user.token, *pats, other_login]:
        assert_unauthorized(await client.get(ME, headers=bearer(token)))
    assert (await client.get(ME, headers=bearer(current))).status_code == 200
    assert await list_all_token_ids(client, Actor(user.id, user.email, current)) == []
    assert (await client.get(ME, headers=bystander.headers)).status_code == 200
    assert (await client.get(ME, headers=bearer(bystander_login))).status_code == 200
    # The password still works: a new login, and new tokens, as before.
    fresh = await login_token(client, user.email)
    assert (await client.get(ME, headers=bearer(fresh))).status_code == 200


async def test_revoke_all_tokens_with_a_personal_token_revokes_that_one_too(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    other = await create_token(client, user, "other")
    logins = [await login_token(client, user.email) for _ in range(2)]

    response = await client.delete(TOKENS, headers=user.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 4}
    for token in [user.token, other["token"], *logins]:
        assert_unauthorized(await client.get(ME, headers=bearer(token)))

    # Nothing left to revoke: a new login finds only itself, and keeps it.
    fresh = await login_token(client, user.email)
    again = await client.delete(TOKENS, headers=bearer(fresh))
    assert again.status_code == 200, again.text
    assert again.json() == {"revoked": 0}
    assert (await client.get(ME, headers=bearer(fresh))).status_code == 200


async def test_revoke_all_tokens_needs_a_token(client: httpx.AsyncClient, factory: Factory) -> None:
    user = await factory.user()
    assert_unauthorized(await client.delete(TOKENS))
    assert (await client.get(ME, headers=user.headers)).status_code == 200


async def test_revoke_all_tokens_makes_room_under_the_limit(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    await add_personal_tokens(database, user, 49)
    current = await login_token(client, user.email)
    assert_problem(await client.post(TOKENS, headers=bearer(current), json={"name": "x"}), 409)

    response = await client.delete(TOKENS, headers=bearer(current))
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 50}
    created = await client.post(TOKENS, headers=bearer(current), json={"name": "fresh start"})
    assert created.status_code == 201, created.text


async def test_password_change_keeps_personal_tokens_until_they_are_revoked(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    current = await login_token(client, user.email)
    change = {"password": NEW_PASSWORD, "current_password": PASSWORD}
    assert (await patch_me(client, bearer(current), change)).status_code == 200
    # Scripts keep working after a password change (docs/api.md) ...
    assert (await client.get(ME, headers=user.headers)).status_code == 200

    # ... until their owner revokes them all.
    response = await client.delete(TOKENS, headers=bearer(current))
    assert response.status_code == 200, response.text
    assert response.json() == {"revoked": 1}
    assert_unauthorized(await client.get(ME, headers=user.headers))
