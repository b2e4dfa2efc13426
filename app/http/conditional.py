"""Conditional GET: ETags hashed from bodies, If-None-Match and 304, and HEAD as a bodiless GET."""

import hashlib
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A route asks for a strong ETag (hashed from the body like the weak ones) with this response
# header, which never leaves the server. See `routers.deps.strong_etag`.
STRONG_ETAG_HEADER = "x-timebox-strong-etag"
# Every answer is for one caller: a browser may keep it but must ask again before each use.
CACHE_CONTROL = "private, no-cache"

# RFC 9110 8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, and etagc excludes DQUOTE, so a
# comma may sit inside a tag: lists are read tag by tag, never split on commas.
_ENTITY_TAG = re.compile(r'\s*(W/)?"([^"]*)"\s*(?:,|$)')
# Representation metadata that tells two bodies apart as much as their bytes do.
_DIGESTED = ("content-type", "content-encoding", "content-language")
# What a 304 carries of the 200 it stands for (RFC 9110 15.4.5); the rest described the body.
_KEPT_ON_304 = frozenset(
    {b"etag", b"cache-control", b"vary", b"content-location", b"expires", b"date"}
)
# Set by the router on the scope it is handed; copied back so the middleware outside, which
# labels metrics by route, sees them for HEAD too.
_ROUTING_KEYS = ("route", "endpoint", "path_params")


def entity_tags(header: str) -> list[tuple[bool, str]] | None:
    """Each tag of an If-Match or If-None-Match list as (weak, opaque part); None if malformed."""
    tags: list[tuple[bool, str]] = []
    position = 0
    value = header.strip()
    while position < len(value):
        match = _ENTITY_TAG.match(value, position)
        if match is None:
            return None
        tags.append((match.group(1) is not None, match.group(2)))
        position = match.end()
    return tags


def opaque_tags(header: str) -> list[str] | None:
    """The opaque parts of an entity-tag list (W/ dropped); None when malformed."""
    tags = entity_tags(header)
    return None if tags is None else [opaque for _, opaque in tags]


def not_modified_response(etag: str, *, authorized: bool) -> Response:
    """The 304 a route answers itself, with the headers the middleware gives its 200s."""
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if authorized:
        headers["Vary"] = "Authorization"
    return Response(status_code=304, headers=headers)


def not_modified(if_none_match: str, etag: str | None) -> bool:
    """Whether If-None-Match is false for a representation with this ETag: `*`, or a tag equal
    to it by the weak comparison (RFC 9110 13.1.2). A malformed header is ignored."""
    if if_none_match.strip() == "*":
        return True
    current = opaque_tags(etag) if etag else None
    listed = opaque_tags(if_none_match)
    if not current or listed is None:
        return False
    return current[0] in listed


def body_etag(headers: MutableHeaders, body: bytes, *, strong: bool) -> str:
    """An ETag naming these bytes and the metadata that goes with them."""
    digest = hashlib.blake2b(digest_size=16)
    for name in _DIGESTED:
        digest.update(headers.get(name, "").encode("latin-1") + b"\0")
    digest.update(body)
    tag = f'"{digest.hexdigest()}"'
    return tag if strong else f"W/{tag}"


class ConditionalGetMiddleware:
    """ETags, If-None-Match and 304 for GET and HEAD; HEAD is answered as a GET without body.

    A 200 sent in one piece without an ETag gets one hashed from its body: weak, or strong when
    the route asked (`STRONG_ETAG_HEADER`). A strong ETag the route set itself is the
    resource's version (`"3"`), for If-Match; it does not cover what the representation embeds
    (an item's status name, an epic's progress, the caller's role), so a GET's gets the body's
    digest added (`"3.<digest>"`): a strong tag that changes with the bytes, whose version
    If-Match still reads. A weak ETag the route set (`W/"..."`) is a validator it computed for
    the whole representation (the board's): it is kept as it is and If-None-Match is answered
    against it. Other answers than 200 (a 304 the route made itself) pass through as they are,
    and so do streamed bodies (server-sent events, downloads).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, send)
        if scope["method"] == "GET":
            await self.app(scope, receive, exchange.send)
            return
        # The route runs as the GET; the server still knows the request as HEAD.
        inner = {**scope, "method": "GET"}
        try:
            await self.app(inner, receive, exchange.send)
        finally:
            scope.update({key: inner[key] for key in _ROUTING_KEYS if key in inner})


class _Exchange:
    """One GET or HEAD: holds the response start until the first body part shows its size."""

    def __init__(self, scope: Scope, send: Send) -> None:
        request_headers = Headers(scope=scope)
        self.head = scope["method"] == "HEAD"
        self.if_none_match = request_headers.get("if-none-match")
        self.authorized = "authorization" in request_headers
        self.downstream = send
        self.start: Message | None = None
        self.started = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body":
            # e.g. a file sent by the server (`http.response.pathsend`): nothing to hash.
            if self.start is not None and not self.started:
                self.started = True
                await self.downstream(self.start)
            await self.downstream(message)
            return
        if not self.started:
            self.started = True
            assert self.start is not None
            start, first = self._answer(self.start, message)
            await self.downstream(start)
            await self.downstream(first)
            return
        if not self.head:
            await self.downstream(message)

    def _answer(self, start: Message, first: Message) -> tuple[Message, Message]:
        """The response start to send, and the first body part to send after it."""
        headers = MutableHeaders(raw=list(start.get("headers", [])))
        strong = STRONG_ETAG_HEADER in headers
        if strong:
            del headers[STRONG_ETAG_HEADER]
        body: bytes = first.get("body", b"")
        streamed = first.get("more_body", False)
        # A HEAD answer ends here; the parts still to come are dropped.
        empty = {"type": "http.response.body", "body": b"", "more_body": False}
        if start["status"] != 200 or streamed:
            return {**start, "headers": headers.raw}, empty if self.head else first
        version = headers.get("etag")
        if version is None:
            etag = body_etag(headers, body, strong=strong)
        elif version.startswith("W/"):
            etag = version
        else:
            etag = version.removesuffix('"') + "." + body_etag(headers, body, strong=True)[1:]
        headers["etag"] = etag
        if "cache-control" not in headers:
            headers["cache-control"] = CACHE_CONTROL
        if self.authorized:
            headers.add_vary_header("Authorization")
        if self.if_none_match is not None and not_modified(self.if_none_match, etag):
            kept = [(name, value) for name, value in headers.raw if name in _KEPT_ON_304]
            return {**start, "status": 304, "headers": kept}, empty
        return {**start, "headers": headers.raw}, empty if self.head else first
