"""Strict input types at the edge: a boolean is no number, a number no date, and dates are
ISO 8601 — for every body field and every query and path parameter in the committed
openapi.json, over HTTP on real PostgreSQL."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import TypeAdapter, ValidationError

from app.domain.kernel import clock
from app.domain.kernel.inputs import IsoDate, QueryBool, Rfc3339DateTime
from tests.factories import Actor, Factory
from tests.helpers import assert_problem

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parents[2] / "openapi.json").read_text(encoding="utf-8")
)
METHODS = ("get", "post", "put", "patch", "delete")
JSON = "application/json"


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = DOCUMENT
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _members(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a schema allows (`anyOf`/`oneOf`), each resolved."""
    schema = _resolve(schema)
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        return [member for option in options for member in _members(option)]
    return [schema]


def _kind(schema: dict[str, Any]) -> str:
    """What a (non-union) schema takes: integer, number, boolean, date, date-time, string, ..."""
    if "const" in schema or "enum" in schema:
        return "string" if schema.get("type", "string") == "string" else "other"
    kind = schema.get("type", "other")
    if kind == "string" and schema.get("format") in ("date", "date-time"):
        return str(schema["format"])
    return str(kind)


# The wrong values tried for each kind of field, as JSON sends them and as a query string does.
BODY_BAD: dict[str, list[Any]] = {
    "integer": [True, "1", 1.5],
    "number": [True, "1"],
    "boolean": [1, 0, "true"],
    "date": [0, 1_700_000_000, "0", "2025-03-03T00:00:00Z"],
    "date-time": [0, "0", "2025-03-03", "2025-03-03T09:00:00"],
}
TEXT_BAD: dict[str, list[str]] = {
    "integer": ["true", "false"],
    "number": ["true", "nan"],
    "boolean": ["1", "0", "yes", "True"],
    "date": ["0", "1700000000", "2025-03-03T00:00:00Z"],
    "date-time": ["0", "2025-03-03"],
}


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    return "string"


def _admitted(value: Any, kinds: set[str]) -> bool:
    """Whether another alternative of the field takes `value` as it is (`float | str` points)."""
    kind = _json_kind(value)
    return kind in kinds or (kind == "integer" and "number" in kinds)


@dataclass(frozen=True)
class Probe:
    """One wrong value for one input of one operation, and the field the 422 must name."""

    field: str
    value: Any
    body: Any = None


def _body_leaves(
    schema: dict[str, Any], path: tuple[str | int, ...], depth: int = 0
) -> Iterator[tuple[tuple[str | int, ...], set[str]]]:
    """(path, kinds) of every scalar field of a body schema, into objects and arrays."""
    members = _members(schema)
    kinds = {_kind(member) for member in members}
    if kinds & set(BODY_BAD):
        yield path, kinds
    if depth > 4:
        return
    for member in members:
        for name, child in member.get("properties", {}).items():
            yield from _body_leaves(child, (*path, name), depth + 1)
        if member.get("type") == "array" and "items" in member:
            yield from _body_leaves(member["items"], (*path, 0), depth + 1)


def _nest(path: tuple[str | int, ...], value: Any) -> Any:
    """The smallest body that puts `value` at `path`."""
    for part in reversed(path):
        value = [value] if isinstance(part, int) else {part: value}
    return value


def _probes(operation: dict[str, Any]) -> list[Probe]:
    probes: list[Probe] = []
    for parameter in map(_resolve, operation.get("parameters", [])):
        where = parameter["in"]
        if where not in ("query", "path"):
            continue
        members = _members(parameter["schema"])
        for member in list(members):
            if member.get("type") == "array":  # a repeated query parameter
                members += _members(member["items"])
        kinds = {_kind(member) for member in members}
        if "string" in kinds:
            continue  # the parameter takes text as it is
        for kind in kinds & set(TEXT_BAD):
            probes += [Probe(f"{where}.{parameter['name']}", value) for value in TEXT_BAD[kind]]
    content = operation.get("requestBody", {}).get("content", {})
    if JSON in content:
        for path, kinds in _body_leaves(content[JSON]["schema"], ()):
            for kind in kinds & set(BODY_BAD):
                probes += [
                    Probe(".".join(["body", *map(str, path)]), value, _nest(path, value))
                    for value in BODY_BAD[kind]
                    if not _admitted(value, kinds)
                ]
    return probes


def _operations() -> list[Any]:
    cases = []
    for template, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS or not _probes(operation):
                continue
            cases.append(pytest.param(method, template, operation, id=operation["operationId"]))
    return cases


OPERATIONS = _operations()


def _url(template: str, parameters: list[dict[str, Any]], probe: Probe) -> tuple[str, Any]:
    """The request's path (the probed path parameter set to its value) and query string."""
    url = template.replace("{key}", "WEB")
    query: dict[str, Any] = {}
    for parameter in parameters:
        name, where = parameter["name"], parameter["in"]
        value = probe.value if probe.field == f"{where}.{name}" else None
        if where == "path" and name != "key":
            url = url.replace(f"{{{name}}}", str(value if value is not None else 1))
        elif where == "query" and value is not None:
            query[name] = value
    return url, query


@pytest.fixture
async def ada(factory: Factory) -> Actor:
    """An instance admin who owns project WEB: every route gets as far as its validation."""
    ada = await factory.user("ada@example.com", admin=True)
    await factory.project(ada, "WEB")
    return ada


@pytest.mark.parametrize(("method", "template", "operation"), OPERATIONS)
async def test_every_input_refuses_values_of_the_wrong_type(
    client: httpx.AsyncClient, ada: Actor, method: str, template: str, operation: dict[str, Any]
) -> None:
    parameters = [_resolve(parameter) for parameter in operation.get("parameters", [])]
    wrong: list[str] = []
    for probe in _probes(operation):
        url, query = _url(template, parameters, probe)
        body = {} if probe.body is None and "requestBody" in operation else probe.body
        response = await client.request(
            method.upper(),
            url,
            params=query,
            headers=ada.headers,
            json=body,
        )
        problem = response.json() if response.status_code == 422 else {}
        named = [error["field"] for error in problem.get("errors") or []]
        # A union names its alternatives (`body.carry_over.int`): the field itself leads.
        if not any(name == probe.field or name.startswith(f"{probe.field}.") for name in named):
            wrong.append(f"{probe.field}={probe.value!r}: {response.status_code} {named}")
        elif response.status_code == 422:
            assert_problem(response, 422)
    assert not wrong, f"{method.upper()} {template} took values of the wrong type: {wrong}"


def test_the_walk_finds_the_inputs_it_is_meant_to_check() -> None:
    probed = {
        operation["operationId"]: {probe.field for probe in _probes(operation)}
        for operations in DOCUMENT["paths"].values()
        for method, operation in operations.items()
        if method in METHODS
    }
    expected = {
        "create_token": {"body.expires_in_days"},
        "update_user": {"path.user_id", "body.is_admin", "body.is_active"},
        "get_flow": {"query.from", "query.to"},
        "get_forecast": {"query.as_of", "query.trials", "query.seed"},
        "list_items": {"query.estimated", "query.status", "query.limit"},
        "create_sprint": {"body.start_date", "body.end_date"},
        "complete_sprint": {"body.carry_over", "path.number"},
        "add_sprint_items": {"body.items.0"},
        "batch_items": {"body.items.0.sprint", "body.items.0.points"},
        "replace_sprint_capacity": {"body.members.0.user_id", "body.members.0.days_off.0"},
        "move_item": {"body.before", "body.top"},
        "create_status": {"body.wip_limit", "body.position"},
    }
    for operation_id, fields in expected.items():
        assert fields <= probed[operation_id], (operation_id, probed[operation_id])


# --- what still works, and the shared types themselves --------------------------------------


async def test_query_integers_booleans_and_dates_still_parse_from_text(
    client: httpx.AsyncClient, ada: Actor, factory: Factory
) -> None:
    await factory.item("WEB", ada, points=3)
    items = "/api/v1/projects/WEB/items"
    query = {"estimated": "true", "limit": "5"}
    estimated = await client.get(items, headers=ada.headers, params=query)
    assert estimated.status_code == 200, estimated.text
    assert len(estimated.json()["data"]) == 1
    unestimated = await client.get(
        "/api/v1/projects/WEB/items", headers=ada.headers, params={"estimated": "false"}
    )
    assert unestimated.json()["data"] == []
    # A day every time zone has reached already: `to` may not be after the project's today.
    yesterday = (clock.now() - timedelta(days=1)).date().isoformat()
    flow = await client.get(
        "/api/v1/projects/WEB/flow", headers=ada.headers, params={"to": yesterday}
    )
    assert flow.status_code == 200, flow.text
    assert flow.json()["to"] == yesterday


async def test_flow_to_zero_is_not_the_unix_epoch(client: httpx.AsyncClient, ada: Actor) -> None:
    response = await client.get("/api/v1/projects/WEB/flow?to=0", headers=ada.headers)
    problem = assert_problem(response, 422, "query.to")
    assert "YYYY-MM-DD" in problem["errors"][0]["message"]


async def test_expires_in_days_true_is_not_one_day(client: httpx.AsyncClient, ada: Actor) -> None:
    response = await client.post(
        "/api/v1/me/tokens", headers=ada.headers, json={"name": "ci", "expires_in_days": True}
    )
    assert_problem(response, 422, "body.expires_in_days")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_json_numbers_must_be_finite(
    client: httpx.AsyncClient, ada: Actor, literal: str
) -> None:
    # Python's JSON parser reads these (1e999 as Infinity); no estimate means them.
    response = await client.post(
        "/api/v1/projects/WEB/items",
        headers={**ada.headers, "Content-Type": "application/json"},
        content=f'{{"title": "Infinite", "points": {literal}}}'.encode(),
    )
    assert_problem(response, 422, "body.points.float")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-03-03", date(2025, 3, 3)),
        (date(2025, 3, 3), date(2025, 3, 3)),
        ("2024-02-29", date(2024, 2, 29)),
    ],
)
def test_iso_dates_are_taken(value: Any, expected: date) -> None:
    assert TypeAdapter(IsoDate).validate_python(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        0,
        "0",
        1_700_000_000,
        "1700000000",
        "2025-3-3",
        "20250303",
        "2025-03-03T00:00:00",
        " 2025-03-03",
        "2025-02-29",
        "٢٠٢٥-٠٣-٠٣",
        datetime(2025, 3, 3, tzinfo=UTC),
        True,
        None,
    ],
)
def test_anything_else_is_not_a_date(value: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(IsoDate).validate_python(value)


@pytest.mark.parametrize(
    "value",
    ["2025-03-03T09:00:00Z", "2025-03-03T10:00:00+01:00", "2025-03-03t09:00:00.250z"],
)
def test_rfc3339_datetimes_are_taken(value: str) -> None:
    parsed = TypeAdapter(Rfc3339DateTime).validate_python(value)
    assert parsed.utcoffset() is not None
    assert parsed.astimezone(UTC).hour == 9


@pytest.mark.parametrize(
    "value",
    [0, "0", "2025-03-03", "2025-03-03T09:00:00", "2025-03-03 09:00:00Z", datetime(2025, 3, 3)],
)
def test_anything_else_is_not_a_datetime(value: Any) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Rfc3339DateTime).validate_python(value)


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False)])
def test_query_booleans_are_true_or_false(value: str, expected: bool) -> None:
    assert TypeAdapter(QueryBool).validate_python(value) is expected


@pytest.mark.parametrize("value", ["1", "0", "yes", "on", "True", "FALSE", "t", ""])
def test_query_booleans_are_nothing_else(value: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(QueryBool).validate_python(value)
