"""Every response the suite receives is checked against the committed openapi.json.

The test clients run `Contract.check` on each response: its status must be declared for the
operation, its content type and JSON body must match the declared schema, and the headers the
document tracks must be declared where they are sent and sent where they are required. A test
that meets an undeclared answer fails at the request that got it.
"""

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DOCUMENT_PATH = Path(__file__).resolve().parents[1] / "openapi.json"
# Headers whose presence the document declares; others (Date, Content-Length, Vary...) are
# transport details every HTTP client handles.
TRACKED_HEADERS = frozenset(
    {
        "etag",
        "link",
        "location",
        "retry-after",
        "www-authenticate",
        "idempotency-replayed",
        "cache-control",
        "x-request-id",
        "accept-post",
        "accept-patch",
        "accept",
    }
)
JSON_MEDIA = re.compile(r"^application/(.+\+)?json$")
# Served beside the API and described by no operation: the interactive docs and their assets.
UNDESCRIBED_PREFIXES = ("/docs", "/redoc", "/openapi.json")
_UNROUTED_PROBLEM = {
    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
}

Json = dict[str, Any]


class ContractViolation(AssertionError):
    """A response the OpenAPI document does not describe."""


class Contract:
    """The committed document, compiled for checking responses."""

    def __init__(self, document: Json) -> None:
        self.document = document
        self.registry: Registry[Any] = Registry().with_resource(
            "urn:timebox:openapi",
            Resource.from_contents(document, default_specification=DRAFT202012),
        )
        # Templates with more literal segments first, so `/items/batch` wins over
        # `/items/{number}`.
        self.templates = sorted(
            ((self._pattern(path), path) for path in document["paths"]),
            key=lambda entry: entry[1].count("{"),
        )
        self._validators: dict[str, Draft202012Validator] = {}

    @staticmethod
    def _pattern(path: str) -> re.Pattern[str]:
        parts = re.split(r"(\{[^}]+\})", path)
        regex = "".join("[^/]+" if part.startswith("{") else re.escape(part) for part in parts)
        return re.compile(f"^{regex}$")

    def _resolve(self, node: Json) -> Json:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def _validator(self, schema: Json) -> Draft202012Validator:
        key = json.dumps(schema, sort_keys=True)
        if key not in self._validators:
            self._validators[key] = Draft202012Validator(
                self._rebase(schema), registry=self.registry
            )
        return self._validators[key]

    def _rebase(self, schema: Any) -> Any:
        """Point local `#/components/...` refs at the registered document."""
        if isinstance(schema, dict):
            return {
                key: (
                    "urn:timebox:openapi" + value
                    if key == "$ref" and isinstance(value, str) and value.startswith("#/")
                    else self._rebase(value)
                )
                for key, value in schema.items()
            }
        if isinstance(schema, list):
            return [self._rebase(value) for value in schema]
        return schema

    def operation(self, method: str, path: str) -> tuple[str, Json] | None:
        """The template and operation serving a request, if the document has one."""
        for pattern, template in self.templates:
            if pattern.match(path):
                operation = self.document["paths"][template].get(method.lower())
                if operation is not None:
                    return template, operation
        return None

    def problems(self, response: httpx.Response) -> list[str]:
        """What about this response the document does not describe (empty when all is well)."""
        request = response.request
        method = request.method
        if method == "HEAD":
            method = "GET"
        found = self.operation(method, request.url.path)
        if found is None:
            # No operation: OPTIONS (CORS preflight) and the docs pages, which the document does
            # not describe, or the router's own 404/405, which must still be problems.
            if method == "OPTIONS":
                return []
            if response.status_code in (404, 405):
                return self._unrouted_problems(method, response)
            if request.url.path.startswith(UNDESCRIBED_PREFIXES):
                return []
            return [f"{method} {request.url.path} is not in the document"]
        template, operation = found
        where = f"{method} {template} -> {response.status_code}"
        declared = operation["responses"].get(str(response.status_code)) or operation[
            "responses"
        ].get("default")
        if declared is None:
            return [f"{where}: status not declared (declared: {sorted(operation['responses'])})"]
        declared = self._resolve(declared)
        return self._header_problems(where, declared, response) + self._body_problems(
            where, declared, response
        )

    def _unrouted_problems(self, method: str, response: httpx.Response) -> list[str]:
        """A 404 or 405 for a path or method the API does not have: a problem, naming Allow."""
        where = f"{method} {response.request.url.path} -> {response.status_code}"
        found = self._body_problems(where, {"content": _UNROUTED_PROBLEM}, response)
        if response.status_code == 405 and not response.headers.get("allow"):
            found.append(f"{where}: a 405 without the methods it allows")
        return found

    def _header_problems(self, where: str, declared: Json, response: httpx.Response) -> list[str]:
        headers = {
            name.lower(): self._resolve(value)
            for name, value in declared.get("headers", {}).items()
        }
        found = []
        for name in TRACKED_HEADERS & {name.lower() for name in response.headers}:
            if name not in headers:
                found.append(f"{where}: header {name} is sent but not declared")
        for name, header in headers.items():
            if header.get("required") and name not in response.headers:
                found.append(f"{where}: required header {name} is missing")
        return found

    def _body_problems(self, where: str, declared: Json, response: httpx.Response) -> list[str]:
        content: Json = declared.get("content", {})
        if not response.content:
            if (
                content
                and response.status_code not in (204, 304)
                and response.request.method != "HEAD"
            ):
                return [f"{where}: empty body, but the document declares {sorted(content)}"]
            return []
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        entry = next(
            (value for key, value in content.items() if key.split(";")[0].strip() == media_type),
            None,
        )
        if entry is None:
            return [f"{where}: content type {media_type!r} not declared ({sorted(content)})"]
        schema = entry.get("schema")
        if not schema or not JSON_MEDIA.match(media_type):
            return []
        errors = sorted(
            self._validator(schema).iter_errors(response.json()), key=lambda e: list(e.path)
        )
        return [
            f"{where}: body at {'/'.join(map(str, error.path)) or '(root)'}: {error.message[:300]}"
            for error in errors[:5]
        ]


@cache
def contract() -> Contract:
    """The committed document, read once per test process."""
    return Contract(json.loads(DOCUMENT_PATH.read_text()))


async def check_response(response: httpx.Response) -> None:
    """An httpx response hook: fail the request whose answer the document does not describe."""
    await response.aread()
    found = contract().problems(response)
    if found:
        raise ContractViolation("response differs from openapi.json:\n  " + "\n  ".join(found))


@asynccontextmanager
async def checked_client(
    app: object, base_url: str = "http://testserver", **options: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the ASGI app whose every response is checked against the document."""
    transport = httpx.ASGITransport(app=app, **options)  # type: ignore[arg-type]
    async with httpx.AsyncClient(
        transport=transport, base_url=base_url, event_hooks={"response": [check_response]}
    ) as http:
        yield http
