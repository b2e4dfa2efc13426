"""The README's curl walkthrough, run verbatim against a real `timebox serve`."""

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PgTestServer
from tests.e2e.server import ServerProcess

README = Path(__file__).resolve().parents[2] / "README.md"


def walkthrough_script() -> str:
    """The shell block between the walkthrough markers of the README."""
    text = README.read_text()
    match = re.search(
        r"<!-- walkthrough:start -->\s*```sh\n(.*?)```\s*<!-- walkthrough:end -->", text, re.S
    )
    assert match, "README.md lost its walkthrough markers"
    return match.group(1)


@pytest.fixture
def server(pg_server: PgTestServer, tmp_path: Path) -> Iterator[ServerProcess]:
    url = pg_server.create_database("timebox_walkthrough")
    process = ServerProcess({"TIMEBOX_DATABASE_URL": url}, tmp_path / "server.log")
    try:
        process.wait_ready()
        yield process
    finally:
        process.stop()


def test_readme_walkthrough_runs_verbatim(server: ServerProcess) -> None:
    assert shutil.which("curl"), "the walkthrough needs curl on PATH"
    result = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", walkthrough_script()],
        env={"BASE": server.base, "PATH": os.environ["PATH"]},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr + result.stdout + server.log()
    out = result.stdout
    assert '"email":"ada@example.com"' in out
    assert '"is_admin":true' in out
    assert '"key":"WEB"' in out
    assert '"time_zone":"Europe/Berlin"' in out
    # The last commands print: the first project's key, the team mate's role, how many items
    # the batch created, the key of the item moved to the top, the top item's title; then the
    # sprint's name, its item count, the committed points, WEB-2's status category, WEB-3's
    # sprint, the completed points, say/do (5 / 8) and how many items joined after the start;
    # then the retro: its first phase, the card's column, the three phases it moved through,
    # the action item's number and its owner on the list of open actions; and the activity
    # feed's line for the newest retro event.
    assert out.rstrip().splitlines()[-21:] == [
        "WEB",
        "member",
        "3",
        "WEB-2",
        "Reset a forgotten password",
        "Sprint 1",
        "2",
        "8.0",
        "done",
        "1",
        "5.0",
        "0.625",
        "1",
        "collecting",
        "To improve",
        "grouping",
        "voting",
        "discussing",
        "1",
        "Grace",
        "Ada moved Sprint 1 retrospective to discussing",
    ]
