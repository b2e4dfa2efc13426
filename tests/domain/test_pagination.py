"""Cursor encoding, and keyset pages that stay correct while rows are inserted."""

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select
from sqlmodel import col

from app.db import Database
from app.domain.kernel.errors import InvalidInput
from app.domain.kernel.pagination import PageRequest, decode_cursor, encode_cursor, fetch_page
from app.domain.users.models import User
from tests.factories import Factory

json_scalars = st.one_of(
    st.integers(min_value=-(2**53), max_value=2**53), st.text(max_size=40), st.booleans()
)


@given(st.lists(json_scalars, min_size=1, max_size=4))
def test_cursor_round_trips(values: list[object]) -> None:
    assert decode_cursor(encode_cursor(values)) == tuple(values)


@pytest.mark.parametrize("garbage", ["%%%", "bm90IGpzb24", "W10", "e30"])
def test_garbage_cursor_is_invalid_input_on_the_cursor(garbage: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        decode_cursor(garbage)
    assert caught.value.errors and caught.value.errors[0].field == "query.cursor"


async def test_pages_cover_every_row_once_despite_inserts(
    database: Database, factory: Factory
) -> None:
    for _ in range(5):
        await factory.user()
    seen: list[int] = []
    cursor: str | None = None
    inserted_midway = False
    while True:
        async with database.sessions() as session:
            rows, cursor = await fetch_page(
                session,
                select(User),
                [col(User.id)],
                PageRequest(limit=2, cursor=cursor),
                lambda row: [row[0].id],
            )
        seen.extend(row[0].id for row in rows)
        if not inserted_midway:
            # A row inserted after the first page must show up later, nothing repeats.
            await factory.user()
            inserted_midway = True
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 6
