"""Conventions every route inherits: problem+json, request ids, body cap, idempotency, metrics."""

import json
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import func, select

from app.db import Database
from app.domain.projects.models import Project
from app.http.idempotency.models import IdempotencyRecord
from app.main import create_app
from app.observability import configure_logging
from app.settings import LogFormat, Settings
from tests.conftest import METRICS_TOKEN
from tests.factories import Actor, Factory
from tests.helpers import assert_problem

PROBLEM = "application/problem+json"
METRICS_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


async def project_count(database: Database) -> int:
    async with database.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Project))).scalar_one())


@pytest.fixture
async def ada(factory: Factory) -> Actor:
    return await factory.user("ada@example.com")


async def test_unknown_route_is_a_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/v1/nope"), 404)


async def test_wrong_method_is_a_problem_with_allow(client: httpx.AsyncClient) -> None:
    response = await client.put("/healthz")
    assert_problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_malformed_json_is_a_422_problem(client: httpx.AsyncClient, ada: Actor) -> None:
    response = await client.post(
        "/api/v1/projects",
        content=b'{"key": "WEB", "name": ',
        headers={**ada.headers, "Content-Type": "application/json"},
    )
    body = assert_problem(response, 422)
    assert body["errors"][0]["type"] == "json_invalid"


async def test_wrong_types_name_each_field(client: httpx.AsyncClient, ada: Actor) -> None:
    response = await client.post(
        "/api/v1/projects",
        json={"key": 42, "name": ["x"], "sprint_length_days": "two weeks"},
        headers=ada.headers,
    )
    body = assert_problem(response, 422)
    fields = {error["field"] for error in body["errors"]}
    assert {"body.key", "body.name", "body.sprint_length_days"} <= fields


@pytest.fixture
async def exploding_app(settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)

    async def explode() -> None:
        raise RuntimeError("secret internal detail")

    app.add_api_route("/explode", explode, methods=["GET"])
    async with app.router.lifespan_context(app):
        yield app


async def test_unexpected_error_is_a_500_problem_without_trace(
    exploding_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=exploding_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.get("/explode", headers={"X-Request-ID": str(uuid.uuid4())})
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["detail"] == "An unexpected error occurred; it has been logged."
    assert body["type"] == "https://timebox.dev/problems/internal-error"
    assert response.headers["x-request-id"]
    assert any("secret internal detail" in (r.exc_text or "") for r in caplog.records)


async def test_oversized_body_is_413(client: httpx.AsyncClient, ada: Actor) -> None:
    big = {"key": "BIG", "name": "x", "description": "a" * 2_000_000}
    response = await client.post("/api/v1/projects", json=big, headers=ada.headers)
    assert_problem(response, 413)


async def test_oversized_streamed_body_is_413(
    client: httpx.AsyncClient, ada: Actor, database: Database
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"key": "BIG", "name": "x", "description": "'
        for _ in range(40):
            yield b"a" * 50_000
        yield b'"}'

    response = await client.post(
        "/api/v1/projects",
        content=chunks(),
        headers={**ada.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 413)
    assert await project_count(database) == 0


async def test_request_id_is_generated_and_echoed(client: httpx.AsyncClient) -> None:
    generated = (await client.get("/healthz")).headers["x-request-id"]
    assert len(generated) == 32
    mine = str(uuid.uuid4())
    assert (await client.get("/healthz", headers={"X-Request-ID": mine})).headers[
        "x-request-id"
    ] == mine


async def test_if_match_that_names_no_version_is_412(
    client: httpx.AsyncClient, ada: Actor, factory: Factory
) -> None:
    await factory.project(ada, "WEB")
    response = await client.patch(
        "/api/v1/projects/WEB", json={"name": "n"}, headers={**ada.headers, "If-Match": '"abc"'}
    )
    assert_problem(response, 412)


async def test_idempotent_post_replays_the_first_response(
    client: httpx.AsyncClient, ada: Actor, database: Database
) -> None:
    headers = {**ada.headers, "Idempotency-Key": "k-1"}
    payload = {"key": "WEB", "name": "Web"}
    first = await client.post("/api/v1/projects", json=payload, headers=headers)
    second = await client.post("/api/v1/projects", json=payload, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["idempotency-replayed"] == "true"
    assert "idempotency-replayed" not in first.headers
    assert await project_count(database) == 1


async def test_same_key_with_another_body_is_422(
    client: httpx.AsyncClient, ada: Actor, database: Database
) -> None:
    headers = {**ada.headers, "Idempotency-Key": "k-2"}
    await client.post("/api/v1/projects", json={"key": "WEB", "name": "Web"}, headers=headers)
    other = await client.post(
        "/api/v1/projects", json={"key": "APP", "name": "App"}, headers=headers
    )
    assert_problem(other, 422)
    assert await project_count(database) == 1


async def test_keys_are_per_user(client: httpx.AsyncClient, factory: Factory) -> None:
    ada, bob = await factory.user(), await factory.user()
    for actor, key in ((ada, "ADA"), (bob, "BOB")):
        response = await client.post(
            "/api/v1/projects",
            json={"key": key, "name": key},
            headers={**actor.headers, "Idempotency-Key": "shared"},
        )
        assert response.status_code == 201
        assert response.json()["key"] == key


async def test_errors_are_not_stored_so_a_retry_runs_again(
    client: httpx.AsyncClient, ada: Actor, factory: Factory, database: Database
) -> None:
    await factory.project(ada, "WEB")
    headers = {**ada.headers, "Idempotency-Key": "dup"}
    payload = {"key": "WEB", "name": "Again"}
    first = await client.post("/api/v1/projects", json=payload, headers=headers)
    assert_problem(first, 409)
    # Once the conflict is gone, the same key and body succeed instead of replaying the 409.
    await client.delete("/api/v1/projects/WEB?confirm=WEB", headers=ada.headers)
    second = await client.post("/api/v1/projects", json=payload, headers=headers)
    assert second.status_code == 201, second.text
    assert "idempotency-replayed" not in second.headers
    assert await project_count(database) == 1


async def test_anonymous_and_expired_callers_get_no_stored_responses(
    client: httpx.AsyncClient, database: Database
) -> None:
    payload = {"email": "new@example.com", "display_name": "New", "password": "long enough pw"}
    headers = {"Idempotency-Key": "anon"}
    first = await client.post("/api/v1/auth/register", json=payload, headers=headers)
    second = await client.post("/api/v1/auth/register", json=payload, headers=headers)
    assert first.status_code == 201
    assert second.status_code == 409  # ran again: nothing was stored for an anonymous caller
    async with database.sessions() as session:
        stored = await session.execute(select(func.count()).select_from(IdempotencyRecord))
        assert stored.scalar_one() == 0


async def test_overlong_paths_do_not_break_the_store(client: httpx.AsyncClient, ada: Actor) -> None:
    response = await client.post(
        "/api/v1/" + "x" * 3000, json={}, headers={**ada.headers, "Idempotency-Key": "long"}
    )
    assert_problem(response, 404)


async def test_overlong_idempotency_key_is_400(client: httpx.AsyncClient, ada: Actor) -> None:
    response = await client.post(
        "/api/v1/projects",
        json={"key": "WEB", "name": "Web"},
        headers={**ada.headers, "Idempotency-Key": "k" * 256},
    )
    assert_problem(response, 400)


async def test_token_responses_are_never_stored(client: httpx.AsyncClient, ada: Actor) -> None:
    headers = {**ada.headers, "Idempotency-Key": "tok"}
    first = await client.post("/api/v1/me/tokens", json={"name": "a"}, headers=headers)
    second = await client.post("/api/v1/me/tokens", json={"name": "a"}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["token"] != second.json()["token"]


async def test_metrics_report_routes_and_pool(client: httpx.AsyncClient, ada: Actor) -> None:
    await client.get("/api/v1/projects/NOPE", headers=ada.headers)
    text = (await client.get("/metrics", headers=METRICS_HEADERS)).text
    assert (
        'timebox_http_requests_total{method="GET",route="/api/v1/projects/{key}",status="404"}'
        in text
    )
    assert "timebox_http_request_duration_seconds_bucket" in text
    assert 'timebox_db_pool_connections{state="checked_out"}' in text


async def test_cors_preflight_allows_configured_origin(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"cors_origins": ["https://app.example"]}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        response = await http.options(
            "/api/v1/projects",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,idempotency-key,if-match",
            },
        )
        denied = await http.options(
            "/api/v1/projects",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "access-control-allow-origin" not in denied.headers


def test_cors_origins_parse_from_a_comma_separated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIMEBOX_CORS_ORIGINS", "https://a.example, https://b.example")
    assert Settings().cors_origins == ["https://a.example", "https://b.example"]


async def test_json_logs_carry_the_request_id_and_never_the_token(
    settings: Settings, ada: Actor, capsys: pytest.CaptureFixture[str]
) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging(settings.model_copy(update={"log_format": LogFormat.JSON}))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                request_id = str(uuid.uuid4())
                await http.get("/api/v1/me", headers={**ada.headers, "X-Request-ID": request_id})
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.strip()]
    access = [line for line in lines if line.get("name") == "timebox.access"]
    assert access and access[-1]["request_id"] == request_id
    assert access[-1]["status"] == 200
    assert all(ada.token not in json.dumps(line) for line in lines)


@pytest.mark.parametrize("resource", ["statuses", "members"])
async def test_ids_beyond_the_database_range_are_422_not_500(
    client: httpx.AsyncClient, ada: Actor, factory: Factory, resource: str
) -> None:
    await factory.project(ada, "WEB")
    response = await client.get(f"/api/v1/projects/WEB/{resource}/{2**64}", headers=ada.headers)
    assert_problem(response, 422)


async def test_a_body_that_is_not_utf8_is_a_422_naming_the_body(
    client: httpx.AsyncClient, ada: Actor
) -> None:
    """Found by the fuzz run: FastAPI's bare 400 "There was an error parsing the body"."""
    for method, path in (("POST", "/api/v1/projects"), ("PATCH", "/api/v1/me")):
        response = await client.request(
            method,
            path,
            content=b'{"name": "\xff"}',
            headers={**ada.headers, "Content-Type": "application/json"},
        )
        body = assert_problem(response, 422, "body")
        assert body["errors"][0]["type"] == "json_invalid"
