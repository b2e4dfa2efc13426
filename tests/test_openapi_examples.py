"""Every JSON request body in the OpenAPI document has examples, and the API would accept them."""

import types
import typing
from functools import cache
from typing import Any

import fastapi.routing
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from jsonschema import Draft202012Validator
from pydantic import BaseModel
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from app.main import create_app
from app.settings import Settings

JSON = "application/json"
SCHEMAS = "#/components/schemas/"
# The whole document is one resource, so `#/components/schemas/...` refs resolve inside it.
DOCUMENT_URI = "urn:timebox:openapi"


@cache
def _app() -> FastAPI:
    return create_app(Settings(database_url="postgresql://unused/unused"))


@cache
def _document() -> dict[str, Any]:
    return _app().openapi()


def _api_routes(app: FastAPI) -> list[APIRoute]:
    """Every API route, also those of included routers (FastAPI may keep those nested)."""
    iter_route_contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    if iter_route_contexts is None:  # older FastAPI: included routes are flattened
        routes: list[Any] = list(app.routes)
    else:
        routes = [context.original_route for context in iter_route_contexts(app.routes)]
    return [route for route in routes if isinstance(route, APIRoute) and route.include_in_schema]


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation names (`X`, `X | None`, `Annotated[X, ...]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, typing.Annotated):
        return [model for arg in typing.get_args(annotation) for model in _models(arg)]
    return []


@cache
def _body_models() -> dict[str, type[BaseModel]]:
    """The request body models of all routes, by their component schema name."""
    models: dict[str, type[BaseModel]] = {}
    for route in _api_routes(_app()):
        if route.body_field is None:
            continue
        for model in _models(route.body_field.field_info.annotation):
            # FastAPI suffixes a model's input schema when the model is an output too.
            models[model.__name__] = models[f"{model.__name__}-Input"] = model
    return models


def _schema_name(schema: dict[str, Any]) -> str:
    """The component a body schema refers to: `{"$ref": ...}`, or that or null (optional body)."""
    refs = [schema["$ref"]] if "$ref" in schema else []
    refs += [option["$ref"] for option in schema.get("anyOf", []) if "$ref" in option]
    assert len(refs) == 1, f"expected one component schema, got {schema}"
    assert refs[0].startswith(SCHEMAS), refs[0]
    return str(refs[0].removeprefix(SCHEMAS))


def _json_bodies() -> list[tuple[str, str]]:
    """(operation, schema name) for every operation with a JSON request body."""
    bodies = []
    for path, operations in _document()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            if JSON in content:
                bodies.append((f"{method.upper()} {path}", _schema_name(content[JSON]["schema"])))
    return bodies


BODIES = _json_bodies()


def _validator(name: str) -> Draft202012Validator:
    registry: Registry[Any] = Registry().with_resource(
        DOCUMENT_URI, DRAFT202012.create_resource(_document())
    )
    return Draft202012Validator({"$ref": f"{DOCUMENT_URI}{SCHEMAS}{name}"}, registry=registry)


def test_the_document_has_json_request_bodies() -> None:
    assert len(BODIES) >= 20, BODIES


@pytest.mark.parametrize(("operation", "name"), BODIES, ids=[op for op, _ in BODIES])
def test_request_body_has_valid_examples(operation: str, name: str) -> None:
    schema = _document()["components"]["schemas"][name]
    examples = schema.get("examples")
    assert isinstance(examples, list) and examples, f"{operation}: {name} has no examples"
    model = _body_models().get(name)
    assert model is not None, f"{operation}: no route has {name} as its body model"
    validator = _validator(name)
    for example in examples:
        errors = [
            f"{'/'.join(map(str, error.absolute_path)) or '(body)'}: {error.message}"
            for error in validator.iter_errors(example)
        ]
        assert not errors, f"{operation}: {name} example {example} fails its schema: {errors}"
        model.model_validate(example)  # also the model's own validators (exactly one of ...)


@pytest.mark.parametrize("name", sorted({name for _, name in BODIES}))
def test_body_models_still_reject_unknown_fields_and_strip_strings(name: str) -> None:
    config = _body_models()[name].model_config
    assert config.get("extra") == "forbid", name
    assert config.get("str_strip_whitespace") is True, name
