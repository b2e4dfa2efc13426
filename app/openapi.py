"""The committed OpenAPI document: rendered deterministically so drift is a plain diff."""

import json

from fastapi import FastAPI


def render_openapi(app: FastAPI) -> str:
    """The app's OpenAPI document as stable, indented JSON with a trailing newline."""
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
