"""Reading Server-Sent Events in tests: a real HTTP connection, parsed line by line.

httpx's ASGITransport runs the app to completion before it returns a response, so an endless
stream never arrives through it; stream tests talk to a real server over loopback instead.
"""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Message:
    """One dispatched block of a stream: an event, or only comments."""

    id: str | None = None
    event: str | None = None
    data: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: int | None = None

    @property
    def json(self) -> Any:
        """The data lines as one JSON document."""
        return json.loads("\n".join(self.data))


class Stream:
    """An open event stream."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self._lines = response.aiter_lines()

    async def message(self, seconds: float = 10.0) -> Message | None:
        """The next block, or None when the server ended the stream."""
        found = Message()
        async with asyncio.timeout(seconds):
            while True:
                try:
                    line = await anext(self._lines)
                except StopAsyncIteration:
                    return None
                if line == "":
                    if found.data or found.comments or found.event or found.id:
                        return found
                    continue
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "":
                    found.comments.append(value)
                elif name == "id":
                    found.id = value
                elif name == "event":
                    found.event = value
                elif name == "data":
                    found.data.append(value)
                elif name == "retry":
                    found.retry = int(value)

    async def event(self, seconds: float = 10.0) -> Message:
        """The next event (comments skipped); fails if the stream ends first."""
        async with asyncio.timeout(seconds):
            while True:
                message = await self.message(seconds)
                assert message is not None, "the stream ended"
                if message.event is not None:
                    return message

    async def events(self, count: int, seconds: float = 20.0) -> list[Message]:
        """The next `count` events."""
        async with asyncio.timeout(seconds):
            return [await self.event(seconds) for _ in range(count)]

    async def ended(self, seconds: float = 10.0) -> list[Message]:
        """Read until the server ends the stream; what came before the end."""
        seen: list[Message] = []
        async with asyncio.timeout(seconds):
            while (message := await self.message(seconds)) is not None:
                seen.append(message)
        return seen


@asynccontextmanager
async def open_stream(http: httpx.AsyncClient, url: str, **options: Any) -> AsyncIterator[Stream]:
    """GET an event stream; the answer must be a 200 `text/event-stream`."""
    async with http.stream("GET", url, **options) as response:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"{response.status_code}: {response.text}")
        assert response.headers["content-type"].startswith("text/event-stream")
        yield Stream(response)


async def refused(http: httpx.AsyncClient, url: str, **options: Any) -> httpx.Response:
    """GET an event stream that must be refused; the (read) error response."""
    async with asyncio.timeout(10):
        async with http.stream("GET", url, **options) as response:
            await response.aread()
    assert response.status_code != 200, response.text
    return response
