"""Registration, login tokens and logout — over HTTP on real PostgreSQL."""

import asyncio
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from app.db import Database
from app.domain.kernel import clock
from app.domain.users import repository as users_repository
from app.domain.users.models import ApiToken, User
from app.domain.users.security import hash_token
from app.main import create_app
from app.settings import Settings
from tests.contract import checked_client
from tests.factories import PASSWORD, Factory
from tests.helpers import (
    assert_problem,
    assert_unauthorized,
    bearer,
    count_users,
    login,
    login_token,
    set_expires_at,
)

REGISTER = "/api/v1/auth/register"
TOKEN = "/api/v1/auth/token"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"
USERS = "/api/v1/users"


def registration(email: str = "ada@example.com", **fields: Any) -> dict[str, Any]:
    """A valid registration body."""
    return {"email": email, "display_name": "Ada Lovelace", "password": PASSWORD, **fields}


async def count_tokens(database: Database) -> int:
    async with database.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(ApiToken))).scalar_one())


async def admins(database: Database) -> list[str]:
    """Emails of every admin account."""
    async with database.sessions() as session:
        rows = await session.execute(
            select(col(User.email)).where(col(User.is_admin).is_(True)).order_by(col(User.id))
        )
        return list(rows.scalars())


# --- register -------------------------------------------------------------------------------


async def test_register_creates_an_account_with_a_lower_cased_email(
    client: httpx.AsyncClient, database: Database
) -> None:
    response = await client.post(REGISTER, json=registration("Ada.Lovelace@Example.COM"))

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["email"] == "ada.lovelace@example.com"
    assert body["display_name"] == "Ada Lovelace"
    assert body["is_active"] is True
    assert body["version"] == 1
    assert isinstance(body["id"], int)
    assert body["created_at"]
    assert "password" not in body and "password_hash" not in body
    assert await count_users(database) == 1

    # The new account can log in, with the email in any case.
    token = await login_token(client, "ADA.LOVELACE@example.com")
    me = await client.get(ME, headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["id"] == body["id"]


async def test_first_registered_user_becomes_admin_and_the_second_does_not(
    client: httpx.AsyncClient, database: Database
) -> None:
    first = await client.post(REGISTER, json=registration("first@example.com"))
    second = await client.post(REGISTER, json=registration("second@example.com"))

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert first.json()["is_admin"] is True
    assert second.json()["is_admin"] is False
    assert await admins(database) == ["first@example.com"]

    # The first account really holds admin rights; the second does not.
    first_token = await login_token(client, "first@example.com")
    second_token = await login_token(client, "second@example.com")
    assert (await client.get(USERS, headers=bearer(first_token))).status_code == 200
    assert_problem(await client.get(USERS, headers=bearer(second_token)), 403)


async def test_registration_is_not_admin_when_accounts_already_exist(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    await factory.user()
    response = await client.post(REGISTER, json=registration())
    assert response.status_code == 201, response.text
    assert response.json()["is_admin"] is False


async def test_concurrent_first_registrations_make_exactly_one_admin(
    client: httpx.AsyncClient, database: Database
) -> None:
    responses = await asyncio.gather(
        *(client.post(REGISTER, json=registration(f"racer{n}@example.com")) for n in range(4))
    )

    assert [r.status_code for r in responses] == [201] * 4, [r.text for r in responses]
    assert sum(r.json()["is_admin"] for r in responses) == 1
    assert len(await admins(database)) == 1
    assert await count_users(database) == 4


async def test_duplicate_email_in_another_case_is_a_conflict(
    client: httpx.AsyncClient, database: Database
) -> None:
    first = await client.post(REGISTER, json=registration("ada@example.com"))
    assert first.status_code == 201, first.text

    again = await client.post(
        REGISTER, json=registration("ADA@Example.com", display_name="Impostor")
    )
    problem = assert_problem(again, 409)
    assert "email" in problem["detail"]
    assert await count_users(database) == 1
    me = await client.get(ME, headers=bearer(await login_token(client, "ada@example.com")))
    assert me.json()["display_name"] == "Ada Lovelace"


async def test_concurrent_duplicate_registration_gives_one_201_and_one_409(
    client: httpx.AsyncClient, database: Database
) -> None:
    await client.post(REGISTER, json=registration("someone@example.com"))
    responses = await asyncio.gather(
        client.post(REGISTER, json=registration("twin@example.com")),
        client.post(REGISTER, json=registration("TWIN@example.com")),
    )

    assert sorted(r.status_code for r in responses) == [201, 409], [r.text for r in responses]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)
    assert await count_users(database) == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (registration("not-an-email"), "body.email"),
        (registration("ada@"), "body.email"),
        (registration(""), "body.email"),
        (registration(password="short"), "body.password"),
        (registration(password="1234567"), "body.password"),
        (registration(display_name=""), "body.display_name"),
        (registration(display_name="   "), "body.display_name"),
        (registration(display_name="x" * 121), "body.display_name"),
        (registration(is_admin=True), "body.is_admin"),
        ({"email": "ada@example.com", "password": PASSWORD}, "body.display_name"),
        ({"email": "ada@example.com", "display_name": "Ada"}, "body.password"),
        ({"display_name": "Ada", "password": PASSWORD}, "body.email"),
    ],
    ids=[
        "bad-email",
        "email-without-domain",
        "empty-email",
        "short-password",
        "seven-char-password",
        "empty-name",
        "blank-name",
        "long-name",
        "is-admin-field",
        "missing-name",
        "missing-password",
        "missing-email",
    ],
)
async def test_register_rejects_invalid_input_and_writes_nothing(
    client: httpx.AsyncClient, database: Database, body: dict[str, Any], field: str
) -> None:
    response = await client.post(REGISTER, json=body)
    problem = assert_problem(response, 422, field)
    assert field in problem["detail"]
    assert await count_users(database) == 0


async def test_register_with_is_admin_does_not_grant_admin_later(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    await factory.user()
    rejected = await client.post(REGISTER, json=registration(is_admin=True))
    assert_problem(rejected, 422, "body.is_admin")
    assert await count_users(database) == 1
    assert await admins(database) == []


async def test_closed_registration_forbids_register_but_admins_can_create_users(
    settings: Settings, database: Database, factory: Factory
) -> None:
    admin = await factory.user(admin=True)
    closed = create_app(settings.model_copy(update={"registration": "closed"}))
    async with closed.router.lifespan_context(closed), checked_client(closed) as http:
        refused = await http.post(REGISTER, json=registration("newcomer@example.com"))
        problem = assert_problem(refused, 403)
        assert "closed" in problem["detail"].lower()
        assert await count_users(database) == 1

        created = await http.post(
            USERS,
            headers=admin.headers,
            json=registration("newcomer@example.com", display_name="Newcomer"),
        )
        assert created.status_code == 201, created.text
        assert created.json()["email"] == "newcomer@example.com"
        assert created.json()["is_admin"] is False

        token = await login_token(http, "newcomer@example.com")
        me = await http.get(ME, headers=bearer(token))
        assert me.status_code == 200
        assert me.json()["display_name"] == "Newcomer"
    assert await count_users(database) == 2


# --- login ----------------------------------------------------------------------------------


async def test_login_returns_a_bearer_token_that_works(
    client: httpx.AsyncClient, settings: Settings, factory: Factory
) -> None:
    user = await factory.user("grace@example.com")
    before = clock.now()
    response = await login(client, "grace@example.com")
    after = clock.now()

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "expires_at"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == settings.token_ttl_minutes * 60
    token = body["access_token"]
    assert isinstance(token, str) and len(token) >= 32
    assert token != user.token
    ttl = timedelta(minutes=settings.token_ttl_minutes)
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert expires_at.tzinfo is not None
    assert before + ttl - timedelta(seconds=1) <= expires_at <= after + ttl + timedelta(seconds=1)

    me = await client.get(ME, headers=bearer(token))
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user.id
    assert me.json()["email"] == "grace@example.com"


async def test_each_login_issues_a_distinct_token(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    first = await login_token(client, user.email)
    second = await login_token(client, user.email)
    assert first != second
    for token in (first, second):
        assert (await client.get(ME, headers=bearer(token))).status_code == 200


async def test_login_accepts_email_in_any_case_and_surrounding_spaces(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user("linus@example.com")
    token = await login_token(client, "  LINUS@Example.com ")
    me = await client.get(ME, headers=bearer(token))
    assert me.json()["id"] == user.id


async def test_wrong_password_and_unknown_email_answer_the_same(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    await factory.user("grace@example.com")
    tokens_before = await count_tokens(database)

    wrong_password = await login(client, "grace@example.com", "not the password")
    unknown_email = await login(client, "nobody@example.com")

    wrong_body = assert_unauthorized(wrong_password)
    unknown_body = assert_unauthorized(unknown_email)
    assert wrong_body["detail"] == unknown_body["detail"]
    assert wrong_body["type"] == unknown_body["type"]
    assert "access_token" not in wrong_body
    assert await count_tokens(database) == tokens_before


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": PASSWORD}, "body.username"),
        ({"username": "grace@example.com"}, "body.password"),
        ({}, "body.username"),
    ],
    ids=["no-username", "no-password", "empty-form"],
)
async def test_login_with_missing_form_fields_is_invalid_input(
    client: httpx.AsyncClient,
    database: Database,
    factory: Factory,
    form: dict[str, str],
    field: str,
) -> None:
    await factory.user("grace@example.com")
    tokens_before = await count_tokens(database)
    response = await client.post(TOKEN, data=form)
    assert_problem(response, 422, field)
    assert await count_tokens(database) == tokens_before


# --- logout and token lifetime --------------------------------------------------------------


async def test_logout_revokes_only_the_token_used(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    first = await login_token(client, user.email)
    second = await login_token(client, user.email)

    response = await client.post(LOGOUT, headers=bearer(first))
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert_unauthorized(await client.get(ME, headers=bearer(first)))
    assert_unauthorized(await client.post(LOGOUT, headers=bearer(first)))
    assert (await client.get(ME, headers=bearer(second))).status_code == 200
    assert (await client.get(ME, headers=user.headers)).status_code == 200


async def test_logout_without_a_token_is_unauthorized(
    client: httpx.AsyncClient, database: Database
) -> None:
    assert_unauthorized(await client.post(LOGOUT))


async def test_expired_login_token_is_unauthorized(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    token = await login_token(client, user.email)
    assert (await client.get(ME, headers=bearer(token))).status_code == 200

    await set_expires_at(database, token, clock.now() - timedelta(seconds=1))

    assert_unauthorized(await client.get(ME, headers=bearer(token)))
    # The same user's other tokens are unaffected, and logging in again works.
    assert (await client.get(ME, headers=user.headers)).status_code == 200
    fresh = await login_token(client, user.email)
    assert (await client.get(ME, headers=bearer(fresh))).status_code == 200


async def test_tokens_are_stored_only_as_hashes(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    user = await factory.user()
    login_secret = await login_token(client, user.email)
    created = await client.post(f"{ME}/tokens", headers=user.headers, json={"name": "ci"})
    assert created.status_code == 201, created.text
    secrets = [user.token, login_secret, created.json()["token"]]

    async with database.sessions() as session:
        rows = (await session.execute(select(ApiToken))).scalars().all()
    assert len(rows) == 3
    assert {row.token_hash for row in rows} == {hash_token(secret) for secret in secrets}
    for row in rows:
        stored = [str(value) for value in row.model_dump().values() if value is not None]
        for secret in secrets:
            assert all(secret not in value for value in stored), row
            # Only a short display prefix of the secret is kept.
            assert all(secret[:12] not in value for value in stored), row


# --- authentication failures ----------------------------------------------------------------


async def test_no_token_is_unauthorized(client: httpx.AsyncClient, database: Database) -> None:
    body = assert_unauthorized(await client.get(ME))
    assert body["status"] == 401


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer ",
        "Basic xyz",
        "Bearer nope",
        "Token {token}",
        "{token}",
        "Bearer x{token}",
    ],
    ids=[
        "bare-scheme",
        "empty-token",
        "basic",
        "unknown-token",
        "other-scheme",
        "no-scheme",
        "mangled",
    ],
)
async def test_malformed_authorization_is_unauthorized(
    client: httpx.AsyncClient, factory: Factory, authorization: str
) -> None:
    user = await factory.user()
    response = await client.get(
        ME, headers={"Authorization": authorization.format(token=user.token)}
    )
    assert_unauthorized(response)
    # The token itself is fine when presented properly.
    assert (await client.get(ME, headers=user.headers)).status_code == 200


async def test_bearer_scheme_is_case_insensitive(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user()
    response = await client.get(ME, headers={"Authorization": f"bearer {user.token}"})
    assert response.status_code == 200, response.text
    assert response.json()["id"] == user.id


async def test_passwords_keep_their_spaces(client: httpx.AsyncClient, database: Database) -> None:
    password = "  spaced out pass  "
    registered = await client.post(
        "/api/v1/auth/register",
        json={"email": "space@example.com", "display_name": "S", "password": password},
    )
    assert registered.status_code == 201
    assert (await login(client, "space@example.com", password)).status_code == 200
    assert_unauthorized(await login(client, "space@example.com", password.strip()))


async def test_dead_login_tokens_are_purged_and_live_ones_kept(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    actor = await factory.user()
    dead = (await login(client, actor.email)).json()["access_token"]
    live = (await login(client, actor.email)).json()["access_token"]
    async with database.sessions() as session, session.begin():
        await session.execute(
            update(ApiToken)
            .where(col(ApiToken.token_hash) == hash_token(dead))
            .values(expires_at=clock.now() - timedelta(days=3))
        )
    async with database.sessions() as session, session.begin():
        purged = await users_repository.purge_dead_login_tokens(
            session, clock.now() - timedelta(days=1)
        )
    assert purged == 1
    async with database.sessions() as session:
        hashes = set((await session.execute(select(col(ApiToken.token_hash)))).scalars())
    assert hash_token(dead) not in hashes
    assert hash_token(live) in hashes
    assert hash_token(actor.token) in hashes  # personal access tokens are never purged
