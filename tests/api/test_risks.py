"""Risk register API: creation and its rules, exposure, the sorted and filtered list, changes
and their history, links, the weekly trend, the sprint report's list — on real PostgreSQL."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.projects import repository as projects_repository
from app.domain.releases.models import Release
from app.domain.risks import repository as risks_repository
from app.domain.risks.models import RiskStatus
from app.domain.risks.schemas import RiskSummary
from tests.factories import Actor, Factory
from tests.helpers import all_pages, assert_problem, etag_version, pause_after

PROJECTS = "/api/v1/projects"
RISKS = f"{PROJECTS}/WEB/risks"


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def create(
    client: httpx.AsyncClient, actor: Actor, body: Any, url: str = RISKS
) -> httpx.Response:
    return await client.post(url, headers=actor.headers, json=body)


async def created(
    client: httpx.AsyncClient, actor: Actor, body: dict[str, Any], url: str = RISKS
) -> dict[str, Any]:
    response = await create(client, actor, {"probability": 3, "impact": 3, **body}, url)
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


async def patch(
    client: httpx.AsyncClient, actor: Actor, number: int, body: Any, **headers: str
) -> httpx.Response:
    return await client.patch(f"{RISKS}/{number}", headers={**actor.headers, **headers}, json=body)


async def patched(
    client: httpx.AsyncClient, actor: Actor, number: int, body: Any
) -> dict[str, Any]:
    response = await patch(client, actor, number, body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def listed(client: httpx.AsyncClient, actor: Actor, **params: Any) -> list[int]:
    """The numbers of every risk the list gives for these filters, in its order."""
    return [risk["number"] for risk in await all_pages(client, actor, RISKS, **params)]


async def risk_history(
    client: httpx.AsyncClient, actor: Actor, number: int
) -> list[dict[str, Any]]:
    return await all_pages(client, actor, f"{RISKS}/{number}/history")


async def count_rows(database: Database, table: str) -> int:
    async with database.engine.connect() as connection:
        return int((await connection.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def project_id(database: Database, key: str = "WEB") -> int:
    async with database.engine.connect() as connection:
        found = await connection.execute(text("SELECT id FROM projects WHERE key = :k"), {"k": key})
        return int(found.scalar_one())


async def make_release(database: Database, key: str = "WEB", name: str = "1.0") -> int:
    """A release of project `key` (straight into the table: releases are not ours)."""
    pid = await project_id(database, key)
    async with database.sessions() as session, session.begin():
        number = await projects_repository.take_numbers(session, pid, "release")
        session.add(Release(project_id=pid, number=number, name=name))
    return number


# --- creation ----------------------------------------------------------------------------------


async def test_create_risk(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-12-01T10:00:00")
    owner, member, _, _ = await factory.team()
    item = await factory.item("WEB", owner, title="Checkout")
    sprint = await factory.sprint("WEB", owner)

    response = await create(
        client,
        member,
        {
            "title": "  Payment provider changes its API ",
            "description": "  v2 may go\n",
            "category": "external",
            "probability": 3,
            "impact": 4,
            "owner_id": member.id,
            "mitigation_plan": "Build against v3 now.",
            "contingency_plan": "Invoice-only checkout.",
            "review_date": "2026-12-15",
            "items": [item, item],
            "sprints": [sprint],
        },
    )

    assert response.status_code == 201, response.text
    assert response.headers["Location"] == "/api/v1/projects/WEB/risks/1"
    assert etag_version(response) == 1
    body = response.json()
    assert body == {
        "number": 1,
        "title": "Payment provider changes its API",
        "description": "  v2 may go\n",
        "category": "external",
        "probability": 3,
        "impact": 4,
        "exposure": 12,
        "status": "open",
        "owner": {"id": member.id, "display_name": member.email.split("@")[0]},
        "mitigation_plan": "Build against v3 now.",
        "contingency_plan": "Invoice-only checkout.",
        "review_date": "2026-12-15",
        "review_overdue": False,
        "items": [item],
        "sprints": [sprint],
        "releases": [],
        "version": 1,
        "created_at": "2026-12-01T10:00:00Z",
        "updated_at": "2026-12-01T10:00:00Z",
    }
    fetched = await client.get(f"{RISKS}/1", headers=owner.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert etag_version(fetched) == 1


async def test_minimal_risk_takes_defaults_and_numbers_count_up(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    first = await created(client, owner, {"title": "One", "probability": 1, "impact": 5})
    second = await created(client, owner, {"title": "Two", "probability": 5, "impact": 5})
    assert (first["number"], second["number"]) == (1, 2)
    assert first["category"] == "other" and first["status"] == "open"
    assert first["owner"] is None and first["review_date"] is None
    assert (first["exposure"], second["exposure"]) == (5, 25)
    assert first["description"] == first["mitigation_plan"] == first["contingency_plan"] == ""


async def test_numbers_are_per_project(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    await factory.project(owner, "APP")
    await created(client, owner, {"title": "Web risk"})
    other = await created(client, owner, {"title": "App risk"}, url=f"{PROJECTS}/APP/risks")
    assert other["number"] == 1
    assert (await client.get(f"{PROJECTS}/APP/risks/2", headers=owner.headers)).status_code == 404


async def test_scores_out_of_range_or_mistyped_are_422_and_nothing_is_written(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    for field in ("probability", "impact"):
        for bad in (0, 6, -1, "3", 3.5, True, None):
            body = {"title": "Bad", "probability": 3, "impact": 3, field: bad}
            assert_problem(await create(client, owner, body), 422, f"body.{field}")
        missing = {"title": "Bad", "probability": 3, "impact": 3}
        del missing[field]
        assert_problem(await create(client, owner, missing), 422, f"body.{field}")
    assert await count_rows(database, "risks") == 0
    assert await count_rows(database, "risk_events") == 0


async def test_other_bad_input_names_the_field(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    base = {"title": "Risk", "probability": 2, "impact": 2}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"title": "   "}, "body.title"),
        ({"title": "x" * 201}, "body.title"),
        ({"category": "weather"}, "body.category"),
        ({"status": "gone"}, "body.status"),
        ({"review_date": "15/12/2026"}, "body.review_date"),
        ({"review_date": 0}, "body.review_date"),
        ({"owner_id": "3"}, "body.owner_id"),
        ({"items": [1.5]}, "body.items.0"),
        ({"sprints": "1"}, "body.sprints"),
        ({"releases": list(range(1, 102))}, "body.releases"),
        ({"colour": "red"}, "body.colour"),
        ({"description": "x" * 10_001}, "body.description"),
    ]
    for change, field in cases:
        assert_problem(await create(client, owner, {**base, **change}), 422, field)
    assert await count_rows(database, "risks") == 0


async def test_owner_must_be_a_member_who_may_plan(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, outsider = await factory.team()
    base = {"title": "Risk", "probability": 2, "impact": 2}
    for bad in (viewer.id, outsider.id, 2**62, 2**63):
        response = await create(client, owner, {**base, "owner_id": bad})
        body = assert_problem(response, 422, "body.owner_id")
        if bad != 2**63:
            assert body["errors"][0]["type"] == "not_member"
    assert await count_rows(database, "risks") == 0
    assert (await created(client, owner, {**base, "owner_id": owner.id}))["owner"]["id"] == owner.id
    assert (await created(client, owner, {**base, "owner_id": member.id}))["owner"]["id"] == (
        member.id
    )


async def test_unknown_links_are_422_naming_the_entry_and_nothing_is_written(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    await factory.project(owner, "APP")
    item = await factory.item("WEB", owner)
    foreign_item = await factory.item("APP", owner)
    foreign_item = await factory.item("APP", owner)  # number 2: no such item in WEB
    await factory.sprint("APP", owner)
    base = {"title": "Risk", "probability": 2, "impact": 2}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"items": [item, foreign_item]}, "body.items.1"),
        ({"items": [0]}, "body.items.0"),
        ({"items": [2**31]}, "body.items.0"),
        ({"sprints": [1]}, "body.sprints.0"),
        ({"releases": [1]}, "body.releases.0"),
    ]
    for change, field in cases:
        body = assert_problem(await create(client, owner, {**base, **change}), 422, field)
        assert body["errors"][0]["type"] in {"unknown"}
    assert await count_rows(database, "risks") == 0
    assert await count_rows(database, "risk_links") == 0
    # The number was not used up by the failed attempts.
    assert (await created(client, owner, base))["number"] == 1


# --- reading, sorting, paging ------------------------------------------------------------------


async def test_list_sorts_by_exposure_then_number_and_pages_stay_stable(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    scores = [(2, 3), (3, 4), (3, 2), (5, 5), (4, 3), (1, 1)]
    for index, (probability, impact) in enumerate(scores, start=1):
        await created(
            client, owner, {"title": f"R{index}", "probability": probability, "impact": impact}
        )
    expected = [4, 2, 5, 1, 3, 6]
    assert await listed(client, owner) == expected

    first = await client.get(RISKS, headers=owner.headers, params={"limit": 2})
    assert first.status_code == 200
    page = first.json()
    assert [risk["number"] for risk in page["data"]] == [4, 2]
    assert [risk["exposure"] for risk in page["data"]] == [25, 12]
    assert 'rel="next"' in first.headers["Link"]
    # A new risk sorting before the cursor does not shift the pages after it.
    await created(client, owner, {"title": "R7", "probability": 4, "impact": 4})
    seen = [risk["number"] for risk in page["data"]]
    cursor = page["next_cursor"]
    while cursor is not None:
        response = await client.get(
            RISKS, headers=owner.headers, params={"limit": 2, "cursor": cursor}
        )
        assert response.status_code == 200, response.text
        seen += [risk["number"] for risk in response.json()["data"]]
        cursor = response.json()["next_cursor"]
    assert seen == expected
    assert await listed(client, owner) == [4, 7, 2, 5, 1, 3, 6]


async def test_bad_cursor_and_limit_are_422(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    for params, field in (
        ({"cursor": "nonsense"}, "query.cursor"),
        ({"cursor": "WyJhIiwxXQ"}, "query.cursor"),  # ["a",1]: a string where -exposure goes
        ({"cursor": "WzFd"}, "query.cursor"),  # [1]: one value where the key has two
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
    ):
        response = await client.get(RISKS, headers=owner.headers, params=params)
        assert_problem(response, 422, field)


async def test_unknown_risk_is_404(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.owner()
    for number in (1, 0, 2**31, 2**40):
        response = await client.get(f"{RISKS}/{number}", headers=owner.headers)
        assert_problem(response, 404)
        assert_problem(await patch(client, owner, number, {"impact": 2}), 404)
        response = await client.delete(f"{RISKS}/{number}", headers=owner.headers)
        assert_problem(response, 404)
        response = await client.get(f"{RISKS}/{number}/history", headers=owner.headers)
        assert_problem(response, 404)


async def test_filters_combine(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    # 20:00 UTC is already the next day in Auckland (UTC+13 in December).
    freeze(time_machine, "2026-12-01T20:00:00")
    owner, member, _, _ = await factory.team(time_zone="Pacific/Auckland")
    item = await factory.item("WEB", owner)
    sprint = await factory.sprint("WEB", owner)
    other_sprint = await factory.sprint("WEB", owner)
    specs: list[dict[str, Any]] = [
        # 1: review was yesterday in Auckland (and is today in UTC): overdue.
        {"owner_id": member.id, "review_date": "2026-12-01", "sprints": [sprint]},
        # 2: review today in Auckland: not overdue yet.
        {"owner_id": owner.id, "review_date": "2026-12-02", "category": "budget"},
        # 3: review long past, but closed: a closed risk needs no review.
        {"owner_id": member.id, "review_date": "2026-11-01", "status": "closed"},
        # 4: mitigating, review past: overdue.
        {"review_date": "2026-11-30", "status": "mitigating", "items": [item]},
        # 5: no review date.
        {"status": "occurred", "sprints": [sprint, other_sprint], "category": "budget"},
    ]
    for index, spec in enumerate(specs, start=1):
        await created(client, owner, {"title": f"R{index}", **spec})

    assert await listed(client, owner, status="open") == [1, 2]
    assert await listed(client, owner, status=["open", "mitigating"]) == [1, 2, 4]
    assert await listed(client, owner, owner=member.id) == [1, 3]
    assert await listed(client, owner, owner=member.id, status="open") == [1]
    assert await listed(client, owner, review_overdue="true") == [1, 4]
    assert await listed(client, owner, review_overdue="false") == [2, 3, 5]
    assert await listed(client, owner, category="budget") == [2, 5]
    assert await listed(client, owner, sprint=sprint) == [1, 5]
    assert await listed(client, owner, sprint=other_sprint) == [5]
    assert await listed(client, owner, item=item) == [4]
    assert await listed(client, owner, sprint=sprint, status="open") == [1]
    one = (await client.get(f"{RISKS}/1", headers=owner.headers)).json()
    assert one["review_overdue"] is True
    two = (await client.get(f"{RISKS}/2", headers=owner.headers)).json()
    assert two["review_overdue"] is False

    for params, field in (
        ({"status": "gone"}, "query.status.0"),
        ({"review_overdue": "yes"}, "query.review_overdue"),
        ({"owner": 0}, "query.owner"),
        ({"category": "weather"}, "query.category"),
        ({"sprint": 99}, "query.sprint"),
        ({"item": 99}, "query.item"),
        ({"release": 1}, "query.release"),
        ({"sprint": 0}, "query.sprint"),
    ):
        response = await client.get(RISKS, headers=owner.headers, params=params)
        assert_problem(response, 422, field)


# --- changes and history -----------------------------------------------------------------------


async def test_patch_changes_exposure_and_logs_history(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-12-01T10:00:00")
    owner, member, _, _ = await factory.team()
    await created(client, owner, {"title": "Vendor late", "probability": 2, "impact": 3})

    freeze(time_machine, "2026-12-02T09:00:00")
    response = await patch(
        client,
        member,
        1,
        {"probability": 4, "status": "mitigating", "owner_id": member.id, "title": "Vendor late"},
        **{"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["probability"], body["impact"], body["exposure"]) == (4, 3, 12)
    assert body["status"] == "mitigating"
    assert body["version"] == 2 and etag_version(response) == 2
    assert body["updated_at"] == "2026-12-02T09:00:00Z"
    assert body["created_at"] == "2026-12-01T10:00:00Z"

    freeze(time_machine, "2026-12-03T09:00:00")
    body = await patched(client, owner, 1, {"impact": 5, "review_date": "2026-12-20"})
    assert body["exposure"] == 20 and body["version"] == 3
    body = await patched(client, owner, 1, {"owner_id": None, "review_date": None})
    assert body["owner"] is None and body["review_date"] is None and body["version"] == 4

    events = await risk_history(client, owner, 1)
    summary = [(e["field"], e["old_value"], e["new_value"], e["actor"]["id"]) for e in events]
    assert summary == [
        (
            "created",
            None,
            {
                "title": "Vendor late",
                "category": "other",
                "probability": 2,
                "impact": 3,
                "status": "open",
                "owner": None,
                "review_date": None,
            },
            owner.id,
        ),
        ("probability", 2, 4, member.id),
        ("owner", None, member.id, member.id),
        ("status", "open", "mitigating", member.id),
        ("impact", 3, 5, owner.id),
        ("review_date", None, "2026-12-20", owner.id),
        ("owner", member.id, None, owner.id),
        ("review_date", "2026-12-20", None, owner.id),
    ]
    assert [e["occurred_at"] for e in events[:2]] == [
        "2026-12-01T10:00:00Z",
        "2026-12-02T09:00:00Z",
    ]
    assert events[0]["actor"]["display_name"] == owner.email.split("@")[0]


async def test_patch_that_changes_nothing_keeps_the_version(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    await created(client, owner, {"title": "Same", "probability": 2, "impact": 2})
    body = await patched(client, owner, 1, {"title": "Same", "probability": 2, "items": []})
    assert body["version"] == 1
    assert await count_rows(database, "risk_events") == 1


async def test_stale_if_match_is_412_and_nothing_changes(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    await created(client, owner, {"title": "Risk", "probability": 2, "impact": 2})
    await patched(client, owner, 1, {"impact": 3})
    assert_problem(await patch(client, owner, 1, {"impact": 5}, **{"If-Match": '"1"'}), 412)
    response = await client.delete(f"{RISKS}/1", headers={**owner.headers, "If-Match": '"1"'})
    assert_problem(response, 412)
    current = (await client.get(f"{RISKS}/1", headers=owner.headers)).json()
    assert (current["impact"], current["version"]) == (3, 2)
    assert await count_rows(database, "risk_events") == 2


async def test_bad_patch_is_422_and_nothing_changes(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, viewer, _ = await factory.team()
    await created(client, owner, {"title": "Risk", "probability": 2, "impact": 2})
    cases: list[tuple[dict[str, Any], str]] = [
        ({"probability": 6}, "body.probability"),
        ({"impact": 0}, "body.impact"),
        ({"impact": "2"}, "body.impact"),
        ({"title": None}, "body.title"),
        ({"probability": None}, "body.probability"),
        ({"status": None}, "body.status"),
        ({"category": None}, "body.category"),
        ({"items": None}, "body.items"),
        ({"description": None}, "body.description"),
        ({"owner_id": viewer.id}, "body.owner_id"),
        ({"items": [5]}, "body.items.0"),
        ({"probability": 3, "sprints": [1]}, "body.sprints.0"),
        ({"version": 3}, "body.version"),
    ]
    for change, field in cases:
        assert_problem(await patch(client, owner, 1, change), 422, field)
    current = (await client.get(f"{RISKS}/1", headers=owner.headers)).json()
    assert (current["probability"], current["version"]) == (2, 1)
    assert await count_rows(database, "risk_events") == 1


async def test_links_are_replaced_whole_and_logged(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    first, second, third = [await factory.item("WEB", owner) for _ in range(3)]
    sprint = await factory.sprint("WEB", owner)
    release = await make_release(database)
    risk = await created(
        client, owner, {"title": "Linked", "items": [second, first], "releases": [release]}
    )
    assert (risk["items"], risk["sprints"], risk["releases"]) == ([first, second], [], [release])

    body = await patched(client, owner, 1, {"items": [third, first, third], "sprints": [sprint]})
    assert (body["items"], body["sprints"], body["releases"]) == (
        [first, third],
        [sprint],
        [release],
    )
    assert body["version"] == 2
    body = await patched(client, owner, 1, {"releases": []})
    assert body["releases"] == [] and body["version"] == 3

    events = await risk_history(client, owner, 1)
    assert events[0]["new_value"]["items"] == [first, second]
    assert events[0]["new_value"]["releases"] == [release]
    assert [(e["field"], e["old_value"], e["new_value"]) for e in events[1:]] == [
        ("items", [first, second], [first, third]),
        ("sprints", [], [sprint]),
        ("releases", [release], []),
    ]
    assert await count_rows(database, "risk_links") == 3
    assert await listed(client, owner, item=third) == [1]
    assert await listed(client, owner, item=second) == []


async def test_deleting_a_linked_item_drops_the_link(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    item = await factory.item("WEB", owner)
    kept = await factory.item("WEB", owner)
    await created(client, owner, {"title": "Linked", "items": [item, kept]})
    deleted = await client.delete(f"{PROJECTS}/WEB/items/{item}", headers=owner.headers)
    assert deleted.status_code == 204, deleted.text
    body = (await client.get(f"{RISKS}/1", headers=owner.headers)).json()
    assert body["items"] == [kept]


async def test_delete_risk_takes_links_and_history(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, member, viewer, _ = await factory.team()
    item = await factory.item("WEB", owner)
    await created(client, owner, {"title": "Gone soon", "items": [item]})
    await patched(client, owner, 1, {"impact": 5})
    assert_problem(await client.delete(f"{RISKS}/1", headers=viewer.headers), 403)
    response = await client.delete(f"{RISKS}/1", headers={**member.headers, "If-Match": '"2"'})
    assert response.status_code == 204, response.text
    assert_problem(await client.get(f"{RISKS}/1", headers=owner.headers), 404)
    for table in ("risks", "risk_links", "risk_events"):
        assert await count_rows(database, table) == 0
    # The item stays, and numbers are not reused.
    assert (
        await client.get(f"{PROJECTS}/WEB/items/{item}", headers=owner.headers)
    ).status_code == 200
    assert (await created(client, owner, {"title": "Next"}))["number"] == 2


async def test_viewers_read_and_outsiders_see_nothing(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner, _, viewer, outsider = await factory.team()
    await created(client, owner, {"title": "Risk"})
    assert (await client.get(RISKS, headers=viewer.headers)).status_code == 200
    assert (await client.get(f"{RISKS}/1/history", headers=viewer.headers)).status_code == 200
    assert (await client.get(f"{RISKS}/trend", headers=viewer.headers)).status_code == 200
    base = {"title": "Risk", "probability": 2, "impact": 2}
    assert_problem(await create(client, viewer, base), 403)
    assert_problem(await patch(client, viewer, 1, {"impact": 5}), 403)
    assert_problem(await client.get(f"{RISKS}/1", headers=outsider.headers), 404)
    assert_problem(await create(client, outsider, base), 404)
    assert await count_rows(database, "risks") == 1


# --- retries and races -------------------------------------------------------------------------


async def test_idempotent_create_replays_the_first_answer(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    headers = {**owner.headers, "Idempotency-Key": "risk-1"}
    body = {"title": "Once", "probability": 2, "impact": 5}
    first = await client.post(RISKS, headers=headers, json=body)
    retry = await client.post(RISKS, headers=headers, json=body)
    assert first.status_code == retry.status_code == 201
    assert retry.json() == first.json()
    assert await count_rows(database, "risks") == 1
    other = await client.post(RISKS, headers=headers, json={**body, "impact": 4})
    assert_problem(other, 422)


async def test_concurrent_creations_get_distinct_numbers(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    bodies = [{"title": f"R{index}", "probability": 1, "impact": 1} for index in range(5)]
    answers = await asyncio.gather(*(create(client, owner, body) for body in bodies))
    assert all(answer.status_code == 201 for answer in answers), [a.text for a in answers]
    assert sorted(answer.json()["number"] for answer in answers) == [1, 2, 3, 4, 5]


async def test_concurrent_changes_with_the_same_if_match_one_wins(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await factory.owner()
    await created(client, owner, {"title": "Contested", "probability": 2, "impact": 2})
    # Each holds its lock a moment, so the other queues on it and then reads the new version.
    pause_after(monkeypatch, risks_repository, "lock_risk")
    answers = await asyncio.gather(
        patch(client, owner, 1, {"probability": 4}, **{"If-Match": '"1"'}),
        patch(client, owner, 1, {"probability": 5}, **{"If-Match": '"1"'}),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 412]
    events = await risk_history(client, owner, 1)
    assert [event["field"] for event in events] == ["created", "probability"]


async def test_linking_an_item_that_is_being_deleted_never_fails_badly(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await factory.owner()
    item = await factory.item("WEB", owner)
    # The creation holds its key-share lock on the item a moment: the deletion waits for it.
    pause_after(monkeypatch, risks_repository, "target_ids")
    created_risk, deleted = await asyncio.gather(
        create(client, owner, {"title": "Racing", "probability": 2, "impact": 2, "items": [item]}),
        client.delete(f"{PROJECTS}/WEB/items/{item}", headers=owner.headers),
    )
    assert deleted.status_code == 204, deleted.text
    if created_risk.status_code == 201:
        current = await client.get(f"{RISKS}/1", headers=owner.headers)
        assert current.json()["items"] == []
    else:
        assert_problem(created_risk, 422, "body.items.0")


# --- trend -------------------------------------------------------------------------------------


def week(body: dict[str, Any]) -> list[tuple[str, int, int]]:
    return [(w["week"], w["open_exposure"], w["open_risks"]) for w in body["weeks"]]


async def test_trend_replays_the_history_week_by_week(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    # Berlin is UTC+1 in November: its Sunday ends at 23:00 UTC.
    freeze(time_machine, "2026-11-03T10:00:00")  # week 45
    owner = await factory.owner(time_zone="Europe/Berlin")
    await created(client, owner, {"title": "R1", "probability": 3, "impact": 4})  # 12
    freeze(time_machine, "2026-11-10T10:00:00")  # week 46
    await created(client, owner, {"title": "R2", "probability": 2, "impact": 2})  # 4
    await patched(client, owner, 1, {"probability": 5})  # R1: 20
    freeze(time_machine, "2026-11-17T10:00:00")  # week 47
    await patched(client, owner, 1, {"status": "mitigating"})  # still counts
    await patched(client, owner, 2, {"status": "closed"})
    freeze(time_machine, "2026-11-22T22:30:00")  # Sunday 23:30 in Berlin: still week 47
    await patched(client, owner, 1, {"impact": 2})  # R1: 10
    freeze(time_machine, "2026-11-22T23:30:00")  # Monday 00:30 in Berlin: week 48
    await patched(client, owner, 2, {"status": "open"})  # R2: 4 again
    freeze(time_machine, "2026-11-24T10:00:00")
    await patched(client, owner, 1, {"status": "occurred"})  # R1 out
    freeze(time_machine, "2026-12-02T12:00:00")  # week 49, under way

    params = {"from": "2026-10-28", "to": "2026-12-02"}
    response = await client.get(f"{RISKS}/trend", headers=owner.headers, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert week(body) == [
        ("2026-W44", 0, 0),
        ("2026-W45", 12, 1),
        ("2026-W46", 24, 2),
        ("2026-W47", 10, 1),
        ("2026-W48", 4, 1),
        ("2026-W49", 4, 1),
    ]
    assert body["weeks"][0]["start"] == "2026-10-26" and body["weeks"][0]["end"] == "2026-11-01"
    assert body["weeks"][3]["as_of"] == "2026-11-22T23:00:00Z"
    assert body["weeks"][-1]["as_of"] == "2026-12-02T12:00:00Z"

    # A change now moves only the week under way: past weeks are read from the log.
    await patched(client, owner, 2, {"probability": 5})
    again = await client.get(f"{RISKS}/trend", headers=owner.headers, params=params)
    assert week(again.json())[:-1] == week(body)[:-1]
    assert week(again.json())[-1] == ("2026-W49", 10, 1)

    # The default is the 12 weeks up to this one; a `to` in the future counts as today.
    default = (await client.get(f"{RISKS}/trend", headers=owner.headers)).json()
    assert len(default["weeks"]) == 12
    assert default["weeks"][0]["week"] == "2026-W38"
    assert default["weeks"][-1]["week"] == "2026-W49"
    future = await client.get(
        f"{RISKS}/trend", headers=owner.headers, params={"from": "2026-11-30", "to": "2027-06-01"}
    )
    assert week(future.json()) == [("2026-W49", 10, 1)]


async def test_trend_range_rules(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2026-12-02T12:00:00")
    owner = await factory.owner()
    url = f"{RISKS}/trend"
    for params, field in (
        ({"from": "2026-12-03"}, "query.from"),
        ({"from": "2026-11-20", "to": "2026-11-10"}, "query.from"),
        ({"from": "2024-11-01"}, "query.from"),
        ({"from": "1969-12-01"}, "query.from"),
        ({"from": "2026-13-01"}, "query.from"),
        ({"to": "yesterday"}, "query.to"),
    ):
        response = await client.get(url, headers=owner.headers, params=params)
        assert_problem(response, 422, field)
    # 104 weeks is the longest span.
    longest = await client.get(url, headers=owner.headers, params={"from": "2024-12-09"})
    assert longest.status_code == 200, longest.text
    assert len(longest.json()["weeks"]) == 104


# --- the sprint report and the release page ----------------------------------------------------


async def test_sprint_report_lists_the_open_linked_risks_live(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner()
    item = await factory.item("WEB", owner, points=3)
    sprint = await factory.sprint("WEB", owner, items=[item], start=True)
    other = await factory.sprint("WEB", owner)
    await created(
        client, owner, {"title": "Low", "probability": 1, "impact": 2, "sprints": [sprint]}
    )
    await created(
        client,
        owner,
        {"title": "High", "probability": 4, "impact": 5, "sprints": [sprint], "owner_id": owner.id},
    )
    await created(client, owner, {"title": "Closed", "status": "closed", "sprints": [sprint]})
    await created(client, owner, {"title": "Elsewhere", "sprints": [other]})
    await created(
        client, owner, {"title": "Mitigating", "status": "mitigating", "sprints": [sprint]}
    )
    report_url = f"{PROJECTS}/WEB/sprints/{sprint}/report"

    live = (await client.get(report_url, headers=owner.headers)).json()
    assert [(r["number"], r["exposure"]) for r in live["open_risks"]] == [(2, 20), (5, 9), (1, 2)]
    assert live["open_risks"][0] == {
        "number": 2,
        "title": "High",
        "probability": 4,
        "impact": 5,
        "exposure": 20,
        "status": "open",
        "owner_id": owner.id,
        "review_date": None,
    }

    completed = await client.post(
        f"{PROJECTS}/WEB/sprints/{sprint}/complete", headers=owner.headers, json={}
    )
    assert completed.status_code == 200, completed.text
    frozen = (await client.get(report_url, headers=owner.headers)).json()
    assert frozen["frozen"] is True
    await patched(client, owner, 2, {"status": "occurred"})
    await patched(client, owner, 1, {"impact": 5})
    after = (await client.get(report_url, headers=owner.headers)).json()
    # The list is live; the report's kept numbers are not.
    assert [(r["number"], r["exposure"]) for r in after["open_risks"]] == [(5, 9), (1, 5)]
    without = {"open_risks"}
    assert {k: v for k, v in after.items() if k not in without} == {
        k: v for k, v in frozen.items() if k not in without
    }


async def test_open_risks_linked_and_risks_with_status(
    client: httpx.AsyncClient, factory: Factory, database: Database
) -> None:
    owner = await factory.owner()
    sprint = await factory.sprint("WEB", owner)
    release = await make_release(database)
    other_release = await make_release(database, name="2.0")
    await created(
        client, owner, {"title": "A", "probability": 2, "impact": 2, "releases": [release]}
    )
    await created(
        client,
        owner,
        {"title": "B", "probability": 5, "impact": 2, "releases": [release], "sprints": [sprint]},
    )
    await created(client, owner, {"title": "C", "status": "occurred", "releases": [release]})
    await created(client, owner, {"title": "D", "probability": 5, "impact": 5, "sprints": [sprint]})
    await created(client, owner, {"title": "E", "status": "occurred", "probability": 1})
    await created(client, owner, {"title": "F", "releases": [other_release]})
    pid = await project_id(database)
    async with database.sessions() as session:
        found = await session.execute(
            text("SELECT number, id FROM releases WHERE project_id = :p"), {"p": pid}
        )
        ids: dict[int, int] = {int(row[0]): int(row[1]) for row in found.all()}
        sprint_id = int(
            (
                await session.execute(
                    text("SELECT id FROM sprints WHERE project_id = :p"), {"p": pid}
                )
            ).scalar_one()
        )
        by_release = await risks_repository.open_risks_linked(session, pid, release_id=ids[release])
        by_sprint = await risks_repository.open_risks_linked(session, pid, sprint_id=sprint_id)
        by_either = await risks_repository.open_risks_linked(
            session, pid, sprint_id=sprint_id, release_id=ids[release]
        )
        nothing = await risks_repository.open_risks_linked(session, pid)
        elsewhere = await risks_repository.open_risks_linked(session, pid + 1, sprint_id=sprint_id)
        occurred = await risks_repository.risks_with_status(session, pid, RiskStatus.OCCURRED)
    assert [risk.number for risk in by_release] == [2, 1]
    assert [risk.number for risk in by_sprint] == [4, 2]
    assert [risk.number for risk in by_either] == [4, 2, 1]
    assert nothing == [] and elsewhere == []
    assert [risk.number for risk in occurred] == [3, 5]
    summary = RiskSummary.model_validate(by_release[0])
    assert summary.model_dump() == {
        "number": 2,
        "title": "B",
        "probability": 5,
        "impact": 2,
        "exposure": 10,
        "status": RiskStatus.OPEN,
        "owner_id": None,
        "review_date": None,
    }


async def test_review_overdue_uses_the_project_day(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    # 03:00 UTC on 2 December is still 1 December in New York.
    freeze(time_machine, "2026-12-02T03:00:00")
    owner = await factory.owner(time_zone="America/New_York")
    await created(client, owner, {"title": "Review", "review_date": "2026-12-01"})
    assert (await client.get(f"{RISKS}/1", headers=owner.headers)).json()["review_overdue"] is False
    freeze(time_machine, "2026-12-02T06:00:00")
    assert (await client.get(f"{RISKS}/1", headers=owner.headers)).json()["review_overdue"] is True
    assert await listed(client, owner, review_overdue="true") == [1]


# --- the demo ----------------------------------------------------------------------------------


async def test_the_demo_has_five_risks_with_a_moving_trend(
    client: httpx.AsyncClient, database: Database, time_machine: TimeMachineFixture
) -> None:
    from app.demo.service import create_demo

    freeze(time_machine, "2026-11-27T14:00:00")
    result = await create_demo(database)
    headers = {"Authorization": f"Bearer {result.token}"}
    project = f"{PROJECTS}/{result.project_key}"

    register = (await client.get(f"{project}/risks", headers=headers)).json()["data"]
    assert len(register) == 5
    assert {risk["status"] for risk in register} == {"open", "mitigating", "occurred", "closed"}
    exposures = [risk["exposure"] for risk in register]
    assert exposures == sorted(exposures, reverse=True) and len(set(exposures)) >= 4
    assert any(risk["review_overdue"] for risk in register)
    assert all(risk["owner"] is not None for risk in register)
    assert sum(bool(risk["items"]) for risk in register) >= 2

    trend = (await client.get(f"{project}/risks/trend", headers=headers)).json()["weeks"]
    values = [week["open_exposure"] for week in trend]
    assert len(set(values)) >= 4, values
    history = (await client.get(f"{project}/risks/1/history", headers=headers)).json()["data"]
    assert history[0]["field"] == "created"
    assert history[0]["occurred_at"] < "2026-09-01"  # back-dated, not written "now"

    report = (await client.get(f"{project}/sprints/7/report", headers=headers)).json()
    assert len(report["open_risks"]) == 3
    assert {risk["status"] for risk in report["open_risks"]} == {"open", "mitigating"}
