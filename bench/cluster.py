"""A PostgreSQL cluster of the fault scenarios' own, that they may kill -9 and start again.

It runs pgserver's PostgreSQL binaries on a data directory in a temporary directory, listening
on 127.0.0.1 only, on a free port: never a shared server, never the machine's 5432 cluster.
"""

import asyncio
import os
import pwd
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg

from bench.harness import free_port, kill_group, stop_group

# PostgreSQL refuses to run as root; pgserver runs it as this user then, and so do we.
SYSTEM_USER = "pgserver"


class Cluster:
    """initdb, start, kill -9 (the postmaster and every backend) and start again."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="timebox-faults-pg-"))
        self.pgdata = self.root / "pgdata"
        self.log_path = self.root / "postgres.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self.process: subprocess.Popen[bytes] | None = None
        self.user: str | None = None

    def init(self) -> None:
        """Create the data directory with pgserver's initdb (trust auth, loopback only)."""
        from pgserver import _commands

        self.pgdata.mkdir()
        if os.geteuid() == 0:
            from pgserver import utils

            self.user = SYSTEM_USER
            utils.ensure_user_exists(SYSTEM_USER)
            entry = pwd.getpwnam(SYSTEM_USER)
            # What pgserver itself does as root: the user must reach the binaries and the data.
            utils.ensure_prefix_permissions(self.pgdata)
            utils.ensure_prefix_permissions(_commands.POSTGRES_BIN_PATH)
            readable = stat.S_IRGRP | stat.S_IROTH
            executable = stat.S_IXGRP | stat.S_IXOTH
            utils.ensure_folder_permissions(_commands.POSTGRES_BIN_PATH, readable | executable)
            utils.ensure_folder_permissions(_commands.POSTGRES_BIN_PATH.parent / "lib", readable)
            os.chown(self.pgdata, entry.pw_uid, entry.pw_gid)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        initdb = str(_commands.POSTGRES_BIN_PATH / "initdb")
        subprocess.run(
            [initdb, "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres"],
            check=True,
            capture_output=True,
            user=self.user,
            timeout=120,
        )

    async def start(self, within: float = 60) -> float:
        """Start the postmaster in its own process group; seconds until it accepts connections."""
        started = time.perf_counter()
        process = self._spawn()
        while not await self.accepts():
            if process.poll() is not None or time.perf_counter() - started > within:
                raise RuntimeError(f"PostgreSQL did not start:\n{self.log()}")
            await asyncio.sleep(0.05)
        return time.perf_counter() - started

    def _spawn(self) -> "subprocess.Popen[bytes]":
        from pgserver import _commands

        postgres = str(_commands.POSTGRES_BIN_PATH / "postgres")
        command = [
            postgres,
            "-D",
            str(self.pgdata),
            "-p",
            str(self.port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
        ]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self.user,
            )
        return self.process

    async def accepts(self) -> bool:
        """Whether a connection and a trivial query succeed now."""
        try:
            connection = await asyncpg.connect(self.url, timeout=1)
        except (TimeoutError, OSError, asyncpg.PostgresError):
            return False
        try:
            await connection.fetchval("SELECT 1")
        finally:
            await connection.close()
        return True

    def kill(self) -> None:
        """kill -9 the postmaster and all its backends at once (a crash, or the OOM killer)."""
        kill_group(self.process)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then kill what is left of the group."""
        stop_group(self.process, signal.SIGINT)

    def cleanup(self) -> None:
        """Stop the cluster and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log(self) -> str:
        """What PostgreSQL wrote to its log."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
