"""The live stream across worker processes: `timebox serve --workers 2`, a real subprocess.

uvicorn's workers share one listening socket, so which worker accepts a connection is the
kernel's choice. The test reads it from /proc: each worker's socket inodes, matched against
the loopback connections in /proc/net/tcp, name the worker that holds each client's
connection. It keeps opening streams until both workers hold some, writes through a
connection whose worker it knows, and requires the event on the streams of the other one.
"""

import asyncio
import os
from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
import pytest

from tests.conftest import PgTestServer
from tests.e2e.server import ServerProcess
from tests.sse import Stream, open_stream

PASSWORD = "live stream passphrase 9"


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            # The command may hold spaces: the fields after its closing parenthesis.
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append(int(entry))
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _worker_of(server_pid: int, server_port: int, client_port: int) -> int:
    """The worker process holding the server side of the connection from `client_port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16)) == (
                server_port,
                client_port,
            ):
                inodes.add(inode)
    assert inodes, f"no server-side socket for client port {client_port}"
    owners = [pid for pid in _children(server_pid) if _socket_inodes(pid) & inodes]
    assert len(owners) == 1, owners
    return owners[0]


def _client_port(response: httpx.Response) -> int:
    port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
    return port


@pytest.fixture
def url(pg_server: PgTestServer) -> str:
    return pg_server.create_database("timebox_sse")


async def test_a_change_through_one_worker_reaches_streams_on_the_other(
    url: str, tmp_path: Path
) -> None:
    env = {"TIMEBOX_DATABASE_URL": url, "TIMEBOX_STREAM_HEARTBEAT_SECONDS": "1"}
    server = ServerProcess(env, tmp_path / "server.log", ["--workers", "2"])
    try:
        server.wait_ready()
        pid = server.process.pid
        async with asyncio.timeout(90), AsyncExitStack() as stack:
            writer = await stack.enter_async_context(
                httpx.AsyncClient(base_url=server.base, timeout=10)
            )
            account = {"email": "ada@example.com", "display_name": "Ada", "password": PASSWORD}
            assert (await writer.post("/api/v1/auth/register", json=account)).status_code == 201
            login = await writer.post(
                "/api/v1/auth/token", data={"username": account["email"], "password": PASSWORD}
            )
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            project = await writer.post(
                "/api/v1/projects", json={"key": "WEB", "name": "Web"}, headers=auth
            )
            assert project.status_code == 201, project.text

            # Streams until both workers hold at least two (each on a connection of its own).
            streams: dict[int, list[Stream]] = {}
            for _ in range(40):
                reader = await stack.enter_async_context(
                    httpx.AsyncClient(base_url=server.base, timeout=10)
                )
                stream = await stack.enter_async_context(
                    open_stream(reader, "/api/v1/projects/WEB/events", headers=auth)
                )
                assert (await stream.message()) is not None  # connected: subscribed
                worker = _worker_of(pid, server.port, _client_port(stream.response))
                streams.setdefault(worker, []).append(stream)
                if len(streams) == 2 and min(len(s) for s in streams.values()) >= 2:
                    break
            assert len(streams) == 2, f"every stream landed on one worker: {streams.keys()}"

            # The writer's keep-alive connection, and so its worker, is known before it writes.
            me = await writer.get("/api/v1/me", headers=auth)
            writing_worker = _worker_of(pid, server.port, _client_port(me))
            created = await writer.post(
                "/api/v1/projects/WEB/items", json={"title": "Across"}, headers=auth
            )
            assert created.status_code == 201, created.text
            assert _client_port(created) == _client_port(me)  # the same connection

            for worker, held in streams.items():
                for stream in held:
                    message = await stream.event(seconds=10)
                    while message.event != "item.created":
                        message = await stream.event(seconds=10)
                    assert message.json["item"] == created.json()["number"], worker
            others = [w for w in streams if w != writing_worker]
            assert others and all(streams[w] for w in others)

            # One listening connection per worker, however many streams are open.
            admin = await asyncpg.connect(url)
            try:
                listeners = await admin.fetchval(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE application_name = 'timebox-live' AND datname = current_database()"
                )
            finally:
                await admin.close()
            assert listeners == 2, listeners
    finally:
        server.stop()
