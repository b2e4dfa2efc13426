"""Swagger UI at /docs and ReDoc at /redoc, with every asset served by this process."""

import base64
import hashlib
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"

# fastapi-offline ships Swagger UI 5, ReDoc 2 and FastAPI's favicon as package data, re-vendored
# from swagger-ui-dist and redoc at each release: no CDN, so the docs also work offline.
_ASSETS_PACKAGE = ("fastapi_offline", "static")

SWAGGER_UI_PARAMETERS: dict[str, Any] = {
    # No persistAuthorization: it would keep the token, and a typed password, in the browser's
    # localStorage, where any script of the origin reads it long after the tab is closed.
    # The badge would load an image from validator.swagger.io; BaseLayout hides it anyway.
    "validatorUrl": None,
    # No tagsSorter or operationsSorter: Swagger UI keeps the document's order of both.
}


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def with_docs_policy(page: HTMLResponse) -> HTMLResponse:
    """Give a docs page a Content-Security-Policy that admits its own assets and nothing else.

    Each inline script of the page (Swagger UI's start-up) is admitted by its hash, so no other
    inline script can run. ReDoc runs its search in a worker from a blob, and both UIs set
    inline styles; the pages fetch only this origin (the document, and "Try it out").
    """
    scripts = ["'self'"] + [
        f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]
    page.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {' '.join(scripts)}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src blob:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
    return page


def install_docs(app: FastAPI) -> None:
    """Serve the Swagger UI and ReDoc pages and their assets, kept out of the OpenAPI document."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        return
    redirect_url = app.swagger_ui_oauth2_redirect_url
    app.mount(ASSETS_URL, StaticFiles(packages=[_ASSETS_PACKAGE]), name="docs-assets")

    def root_path(request: Request) -> str:
        # Behind a proxy that serves the app under a prefix, every URL in the pages carries it.
        return str(request.scope.get("root_path", "")).rstrip("/")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = root_path(request)
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{redirect_url}" if redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})},
        )
        return with_docs_policy(page)

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return with_docs_policy(get_swagger_ui_oauth2_redirect_html())

    async def redoc(request: Request) -> HTMLResponse:
        root = root_path(request)
        page = get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )
        return with_docs_policy(page)

    app.add_route(DOCS_URL, swagger_ui, include_in_schema=False)
    if redirect_url:
        app.add_route(redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
