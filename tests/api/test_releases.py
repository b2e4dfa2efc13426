"""Releases and milestones over HTTP on PostgreSQL: planning them, their states and the release
date, the items' `release` field and its history, a release's scope counted by hand (epics
bring their children), its forecast (reproducible, and hand-checked), and bad input.

Sprints are dated in 2030 so that the forecast's calendar never depends on the day the tests
run: coming sprints start after the latest sprint, which is then always later than today.
"""

import asyncio
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from time_machine import TimeMachineFixture

from app.db import Database
from app.domain.projects.models import Role
from app.domain.releases import repository as releases_repository
from tests.factories import Factory
from tests.helpers import assert_problem, etag_version, history, status_ids

PROJECT = "/api/v1/projects/WEB"
RELEASES = f"{PROJECT}/releases"
ITEMS = f"{PROJECT}/items"
MON_FRI = ["mon", "tue", "wed", "thu", "fri"]
# Two-week sprints, Monday to Friday; the coming ones are then 4-15 Feb, 18 Feb-1 Mar,
# 4-15 Mar 2030 and so on.
S1 = ("2030-01-07", "2030-01-18")
S2 = ("2030-01-21", "2030-02-01")


def freeze(time_machine: TimeMachineFixture, moment: str) -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


class Team:
    """An owner, a member and a viewer working on project WEB (Mon-Fri, 14-day sprints)."""

    def __init__(self, client: httpx.AsyncClient, factory: Factory) -> None:
        self.client, self.factory = client, factory
        self.done_status = 0

    async def setup(self, **project: Any) -> "Team":
        self.owner = await self.factory.user()
        await self.factory.project(self.owner, "WEB", working_days=MON_FRI, **project)
        self.member, self.viewer = await self.factory.user(), await self.factory.user()
        await self.factory.member("WEB", self.owner, self.member, Role.MEMBER)
        await self.factory.member("WEB", self.owner, self.viewer, Role.VIEWER)
        self.done_status = (await status_ids(self.client, self.owner))["Done"]
        return self

    async def release(self, name: str = "1.0", **fields: Any) -> dict[str, Any]:
        response = await self.client.post(
            RELEASES, json={"name": name, **fields}, headers=self.member.headers
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def get(self, number: int, **params: Any) -> dict[str, Any]:
        response = await self.client.get(
            f"{RELEASES}/{number}", params=params, headers=self.viewer.headers
        )
        assert response.status_code == 200, response.text
        assert etag_version(response) == response.json()["version"]
        body: dict[str, Any] = response.json()
        return body

    async def patch(self, number: int, **fields: Any) -> httpx.Response:
        return await self.client.patch(
            f"{RELEASES}/{number}", json=fields, headers=self.member.headers
        )

    async def item(self, title: str, points: float | None = None, **fields: Any) -> int:
        return await self.factory.item("WEB", self.owner, title=title, points=points, **fields)

    async def edit(self, number: int, **fields: Any) -> httpx.Response:
        return await self.client.patch(
            f"{ITEMS}/{number}", json=fields, headers=self.member.headers
        )

    async def finish(self, number: int) -> None:
        response = await self.edit(number, status_id=self.done_status)
        assert response.status_code == 200, response.text

    async def completed(self, dates: tuple[str, str], points: list[float]) -> int:
        """A sprint whose items are all finished in it, completed; its number."""
        items = [await self.item(f"Sprint work {p}", p) for p in points]
        number = await self.factory.sprint(
            "WEB", self.owner, items=items, start_date=dates[0], end_date=dates[1], start=True
        )
        for item in items:
            await self.finish(item)
        response = await self.client.post(
            f"{PROJECT}/sprints/{number}/complete", headers=self.owner.headers
        )
        assert response.status_code == 200, response.text
        return number


@pytest.fixture
async def t(client: httpx.AsyncClient, factory: Factory) -> Team:
    return await Team(client, factory).setup()


def scope(body: dict[str, Any]) -> tuple[int, float, int, float, int, float, int]:
    """items, points, done items, done points, remaining items and points, unestimated."""
    s = body["scope"]
    return (
        s["items"],
        s["points"],
        s["done_items"],
        s["done_points"],
        s["remaining_items"],
        s["remaining_points"],
        s["unestimated_items"],
    )


# --- planning releases --------------------------------------------------------------------------


async def test_create_read_list_and_change_a_release(t: Team) -> None:
    created = await t.client.post(
        RELEASES,
        json={
            "name": "2.0 — saved cards",
            "description": "Checkout with saved cards.\n",
            "start_date": "2030-01-07",
            "target_date": "2030-03-29",
        },
        headers=t.member.headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert created.headers["location"] == f"{RELEASES}/1"
    assert etag_version(created) == body["version"] == 1
    assert body["number"] == 1 and body["kind"] == "release" and body["state"] == "planned"
    assert body["description"] == "Checkout with saved cards.\n"
    assert (body["released_on"], body["released_at"]) == (None, None)
    assert scope(body) == (0, 0, 0, 0, 0, 0, 0)
    assert body["risks"] == []
    milestone = await t.release("Beta sign-off", kind="milestone", target_date="2030-02-15")
    assert milestone["number"] == 2 and milestone["kind"] == "milestone"

    assert await t.get(1) == body
    listed = await t.client.get(RELEASES, headers=t.viewer.headers)
    assert listed.status_code == 200, listed.text
    assert [r["number"] for r in listed.json()["data"]] == [1, 2]
    assert "forecast" not in listed.json()["data"][0]
    assert listed.json()["data"][0]["scope"] == body["scope"]

    changed = await t.client.patch(
        f"{RELEASES}/1",
        json={"name": "2.0", "start_date": None, "kind": "milestone"},
        headers={**t.member.headers, "If-Match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and etag_version(changed) == 2
    assert (changed.json()["name"], changed.json()["start_date"]) == ("2.0", None)
    assert changed.json()["target_date"] == "2030-03-29"
    stale = await t.client.patch(
        f"{RELEASES}/1", json={"name": "2.1"}, headers={**t.member.headers, "If-Match": '"1"'}
    )
    assert_problem(stale, 412)
    # Sending what it is already changes nothing.
    same = await t.patch(1, name="2.0")
    assert same.json()["version"] == 2


async def test_filters_and_pages(t: Team) -> None:
    for n in range(5):
        await t.release(f"R{n}", kind="milestone" if n % 2 else "release")
    await t.patch(1, state="archived")
    pages: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    while True:
        response = await t.client.get(RELEASES, params=params, headers=t.viewer.headers)
        assert response.status_code == 200, response.text
        pages.append(len(response.json()["data"]))
        params["cursor"] = response.json()["next_cursor"]
        if params["cursor"] is None:
            break
        assert 'rel="next"' in response.headers["link"]
    assert pages == [2, 2, 1]

    async def numbers(**query: Any) -> list[int]:
        response = await t.client.get(RELEASES, params=query, headers=t.viewer.headers)
        assert response.status_code == 200, response.text
        return [r["number"] for r in response.json()["data"]]

    assert await numbers(kind="milestone") == [2, 4]
    assert await numbers(state="archived") == [1]
    assert await numbers(state=["planned", "archived"], kind="release") == [1, 3, 5]
    assert_problem(
        await t.client.get(RELEASES, params={"state": "gone"}, headers=t.viewer.headers),
        422,
        "query.state.0",
    )
    assert_problem(
        await t.client.get(RELEASES, params={"cursor": "!!"}, headers=t.viewer.headers),
        422,
        "query.cursor",
    )


async def test_names_are_unique_whatever_their_case(t: Team) -> None:
    await t.release("Spring launch")
    taken = await t.client.post(
        RELEASES, json={"name": "  SPRING launch "}, headers=t.member.headers
    )
    assert_problem(taken, 409, "body.name")
    other = await t.release("Summer")
    renamed = await t.patch(other["number"], name="spring LAUNCH")
    assert_problem(renamed, 409, "body.name")
    # Its own name in another case is fine.
    recased = await t.patch(other["number"], name="SUMMER")
    assert recased.status_code == 200 and recased.json()["name"] == "SUMMER"
    listed = await t.client.get(RELEASES, headers=t.viewer.headers)
    assert [r["name"] for r in listed.json()["data"]] == ["Spring launch", "SUMMER"]


async def test_bad_input_names_the_field_and_writes_nothing(t: Team) -> None:
    before = await t.client.post(
        RELEASES,
        json={"name": "X", "start_date": "2030-03-01", "target_date": "2030-02-28"},
        headers=t.member.headers,
    )
    assert_problem(before, 422, "body.target_date")
    for body, field in (
        ({}, "body.name"),
        ({"name": ""}, "body.name"),
        ({"name": "x" * 121}, "body.name"),
        ({"name": "X", "kind": "epic"}, "body.kind"),
        ({"name": "X", "target_date": "next week"}, "body.target_date"),
        ({"name": "X", "target_date": 20300101}, "body.target_date"),
        ({"name": "X", "start_date": "0001-01-01"}, "body.start_date"),
        ({"name": "X", "state": "released"}, "body.state"),
        ({"name": "X", "colour": "red"}, "body.colour"),
    ):
        response = await t.client.post(RELEASES, json=body, headers=t.member.headers)
        assert_problem(response, 422, field)
    listed = await t.client.get(RELEASES, headers=t.viewer.headers)
    assert listed.json()["data"] == []

    release = await t.release("1.0", start_date="2030-01-07", target_date="2030-02-01")
    number = release["number"]
    # A change that puts the target before the start names the field that was sent.
    assert_problem(await t.patch(number, start_date="2030-02-04"), 422, "body.start_date")
    assert_problem(await t.patch(number, target_date="2030-01-04"), 422, "body.target_date")
    for fields, field in (
        ({"name": None}, "body.name"),
        ({"kind": None}, "body.kind"),
        ({"state": None}, "body.state"),
        ({"description": None}, "body.description"),
        ({"state": "shipped"}, "body.state"),
    ):
        assert_problem(await t.patch(number, **fields), 422, field)
    assert (await t.get(number))["version"] == 1
    # Clearing the start lifts the rule.
    cleared = await t.patch(number, start_date=None, target_date="2030-01-04")
    assert cleared.status_code == 200, cleared.text


async def test_unknown_releases_are_404_and_viewers_only_read(t: Team) -> None:
    release = await t.release()
    for method, path in (
        ("GET", f"{RELEASES}/9"),
        ("PATCH", f"{RELEASES}/9"),
        ("DELETE", f"{RELEASES}/9"),
        ("POST", f"{RELEASES}/9/release"),
        ("GET", f"{RELEASES}/0"),
        ("GET", f"{RELEASES}/99999999999"),
    ):
        json = {"name": "x"} if method == "PATCH" else None
        response = await t.client.request(method, path, json=json, headers=t.member.headers)
        assert_problem(response, 404)
    viewer = t.viewer.headers
    number = release["number"]
    for method, path, json in (
        ("POST", RELEASES, {"name": "Mine"}),
        ("PATCH", f"{RELEASES}/{number}", {"name": "Mine"}),
        ("DELETE", f"{RELEASES}/{number}", None),
        ("POST", f"{RELEASES}/{number}/release", None),
    ):
        response = await t.client.request(method, path, json=json, headers=viewer)
        assert_problem(response, 403)
    assert (await t.get(number))["version"] == 1


# --- releasing, archiving -----------------------------------------------------------------------


async def test_release_records_today_in_the_project_time_zone(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    t = await Team(client, factory).setup(time_zone="Pacific/Auckland")
    number = (await t.release())["number"]
    # 11:30 UTC on 1 March is already 2 March in Auckland (UTC+13).
    freeze(time_machine, "2030-03-01T11:30:00")
    released = await client.post(f"{RELEASES}/{number}/release", headers=t.member.headers)
    assert released.status_code == 200, released.text
    body = released.json()
    assert body["state"] == "released" and body["released_on"] == "2030-03-02"
    assert body["released_at"] == "2030-03-01T11:30:00Z"
    assert body["version"] == 2
    assert body["forecast"] is None
    assert (
        body["forecast_unavailable"]
        == f"Release {number} shipped on 2030-03-02: nothing to forecast."
    )
    # A second call is a conflict, and changes nothing.
    again = await client.post(
        f"{RELEASES}/{number}/release", json={"released_on": "2030-03-01"}, headers=t.member.headers
    )
    assert_problem(again, 409)
    assert (await t.get(number))["released_on"] == "2030-03-02"


async def test_release_takes_a_past_date_never_a_future_one(
    t: Team, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2030-03-01T12:00:00")
    number = (await t.release("Beta", kind="milestone"))["number"]
    future = await t.client.post(
        f"{RELEASES}/{number}/release", json={"released_on": "2030-03-02"}, headers=t.member.headers
    )
    assert_problem(future, 422, "body.released_on")
    for bad in ("1969-12-31", "soon", 1):
        response = await t.client.post(
            f"{RELEASES}/{number}/release", json={"released_on": bad}, headers=t.member.headers
        )
        assert_problem(response, 422, "body.released_on")
    stale = await t.client.post(
        f"{RELEASES}/{number}/release", headers={**t.member.headers, "If-Match": '"7"'}
    )
    assert_problem(stale, 412)
    reached = await t.client.post(
        f"{RELEASES}/{number}/release",
        json={"released_on": "2030-02-27"},
        headers={**t.member.headers, "If-Match": '"1"'},
    )
    assert reached.status_code == 200, reached.text
    assert reached.json()["released_on"] == "2030-02-27"
    assert reached.json()["forecast_unavailable"] == (
        f"Milestone {number} was reached on 2030-02-27: nothing to forecast."
    )


async def test_archive_reopen_unrelease_and_bring_back(
    t: Team, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2030-03-01T12:00:00")
    number = (await t.release())["number"]
    # Releasing is a POST of its own.
    assert_problem(await t.patch(number, state="released"), 409, "body.state")
    archived = await t.patch(number, state="archived")
    assert archived.status_code == 200, archived.text
    assert archived.json()["state"] == "archived" and archived.json()["released_on"] is None
    assert (
        archived.json()["forecast_unavailable"]
        == f"Release {number} is archived: nothing to forecast."
    )
    assert_problem(
        await t.client.post(f"{RELEASES}/{number}/release", headers=t.member.headers), 409
    )
    # Never shipped: it cannot come back as released.
    assert_problem(await t.patch(number, state="released"), 409, "body.state")
    reopened = await t.patch(number, state="planned")
    assert reopened.json()["state"] == "planned"
    shipped = await t.client.post(f"{RELEASES}/{number}/release", headers=t.member.headers)
    assert shipped.json()["released_on"] == "2030-03-01"
    archived = await t.patch(number, state="archived")
    # Archived, a shipped release keeps its date, and can come back as released.
    assert archived.json()["released_on"] == "2030-03-01"
    back = await t.patch(number, state="released")
    assert (back.json()["state"], back.json()["released_on"]) == ("released", "2030-03-01")
    # Un-releasing clears the date.
    unreleased = await t.patch(number, state="planned")
    body = unreleased.json()
    assert (body["state"], body["released_on"], body["released_at"]) == ("planned", None, None)
    assert body["version"] == 7


# --- the item field -----------------------------------------------------------------------------


async def test_items_join_and_leave_releases_through_their_history(t: Team) -> None:
    first = (await t.release("1.0"))["number"]
    second = (await t.release("1.1"))["number"]
    created = await t.client.post(
        ITEMS, json={"title": "Saved cards", "release": first}, headers=t.member.headers
    )
    assert created.status_code == 201, created.text
    item = created.json()["number"]
    assert created.json()["release"] == first
    moved = await t.edit(item, release=second)
    assert moved.status_code == 200 and moved.json()["release"] == second
    left = await t.edit(item, release=None)
    assert left.json()["release"] is None
    events = await history(t.client, t.owner, item)
    assert events[0]["kind"] == "created" and events[0]["new_value"]["release"] == first
    assert [(e["field"], e["old_value"], e["new_value"]) for e in events[1:]] == [
        ("release", first, second),
        ("release", second, None),
    ]
    # The public events carry the release too.
    activity = await t.client.get(f"{PROJECT}/activity", headers=t.viewer.headers)
    payloads = [e["payload"] for e in activity.json()["data"] if e["type"].startswith("item.")]
    assert payloads[-1]["item"]["release"] == first
    assert [p["changes"]["release"] for p in payloads[:-1]] == [
        {"old": second, "new": None},
        {"old": first, "new": second},
    ]


async def test_items_list_filters_by_release(t: Team) -> None:
    first = (await t.release("1.0"))["number"]
    epic = await t.item("Epic", type="epic", release=first)
    child = await t.item("Child", parent=epic)
    own = await t.item("Own", release=first)
    other = await t.item("Other")

    async def numbers(release: str) -> list[int]:
        response = await t.client.get(ITEMS, params={"release": release}, headers=t.viewer.headers)
        assert response.status_code == 200, response.text
        return [i["number"] for i in response.json()["data"]]

    # The field's own value: an epic's child has no release of its own.
    assert await numbers(str(first)) == [epic, own]
    assert await numbers("none") == [child, other]
    for bad in ("9", "first", "-1", "99999999999999999999"):
        response = await t.client.get(ITEMS, params={"release": bad}, headers=t.viewer.headers)
        assert_problem(response, 422, "query.release")


async def test_the_release_field_is_validated(t: Team, time_machine: TimeMachineFixture) -> None:
    freeze(time_machine, "2030-03-01T12:00:00")
    shipped = (await t.release("1.0"))["number"]
    planned = (await t.release("1.1"))["number"]
    archived = (await t.release("Old"))["number"]
    done_item = await t.item("Done work", 3, release=shipped)
    open_item = await t.item("Open work", 2, release=shipped)
    await t.finish(done_item)
    await t.client.post(f"{RELEASES}/{shipped}/release", headers=t.member.headers)
    await t.patch(archived, state="archived")

    unknown = await t.client.post(
        ITEMS, json={"title": "X", "release": 99}, headers=t.member.headers
    )
    assert_problem(unknown, 422, "body.release")
    for value in (True, "1", 1.5, 2**40):
        response = await t.edit(open_item, release=value)
        assert_problem(response, 422, "body.release")
    # Only planned releases take items.
    for closed in (shipped, archived):
        joined = await t.edit(await t.item("New"), release=closed)
        assert_problem(joined, 409, "body.release")
        created = await t.client.post(
            ITEMS, json={"title": "Y", "release": closed}, headers=t.member.headers
        )
        assert_problem(created, 409, "body.release")
    # Done work stays with the release it shipped in; unfinished work may move on.
    assert_problem(await t.edit(done_item, release=planned), 409, "body.release")
    assert_problem(await t.edit(done_item, release=None), 409, "body.release")
    moved = await t.edit(open_item, release=planned)
    assert moved.status_code == 200 and moved.json()["release"] == planned
    # Sending the release it has changes nothing, closed or not.
    same = await t.edit(done_item, release=shipped, title="Done work, renamed")
    assert same.status_code == 200 and same.json()["release"] == shipped
    items = await t.client.get(ITEMS, params={"release": shipped}, headers=t.viewer.headers)
    assert [i["number"] for i in items.json()["data"]] == [done_item]


async def test_deleting_a_release_takes_its_items_out_through_the_write_path(t: Team) -> None:
    number = (await t.release("Doomed"))["number"]
    epic = await t.item("Epic", type="epic", release=number)
    child = await t.item("Child", 3, parent=epic)
    own = await t.item("Own", 2, release=number)
    stale = await t.client.delete(
        f"{RELEASES}/{number}", headers={**t.member.headers, "If-Match": '"5"'}
    )
    assert_problem(stale, 412)
    deleted = await t.client.delete(
        f"{RELEASES}/{number}", headers={**t.member.headers, "If-Match": '"1"'}
    )
    assert deleted.status_code == 204, deleted.text
    assert_problem(await t.client.get(f"{RELEASES}/{number}", headers=t.viewer.headers), 404)
    for item in (epic, own):
        events = await history(t.client, t.owner, item)
        assert (events[-1]["field"], events[-1]["old_value"], events[-1]["new_value"]) == (
            "release",
            number,
            None,
        )
    # The child was never in it itself: nothing to log.
    assert [e["kind"] for e in await history(t.client, t.owner, child)] == ["created"]
    # Numbers are never reused.
    assert (await t.release("Next"))["number"] == number + 1


# --- scope --------------------------------------------------------------------------------------


async def test_scope_counts_items_and_the_children_of_epics_once(t: Team) -> None:
    r = (await t.release("R"))["number"]
    s = (await t.release("S"))["number"]
    story = await t.item("Story", 3, release=r)
    await t.item("Open story", 5, release=r)
    await t.item("Unestimated bug", type="bug", release=r)
    # The epic's own points do not count: it is a container.
    epic = await t.item("Epic", 40, type="epic", release=r)
    await t.item("Child A", 2, parent=epic)
    child_b = await t.item("Child B", 1, parent=epic)
    # A child with a release of its own counts there only.
    await t.item("Child C", 13, parent=epic, release=s)
    await t.item("In S", 8, release=s)
    # Another epic's children, and loose work, count nowhere.
    other_epic = await t.item("Other epic", type="epic")
    await t.item("Elsewhere", 5, parent=other_epic)
    await t.item("Loose", 1)
    await t.finish(story)
    await t.finish(child_b)

    # R: Story 3 (done), Open story 5, bug (unestimated), A 2, B 1 (done).
    assert scope(await t.get(r)) == (5, 11, 2, 4, 3, 7, 1)
    # S: C 13 and In S 8.
    assert scope(await t.get(s)) == (2, 21, 0, 0, 2, 21, 0)
    listed = await t.client.get(RELEASES, headers=t.viewer.headers)
    assert [scope(body) for body in listed.json()["data"]] == [
        (5, 11, 2, 4, 3, 7, 1),
        (2, 21, 0, 0, 2, 21, 0),
    ]
    # Moving the epic moves the children that have no release of their own.
    await t.edit(epic, release=s)
    assert scope(await t.get(r)) == (3, 8, 1, 3, 2, 5, 1)
    assert scope(await t.get(s)) == (4, 24, 1, 1, 3, 23, 0)


# --- forecast -----------------------------------------------------------------------------------


async def test_without_enough_history_the_forecast_is_null_with_a_reason(t: Team) -> None:
    number = (await t.release(target_date="2030-03-01"))["number"]
    await t.item("Work", 5, release=number)
    body = await t.get(number)
    assert body["forecast"] is None
    assert "at least 2 completed sprints" in body["forecast_unavailable"]
    await t.completed(S1, [5])
    assert "has 1" in (await t.get(number))["forecast_unavailable"]


async def test_constant_velocity_gives_probability_zero_or_one(t: Team) -> None:
    await t.completed(S1, [5, 5])
    await t.completed(S2, [5, 5])
    # 25 points at 10 a sprint take 3 sprints in every trial: 4-15 Feb, 18 Feb-1 Mar, 4-15 Mar.
    on_time = (await t.release("On time", target_date="2030-03-15"))["number"]
    late = (await t.release("Late", start_date="2030-02-04", target_date="2030-03-14"))["number"]
    for number in (on_time, late):
        await t.item("Big", 21, release=number)
        await t.item("Small", 3, release=number)
        await t.item("Tiny", 1, release=number)
        await t.item("Vague", release=number)

    body = await t.get(on_time, seed=11)
    forecast = body["forecast"]
    assert body["forecast_unavailable"] is None
    assert forecast["seed"] == 11 and forecast["trials"] == 2000
    assert forecast["history_sprints"] == 2
    assert forecast["remaining_points"] == 25 and forecast["unestimated_left_out"] == 1
    assert [
        (p["percentile"], p["sprints"], p["completion_date"]) for p in forecast["percentiles"]
    ] == [
        (50, 3, "2030-03-15"),
        (70, 3, "2030-03-15"),
        (85, 3, "2030-03-15"),
        (95, 3, "2030-03-15"),
    ]
    assert (forecast["target_sprints"], forecast["target_probability"]) == (3, 1.0)
    late_forecast = (await t.get(late, seed=11))["forecast"]
    assert (late_forecast["target_sprints"], late_forecast["target_probability"]) == (2, 0.0)
    # A target before the first coming sprint ends: no sprint fits, nothing gets done by then.
    await t.patch(late, start_date=None, target_date="2030-02-14")
    late_forecast = (await t.get(late))["forecast"]
    assert (late_forecast["target_sprints"], late_forecast["target_probability"]) == (0, 0.0)
    # No target date: no probability.
    await t.patch(late, target_date=None)
    assert (await t.get(late))["forecast"]["target_probability"] is None


async def test_forecast_is_reproducible_and_matches_a_hand_check(t: Team) -> None:
    await t.completed(S1, [5])
    await t.completed(S2, [13, 2])
    number = (await t.release("2.0", target_date="2030-03-01"))["number"]
    for points in (13, 5, 2):
        await t.item(f"{points} of twenty", points, release=number)
    # Sprints of 5 or 15 points, equally likely: 20 points are done within 2 sprints unless
    # both draws are 5 (1/4), so 3/4 of trials make the second sprint (ending 1 March).
    body = await t.get(number, seed=42, trials=20_000)
    forecast = body["forecast"]
    assert forecast["target_sprints"] == 2
    assert 0 <= forecast["target_probability"] <= 1
    # Within 3 standard deviations (0.003 at 20,000 trials) of 3/4.
    assert abs(forecast["target_probability"] - 0.75) < 0.01
    assert await t.get(number, seed=42, trials=20_000) == body
    reseeded = (await t.get(number, seed=43, trials=20_000))["forecast"]
    assert reseeded["seed"] == 43 and abs(reseeded["target_probability"] - 0.75) < 0.01
    # It is the project forecast of the release's scope: the same seed gives the same figures.
    project = await t.client.get(
        f"{PROJECT}/forecast",
        params={"release": number, "seed": 42, "trials": 20_000},
        headers=t.viewer.headers,
    )
    assert project.status_code == 200, project.text
    assert project.json()["scope"]["kind"] == "release"
    assert project.json()["scope"]["release"] == number
    assert project.json()["percentiles"] == forecast["percentiles"]
    within_2 = sum(e["trials"] for e in project.json()["histogram"] if e["sprints"] <= 2)
    assert forecast["target_probability"] == within_2 / 20_000


async def test_milestones_have_the_same_scope_and_forecast(t: Team) -> None:
    await t.completed(S1, [5, 5])
    await t.completed(S2, [5, 5])
    milestone = (await t.release("Beta", kind="milestone", target_date="2030-02-15"))["number"]
    release = (await t.release("GA", target_date="2030-02-15"))["number"]
    for number in (milestone, release):
        await t.item("Work", 8, release=number)
    as_milestone, as_release = await t.get(milestone), await t.get(release)
    assert as_milestone["kind"] == "milestone"
    assert scope(as_milestone) == scope(as_release) == (1, 8, 0, 0, 1, 8, 0)
    assert as_milestone["forecast"] == as_release["forecast"]
    assert as_milestone["forecast"]["target_probability"] == 1.0


async def test_the_forecast_of_a_release_scope(t: Team) -> None:
    await t.completed(S1, [5, 5])
    await t.completed(S2, [5, 5])
    number = (await t.release("2.0"))["number"]
    epic = await t.item("Epic", type="epic", release=number)
    a = await t.item("A", 3, release=number)
    b = await t.item("B", 5, parent=epic)
    await t.item("C", 8)  # not in the release

    async def forecast(**params: Any) -> httpx.Response:
        return await t.client.get(f"{PROJECT}/forecast", params=params, headers=t.viewer.headers)

    body = (await forecast(release=number, seed=1)).json()
    assert [(i["number"], i["cumulative"]) for i in body["scope"]["items"]] == [(a, 3), (b, 8)]
    assert body["scope"]["total"] == 8 and body["scope"]["epic"] is None
    explicit = (await forecast(scope="release", release=number, seed=1)).json()
    assert explicit == body
    # The backlog forecast names no release.
    assert (await forecast(seed=1)).json()["scope"]["release"] is None
    assert_problem(await forecast(release=9), 422, "query.release")
    assert_problem(await forecast(scope="release"), 422, "query.release")
    assert_problem(await forecast(scope="backlog", release=number), 422, "query.release")
    assert_problem(await forecast(release=number, epic=epic), 422, "query.release")
    assert_problem(await forecast(scope="epic", epic=epic, release=number), 422, "query.release")
    assert_problem(await forecast(release=0), 422, "query.release")


async def test_replaying_a_release_forecast_uses_the_release_of_that_day(
    t: Team, time_machine: TimeMachineFixture
) -> None:
    await t.completed(S1, [5, 5])
    await t.completed(S2, [5, 5])
    number = (await t.release("2.0"))["number"]
    freeze(time_machine, "2030-02-04T09:00:00")
    epic = await t.item("Epic", type="epic", release=number)
    early = await t.item("Early", 3, parent=epic)
    freeze(time_machine, "2030-02-06T09:00:00")
    late = await t.item("Late", 5, release=number)
    # The child leaves for another release later; on the 5th it was still counted.
    other = (await t.release("3.0"))["number"]
    await t.edit(early, release=other)
    replay = await t.client.get(
        f"{PROJECT}/forecast",
        params={"release": number, "as_of": "2030-02-05", "seed": 1},
        headers=t.viewer.headers,
    )
    assert replay.status_code == 200, replay.text
    assert [i["number"] for i in replay.json()["scope"]["items"]] == [early]
    now = await t.client.get(
        f"{PROJECT}/forecast", params={"release": number, "seed": 1}, headers=t.viewer.headers
    )
    assert [i["number"] for i in now.json()["scope"]["items"]] == [late]


async def test_racing_writes_get_a_conflict_never_a_500(t: Team) -> None:
    async def create() -> httpx.Response:
        return await t.client.post(RELEASES, json={"name": "Same"}, headers=t.member.headers)

    first, second = await asyncio.gather(create(), create())
    assert sorted([first.status_code, second.status_code]) == [201, 409]
    number = (first if first.status_code == 201 else second).json()["number"]

    async def release() -> httpx.Response:
        return await t.client.post(f"{RELEASES}/{number}/release", headers=t.member.headers)

    shipped = await asyncio.gather(release(), release())
    assert sorted(response.status_code for response in shipped) == [200, 409]
    # Items racing into a release that is being deleted: each lands before or after.
    other = (await t.release("Other"))["number"]
    items = [await t.item(f"Racer {n}") for n in range(3)]
    results = await asyncio.gather(
        *(t.edit(item, release=other) for item in items),
        t.client.delete(f"{RELEASES}/{other}", headers=t.member.headers),
    )
    assert results[-1].status_code == 204
    assert {response.status_code for response in results[:-1]} <= {200, 422}
    listed = await t.client.get(ITEMS, params={"release": "none"}, headers=t.viewer.headers)
    assert {item["number"] for item in listed.json()["data"]} >= set(items)


# --- what other areas read ----------------------------------------------------------------------


async def test_a_release_lists_the_open_risks_linked_to_it(t: Team) -> None:
    number = (await t.release())["number"]
    other = (await t.release("Other"))["number"]
    risks: list[dict[str, Any]] = [
        {"title": "Low", "probability": 1, "impact": 2, "releases": [number]},
        {"title": "High", "probability": 4, "impact": 5, "releases": [number]},
        {"title": "Mitigating", "probability": 2, "impact": 2, "status": "mitigating"},
        {"title": "Closed", "probability": 5, "impact": 5, "status": "closed"},
        {"title": "Elsewhere", "probability": 5, "impact": 5, "releases": [other]},
    ]
    risks[2]["releases"] = [number, other]
    risks[3]["releases"] = [number]
    for body in risks:
        created = await t.client.post(f"{PROJECT}/risks", json=body, headers=t.member.headers)
        assert created.status_code == 201, created.text
    listed = (await t.get(number))["risks"]
    # Highest exposure first: 20, 4, 2.
    assert [(r["title"], r["exposure"]) for r in listed] == [
        ("High", 20),
        ("Mitigating", 4),
        ("Low", 2),
    ]
    assert set(listed[0]) >= {"number", "probability", "impact", "status", "owner_id"}
    # Deleting the release drops its links, not the risks.
    deleted = await t.client.delete(f"{RELEASES}/{number}", headers=t.member.headers)
    assert deleted.status_code == 204, deleted.text
    assert [r["title"] for r in (await t.get(other))["risks"]] == ["Elsewhere", "Mitigating"]


async def test_shipped_releases_are_the_released_releases_by_date(
    t: Team, database: Database, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine, "2030-03-01T12:00:00")
    late = (await t.release("Late"))["number"]
    early = (await t.release("Early"))["number"]
    milestone = (await t.release("Reached", kind="milestone"))["number"]
    await t.release("Planned")
    archived = (await t.release("Archived"))["number"]
    for number, day in ((late, "2030-02-20"), (early, "2030-01-10"), (milestone, "2030-01-05")):
        response = await t.client.post(
            f"{RELEASES}/{number}/release", json={"released_on": day}, headers=t.member.headers
        )
        assert response.status_code == 200, response.text
    await t.client.post(f"{RELEASES}/{archived}/release", headers=t.member.headers)
    await t.patch(archived, state="archived")
    async with database.sessions() as session:
        project = await session.execute(text("SELECT id FROM projects WHERE key = 'WEB'"))
        shipped = await releases_repository.shipped_releases(session, project.scalar_one())
    assert [(r.name, r.released_on) for r in shipped] == [
        ("Early", date(2030, 1, 10)),
        ("Late", date(2030, 2, 20)),
    ]
