"""The committed openapi.json matches the app and says what SDK generators need to hear."""

import re
from functools import cache
from pathlib import Path
from typing import Any

from app.http.idempotency.middleware import SECRET_BEARING_PATHS
from app.main import create_app
from app.openapi import is_event_stream, render_openapi
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
# docs/api.md states the rule: snake_case, starting with one of these verbs.
VERBS = [
    *("get", "list", "create", "update", "delete", "replace", "add", "remove", "edit", "move"),
    *("start", "cancel", "complete", "batch", "register", "login", "logout", "revoke"),
    *("accept", "decline"),
    *("open", "cast", "retract", "reveal", "revote", "advance", "close"),
    *("export", "import"),
    *("clear",),
    *("mark", "watch", "unwatch"),
    *("reopen", "transfer"),
]
OPERATION_ID = re.compile(rf"^({'|'.join(VERBS)})(_[a-z]+)*$")


@cache
def _document() -> dict[str, Any]:
    return create_app(Settings(database_url="postgresql://unused/unused")).openapi()


def _operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, operations in _document()["paths"].items()
        for method, operation in operations.items()
    ]


def test_committed_openapi_has_not_drifted() -> None:
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    committed = (ROOT / "openapi.json").read_text()
    assert render_openapi(app) == committed, "openapi.json is stale: run `make openapi`"


def test_operation_ids_are_unique_verb_first_snake_case() -> None:
    ids = [operation["operationId"] for _, _, operation in _operations()]
    assert len(ids) == len(set(ids)), "duplicate operation ids"
    assert [op_id for op_id in ids if not OPERATION_ID.match(op_id)] == []
    assert {"get_sprint_report", "list_items", "move_item", "start_sprint"} <= set(ids)


def test_every_error_is_a_problem_and_fastapi_validation_shapes_are_gone() -> None:
    document = _document()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert "ValidationError" not in document["components"]["schemas"]
    problem = document["components"]["schemas"]["Problem"]
    assert problem["properties"]["errors"]["anyOf"][0]["items"] == {
        "$ref": "#/components/schemas/FieldError"
    }
    for path, method, operation in _operations():
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert list(response["content"]) == ["application/problem+json"], (
                    method,
                    path,
                    status,
                )
        assert "500" in operation["responses"], (method, path)


def test_public_operations_need_no_token_and_the_rest_take_either_scheme() -> None:
    public = {"/healthz", "/readyz", "/api/v1/auth/register", "/api/v1/auth/token"}
    for path, method, operation in _operations():
        if path == "/metrics":
            assert operation["security"] == [{"MetricsToken": []}]
        elif path in public:
            assert operation["security"] == [], (method, path)
        else:
            assert operation["security"] == [{"OAuth2PasswordBearer": []}, {"BearerToken": []}]
            assert "401" in operation["responses"], (method, path)
    schemes = _document()["components"]["securitySchemes"]
    assert schemes["OAuth2PasswordBearer"]["flows"]["password"]["tokenUrl"] == "/api/v1/auth/token"
    assert schemes["BearerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["BearerToken"]["description"],
    }


def test_headers_are_declared_by_what_an_operation_is() -> None:
    for path, method, operation in _operations():
        parameters = [parameter.get("$ref", "") for parameter in operation["parameters"]]
        headers = {
            status: set(response.get("headers", {}))
            for status, response in operation["responses"].items()
        }
        assert all("X-Request-ID" in names for names in headers.values()), (method, path)
        if method == "get" and is_event_stream(operation):
            # A live stream has no representation to tag or revalidate.
            assert "ETag" not in headers["200"] and "304" not in operation["responses"], path
        elif method == "get":
            assert "#/components/parameters/IfNoneMatch" in parameters, path
            assert {"ETag", "Cache-Control"} <= headers["200"], path
            assert "304" in operation["responses"], path
        if method == "post" and path not in SECRET_BEARING_PATHS:
            assert "#/components/parameters/IdempotencyKey" in parameters, path
        if "201" in headers:
            assert "Location" in headers["201"], path
    items = _document()["paths"]["/api/v1/projects/{key}/items"]["get"]
    assert "Link" in items["responses"]["200"]["headers"]
    patch = _document()["paths"]["/api/v1/projects/{key}/items/{number}"]["patch"]
    assert {"$ref": "#/components/parameters/IfMatch"} in patch["parameters"]
    assert not any(p.get("name", "").lower() == "if-match" for p in patch["parameters"])


def test_tags_are_listed_once_with_descriptions_and_every_operation_uses_one() -> None:
    document = _document()
    tags = [tag["name"] for tag in document["tags"]]
    assert len(tags) == len(set(tags))
    assert all(tag["description"] for tag in document["tags"])
    used = {operation["tags"][0] for _, _, operation in _operations()}
    assert used == set(tags)
    assert document["servers"] and document["info"]["license"]["identifier"] == "MIT"


def test_schema_names_are_plain_and_unique() -> None:
    # Two models of one name get module-qualified (`app__domain__...`) or `-Input`/`-Output`
    # names, which generated SDKs turn into clashing or unreadable classes.
    names = list(_document()["components"]["schemas"])
    assert [name for name in names if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", name)] == []


def test_charts_are_declared_as_svg() -> None:
    charts = [path for path, _, _ in _operations() if path.endswith(".svg")]
    assert len(charts) == 6
    for path in charts:
        content = _document()["paths"][path]["get"]["responses"]["200"]["content"]
        assert list(content) == ["image/svg+xml"], path
