"""A private PostgreSQL through pgserver, for machines where no database URL is configured."""

import logging
import warnings
from pathlib import Path
from typing import Any

logger = logging.getLogger("timebox.embedded")


class EmbeddedPostgres:
    """Starts (or joins) a pgserver PostgreSQL in a data directory and stops it on close."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: Any = None

    def start(self) -> str:
        """Start PostgreSQL and return its connection URL."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

            self.data_dir.mkdir(parents=True, exist_ok=True)
            pgdata = self.data_dir / "pgdata"
            self._server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
        uri: str = self._server.get_uri()
        logger.info("embedded PostgreSQL ready in %s", pgdata)
        return uri

    def stop(self) -> None:
        """Stop PostgreSQL if this process is its last user; data stays on disk."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None
            logger.info("embedded PostgreSQL stopped")

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
