"""Vote budgets hold under concurrent votes from one member, on real PostgreSQL."""

import asyncio
import itertools

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import col

from app.db import Database
from app.domain.retros import repository as retros_repository
from app.domain.retros.models import RetroVote
from tests.factories import Factory
from tests.helpers import rendezvous

_keys = itertools.count(1)


async def _voting_retro(
    client: httpx.AsyncClient, factory: Factory, key: str, budget: int, per_card: int | None
) -> tuple[str, dict[str, str], list[int]]:
    team = await factory.team(key)
    base = f"/api/v1/projects/{key}/retros"
    body: dict[str, object] = {"vote_budget": budget}
    if per_card is not None:
        body["max_votes_per_card"] = per_card
    created = await client.post(base, headers=team.owner.headers, json=body)
    assert created.status_code == 201, created.text
    number = created.json()["number"]
    cards = [
        await factory.retro_card(key, team.owner, number, f"card {index}") for index in range(3)
    ]
    for phase in ("grouping", "voting"):
        moved = await client.post(
            f"{base}/{number}/phase", headers=team.owner.headers, json={"phase": phase}
        )
        assert moved.status_code == 200, moved.text
    return f"{base}/{number}", team.member.headers, cards


async def _stored_votes(database: Database, url: str) -> list[int | None]:
    key, number = url.split("/")[4], int(url.rsplit("/", 1)[1])
    async with database.sessions() as session:
        from app.domain.projects.models import Project

        project_id = (
            await session.execute(select(col(Project.id)).where(col(Project.key) == key))
        ).scalar_one()
        assert project_id is not None
        found = await retros_repository.retro_by_number(session, project_id, number)
        assert found is not None
        rows = await session.execute(
            select(col(RetroVote.card_id)).where(col(RetroVote.retro_id) == found[0].id)
        )
        return list(rows.scalars().all())


def _fits(budget: int, per_card: int | None, targets: list[int]) -> int:
    """How many of these votes fit, in any order: a vote refused for the per-card maximum stays
    refused, so the budget caps the sum of what each card can take."""
    per_target = [targets.count(card) for card in set(targets)]
    return min(budget, sum(n if per_card is None else min(n, per_card) for n in per_target))


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.integers(min_value=1, max_value=6),
    st.one_of(st.none(), st.integers(min_value=1, max_value=6)),
    st.lists(st.integers(min_value=0, max_value=2), min_size=1, max_size=10),
)
async def test_concurrent_votes_never_exceed_the_budget(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    budget: int,
    per_card: int | None,
    picks: list[int],
) -> None:
    per_card = None if per_card is None else min(per_card, budget)
    url, headers, cards = await _voting_retro(client, factory, f"V{next(_keys)}", budget, per_card)
    targets = [cards[pick] for pick in picks]
    answers = await asyncio.gather(
        *(client.post(f"{url}/votes", headers=headers, json={"card_id": t}) for t in targets)
    )
    assert {answer.status_code for answer in answers} <= {201, 409}
    accepted = sum(answer.status_code == 201 for answer in answers)
    assert accepted == _fits(budget, per_card, targets)
    stored = await _stored_votes(database, url)
    assert len(stored) == accepted <= budget
    if per_card is not None:
        assert all(stored.count(card) <= per_card for card in cards)
    board = await client.get(url, headers=headers)
    assert board.json()["votes_remaining"] == budget - accepted


async def test_votes_held_at_the_same_point_still_queue(
    client: httpx.AsyncClient,
    factory: Factory,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, headers, cards = await _voting_retro(client, factory, "RACE", 2, None)
    # All five are past their card lookup before any takes the voter lock and counts.
    rendezvous(monkeypatch, retros_repository, "get_card", parties=5)
    answers = await asyncio.gather(
        *(
            client.post(f"{url}/votes", headers=headers, json={"card_id": cards[0]})
            for _ in range(5)
        )
    )
    assert sorted(answer.status_code for answer in answers) == [201, 201, 409, 409, 409]
    assert len(await _stored_votes(database, url)) == 2
    async with database.sessions() as session:
        total = (await session.execute(select(func.count()).select_from(RetroVote))).scalar_one()
    assert total == 2
