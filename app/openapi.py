"""The OpenAPI document SDKs are generated from: FastAPI's, made to tell the whole truth.

FastAPI describes bodies and parameters. This module adds what it cannot see: every error is
application/problem+json, every header the server reads or sends is a reusable component,
public operations say `security: []`, and conditional GETs answer 304. The rules are applied
to every operation by what it is (a GET, a POST with a body, a list, a versioned resource),
so a new route is described correctly without a list to keep in step. `tests/test_openapi.py`
and the response-conformance check of the whole suite hold the document to the server.
"""

import json
from http import HTTPStatus
from typing import Any

import fastapi.routing
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute

from app.http.idempotency.middleware import MAX_KEY_LENGTH, SECRET_BEARING_PATHS
from app.http.problems import ACCEPT_HEADERS, PROBLEM_MEDIA_TYPE

Json = dict[str, Any]

DESCRIPTION = """\
Timebox is a Scrum/Agile sprint service: a ranked product backlog with story points, sprints
from planning to completion with reports frozen at close, capacity, velocity, burndown and
burnup, cumulative flow and cycle time, and Monte Carlo forecasts.

**Authentication.** Send `Authorization: Bearer <token>`. Get a login token from
`POST /api/v1/auth/token` (the OAuth2 password flow: email as `username`), or create a
personal access token with `POST /api/v1/me/tokens` and paste it into *BearerToken*.

**Errors** are RFC 9457 `application/problem+json` documents; invalid input lists each bad
field in `errors`. Outsiders get 404 for projects they cannot see.

**Lists** take `limit` and an opaque `cursor`, answer `{"data": [...], "next_cursor": ...}` and
a `Link: <...>; rel="next"` header.

**Versions and caching.** Resources carry a `version`, and their strong `ETag` starts with it;
send the `ETag` back in `If-Match` to change or delete them (412 when stale). Every successful
GET has an `ETag` (weak on lists and live reports) and answers 304 to a matching
`If-None-Match`.

**Retries.** A POST with an `Idempotency-Key` header is applied once; a retry with the same key
and body replays the first answer.
"""

TAGS: list[Json] = [
    {"name": "auth", "description": "Register, log in for a bearer token, log out."},
    {"name": "me", "description": "Your own account and your personal access tokens."},
    {"name": "projects", "description": "Projects, addressed by their key (`WEB`)."},
    {
        "name": "archive",
        "description": "A whole project as one versioned JSON archive: exported by its owners "
        "(streamed), imported as a new project with new ids, people matched by email "
        "(docs/export-import.md).",
    },
    {"name": "members", "description": "Who belongs to a project, and their role."},
    {
        "name": "lifecycle",
        "description": "A project's life: the phases kickoff, planning, execution, closing and "
        "post-mortem, gates into them signed off by named approvers, closing (read-only, with a "
        "summary and a post-mortem retro), reopening and handing ownership over.",
    },
    {
        "name": "invitations",
        "description": "Joining a project by email: owners invite an address, and whoever "
        "signs in with it accepts or declines. Never reveals who has an account.",
    },
    {"name": "statuses", "description": "A project's workflow columns and their WIP limits."},
    {
        "name": "items",
        "description": "The ranked product backlog: stories, bugs, tasks, spikes and epics.",
    },
    {"name": "comments", "description": "Discussion on an item."},
    {
        "name": "import",
        "description": "A backlog from a Jira CSV export: items matched by issue key (a re-import "
        "updates them), statuses, sprints and epics mapped, each skipped row explained.",
    },
    {"name": "board", "description": "A whole board in one call: columns with their items."},
    {
        "name": "sprints",
        "description": "Sprints from planning to completion, their scope, report and capacity.",
    },
    {
        "name": "reports",
        "description": "Velocity, burndown, burnup, cumulative flow, cycle time and forecasts, "
        "as JSON and as SVG charts.",
    },
    {
        "name": "releases",
        "description": "Releases and milestones: their scope (items and their epics' children), "
        "the forecast of when they are done and how likely by their target date, recording a "
        "release, and the roadmap as JSON and as an SVG timeline.",
    },
    {
        "name": "actions",
        "description": "Retro action items: owners, due dates and follow-up until done, the "
        "backlog items made from them, and how well they are followed up.",
    },
    {
        "name": "retros",
        "description": "Retrospectives: a board per sprint or project whose phases (collecting, "
        "grouping, voting, discussing, closed) the server enforces, with anonymous cards, vote "
        "budgets, the sprint's headline as context, and a wiki export.",
    },
    {
        "name": "risks",
        "description": "The risk register: risks scored by probability and impact (exposure "
        "1–25), owners, mitigation and contingency plans, review dates, links to items, "
        "sprints and releases, each risk's history and the weekly open-exposure trend.",
    },
    {
        "name": "worklogs",
        "description": "Time tracking: work logs (hours a member spent on an item on a day, "
        "members edit their own) and the time report by member, item, sprint, epic or week.",
    },
    {
        "name": "budget",
        "description": "The project budget (owners only): hours and money, hourly rates per "
        "member or by default, spent and remaining, burn per sprint, and the projected total "
        "at the current burn rate with a flag when it exceeds the budget.",
    },
    {
        "name": "estimation",
        "description": "Planning poker on the project's scale: rounds with hidden votes, the "
        "reveal with its statistics, re-votes, accepting an estimate, and estimation sessions.",
    },
    {
        "name": "standups",
        "description": "Async stand-ups: each member's entry per working day of the active "
        "sprint (yesterday, today, blockers), and the team's day with who has not posted.",
    },
    {
        "name": "calendar",
        "description": "The ceremony schedule (planning, daily stand-up, review, retro) and an "
        "iCalendar feed of every sprint's meetings, read with a rotatable feed token.",
    },
    {
        "name": "activity",
        "description": "A project's public events, newest first: one readable line and a "
        "versioned payload each (docs/events.md).",
    },
    {
        "name": "events",
        "description": "Live streams (Server-Sent Events) of a project's events and of your "
        "notifications, and the single-use tickets a browser's EventSource opens them with.",
    },
    {
        "name": "notifications",
        "description": "Your notifications (assigned, mentioned, watched items' status, your "
        "sprints, due action items): unread first, marked read one or all, and which kinds "
        "you get.",
    },
    {
        "name": "watching",
        "description": "Watching items: watchers hear when an item's status changes.",
    },
    {
        "name": "webhooks",
        "description": "Owners send a project's events to other systems: signed JSON (Standard "
        "Webhooks) or Slack-compatible chat lines, retried for a day, with every delivery "
        "listed. The document's `webhooks` section describes what is sent.",
    },
    {"name": "users", "description": "Instance administration of accounts (admins only)."},
    {"name": "ops", "description": "Liveness, readiness and Prometheus metrics."},
]

SERVERS: list[Json] = [{"url": "/", "description": "The server that serves this document."}]
LICENSE: Json = {"name": "MIT", "identifier": "MIT"}
CONTACT: Json = {"name": "The Timebox team", "url": "https://timebox.dev"}

BEARER_SCHEME = "BearerToken"
LOGIN_SCHEME = "OAuth2PasswordBearer"
METRICS_SCHEME = "MetricsToken"
METRICS_PATH = "/metrics"

_HEADERS: Json = {
    "ETag": {
        "required": True,
        "description": "The representation's entity tag. A versioned resource's starts with "
        'its version: `"3"` after a change, `"3.<digest>"` on a GET (the digest also covers '
        "what the resource shows of others, such as its status's name); send either back in "
        "`If-Match`. Frozen reports have a strong tag; lists, the board, live reports and "
        'charts a weak one (`W/"..."`). Send any of them back in `If-None-Match`.',
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'The next page, as `<url>; rel="next"`; absent on the last page.',
        "schema": {"type": "string"},
    },
    "Location": {
        "description": "The URL of the created resource.",
        "required": True,
        "schema": {"type": "string"},
    },
    "RetryAfter": {
        "required": True,
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RetryAfterInProgress": {
        "description": "Sent when the first request with this `Idempotency-Key` is still "
        "running: seconds to wait before retrying it.",
        "schema": {"type": "integer", "minimum": 0},
    },
    "RequestId": {
        "required": True,
        "description": "The request's id (yours from `X-Request-ID`, or a new one): quote it "
        "when reporting a problem; the server's log lines carry it.",
        "schema": {"type": "string"},
    },
    "IdempotencyReplayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same `Idempotency-Key`.",
        "schema": {"type": "string", "enum": ["true"]},
    },
    "AcceptPost": {
        "description": "The media type this POST's body must have (on a 415).",
        "schema": {"type": "string"},
    },
    "AcceptPatch": {
        "description": "The media type this PATCH's body must have (on a 415).",
        "schema": {"type": "string"},
    },
    "Accept": {
        "description": "The media type this request's body must have (on a 415).",
        "schema": {"type": "string"},
    },
    "WWWAuthenticate": {
        "required": True,
        "description": "`Bearer`: the token is missing, expired or revoked.",
        "schema": {"type": "string"},
    },
    "CacheControl": {
        "description": "How clients may cache the answer: responses are per caller, so never "
        "shared; GETs are revalidated with `If-None-Match`.",
        "schema": {"type": "string"},
    },
}

_PARAMETERS: Json = {
    "IfMatch": {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": 'The `ETag` you last saw, e.g. `"3"`: the change applies only if the '
        "resource is still at that version (412 otherwise).",
        "schema": {"type": "string"},
    },
    "IfNoneMatch": {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "`ETag`s you hold: 304 without a body when one still matches.",
        "schema": {"type": "string"},
    },
    "IdempotencyKey": {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": "A key you choose (e.g. a UUID) to make a retry safe: the first answer is "
        "stored and replayed to a retry with the same key and body.",
        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH},
    },
    "RequestId": {
        "name": "X-Request-ID",
        "in": "header",
        "required": False,
        "description": "Your id for this request, a UUID: echoed back and written to the "
        "server's log. Anything else is replaced by a new id.",
        "schema": {"type": "string", "format": "uuid"},
    },
}

# Parameters FastAPI derives from `Header()` dependencies, replaced by the shared components.
_HEADER_PARAMETERS = {"if-match": "IfMatch", "if-none-match": "IfNoneMatch"}
_PROBLEM_CONTENT: Json = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def _header(name: str) -> Json:
    return {"$ref": f"#/components/headers/{name}"}


def _parameter(name: str) -> Json:
    return {"$ref": f"#/components/parameters/{name}"}


def _schema(document: Json, reference: Json) -> Json:
    """The component a `$ref` points at (or the schema itself)."""
    ref = reference.get("$ref")
    if not isinstance(ref, str):
        return reference
    found: Json = document["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return found


def _json_schema(document: Json, response: Json) -> Json | None:
    """The resolved JSON body schema of a response, if it has one."""
    content = response.get("content", {}).get("application/json")
    if content is None:
        return None
    return _schema(document, content.get("schema", {}))


def _problem(status: int, description: str | None = None) -> Json:
    return {
        "description": description or HTTPStatus(status).phrase,
        "content": dict(_PROBLEM_CONTENT),
    }


# Operations that answer without touching the database (liveness): they never say 503.
_WITHOUT_DATABASE = frozenset({"/healthz", METRICS_PATH})


def is_event_stream(operation: Json) -> bool:
    """Whether an operation answers with a live stream (SSE): no ETag, no 304."""
    return "text/event-stream" in operation["responses"].get("200", {}).get("content", {})


def _api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, those of included routers too (FastAPI may keep those nested)."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    routes = (
        list(app.routes) if contexts is None else [c.original_route for c in contexts(app.routes)]
    )
    return [route for route in routes if isinstance(route, APIRoute)]


def _refused_while_closed(dependant: Dependant, method: str) -> bool:
    """Whether an access dependency of the route refuses this method on a closed project."""
    for dependency in dependant.dependencies:
        refuses = getattr(dependency.call, "refused_while_closed", None)
        if refuses is not None and refuses(method):
            return True
        if _refused_while_closed(dependency, method):
            return True
    return False


def _closed_project_writes(app: FastAPI) -> set[tuple[str, str]]:
    """(path, method) of the operations a closed project refuses with 409 `project-closed`."""
    return {
        (route.path_format, method.lower())
        for route in _api_routes(app)
        for method in route.methods or ()
        if _refused_while_closed(route.dependant, method)
    }


def _shape_responses(
    document: Json, path: str, method: str, operation: Json, *, closed_refuses: bool = False
) -> None:
    """Errors as problems, success headers by what the answer is, and 304 on GETs."""
    responses: Json = operation["responses"]
    streamed = is_event_stream(operation)
    has_body = "requestBody" in operation
    if has_body:
        responses.setdefault("413", _problem(413, "The request body is too large."))
        responses.setdefault(
            "415", _problem(415, "The body is not of the media type this operation takes.")
        )
    if method == "post" and path not in SECRET_BEARING_PATHS:
        responses.setdefault("400", _problem(400, "A malformed `Idempotency-Key`."))
        responses.setdefault(
            "409", _problem(409, "A conflict, or a request with this Idempotency-Key in progress.")
        )
        responses.setdefault(
            "422", _problem(422, "Invalid input, or an Idempotency-Key used with another request.")
        )
    if closed_refuses:
        conflict = responses.setdefault("409", _problem(409, "A conflict."))
        conflict["description"] = (
            conflict["description"].rstrip(".")
            + "; or the project is closed (`project-closed`): it takes no changes until an "
            "owner reopens it."
        )
    if operation.get("security") is not None:
        responses.setdefault("401", _problem(401))
    if "{key}" in path:
        responses.setdefault("404", _problem(404, "No such project, or you are not a member."))
    responses.setdefault("500", _problem(500, "An unexpected error; it has been logged."))
    if path not in _WITHOUT_DATABASE:
        responses.setdefault(
            "503",
            _problem(
                503,
                "The database is unreachable or too slow right now; nothing was written. "
                "Retry after `Retry-After` seconds.",
            ),
        )
    if method == "get" and not streamed:
        responses["304"] = {
            "description": "Not Modified: the `ETag` in `If-None-Match` is still current.",
            "headers": {
                "ETag": _header("ETag"),
                "Cache-Control": _header("CacheControl"),
                "X-Request-ID": _header("RequestId"),
            },
        }
    for code, response in responses.items():
        status = int(code)
        headers: Json = response.setdefault("headers", {})
        headers["X-Request-ID"] = _header("RequestId")
        if status >= 400:
            response["content"] = dict(_PROBLEM_CONTENT)
            if status == 401:
                headers["WWW-Authenticate"] = _header("WWWAuthenticate")
            if status in (429, 503):
                headers["Retry-After"] = _header("RetryAfter")
            if status == 409 and method == "post" and path not in SECRET_BEARING_PATHS:
                headers["Retry-After"] = _header("RetryAfterInProgress")
            if status == 415:
                name = ACCEPT_HEADERS.get(method.upper(), "Accept")
                headers[name] = _header(name.replace("-", ""))
            continue
        if not 200 <= status < 300:
            continue
        schema = _json_schema(document, response)
        properties = schema.get("properties", {}) if schema else {}
        headers["Cache-Control"] = _header("CacheControl")
        if (method == "get" and status == 200 and not streamed) or "version" in properties:
            headers["ETag"] = _header("ETag")
        if "next_cursor" in properties:
            headers["Link"] = _header("Link")
        if status == 201:
            headers["Location"] = _header("Location")
        if method == "post" and path not in SECRET_BEARING_PATHS:
            headers["Idempotency-Replayed"] = _header("IdempotencyReplayed")
    operation["responses"] = dict(sorted(responses.items()))


def _shape_parameters(path: str, method: str, operation: Json) -> None:
    """Shared header parameters instead of FastAPI's inline ones, plus those middleware reads."""
    parameters: list[Json] = []
    for parameter in operation.get("parameters", []):
        shared = _HEADER_PARAMETERS.get(parameter["name"].lower())
        if parameter["in"] == "header" and shared:
            parameters.append(_parameter(shared))
        else:
            parameters.append(parameter)
    if method == "get" and not is_event_stream(operation):
        parameters.append(_parameter("IfNoneMatch"))
    if method == "post" and path not in SECRET_BEARING_PATHS:
        parameters.append(_parameter("IdempotencyKey"))
    parameters.append(_parameter("RequestId"))
    operation["parameters"] = parameters


def _shape_security(path: str, operation: Json) -> None:
    """A password-flow token or a pasted bearer token; public operations need neither."""
    if path == METRICS_PATH:
        # Prometheus sends the operator's metrics token, not a user's.
        operation["security"] = [{METRICS_SCHEME: []}]
    elif "security" in operation:
        operation["security"] = [{LOGIN_SCHEME: []}, {BEARER_SCHEME: []}]
    else:
        operation["security"] = []


def build_openapi(app: FastAPI) -> Json:
    """The app's OpenAPI document, with problems, headers, security and tags declared."""
    document: Json = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description,
        routes=app.routes,
        webhooks=app.webhooks.routes,
        tags=app.openapi_tags,
        servers=app.servers,
        license_info=app.license_info,
        contact=app.contact,
    )
    components: Json = document["components"]
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        components["schemas"].pop(name, None)
    components["headers"] = _HEADERS
    components["parameters"] = _PARAMETERS
    components["securitySchemes"][BEARER_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A login token from `POST /api/v1/auth/token` or a personal access "
        "token from `POST /api/v1/me/tokens`.",
    }
    components["securitySchemes"][METRICS_SCHEME] = {
        "type": "http",
        "scheme": "bearer",
        "description": "The operator's `TIMEBOX_METRICS_TOKEN`, for Prometheus.",
    }
    components["securitySchemes"][LOGIN_SCHEME]["description"] = (
        "Log in with your email (as `username`) and password for a login token."
    )
    for operations in document.get("webhooks", {}).values():
        for operation in operations.values():
            # What Timebox sends, not an endpoint it serves: the receiver's answer is the story.
            operation["responses"] = {
                "2XX": {"description": "Delivered. Anything else, or no answer, is retried."}
            }
            # Timebox calls the receiver with no credentials: the signature headers prove it.
            operation["security"] = []
            operation["tags"] = ["webhooks"]
    closed_writes = _closed_project_writes(app)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            _shape_parameters(path, method, operation)
            closed_refuses = (path, method) in closed_writes
            _shape_responses(document, path, method, operation, closed_refuses=closed_refuses)
            _shape_security(path, operation)
    return document


def install_openapi(app: FastAPI) -> None:
    """Describe the app with `build_openapi` (built once, on first use) and its metadata."""
    app.summary = "A Scrum/Agile sprint service with an async JSON API."
    app.description = DESCRIPTION
    app.openapi_tags = TAGS
    app.servers = SERVERS
    app.license_info = LICENSE
    app.contact = CONTACT

    def openapi() -> Json:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render_openapi(app: FastAPI) -> str:
    """The app's OpenAPI document as stable, indented JSON with a trailing newline."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
