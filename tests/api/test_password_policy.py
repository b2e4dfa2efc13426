"""The password rule wherever a password is set: registration, admin-created accounts, a
password change and the CLI — over HTTP (and the `timebox` command) on real PostgreSQL."""

import os
import subprocess
import sys
from typing import Any

import httpx
import pytest

from app.db import Database
from app.domain.kernel.errors import InvalidInput
from app.domain.users.passwords import MIN_LENGTH, check_password
from tests.e2e.server import TIMEBOX
from tests.factories import PASSWORD, Factory
from tests.helpers import assert_problem, assert_unauthorized, count_users, login, stored_user

REGISTER = "/api/v1/auth/register"
USERS = "/api/v1/users"
ME = "/api/v1/me"
EMAIL = "grace@example.com"
NAME = "Grace Hopper"

# (password, what the refusal says): each is refused everywhere a password is set.
REFUSED = [
    ("12345678", "at least 10 characters"),
    ("password", "at least 10 characters"),
    (" " * 8, "at least 10 characters"),
    (" " * 12, "only whitespace"),
    ("\t \n \u00a0 \u2003 \u3000  ", "only whitespace"),
    ("1234567890", "common password"),
    ("password123", "common password"),
    ("qwertyuiop", "too easy to guess"),
    ("aaaaaaaaaaaa", "Repeats"),
    (f"{EMAIL}1", "too easy to guess"),
    ("GraceHopper1", "too easy to guess"),
]
REFUSED_IDS = [
    "8-digits",
    "password",
    "8-spaces",
    "12-spaces",
    "unicode-whitespace",
    "10-digits",
    "password123",
    "keyboard-row",
    "repeats",
    "own-email",
    "own-name",
]
# Good ones: long passphrases, and a password keeps its spaces as typed.
ACCEPTED = ["correct horse battery", "  spaced out pass  ", "Tr0ub4dor&3 zebra", "blue-cactus-47"]


def account(password: str, **fields: Any) -> dict[str, Any]:
    return {"email": EMAIL, "display_name": NAME, "password": password, **fields}


def assert_password_refused(response: httpx.Response, says: str) -> None:
    problem = assert_problem(response, 422, fields={"body.password"})
    message = problem["errors"][0]["message"]
    assert says.lower() in message.lower(), message


@pytest.mark.parametrize(("password", "says"), REFUSED, ids=REFUSED_IDS)
async def test_registration_refuses_weak_passwords(
    client: httpx.AsyncClient, database: Database, password: str, says: str
) -> None:
    assert_password_refused(await client.post(REGISTER, json=account(password)), says)
    assert await count_users(database) == 0


@pytest.mark.parametrize(("password", "says"), REFUSED, ids=REFUSED_IDS)
async def test_admins_cannot_create_accounts_with_weak_passwords(
    client: httpx.AsyncClient, database: Database, factory: Factory, password: str, says: str
) -> None:
    admin = await factory.user("root@example.com", admin=True)
    response = await client.post(USERS, headers=admin.headers, json=account(password))
    assert_password_refused(response, says)
    assert await count_users(database) == 1


@pytest.mark.parametrize(("password", "says"), REFUSED, ids=REFUSED_IDS)
async def test_a_password_change_refuses_weak_passwords(
    client: httpx.AsyncClient, database: Database, factory: Factory, password: str, says: str
) -> None:
    user = await factory.user(EMAIL)
    await client.patch(ME, headers=user.headers, json={"display_name": NAME})
    before = await stored_user(database, user.id)

    change = {"password": password, "current_password": PASSWORD}
    assert_password_refused(await client.patch(ME, headers=user.headers, json=change), says)

    assert (await stored_user(database, user.id)).model_dump() == before.model_dump()
    assert (await login(client, EMAIL)).status_code == 200


async def test_a_password_change_checks_against_the_new_display_name_too(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    user = await factory.user("ada@example.com")
    change = {"display_name": "Linus Torvalds", "password": "LinusTorvalds1"}
    response = await client.patch(
        ME, headers=user.headers, json={**change, "current_password": PASSWORD}
    )
    assert_password_refused(response, "too easy to guess")


@pytest.mark.parametrize("password", ACCEPTED)
async def test_strong_passwords_are_taken_exactly_as_typed(
    client: httpx.AsyncClient, factory: Factory, password: str
) -> None:
    registered = await client.post(REGISTER, json=account(password))
    assert registered.status_code == 201, registered.text
    assert (await login(client, EMAIL, password)).status_code == 200
    if password != password.strip():
        assert_unauthorized(await login(client, EMAIL, password.strip()))

    admin = await factory.user("root@example.com", admin=True)
    created = await client.post(
        USERS, headers=admin.headers, json=account(password, email="new@example.com")
    )
    assert created.status_code == 201, created.text
    assert (await login(client, "new@example.com", password)).status_code == 200

    user = await factory.user("changer@example.com")
    change = {"password": password, "current_password": PASSWORD}
    changed = await client.patch(ME, headers=user.headers, json=change)
    assert changed.status_code == 200, changed.text
    assert (await login(client, "changer@example.com", password)).status_code == 200


async def test_the_rule_is_checked_against_the_new_accounts_own_words_not_the_admins(
    client: httpx.AsyncClient, database: Database, factory: Factory
) -> None:
    admin = await factory.user("root@example.com", admin=True)
    # The admin's own email is no part of the new account: a password built from it is fine.
    created = await client.post(
        USERS, headers=admin.headers, json=account("root@example.com is my friend")
    )
    assert created.status_code == 201, created.text
    assert await count_users(database) == 2


async def test_the_length_is_in_the_schema_and_the_whole_rule_in_the_description() -> None:
    from app.domain.users.schemas import MeUpdate, UserCreate, UserRegister

    for model in (UserRegister, UserCreate):
        schema = model.model_json_schema()["properties"]["password"]
        assert schema["minLength"] == MIN_LENGTH == 10
        assert "not easy to guess" in schema["description"]
    me = MeUpdate.model_json_schema()["properties"]["password"]
    assert me["anyOf"][0]["minLength"] == MIN_LENGTH
    assert "not easy to guess" in me["description"]


@pytest.mark.parametrize(
    "password",
    [
        "correct horse battery staple " * 3,  # past zxcvbn's 72 characters: its start is scored
        "Zq8#vN2!pL" + "a" * 246,  # 256 characters, the longest allowed
    ],
    ids=["90-characters", "256-characters"],
)
async def test_long_passwords_are_scored_without_error(password: str) -> None:
    await check_password(password, "body.password", user_inputs=[EMAIL, NAME])


async def test_a_long_password_with_a_weak_start_is_refused() -> None:
    with pytest.raises(InvalidInput) as refused:
        await check_password("1" * 80 + "Zq8#vN2!pL", "body.password", user_inputs=[])
    assert refused.value.errors is not None
    assert refused.value.errors[0].field == "body.password"
    assert refused.value.errors[0].type == "password_too_weak"


def test_zxcvbn_is_imported_only_when_a_password_is_checked() -> None:
    # Its dictionaries cost each worker about 12 MiB: a worker that sets no password never
    # loads them.
    code = "import sys, app.main; assert 'zxcvbn' not in sys.modules, 'imported eagerly'"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr


# --- the CLI --------------------------------------------------------------------------------


def run_cli(args: list[str], url: str, stdin: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBOX_")}
    env["TIMEBOX_DATABASE_URL"] = url
    return subprocess.run(
        [TIMEBOX, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("password", "says"),
    [("12345678", "at least 10 characters"), ("1234567890", "common password")],
    ids=["short", "common"],
)
async def test_the_cli_refuses_weak_passwords_without_a_traceback(
    database_url: str, database: Database, password: str, says: str
) -> None:
    result = run_cli(["user", "create", EMAIL, "--name", NAME], database_url, f"{password}\n")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("refused: password:"), result.stderr
    assert says in result.stderr.lower(), result.stderr
    assert "Traceback" not in result.stderr
    assert password not in result.stdout + result.stderr
    assert await count_users(database) == 0
