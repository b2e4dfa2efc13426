"""Run Alembic migrations programmatically (CLI, tests, embedded start-up)."""

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

import app


def alembic_config(database_url: str) -> Config:
    """The project's Alembic config, pointed at `database_url`."""
    candidates = [Path(app.__file__).resolve().parent.parent / "alembic.ini", Path("alembic.ini")]
    ini = next((path for path in candidates if path.exists()), None)
    if ini is None:
        raise FileNotFoundError("alembic.ini not found next to the app package or in the cwd")
    config = Config(str(ini))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the database to `revision` (blocking; runs its own event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Downgrade the database to `revision`."""
    command.downgrade(alembic_config(database_url), revision)


async def upgrade_async(database_url: str, revision: str = "head") -> None:
    """Upgrade from async code (Alembic's env.py runs its own loop, so use a thread)."""
    await asyncio.to_thread(upgrade, database_url, revision)
