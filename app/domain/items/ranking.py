"""Backlog order as fractional rank keys: a move rewrites only the moved row.

Keys are base-62 strings that sort bytewise (the column uses the "C" collation); a key can
always be made between two others. Keys grow when many items are squeezed into one gap, so a
project is rebalanced (all keys rewritten evenly, in one transaction) past MAX_KEY_LENGTH.
Writers racing for one gap collide on the unique rank constraint and retry in a savepoint.
"""

from collections.abc import Awaitable, Callable, Sequence

from fractional_indexing import generate_key_between, generate_n_keys_between
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository
from app.domain.items.models import EventKind, Item
from app.domain.items.schemas import ItemMove
from app.domain.items.writer import Writer
from app.domain.kernel.errors import Conflict

MAX_KEY_LENGTH = 48
_RANK_CONSTRAINT = "uq_items_project_id_rank"
_PLACEMENT_ATTEMPTS = 8


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after `before` and before `after` (None: open end)."""
    return str(generate_key_between(before, after))


def keys_between(before: str | None, after: str | None, count: int) -> list[str]:
    """`count` ascending keys between `before` and `after`, evenly spread."""
    return [str(key) for key in generate_n_keys_between(before, after, count)]


def needs_rebalance(key: str) -> bool:
    """Whether a key has grown long enough that the project's keys should be respread."""
    return len(key) > MAX_KEY_LENGTH


async def with_rank_retry(
    session: AsyncSession,
    attempt: Callable[[], Awaitable[None]],
    on_retry: Callable[[], Awaitable[None]],
) -> None:
    """Run a rank-writing step in a savepoint, retrying when a concurrent write took the key."""
    for _ in range(_PLACEMENT_ATTEMPTS):
        try:
            async with session.begin_nested():
                await attempt()
            return
        except IntegrityError as exc:
            if _RANK_CONSTRAINT not in str(exc.orig):
                raise
            await on_retry()
    raise Conflict("The backlog is being reordered too quickly; retry.")


async def maybe_rebalance(writer: Writer, key: str) -> bool:
    """Respread every rank of the project when keys have grown long (rare); True if it did."""
    if not needs_rebalance(key):
        return False

    async def again() -> None:
        """A create committed a key the respread wanted: the next attempt includes its item."""

    await with_rank_retry(writer.session, lambda: _rebalance(writer), again)
    return True


async def _rebalance(writer: Writer) -> None:
    """Give every item of the project an evenly spread key, in one transaction."""
    rows = await repository.items_in_rank_order(writer.session, writer.project_id)
    keys = keys_between(None, None, len(rows))
    # Rows whose key happens to stay the same are neither written nor logged.
    changed = [(row, new) for row, new in zip(rows, keys, strict=True) if row[2] != new]
    await repository.set_ranks(writer.session, [(row[0], new) for row, new in changed])
    for (item_id, number, old), new in changed:
        writer.log_event(item_id, number, EventKind.MOVED, "rank", old, new)
    await writer.session.flush()


async def rank_new_items(
    session: AsyncSession, project_id: int, top: Sequence[Item], bottom: Sequence[Item]
) -> None:
    """Give new items keys above the backlog (`top`) or below it (`bottom`), in input order."""
    first_rank = await repository.edge_rank(session, project_id, last=False)
    if first_rank is None:
        # An empty backlog has no edge to place against: one run of keys, top items first
        # (two runs from the same open ends would repeat keys).
        ordered = [*top, *bottom]
        for item, key in zip(ordered, keys_between(None, None, len(ordered)), strict=True):
            item.rank = key
        return
    if top:
        for item, key in zip(top, keys_between(None, first_rank, len(top)), strict=True):
            item.rank = key
    if bottom:
        last_rank = await repository.edge_rank(session, project_id, last=True)
        for item, key in zip(bottom, keys_between(last_rank, None, len(bottom)), strict=True):
            item.rank = key


async def move_key(
    session: AsyncSession, project_id: int, item: Item, move: ItemMove
) -> str | None:
    """The key that puts `item` where `move` asks, or None when it is there already."""
    assert item.id is not None
    if move.top:
        first = await repository.edge_rank(session, project_id, last=False, exclude_id=item.id)
        return None if first is None or item.rank < first else key_between(None, first)
    if move.bottom:
        last = await repository.edge_rank(session, project_id, last=True, exclude_id=item.id)
        return None if last is None or item.rank > last else key_between(last, None)
    anchor_number = move.before if move.before is not None else move.after
    assert anchor_number is not None
    anchor = (await repository.get_items_by_numbers(session, project_id, [anchor_number]))[
        anchor_number
    ]
    await session.refresh(anchor)
    if move.before is not None:
        lower = await repository.neighbour_rank(
            session, project_id, anchor.rank, below=False, exclude_id=item.id
        )
        if (lower is None or lower < item.rank) and item.rank < anchor.rank:
            return None
        return key_between(lower, anchor.rank)
    upper = await repository.neighbour_rank(
        session, project_id, anchor.rank, below=True, exclude_id=item.id
    )
    if anchor.rank < item.rank and (upper is None or item.rank < upper):
        return None
    return key_between(anchor.rank, upper)
