"""The interactive docs (/docs, /redoc) load everything from this server: they work offline."""

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from fastapi import FastAPI

from app.main import create_app
from app.settings import Settings

BASE = "http://testserver"
PAGES = ("/docs", "/redoc")
DOCS_ROUTES = {"/docs", "/docs/oauth2-redirect", "/redoc"}

# A URL with a scheme, anywhere in a page (attribute, script, comment): none may be there.
ABSOLUTE_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^\s'\"<>)]*", re.IGNORECASE)
# A quoted root-relative path in an inline script (`url: '/openapi.json'`).
SCRIPT_PATH = re.compile(r"""["'](/[^"'\s]*)["']""")
# Attributes that make the browser load (or Swagger UI / ReDoc fetch) a URL.
URL_ATTRIBUTES = {"src", "href", "spec-url"}

# What each referenced URL must answer: content type and smallest plausible size in bytes.
EXPECTED = {
    ".js": ("text/javascript", 500_000),
    ".css": ("text/css", 50_000),
    ".png": ("image/png", 1_000),
    ".json": ("application/json", 10_000),
    "oauth2-redirect": ("text/html", 1_000),
}


class _References(HTMLParser):
    """Collects the URLs a page's tags name and the text of its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [value for name, value in attrs if name in URL_ATTRIBUTES and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.scripts.append(data)


def references(page: str) -> list[str]:
    """Every URL a docs page makes the browser load: tag attributes and inline-script paths."""
    parser = _References()
    parser.feed(page)
    return parser.urls + [path for script in parser.scripts for path in SCRIPT_PATH.findall(script)]


def _allowed(address: Any) -> bool:
    """Loopback (the test database) and Unix sockets; nothing on another machine."""
    if isinstance(address, str | bytes):
        return True  # AF_UNIX path
    try:
        return ipaddress.ip_address(address[0]).is_loopback
    except ValueError:
        return False  # a host name: resolving it would need the network


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse every socket connection that would leave this machine."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: Any) -> None:
        if not _allowed(address):
            raise ConnectionRefusedError(f"test is offline: no connection to {address!r}")
        connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if not _allowed(address):
            raise ConnectionRefusedError(f"test is offline: no connection to {address!r}")
        return connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)


@pytest.fixture
def docs_app(offline: None) -> FastAPI:
    """The app, built with the network already cut: building it must not fetch anything."""
    return create_app(Settings(database_url="postgresql://unused/unused"))


@pytest.fixture
async def docs_client(docs_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client for the offline app; the docs and their assets need no database."""
    transport = httpx.ASGITransport(app=docs_app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        yield http


async def test_the_offline_fixture_really_refuses_other_hosts(offline: None) -> None:
    # 192.0.2.1 is TEST-NET-1: documentation only, so nothing is reached even if the guard fails.
    with pytest.raises(ConnectionRefusedError, match="offline"):
        socket.create_connection(("192.0.2.1", 443), timeout=1)
    with pytest.raises(ConnectionRefusedError, match="offline"):
        await asyncio.wait_for(asyncio.open_connection("192.0.2.1", 443), timeout=1)


@pytest.mark.parametrize("page", PAGES)
async def test_docs_page_loads_every_asset_from_this_server(
    docs_client: httpx.AsyncClient, page: str
) -> None:
    response = await docs_client.get(page)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert ABSOLUTE_URL.findall(response.text) == [], "the page names another host"

    urls = references(response.text)
    kinds = set()
    for url in urls:
        target = urlsplit(urljoin(f"{BASE}{page}", url))
        assert (target.scheme, target.netloc) == ("http", "testserver"), url
        kind = next((kind for kind in EXPECTED if target.path.endswith(kind)), None)
        assert kind is not None, f"unexpected kind of asset: {url}"
        content_type, smallest = EXPECTED[kind]
        asset = await docs_client.get(target.path)
        assert asset.status_code == 200, (url, asset.text[:200])
        assert asset.headers["content-type"].startswith(content_type), url
        assert len(asset.content) >= smallest, url
        kinds.add(kind)
    # The parse found what each page needs: a script, the favicon and the document to render.
    assert {".js", ".png", ".json"} <= kinds, urls
    if page == "/docs":
        assert {".css", "oauth2-redirect"} <= kinds, urls


async def test_oauth2_redirect_page_names_no_other_host(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/docs/oauth2-redirect")
    assert response.status_code == 200
    assert "swaggerUIRedirectOauth2" in response.text
    assert ABSOLUTE_URL.findall(response.text) == []


async def test_swagger_ui_keeps_no_secret_and_the_document_order(
    docs_client: httpx.AsyncClient,
) -> None:
    page = (await docs_client.get("/docs")).text
    assert "persistAuthorization" not in page
    assert "tagsSorter" not in page and "operationsSorter" not in page


async def test_assets_honour_the_root_path_of_a_proxy(docs_app: FastAPI) -> None:
    transport = httpx.ASGITransport(app=docs_app, root_path="/timebox")
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as http:
        page = await http.get("/timebox/docs")
        assert page.status_code == 200
        urls = references(page.text)
        assert urls and all(url.startswith("/timebox/") for url in urls), urls
        asset = await http.get(next(url for url in urls if url.endswith(".js")))
        assert asset.status_code == 200


async def test_unknown_asset_is_a_problem(docs_client: httpx.AsyncClient) -> None:
    response = await docs_client.get("/docs/assets/missing.js")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_docs_routes_stay_out_of_the_openapi_document(docs_app: FastAPI) -> None:
    paths = set(docs_app.openapi()["paths"])
    assert not paths & DOCS_ROUTES
    assert not any(path.startswith("/docs/") for path in paths)
