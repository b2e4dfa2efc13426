"""The `timebox` command: help, user create, token create, migrate, demo, openapi."""

import os
import re
import subprocess
from pathlib import Path

import httpx

from app.db import Database
from tests.e2e.server import TIMEBOX


def run(args: list[str], url: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMEBOX_")}
    env["TIMEBOX_DATABASE_URL"] = url
    return subprocess.run(
        [TIMEBOX, *args], input=stdin, env=env, capture_output=True, text=True, timeout=60
    )


def test_help_lists_every_command() -> None:
    result = subprocess.run([TIMEBOX, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    for command in ("serve", "migrate", "user", "token", "demo", "openapi"):
        assert command in result.stdout


async def test_user_and_token_create_give_a_working_token(
    database_url: str, database: Database, client: httpx.AsyncClient
) -> None:
    assert run(["migrate"], database_url).returncode == 0

    created = run(
        ["user", "create", "Root@Example.com", "--admin", "--name", "Root"],
        database_url,
        stdin="a long admin password\n",
    )
    assert created.returncode == 0, created.stderr
    assert "root@example.com (admin)" in created.stdout
    assert "a long admin password" not in created.stdout + created.stderr

    token = run(["token", "create", "--email", "root@example.com", "--name", "ci"], database_url)
    assert token.returncode == 0, token.stderr
    secret = token.stdout.strip()
    assert secret.startswith("tbx_")

    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    assert me.json()["is_admin"] is True
    tokens = await client.get("/api/v1/me/tokens", headers={"Authorization": f"Bearer {secret}"})
    assert [t["name"] for t in tokens.json()["data"]] == ["ci"]

    login = await client.post(
        "/api/v1/auth/token",
        data={"username": "root@example.com", "password": "a long admin password"},
    )
    assert login.status_code == 200


def test_token_create_for_unknown_user_fails_cleanly(database_url: str, database: Database) -> None:
    result = run(["token", "create", "--email", "nobody@example.com"], database_url)
    assert result.returncode != 0
    assert "no active user" in result.stderr
    assert "Traceback" not in result.stderr


def test_openapi_command_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = subprocess.run(
        [TIMEBOX, "openapi", "--output", str(target)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert '"openapi"' in target.read_text()


async def test_demo_prints_working_credentials_and_refuses_a_second_run(
    database_url: str, database: Database, client: httpx.AsyncClient
) -> None:
    # As `make demo HOST=0.0.0.0 PORT=9123` runs it: every URL printed uses that port (on
    # loopback, for a wildcard address), and the serve command shown binds the same.
    result = run(["demo", "--host", "0.0.0.0", "--port", "9123"], database_url)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    password = next(line for line in lines if line.startswith("Password")).split(": ")[-1]
    token = next(line for line in lines if "token for curl" in line).split(": ")[-1]
    assert "http://127.0.0.1:9123/api/v1/projects/DEMO/velocity.svg" in result.stdout
    urls = re.findall(r"\bhttps?://[^/\s]+", result.stdout)
    assert len(urls) >= 8 and set(urls) == {"http://127.0.0.1:9123"}, urls
    assert "`make serve HOST=0.0.0.0 PORT=9123` or `timebox serve --host 0.0.0.0 --port 9123`" in (
        result.stdout
    )
    assert "BearerToken (http, Bearer)" in result.stdout

    login = await client.post(
        "/api/v1/auth/token", data={"username": "ada@demo.example.com", "password": password}
    )
    assert login.status_code == 200, login.text
    report = await client.get(
        "/api/v1/projects/DEMO/sprints/6/report", headers={"Authorization": f"Bearer {token}"}
    )
    assert report.status_code == 200 and report.json()["frozen"] is True

    again = run(["demo"], database_url)
    assert again.returncode == 1
    assert "--reset" in again.stderr
