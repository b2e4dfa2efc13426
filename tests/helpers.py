"""Assertions and small request helpers shared by the API tests."""

from http import HTTPStatus
from typing import Any

import httpx

from tests.factories import PASSWORD

PROBLEM = "application/problem+json"


def assert_problem(
    response: httpx.Response,
    status: int,
    field: str | None = None,
    *,
    fields: set[str] | None = None,
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status.

    `field`: one of the errors names it; `fields`: the errors name exactly these.
    """
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["title"] == HTTPStatus(status).phrase
    assert isinstance(body["type"], str) and body["type"].startswith("https://")
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Traceback" not in response.text
    named = [error["field"] for error in body.get("errors") or []]
    if field is not None:
        assert field in named, named
    if fields is not None:
        assert set(named) == fields, named
    for error in body.get("errors") or []:
        assert error["message"] and error["type"]
    return body


def assert_unauthorized(response: httpx.Response) -> dict[str, Any]:
    """A 401 problem that asks for a bearer token."""
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"] == "Bearer"
    return body


def bearer(token: str) -> dict[str, str]:
    """Authorization header for a raw token."""
    return {"Authorization": f"Bearer {token}"}


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    """POST /auth/token with the OAuth2 password form."""
    return await client.post("/api/v1/auth/token", data={"username": email, "password": password})
