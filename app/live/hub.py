"""The process's hub: one PostgreSQL connection LISTENs for commits and fans them out.

Every transaction that writes public events NOTIFYs `timebox_events` with
`<project_id>:<last_seq>` at commit (app.domain.events.repository); every new notification
NOTIFYs `timebox_notifications` with `<user_id>:<notification_id>`. The hub holds one
dedicated asyncpg connection per process (not per client, not from the request pool). On a
project's notification it reads the new events once, with a short-lived session, and puts
them on the bounded queue of every local subscriber of that project. A subscriber that falls
too far behind is told to disconnect: its client reconnects with Last-Event-ID and replays
from the database, which is the source of truth. When the connection drops, the hub
reconnects with backoff and then catches every follower up from the database, so a drop loses
nothing.
"""

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sse_starlette import ServerSentEvent

from app.db import Database
from app.domain.events import service as events
from app.domain.events.catalogue import EventPublic, EventType
from app.domain.events.repository import CHANNEL as EVENTS_CHANNEL
from app.domain.events.repository import last_seq
from app.domain.notifications import service as notifications
from app.domain.notifications.repository import CHANNEL as NOTIFICATIONS_CHANNEL

logger = logging.getLogger("timebox.live")

# How the listening connection shows in pg_stat_activity.
APPLICATION_NAME = "timebox-live"
_BACKOFF_FIRST_SECONDS = 0.1
_BACKOFF_MAX_SECONDS = 5.0
# A connection cut without a FIN (a frozen server, a dropped route) is noticed this soon.
_KEEPALIVE_SECONDS = 10.0


@dataclass(frozen=True)
class Delivery:
    """One event or notification for subscribers, serialised once for all of them."""

    id: int
    event: str
    data: str
    # The user a `member.removed` event removes (their stream ends with it).
    removed_user_id: int | None = None

    @functools.cached_property
    def frame(self) -> bytes:
        """The SSE frame, encoded once however many subscribers send it."""
        return ServerSentEvent(data=self.data, event=self.event, id=str(self.id)).encode()


class Signal:
    """A queue entry that is not a delivery."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


# Fell too far behind: end the stream; the client reconnects and replays.
LAGGED = Signal("lagged")
# The hub may have missed notifications: read what was missed from the database.
RESYNC = Signal("resync")

Entry = Delivery | Signal


@dataclass(eq=False)
class Subscriber:
    """One client's stream: a bounded queue the hub puts entries on."""

    queue: "asyncio.Queue[Entry]"
    # The last event seq the hub had fanned out when this subscriber joined (projects).
    start: int = 0

    def offer(self, entry: Entry) -> None:
        """Queue an entry; past the bound, drop what is queued and ask the stream to end."""
        try:
            self.queue.put_nowait(entry)
        except asyncio.QueueFull:
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(LAGGED)


@dataclass(eq=False)
class _ProjectFeed:
    """A project some local client follows: its subscribers and how far it was fanned out."""

    project_id: int
    key: str
    subscribers: set[Subscriber] = field(default_factory=set)
    # The newest seq fanned out (None until read from the database).
    fanned: int | None = None
    # The newest seq a notification announced.
    wanted: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    task: "asyncio.Task[None] | None" = None


def listen_dsn(database_url: str) -> str:
    """The configured URL as asyncpg takes it (no SQLAlchemy driver name)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def _member_removed(event: EventPublic) -> int | None:
    if event.type != EventType.MEMBER_REMOVED:
        return None
    member = event.payload.get("member")
    user_id = member.get("user_id") if isinstance(member, dict) else None
    return user_id if isinstance(user_id, int) else None


def project_delivery(event: EventPublic) -> Delivery:
    """An event as the project stream sends it."""
    return Delivery(event.seq, event.type.value, event.model_dump_json(), _member_removed(event))


class Hub:
    """Fan-out of committed events and notifications to this process's stream clients."""

    def __init__(self, database: Database, database_url: str, queue_size: int) -> None:
        self.database = database
        self.dsn = listen_dsn(database_url)
        self.queue_size = queue_size
        self.connected = asyncio.Event()
        self.reconnects = 0
        self._projects: dict[int, _ProjectFeed] = {}
        self._users: dict[int, set[Subscriber]] = {}
        self._task: asyncio.Task[None] | None = None
        self._connection: Any = None
        # Tasks started from notification callbacks, kept so they are not collected mid-run.
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Start listening (in the background: a database that is away is retried)."""
        self._task = asyncio.create_task(self._listen_forever(), name="timebox-live-hub")

    async def stop(self) -> None:
        """Stop listening and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for feed in self._projects.values():
            if feed.task is not None:
                feed.task.cancel()

    @property
    def listener_pid(self) -> int | None:
        """The backend pid of the listening connection (None while disconnected)."""
        connection = self._connection
        return None if connection is None else int(connection.get_server_pid())

    def fanned_out(self, project_id: int) -> int | None:
        """The newest seq of a followed project fanned out so far (None if not followed)."""
        feed = self._projects.get(project_id)
        return None if feed is None else feed.fanned

    def _new_subscriber(self) -> Subscriber:
        return Subscriber(asyncio.Queue(maxsize=self.queue_size))

    @contextlib.asynccontextmanager
    async def follow_project(self, project_id: int, key: str) -> AsyncIterator[Subscriber]:
        """Subscribe to a project's new events for the duration of the block.

        `start` is the newest seq fanned out when the subscription took effect: every event
        after it reaches the queue, so a replay from the database up to any later moment,
        then the queue skipping what was replayed, has no gap and no duplicate.
        """
        feed = self._projects.get(project_id)
        if feed is None:
            feed = self._projects[project_id] = _ProjectFeed(project_id, key)
        subscriber = self._new_subscriber()
        feed.subscribers.add(subscriber)
        try:
            if feed.fanned is None:
                async with feed.lock:
                    if feed.fanned is None:
                        # Committed events are a prefix 1..N of the seqs (the counter is held
                        # until commit), and LISTEN is on: every event after N is announced.
                        async with self.database.sessions() as session:
                            feed.fanned = await last_seq(session, project_id)
                        feed.wanted = max(feed.wanted, feed.fanned)
                self._kick(feed)
            subscriber.start = feed.fanned
            yield subscriber
        finally:
            feed.subscribers.discard(subscriber)
            if not feed.subscribers and self._projects.get(project_id) is feed:
                del self._projects[project_id]
                if feed.task is not None and not feed.task.done():
                    feed.task.cancel()

    @contextlib.asynccontextmanager
    async def follow_user(self, user_id: int) -> AsyncIterator[Subscriber]:
        """Subscribe to a user's new notifications for the duration of the block."""
        subscriber = self._new_subscriber()
        self._users.setdefault(user_id, set()).add(subscriber)
        try:
            yield subscriber
        finally:
            followers = self._users.get(user_id)
            if followers is not None:
                followers.discard(subscriber)
                if not followers:
                    del self._users[user_id]

    # Listening.

    async def _listen_forever(self) -> None:
        backoff = _BACKOFF_FIRST_SECONDS
        while True:
            try:
                await self._listen_once()
                backoff = _BACKOFF_FIRST_SECONDS
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("live stream listener: %s; reconnecting in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, _BACKOFF_MAX_SECONDS)

    async def _listen_once(self) -> None:
        """One connection's life: LISTEN, catch up, and wait until it is lost."""
        connection = await asyncpg.connect(
            self.dsn,
            timeout=10,
            server_settings={"application_name": APPLICATION_NAME},
        )
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _: lost.set())
        try:
            await connection.add_listener(EVENTS_CHANNEL, self._on_event)
            await connection.add_listener(NOTIFICATIONS_CHANNEL, self._on_notification)
            self._connection = connection
            self._catch_up()
            self.connected.set()
            while not lost.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_KEEPALIVE_SECONDS):
                        await lost.wait()
                if not lost.is_set():
                    async with asyncio.timeout(_KEEPALIVE_SECONDS):
                        await connection.execute("SELECT 1")
            raise ConnectionError("the listening connection was closed")
        finally:
            self.connected.clear()
            self._connection = None
            self.reconnects += 1
            connection.terminate()

    def _catch_up(self) -> None:
        """After (re)connecting: what was committed while not listening is read again."""
        for feed in self._projects.values():
            self._kick(feed, resync=True)
        for followers in self._users.values():
            for subscriber in followers:
                subscriber.offer(RESYNC)

    def _on_event(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        project, _, seq = payload.partition(":")
        try:
            project_id, last = int(project), int(seq)
        except ValueError:
            logger.warning("ignored a malformed %s payload %r", channel, payload)
            return
        feed = self._projects.get(project_id)
        if feed is None:
            return
        feed.wanted = max(feed.wanted, last)
        self._kick(feed)

    def _kick(self, feed: _ProjectFeed, *, resync: bool = False) -> None:
        if resync and feed.fanned is not None:
            # Unknown what was missed: read until the database has nothing newer.
            feed.wanted = max(feed.wanted, feed.fanned + 1)
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._fan_out(feed))

    async def _fan_out(self, feed: _ProjectFeed) -> None:
        """Read a project's events after the last fanned out, once for all its subscribers."""
        backoff = _BACKOFF_FIRST_SECONDS
        async with feed.lock:
            while feed.fanned is not None and feed.wanted > feed.fanned and feed.subscribers:
                try:
                    async with self.database.sessions() as session:
                        found = await events.events_after(
                            session, feed.project_id, feed.key, feed.fanned
                        )
                except Exception as exc:
                    logger.warning("live stream: reading events failed: %s", exc)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, _BACKOFF_MAX_SECONDS)
                    continue
                if not found:
                    # A resync that found nothing new (or an announcement seen twice).
                    feed.wanted = feed.fanned
                    break
                # No await from here to the update: a subscriber joining now sees either
                # these events in its queue or `fanned` past them.
                for event in found:
                    delivery = project_delivery(event)
                    for subscriber in feed.subscribers:
                        subscriber.offer(delivery)
                feed.fanned = found[-1].seq

    def _on_notification(self, connection: Any, pid: int, channel: str, payload: str) -> None:
        user, _, notification = payload.partition(":")
        try:
            user_id, notification_id = int(user), int(notification)
        except ValueError:
            logger.warning("ignored a malformed %s payload %r", channel, payload)
            return
        if user_id in self._users:
            task = asyncio.create_task(self._deliver_notification(user_id, notification_id))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _deliver_notification(self, user_id: int, notification_id: int) -> None:
        """Read one announced notification and queue it for its user's streams."""
        try:
            found = await self.notifications_after(user_id, notification_id - 1, 1)
        except Exception as exc:
            logger.warning("live stream: reading a notification failed: %s", exc)
            for subscriber in self._users.get(user_id, ()):
                subscriber.offer(RESYNC)
            return
        if not found or found[0].id != notification_id:
            return
        for subscriber in self._users.get(user_id, ()):
            subscriber.offer(found[0])

    async def latest_notification_id(self, user_id: int) -> int:
        """The id of a user's newest notification (0 before any)."""
        async with self.database.sessions() as session:
            return await notifications.latest_notification_id(session, user_id)

    async def notifications_after(self, user_id: int, after_id: int, limit: int) -> list[Delivery]:
        """A user's notifications after `after_id`, oldest first, as the stream sends them."""
        async with self.database.sessions() as session:
            rows = await notifications.notifications_after(session, user_id, after_id, limit)
        return [Delivery(row.id, "notification", row.model_dump_json()) for row in rows]
