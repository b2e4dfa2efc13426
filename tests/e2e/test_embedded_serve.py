"""`timebox serve` with no database URL: embedded PostgreSQL, clean stop, data kept."""

import signal
from pathlib import Path

import httpx

from tests.e2e.server import ServerProcess


def _register(base: str, email: str) -> httpx.Response:
    return httpx.post(
        f"{base}/api/v1/auth/register",
        json={"email": email, "display_name": "Eve", "password": "long enough pw"},
        timeout=10,
    )


def test_embedded_server_starts_stops_cleanly_and_keeps_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"TIMEBOX_DATA_DIR": str(data_dir)}

    first = ServerProcess(env, tmp_path / "first.log")
    try:
        first.wait_ready(timeout=60)
        assert _register(first.base, "eve@example.com").status_code == 201
    finally:
        code = first.stop(signal.SIGTERM)
    assert code == 0, first.log()
    # PostgreSQL was stopped, not left running: no postmaster.pid remains.
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), first.log()

    second = ServerProcess(env, tmp_path / "second.log")
    try:
        second.wait_ready(timeout=60)
        # The account from the first run is still there: registering again conflicts.
        again = _register(second.base, "eve@example.com")
        assert again.status_code == 409, again.text
    finally:
        code = second.stop(signal.SIGINT)
    assert code == 0, second.log()
    assert not (data_dir / "pgdata" / "postmaster.pid").exists(), second.log()
