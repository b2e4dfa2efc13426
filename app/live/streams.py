"""The live streams a client holds open: replay from the database, then live from the hub.

A stream never holds a database session while it waits: each read (the replay, the checks on
heartbeat) takes a short-lived session and returns it at once.
"""

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Collection

from sse_starlette import ServerSentEvent

from app.db import Database
from app.domain.events import service as events
from app.domain.streams import service as streams
from app.domain.streams.service import StreamAccess
from app.live.hub import LAGGED, RESYNC, Delivery, Entry, Hub, project_delivery

# Most queued events sent in one write.
_BATCH = 100
# Rows read per replay query.
_REPLAY_PAGE = 500
# Notification ids recently sent, so a replay after a resync does not repeat them.
_RECENT_IDS = 1000
# Live sends per event-loop turn, across all of a process's streams (see _Pacer).
_SENDS_PER_TURN = 16


def _message(delivery: Delivery) -> bytes:
    return delivery.frame


def _drain(queue: "asyncio.Queue[Entry]") -> list[Entry]:
    """What is queued right now, up to a batch."""
    found: list[Entry] = []
    while len(found) < _BATCH and not queue.empty():
        found.append(queue.get_nowait())
    return found


async def _still_allowed(database: Database, access: StreamAccess) -> bool:
    async with database.sessions() as session:
        return await streams.still_allowed(session, access)


class _Beat:
    """When the next heartbeat is due (every `interval` seconds, busy stream or not)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.due = asyncio.get_running_loop().time() + interval

    def remaining(self) -> float:
        return max(0.0, self.due - asyncio.get_running_loop().time())

    def passed(self) -> bool:
        if asyncio.get_running_loop().time() < self.due:
            return False
        self.due = asyncio.get_running_loop().time() + self.interval
        return True


class _Pacer:
    """Lets at most `per_turn` streams send in one turn of the event loop.

    An event wakes every stream of its project in the same turn; sent all at once, their
    writes would hold up the requests being served (the next write's queries) until all were
    done. Paced, the loop polls for I/O between batches, so requests go on between them.
    """

    def __init__(self, per_turn: int) -> None:
        self.per_turn = per_turn
        self._used = 0
        self._reset_pending = False

    def _reset(self) -> None:
        self._used = 0
        self._reset_pending = False

    async def turn(self) -> None:
        """Wait for a turn with room for one more send."""
        # Polled on purpose: each sleep(0) gives up exactly one turn, which is the pacing.
        while self._used >= self.per_turn:  # noqa: ASYNC110
            await asyncio.sleep(0)
        self._used += 1
        if not self._reset_pending:
            # Callbacks scheduled now run in the next turn, ahead of the streams that waited.
            self._reset_pending = True
            asyncio.get_running_loop().call_soon(self._reset)


_pacer = _Pacer(_SENDS_PER_TURN)


# What `_entries` yields when a heartbeat is due.
_HEARTBEAT = object()


async def _entries(
    queue: "asyncio.Queue[Entry]", beat: "_Beat", database: Database, access: StreamAccess
) -> AsyncIterator[Entry | object]:
    """A subscriber's queued entries as they come, and `_HEARTBEAT` whenever one is due; ends
    when a heartbeat finds the caller no longer allowed (token gone, removed)."""
    while True:
        try:
            async with asyncio.timeout(beat.remaining()):
                entry: Entry | None = await queue.get()
        except TimeoutError:
            entry = None
        if beat.passed():
            if not await _still_allowed(database, access):
                return
            yield _HEARTBEAT
        if entry is not None:
            yield entry


async def project_stream(
    hub: Hub,
    database: Database,
    access: StreamAccess,
    last_event_id: int | None,
    types: Collection[str] | None,
    heartbeat: float,
) -> AsyncIterator[ServerSentEvent | bytes]:
    """A project's events after `last_event_id` (or from now), then live, until the member
    is removed, their token stops working, or the client goes."""
    assert access.project_id is not None and access.project_key is not None
    wanted = set(types) if types else None
    async with hub.follow_project(access.project_id, access.project_key) as subscriber:
        # Sent at once, so the client (and every proxy) sees the stream open.
        yield ServerSentEvent(comment="connected", retry=2000)
        position = subscriber.start if last_event_id is None else last_event_id
        if last_event_id is not None:
            async with database.sessions() as session:
                newest = await events.last_seq(session, access.project_id)
            # An id from the future (another project's, or made up) resumes from now: kept, it
            # would hide every event numbered up to it.
            position = min(position, newest)
            while True:
                async with database.sessions() as session:
                    page = await events.events_after(
                        session,
                        access.project_id,
                        access.project_key,
                        position,
                        None,
                        _REPLAY_PAGE,
                    )
                for event in page:
                    delivery = project_delivery(event)
                    position = event.seq
                    if wanted is None or delivery.event in wanted:
                        yield _message(delivery)
                    if delivery.removed_user_id == access.user_id:
                        return
                if len(page) < _REPLAY_PAGE:
                    break
        async for entry in _entries(subscriber.queue, _Beat(heartbeat), database, access):
            if entry is _HEARTBEAT:
                yield ServerSentEvent(comment="heartbeat")
                continue
            # What else is queued goes out in the same write: one send for a burst, not one
            # per event (a send passes every middleware, for each of the project's clients).
            ready = [entry, *_drain(subscriber.queue)]
            frames: list[bytes] = []
            ended = False
            for queued in ready:
                if queued is RESYNC:
                    continue
                if queued is LAGGED:
                    ended = True
                    break
                assert isinstance(queued, Delivery)
                if queued.id <= position:
                    continue  # replayed already
                position = queued.id
                if wanted is None or queued.event in wanted:
                    frames.append(_message(queued))
                if queued.removed_user_id == access.user_id:
                    ended = True
                    break
            if frames:
                await _pacer.turn()
                yield b"".join(frames)
            if ended:
                return


async def user_stream(
    hub: Hub,
    database: Database,
    access: StreamAccess,
    last_event_id: int | None,
    heartbeat: float,
) -> AsyncIterator[ServerSentEvent | bytes]:
    """The caller's notifications after `last_event_id` (or from now), then live."""
    async with hub.follow_user(access.user_id) as subscriber:
        yield ServerSentEvent(comment="connected", retry=2000)
        sent: deque[int] = deque(maxlen=_RECENT_IDS)
        # Without Last-Event-ID (or with one from the future) the stream starts from the newest
        # notification, taken after subscribing, so a hub reconnect replays from there.
        newest = await hub.latest_notification_id(access.user_id)
        position = newest if last_event_id is None else min(last_event_id, newest)

        async def replay() -> AsyncIterator[Delivery]:
            nonlocal position
            while True:
                page = await hub.notifications_after(access.user_id, position, _REPLAY_PAGE)
                for delivery in page:
                    position = max(position, delivery.id)
                    if delivery.id not in sent:
                        sent.append(delivery.id)
                        yield delivery
                if len(page) < _REPLAY_PAGE:
                    return

        async for delivery in replay():
            yield _message(delivery)
        async for entry in _entries(subscriber.queue, _Beat(heartbeat), database, access):
            if entry is _HEARTBEAT:
                yield ServerSentEvent(comment="heartbeat")
                continue
            if entry is LAGGED:
                return
            if entry is RESYNC:
                async for delivery in replay():
                    yield _message(delivery)
                continue
            assert isinstance(entry, Delivery)
            if entry.id in sent:
                continue
            sent.append(entry.id)
            position = max(position, entry.id)
            await _pacer.turn()
            yield _message(entry)
