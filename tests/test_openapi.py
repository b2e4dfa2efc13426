"""The committed openapi.json matches the app, and operation ids follow `<tag>_<function>`."""

from pathlib import Path

from app.main import create_app
from app.openapi import render_openapi
from app.settings import Settings

ROOT = Path(__file__).resolve().parents[1]


def _document() -> dict[str, object]:
    return create_app(Settings(database_url="postgresql://unused/unused")).openapi()


def test_committed_openapi_has_not_drifted() -> None:
    app = create_app(Settings(database_url="postgresql://unused/unused"))
    committed = (ROOT / "openapi.json").read_text()
    assert render_openapi(app) == committed, "openapi.json is stale: run `make openapi`"


def test_operation_ids_are_unique_and_tag_prefixed() -> None:
    seen: set[str] = set()
    paths = _document()["paths"]
    assert isinstance(paths, dict)
    for path, operations in paths.items():
        for method, operation in operations.items():
            op_id = operation["operationId"]
            tag = operation["tags"][0]
            assert op_id.startswith(f"{tag}_"), (method, path, op_id)
            assert op_id not in seen, f"duplicate operation id {op_id}"
            seen.add(op_id)


def test_password_flow_is_declared_for_the_authorize_button() -> None:
    schemes = _document()["components"]["securitySchemes"]  # type: ignore[index]
    flow = schemes["OAuth2PasswordBearer"]["flows"]["password"]
    assert flow["tokenUrl"] == "/api/v1/auth/token"


def test_error_responses_are_documented_as_problem_json() -> None:
    operation = _document()["paths"]["/api/v1/projects/{key}"]["get"]  # type: ignore[index]
    assert "application/problem+json" in operation["responses"]["404"]["content"]
