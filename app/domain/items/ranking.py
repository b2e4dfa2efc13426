"""Backlog order as fractional rank keys: a move rewrites only the moved row.

Keys are base-62 strings that sort bytewise (the column uses the "C" collation); a key can
always be made between two others. Keys grow when many items are squeezed into one gap, so a
project is rebalanced (all keys rewritten evenly, in one transaction) past MAX_KEY_LENGTH.
"""

from fractional_indexing import generate_key_between, generate_n_keys_between

MAX_KEY_LENGTH = 48


def key_between(before: str | None, after: str | None) -> str:
    """A key that sorts after `before` and before `after` (None: open end)."""
    return str(generate_key_between(before, after))


def keys_between(before: str | None, after: str | None, count: int) -> list[str]:
    """`count` ascending keys between `before` and `after`, evenly spread."""
    return [str(key) for key in generate_n_keys_between(before, after, count)]


def needs_rebalance(key: str) -> bool:
    """Whether a key has grown long enough that the project's keys should be respread."""
    return len(key) > MAX_KEY_LENGTH
