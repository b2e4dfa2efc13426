"""Retro workload (issue 12): a board of 10 members × 30 cards with 50 votes each.

Run: `.venv/bin/python -m bench.retros [--workers N]` (embedded PostgreSQL) or with
TIMEBOX_BENCH_DATABASE_URL pointing at a server to create a throw-away database on.
Targets: reading the whole board is one request under 30 ms p95; casting a vote under 20 ms p95.
Prints a Markdown table with median, p95 and p99 and PASS/FAIL per target, and the same figures
for a plain `GET /projects/{key}` by the same member: the ratio to it shows how much of a board
read is the board, on whatever machine runs this.
"""

import argparse
import asyncio
import random
from collections.abc import Awaitable, Callable

import httpx

from bench.harness import (
    FIGURES_HEADER,
    Figures,
    bench_database,
    bench_user,
    join,
    server,
    time_serially,
)

MEMBERS = 10
CARDS_EACH = 30
VOTES_EACH = 50
SAMPLES = 300
BASE = "/api/v1/projects/RET"
TARGETS = {
    "read the board (voting)": 30.0,
    "read the board (discussing)": 30.0,
    "cast a vote": 20.0,
}


async def _timed(
    name: str,
    request: Callable[[int], Awaitable[httpx.Response]],
    prepare: Callable[[int], Awaitable[None]] | None = None,
) -> Figures:
    return await time_serially(name, request, SAMPLES, TARGETS.get(name), prepare=prepare)


async def seed(client: httpx.AsyncClient) -> tuple[dict[str, str], list[dict[str, str]], int]:
    """A completed sprint and its retro in voting: every member's 30 cards and 50 votes."""
    rng = random.Random(12)
    owner = await bench_user(client, "owner@example.com")
    (
        await client.post("/api/v1/projects", json={"key": "RET", "name": "Retro"}, headers=owner)
    ).raise_for_status()
    members = [owner]
    for n in range(1, MEMBERS):
        headers = await bench_user(client, f"member{n}@example.com")
        await join(client, BASE, owner, headers, f"member{n}@example.com")
        members.append(headers)
    items = [
        (
            await client.post(
                f"{BASE}/items", json={"title": f"Story {n}", "points": 3}, headers=owner
            )
        ).json()["number"]
        for n in range(10)
    ]
    sprint = (
        await client.post(f"{BASE}/sprints", json={"goal": "Ship the retro"}, headers=owner)
    ).json()["number"]
    (
        await client.post(f"{BASE}/sprints/{sprint}/items", json={"items": items}, headers=owner)
    ).raise_for_status()
    (await client.post(f"{BASE}/sprints/{sprint}/start", headers=owner)).raise_for_status()
    (
        await client.post(f"{BASE}/sprints/{sprint}/complete", json={}, headers=owner)
    ).raise_for_status()
    created = await client.post(
        f"{BASE}/sprints/{sprint}/retro",
        json={"vote_budget": VOTES_EACH, "anonymous": True},
        headers=owner,
    )
    created.raise_for_status()
    number = created.json()["number"]
    retro = f"{BASE}/retros/{number}"
    columns = created.json()["columns"]
    card_ids: list[int] = []
    for headers in members:
        for n in range(CARDS_EACH):
            card = await client.post(
                f"{retro}/cards",
                json={"column": rng.choice(columns), "text": f"Card {n}: " + "words " * 12},
                headers=headers,
            )
            card.raise_for_status()
            card_ids.append(card.json()["id"])
    await client.post(f"{retro}/phase", json={"phase": "grouping"}, headers=owner)
    # A tenth of the cards in groups of three, as a real grouping pass leaves them.
    grouped = card_ids[: len(card_ids) // 10]
    for start in range(0, len(grouped), 3):
        (
            await client.post(
                f"{retro}/groups",
                json={"name": f"Theme {start // 3}", "card_ids": grouped[start : start + 3]},
                headers=owner,
            )
        ).raise_for_status()
    await client.post(f"{retro}/phase", json={"phase": "voting"}, headers=owner)
    loose = card_ids[len(grouped) :]
    for headers in members:
        for _ in range(VOTES_EACH):
            (
                await client.post(
                    f"{retro}/votes", json={"card_id": rng.choice(loose)}, headers=headers
                )
            ).raise_for_status()
    return owner, members, number


async def main(base: str) -> list[Figures]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        owner, members, number = await seed(client)
        retro = f"{BASE}/retros/{number}"
        voter = members[-1]
        board = (await client.get(retro, headers=voter)).json()
        cards = sum(column["card_count"] for column in board["board"])
        print(
            f"retro {number}: {len(members)} members, {cards} cards, {len(board['groups'])} groups"
        )
        results = [
            await _timed("read the project (reference)", lambda i: client.get(BASE, headers=voter)),
            await _timed("read the board (voting)", lambda i: client.get(retro, headers=voter)),
        ]
        loose = [
            card["id"]
            for column in board["board"]
            for card in column["cards"]
            if card["group_id"] is None
        ]

        async def retract(i: int) -> None:
            mine = (await client.get(retro, headers=voter)).json()["my_votes"]
            deleted = await client.delete(f"{retro}/votes/{mine[0]['id']}", headers=voter)
            deleted.raise_for_status()

        async def cast(i: int) -> httpx.Response:
            return await client.post(
                f"{retro}/votes", json={"card_id": loose[i % len(loose)]}, headers=voter
            )

        # The member has all 50 votes out: each sample retracts one (untimed), then casts one.
        results.append(await _timed("cast a vote", cast, retract))
        await client.post(f"{retro}/phase", json={"phase": "discussing"}, headers=owner)
        results.append(
            await _timed("read the board (discussing)", lambda i: client.get(retro, headers=voter))
        )
        return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server")
    arguments = parser.parse_args()
    with bench_database() as url, server(url, workers=arguments.workers) as base:
        figures = asyncio.run(main(base))
    print(FIGURES_HEADER)
    for result in figures:
        print(result.row())
    reference = figures[0].median_ms
    print()
    for result in figures[1:]:
        print(f"{result.name}: {result.median_ms / reference:.1f}x the reference median")
