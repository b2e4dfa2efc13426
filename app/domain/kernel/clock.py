"""The one clock: nothing else in Timebox reads the wall clock, so tests can pin time.

Tests move time with `time-machine`, which patches the standard library's clock underneath
these functions; the service, the demo, reports and forecasts all take "now" and "today" here.
Inside `transaction_time()` (every request's transaction) `now()` is the moment the
transaction began, as PostgreSQL's `now()` is: everything one request writes carries one time.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from app.domain.kernel import calendar

_transaction_began: ContextVar[datetime | None] = ContextVar("transaction_began", default=None)


def _wall() -> datetime:
    """The wall clock: the one place Timebox reads it."""
    return datetime.now(UTC)


def now() -> datetime:
    """The current moment (the transaction's start inside one) as an aware UTC datetime."""
    began = _transaction_began.get()
    return began if began is not None else _wall()


@contextmanager
def transaction_time(at: datetime | None = None) -> Iterator[datetime]:
    """Hold `now()` at this moment (or at `at`, for the demo's simulated past) for the work
    inside: one transaction, one time."""
    token = _transaction_began.set(at or _wall())
    try:
        yield now()
    finally:
        _transaction_began.reset(token)


def today(time_zone: str | ZoneInfo) -> date:
    """The calendar date it is now in the given IANA time zone."""
    return calendar.date_at(now(), time_zone)
