"""Sprint report invariants over random sprints run through the API on real PostgreSQL."""

import itertools
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import Factory
from tests.helpers import status_ids

_keys = itertools.count(1)
estimates = st.sampled_from([None, 1, 2, 3, 5, 8])
steps = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4),
        st.sampled_from(["join", "leave", "points", "status", "delete", "create"]),
        estimates,
        st.sampled_from(["To Do", "In Progress", "Done"]),
    ),
    max_size=14,
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(estimates, min_size=5, max_size=5),
    st.lists(st.sampled_from(["To Do", "Done"]), min_size=5, max_size=5),
    st.sets(st.integers(min_value=0, max_value=4)),
    steps,
)
async def test_reports_reconcile_with_the_items_at_close(
    client: httpx.AsyncClient,
    factory: Factory,
    points: list[int | None],
    start_status: list[str],
    committed: set[int],
    plan: list[tuple[int, str, int | None, str]],
) -> None:
    key = f"P{next(_keys)}"
    owner = await factory.user()
    await factory.project(owner, key)
    base = f"/api/v1/projects/{key}"
    headers = owner.headers
    workflow = await status_ids(client, owner, key)
    numbers = [
        await factory.item(key, owner, points=estimate, status_id=workflow[status])
        for estimate, status in zip(points, start_status, strict=True)
    ]
    sprint = await factory.sprint(key, owner, items=[numbers[i] for i in sorted(committed)])
    await factory.start_sprint(key, owner, sprint)
    # The test's own account of the sprint: members and their estimate and status.
    estimate = dict(zip(numbers, points, strict=True))
    status = dict(zip(numbers, start_status, strict=True))
    members = {numbers[i] for i in committed}
    alive = set(numbers)

    async def call(method: str, path: str, body: Any = None) -> httpx.Response:
        response = await client.request(method, f"{base}{path}", json=body, headers=headers)
        assert response.status_code < 300, response.text
        return response

    for index, action, value, new_status in plan:
        number = numbers[index]
        if action == "create":
            created = await call(
                "POST", "/items", {"title": "New", "points": value, "sprint": sprint}
            )
            new = created.json()["number"]
            numbers[index], estimate[new], status[new] = new, value, "To Do"
            members.add(new)
            alive.add(new)
        elif number not in alive:
            continue
        elif action == "join" and number not in members:
            await call("POST", f"/sprints/{sprint}/items", {"items": [number]})
            members.add(number)
        elif action == "leave" and number in members:
            await call("DELETE", f"/sprints/{sprint}/items", {"items": [number]})
            members.discard(number)
        elif action == "points":
            await call("PATCH", f"/items/{number}", {"points": value})
            estimate[number] = value
        elif action == "status":
            await call("PATCH", f"/items/{number}", {"status_id": workflow[new_status]})
            status[number] = new_status
        elif action == "delete":
            await call("DELETE", f"/items/{number}")
            alive.discard(number)
            members.discard(number)

    live = (await call("GET", f"/sprints/{sprint}/report")).json()
    await call("POST", f"/sprints/{sprint}/complete", {"carry_over": "backlog"})
    report = (await call("GET", f"/sprints/{sprint}/report")).json()

    assert {k: v for k, v in live.items() if k not in _CLOSING} == {
        k: v for k, v in report.items() if k not in _CLOSING
    }
    at_close = sorted(members)
    in_sections = [
        line["number"]
        for name in ("completed", "not_completed", "completed_outside")
        for line in report[name]["items"]
    ]
    assert sorted(in_sections) == at_close
    scope_points = sum(estimate[n] or 0 for n in at_close)
    assert report["scope"] == {"count": len(at_close), "points": scope_points}
    assert report["committed"] == {
        "count": len(committed),
        "points": sum(points[i] or 0 for i in committed),
    }
    change = report["scope_change"]
    assert report["committed"]["count"] + change["added"]["count"] - change["removed"][
        "count"
    ] == len(at_close)
    assert (
        report["committed"]["points"]
        + change["added"]["points"]
        - change["removed"]["points"]
        + change["re_estimated"]["points"]
        == scope_points
    )
    done = {n for n in at_close if status[n] == "Done"}
    finished = {line["number"] for line in report["completed"]["items"]}
    outside = {line["number"] for line in report["completed_outside"]["items"]}
    assert finished | outside == done
    assert report["completed"]["points"] <= scope_points
    sprint_row = (await call("GET", f"/sprints/{sprint}")).json()
    assert sprint_row["completed_points"] == report["completed"]["points"]
    # The burn chart replays the same log: never negative, and its last day's done is the
    # report's completed points.
    burnup = (await call("GET", f"/sprints/{sprint}/burnup")).json()
    assert all(day["remaining"] >= 0 for day in burnup["days"])
    assert burnup["days"][-1]["done"] == report["completed"]["points"]
    assert burnup["days"][-1]["scope"] == scope_points
    ledger = (await call("GET", f"/sprints/{sprint}/scope")).json()["data"]
    kinds = [entry["change"] for entry in ledger]
    assert kinds.count("added") == change["added"]["count"]
    assert kinds.count("removed") == change["removed"]["count"]
    assert kinds.count("re_estimated") == change["re_estimated"]["count"]


# What completion itself changes in the report: state, time, frozen, and where items went.
_CLOSING = {"state", "completed_at", "frozen", "not_completed"}
