"""Projects API: create, list, read, change settings, delete — over HTTP on real PostgreSQL."""

import asyncio
from typing import Any

import httpx
import pytest

from app.domain.kernel.pagination import encode_cursor
from app.domain.projects import repository as projects_repository
from app.domain.projects import service as projects_service
from app.domain.projects.models import Role
from app.domain.users import repository as users_repository
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, etag_version, pause_after, rendezvous

PROJECTS = "/api/v1/projects"
PROBLEM = "application/problem+json"
FIBONACCI = [0, 1, 2, 3, 5, 8, 13, 21, 40, 100]


async def list_keys(client: httpx.AsyncClient, actor: Actor) -> list[str]:
    """The keys of every project the actor sees."""
    response = await client.get(PROJECTS, headers=actor.headers, params={"limit": 200})
    assert response.status_code == 200, response.text
    return [project["key"] for project in response.json()["data"]]


async def create(
    client: httpx.AsyncClient, actor: Actor, body: Any, **kwargs: Any
) -> httpx.Response:
    return await client.post(PROJECTS, headers=actor.headers, json=body, **kwargs)


# --- create ---------------------------------------------------------------------------------


async def test_create_project_with_defaults(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    response = await create(client, owner, {"key": "WEB", "name": "Website"})

    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["Location"] == "/api/v1/projects/WEB"
    assert etag_version(response) == 1
    body = response.json()
    assert body["key"] == "WEB"
    assert body["name"] == "Website"
    assert body["description"] == ""
    assert body["estimation_scale"] == "fibonacci"
    assert [v["value"] for v in body["scale_values"]] == FIBONACCI
    assert [v["label"] for v in body["scale_values"]] == [str(v) for v in FIBONACCI]
    assert body["sprint_length_days"] == 14
    assert body["working_days"] == ["mon", "tue", "wed", "thu", "fri"]
    assert body["time_zone"] == "UTC"
    assert body["role"] == "owner"
    assert body["version"] == 1
    assert isinstance(body["id"], int)
    assert body["created_at"] and body["updated_at"]

    fetched = await client.get(response.headers["Location"], headers=owner.headers)
    assert fetched.status_code == 200
    assert fetched.json() == body


async def test_create_project_with_all_settings(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    response = await create(
        client,
        owner,
        {
            "key": "OPS2",
            "name": "Operations",
            "description": "Keeping the lights on.",
            "estimation_scale": "linear",
            "sprint_length_days": 7,
            "working_days": ["sun", "thu", "mon", "tue", "wed"],
            "time_zone": "Asia/Jerusalem",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["key"] == "OPS2"
    assert body["description"] == "Keeping the lights on."
    assert body["sprint_length_days"] == 7
    # Stored and returned in calendar order, whatever order they were given in.
    assert body["working_days"] == ["mon", "tue", "wed", "thu", "sun"]
    assert body["time_zone"] == "Asia/Jerusalem"
    fetched = (await client.get(f"{PROJECTS}/OPS2", headers=owner.headers)).json()
    assert fetched["working_days"] == ["mon", "tue", "wed", "thu", "sun"]
    assert fetched["time_zone"] == "Asia/Jerusalem"


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        ("fibonacci", [(str(v), v) for v in FIBONACCI]),
        ("powers_of_two", [(str(v), v) for v in [0, 1, 2, 4, 8, 16, 32, 64]]),
        ("linear", [(str(v), v) for v in range(21)]),
        (
            "tshirt",
            [("XS", 1), ("S", 2), ("M", 3), ("L", 5), ("XL", 8), ("XXL", 13)],
        ),
    ],
)
async def test_each_estimation_scale_returns_its_values(
    client: httpx.AsyncClient,
    factory: Factory,
    scale: str,
    expected: list[tuple[str, float]],
) -> None:
    owner = await factory.user()
    response = await create(
        client, owner, {"key": "EST", "name": "Estimates", "estimation_scale": scale}
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["estimation_scale"] == scale
    assert [(v["label"], v["value"]) for v in created["scale_values"]] == expected
    fetched = (await client.get(f"{PROJECTS}/EST", headers=owner.headers)).json()
    assert fetched["scale_values"] == created["scale_values"]


async def test_create_needs_authentication(client: httpx.AsyncClient, database: object) -> None:
    response = await client.post(PROJECTS, json={"key": "WEB", "name": "Website"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"] == "Bearer"
    bad_token = await client.get(PROJECTS, headers={"Authorization": "Bearer nope"})
    assert_problem(bad_token, 401)


# --- invalid input: a problem naming the field, and nothing written ---------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key": "web", "name": "Website"}, "body.key"),
        ({"key": "W", "name": "Website"}, "body.key"),
        ({"key": "ABCDEFGHIJK", "name": "Website"}, "body.key"),
        ({"key": "WE-B", "name": "Website"}, "body.key"),
        ({"key": "WE B", "name": "Website"}, "body.key"),
        ({"key": "WEB"}, "body.name"),
        ({"key": "WEB", "name": ""}, "body.name"),
        ({"key": "WEB", "name": "x" * 121}, "body.name"),
        ({"key": "WEB", "name": "Website", "time_zone": "Mars/Olympus"}, "body.time_zone"),
        ({"key": "WEB", "name": "Website", "time_zone": "../../etc/passwd"}, "body.time_zone"),
        ({"key": "WEB", "name": "Website", "working_days": []}, "body.working_days"),
        ({"key": "WEB", "name": "Website", "working_days": ["mon", "mon"]}, "body.working_days"),
        (
            {"key": "WEB", "name": "Website", "working_days": ["mon", "funday"]},
            "body.working_days.1",
        ),
        ({"key": "WEB", "name": "Website", "sprint_length_days": 0}, "body.sprint_length_days"),
        ({"key": "WEB", "name": "Website", "sprint_length_days": 61}, "body.sprint_length_days"),
        ({"key": "WEB", "name": "Website", "sprint_length_days": "x"}, "body.sprint_length_days"),
        ({"key": "WEB", "name": 123}, "body.name"),
        ({"key": "WEB", "name": "Website", "estimation_scale": "dice"}, "body.estimation_scale"),
        ({"key": "WEB", "name": "Website", "colour": "blue"}, "body.colour"),
    ],
    ids=[
        "lower-case-key",
        "one-char-key",
        "eleven-char-key",
        "dash-in-key",
        "space-in-key",
        "missing-name",
        "empty-name",
        "long-name",
        "unknown-time-zone",
        "path-as-time-zone",
        "no-working-days",
        "repeated-working-day",
        "unknown-weekday",
        "sprint-length-0",
        "sprint-length-61",
        "sprint-length-string",
        "numeric-name",
        "unknown-scale",
        "unknown-field",
    ],
)
async def test_create_rejects_invalid_input_and_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner = await factory.user()
    response = await create(client, owner, body)
    problem = assert_problem(response, 422, field)
    assert field in problem["detail"]
    assert await list_keys(client, owner) == []


async def test_create_rejects_duplicate_key_with_conflict(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    other = await factory.user()
    await factory.project(other, "WEB")

    response = await create(client, owner, {"key": "WEB", "name": "Mine"})
    problem = assert_problem(response, 409, "body.key")
    assert "WEB" in problem["detail"]
    assert await list_keys(client, owner) == []
    # The other user's project is untouched.
    theirs = (await client.get(f"{PROJECTS}/WEB", headers=other.headers)).json()
    assert theirs["name"] == "Project WEB"


async def test_an_account_owns_at_most_100_projects(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    assert projects_service.MAX_OWNED_PROJECTS == 100
    owner = await factory.user()
    keys = [f"P{n:03d}" for n in range(100)]
    for key in keys:
        await factory.project(owner, key)

    over = await create(client, owner, {"key": "ONEMORE", "name": "One more"})

    problem = assert_problem(over, 409)
    assert problem["detail"].startswith("You own 100 projects")
    assert "at most 100" in problem["detail"]
    assert await list_keys(client, owner) == keys
    # Someone else is not held back by it.
    other = await factory.user()
    assert (await create(client, other, {"key": "ONEMORE", "name": "Theirs"})).status_code == 201
    # Deleting one makes room.
    deleted = await client.delete(
        f"{PROJECTS}/P000", headers=owner.headers, params={"confirm": "P000"}
    )
    assert deleted.status_code == 204
    assert (await create(client, owner, {"key": "NEXT", "name": "Next"})).status_code == 201


async def test_only_owned_projects_count_towards_the_cap(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projects_service, "MAX_OWNED_PROJECTS", 1)
    someone = await factory.user()
    other = await factory.owner("THEIRS")
    await factory.member("THEIRS", other, someone, Role.MEMBER)

    assert (await create(client, someone, {"key": "MINE", "name": "Mine"})).status_code == 201
    assert_problem(await create(client, someone, {"key": "MORE", "name": "More"}), 409)
    # Handing the project to another owner frees the slot.
    await factory.member("MINE", someone, other, Role.OWNER)
    demoted = await client.patch(
        f"{PROJECTS}/MINE/members/{someone.id}", headers=other.headers, json={"role": "member"}
    )
    assert demoted.status_code == 200, demoted.text
    assert (await create(client, someone, {"key": "MORE", "name": "More"})).status_code == 201


async def test_concurrent_creations_cannot_pass_the_cap_together(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projects_service, "MAX_OWNED_PROJECTS", 2)
    owner = await factory.user()
    await factory.project(owner, "FIRST")
    # Both requests are past authentication together, and each holds a moment after counting,
    # so without the lock on the caller's row both would count 1 and both create.
    rendezvous(monkeypatch, users_repository, "user_for_token")
    pause_after(monkeypatch, projects_repository, "count_owned")

    responses = await asyncio.gather(
        create(client, owner, {"key": "RACEA", "name": "A"}),
        create(client, owner, {"key": "RACEB", "name": "B"}),
    )

    assert sorted(response.status_code for response in responses) == [201, 409], [
        response.text for response in responses
    ]
    assert_problem(next(r for r in responses if r.status_code == 409), 409)
    assert len(await list_keys(client, owner)) == 2


async def test_create_rejects_malformed_json(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    response = await client.post(
        PROJECTS,
        headers={**owner.headers, "Content-Type": "application/json"},
        content=b'{"key": "WEB", "name": ',
    )
    problem = assert_problem(response, 422)
    assert problem["errors"] and problem["errors"][0]["field"].startswith("body")
    assert await list_keys(client, owner) == []


async def test_create_rejects_json_array_body(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    response = await create(client, owner, [{"key": "WEB", "name": "Website"}])
    assert_problem(response, 422, "body")
    assert await list_keys(client, owner) == []


async def test_create_rejects_missing_body(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    response = await client.post(PROJECTS, headers=owner.headers)
    assert_problem(response, 422, "body")
    assert await list_keys(client, owner) == []


# --- list -----------------------------------------------------------------------------------


async def test_list_shows_only_my_projects_ordered_by_key(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await factory.user()
    other = await factory.user()
    for key in ["ZED", "ALPHA", "MID"]:
        await factory.project(me, key)
    await factory.project(other, "BETA")
    await factory.project(other, "SHARED")
    await factory.member("SHARED", other, me, Role.VIEWER)

    response = await client.get(PROJECTS, headers=me.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert [p["key"] for p in body["data"]] == ["ALPHA", "MID", "SHARED", "ZED"]
    assert {p["key"]: p["role"] for p in body["data"]} == {
        "ALPHA": "owner",
        "MID": "owner",
        "SHARED": "viewer",
        "ZED": "owner",
    }
    assert body["next_cursor"] is None
    assert "Link" not in response.headers
    assert await list_keys(client, other) == ["BETA", "SHARED"]


async def test_list_is_empty_for_a_new_user(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    newcomer = await factory.user()
    response = await client.get(PROJECTS, headers=newcomer.headers)
    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None}


async def test_list_paginates_with_cursor_and_link_header(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await factory.user()
    for key in ["CCC", "AAA", "BBB"]:
        await factory.project(me, key)

    first = await client.get(PROJECTS, headers=me.headers, params={"limit": 1})
    assert first.status_code == 200, first.text
    assert [p["key"] for p in first.json()["data"]] == ["AAA"]
    cursor = first.json()["next_cursor"]
    assert isinstance(cursor, str) and cursor
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"')
    next_url = link[link.index("<") + 1 : link.index(">")]
    assert f"cursor={cursor}" in next_url
    assert "limit=1" in next_url

    second = await client.get(next_url, headers=me.headers)
    assert second.status_code == 200, second.text
    assert [p["key"] for p in second.json()["data"]] == ["BBB"]

    # The cursor works as a plain query parameter too.
    third = await client.get(
        PROJECTS,
        headers=me.headers,
        params={"limit": 1, "cursor": second.json()["next_cursor"]},
    )
    assert [p["key"] for p in third.json()["data"]] == ["CCC"]
    assert third.json()["next_cursor"] is None
    assert "Link" not in third.headers

    two = await client.get(PROJECTS, headers=me.headers, params={"limit": 2})
    assert [p["key"] for p in two.json()["data"]] == ["AAA", "BBB"]
    rest = await client.get(
        PROJECTS, headers=me.headers, params={"limit": 2, "cursor": two.json()["next_cursor"]}
    )
    assert [p["key"] for p in rest.json()["data"]] == ["CCC"]
    assert rest.json()["next_cursor"] is None


async def test_list_page_exactly_full_has_no_next(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await factory.user()
    await factory.project(me, "AAA")
    await factory.project(me, "BBB")
    response = await client.get(PROJECTS, headers=me.headers, params={"limit": 2})
    assert [p["key"] for p in response.json()["data"]] == ["AAA", "BBB"]
    assert response.json()["next_cursor"] is None
    assert "Link" not in response.headers


async def test_cursor_is_stable_under_inserts(client: httpx.AsyncClient, factory: Factory) -> None:
    me = await factory.user()
    await factory.project(me, "BBB")
    await factory.project(me, "DDD")
    first = await client.get(PROJECTS, headers=me.headers, params={"limit": 1})
    assert [p["key"] for p in first.json()["data"]] == ["BBB"]
    # A project sorting before the cursor must not shift the next page.
    await factory.project(me, "AAA")
    await factory.project(me, "CCC")
    second = await client.get(
        PROJECTS, headers=me.headers, params={"limit": 1, "cursor": first.json()["next_cursor"]}
    )
    assert [p["key"] for p in second.json()["data"]] == ["CCC"]


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        "abc",
        encode_cursor([]),
        encode_cursor(["WEB", "extra"]),
        "eyJub3QiOiAibGlzdCJ9",  # {"not": "list"}
    ],
    ids=["garbage", "percent", "short-base64", "empty-list", "too-long", "json-object"],
)
async def test_list_rejects_garbage_cursor(
    client: httpx.AsyncClient, factory: Factory, cursor: str
) -> None:
    me = await factory.user()
    await factory.project(me, "WEB")
    response = await client.get(PROJECTS, headers=me.headers, params={"cursor": cursor})
    assert_problem(response, 422, "query.cursor")


@pytest.mark.parametrize(
    "cursor_values",
    [[12345], [None], [{"a": 1}], [["nested"]]],
    ids=["integer", "null", "object", "list"],
)
async def test_list_rejects_well_formed_cursor_of_the_wrong_type(
    client: httpx.AsyncClient, factory: Factory, cursor_values: list[Any]
) -> None:
    # A forged cursor that decodes fine but does not hold a key must be a 422, not a 500.
    me = await factory.user()
    await factory.project(me, "WEB")
    response = await client.get(
        PROJECTS, headers=me.headers, params={"cursor": encode_cursor(cursor_values)}
    )
    assert_problem(response, 422, "query.cursor")


@pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
async def test_list_rejects_limit_out_of_range(
    client: httpx.AsyncClient, factory: Factory, limit: str
) -> None:
    me = await factory.user()
    response = await client.get(PROJECTS, headers=me.headers, params={"limit": limit})
    assert_problem(response, 422, "query.limit")


async def test_list_accepts_limit_bounds(client: httpx.AsyncClient, factory: Factory) -> None:
    me = await factory.user()
    await factory.project(me, "WEB")
    for limit in (1, 200):
        response = await client.get(PROJECTS, headers=me.headers, params={"limit": limit})
        assert response.status_code == 200
        assert [p["key"] for p in response.json()["data"]] == ["WEB"]


# --- get ------------------------------------------------------------------------------------


async def test_get_project_by_key(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    viewer = await factory.user()
    await factory.project(owner, "WEB", time_zone="Europe/Berlin")
    await factory.member("WEB", owner, viewer, Role.VIEWER)

    response = await client.get(f"{PROJECTS}/WEB", headers=owner.headers)
    assert response.status_code == 200
    assert etag_version(response) == 1
    body = response.json()
    assert body["key"] == "WEB"
    assert body["time_zone"] == "Europe/Berlin"
    assert body["role"] == "owner"

    as_viewer = await client.get(f"{PROJECTS}/WEB", headers=viewer.headers)
    assert as_viewer.status_code == 200
    assert as_viewer.json()["role"] == "viewer"
    assert as_viewer.json()["id"] == body["id"]


async def test_unknown_and_foreign_projects_are_both_404_alike(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    me = await factory.user()
    other = await factory.user()
    await factory.project(other, "SECRET")

    unknown = await client.get(f"{PROJECTS}/NOPE", headers=me.headers)
    foreign = await client.get(f"{PROJECTS}/SECRET", headers=me.headers)
    unknown_body = assert_problem(unknown, 404)
    foreign_body = assert_problem(foreign, 404)
    # Same shape and wording: the answer must not reveal that SECRET exists.
    assert set(unknown_body) == set(foreign_body)
    assert unknown_body["type"] == foreign_body["type"]
    assert unknown_body["title"] == foreign_body["title"]
    assert unknown_body["detail"].replace("NOPE", "SECRET") == foreign_body["detail"]
    assert "ETag" not in foreign.headers

    # Writing to a foreign project is a 404 too, never a 403, even with a broken body.
    patch = await client.patch(f"{PROJECTS}/SECRET", headers=me.headers, json={"name": 5})
    assert_problem(patch, 404)
    delete = await client.delete(
        f"{PROJECTS}/SECRET", headers=me.headers, params={"confirm": "SECRET"}
    )
    assert_problem(delete, 404)
    assert await list_keys(client, other) == ["SECRET"]


async def test_malformed_key_in_path_is_422(client: httpx.AsyncClient, factory: Factory) -> None:
    me = await factory.user()
    response = await client.get(f"{PROJECTS}/web", headers=me.headers)
    assert_problem(response, 422, "path.key")


# --- update ---------------------------------------------------------------------------------


async def test_owner_updates_settings_and_etag_bumps(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    before = (await client.get(f"{PROJECTS}/WEB", headers=owner.headers)).json()

    response = await client.patch(
        f"{PROJECTS}/WEB",
        headers=owner.headers,
        json={
            "name": "Web shop",
            "time_zone": "America/New_York",
            "working_days": ["fri", "mon", "wed"],
        },
    )
    assert response.status_code == 200, response.text
    assert etag_version(response) == 2
    body = response.json()
    assert body["version"] == 2
    assert body["name"] == "Web shop"
    assert body["time_zone"] == "America/New_York"
    assert body["working_days"] == ["mon", "wed", "fri"]
    # Untouched fields keep their values.
    assert body["sprint_length_days"] == before["sprint_length_days"]
    assert body["estimation_scale"] == before["estimation_scale"]
    assert body["key"] == "WEB"
    assert body["created_at"] == before["created_at"]
    assert body["updated_at"] >= before["updated_at"]

    fetched = await client.get(f"{PROJECTS}/WEB", headers=owner.headers)
    assert etag_version(fetched) == 2
    assert fetched.json() == body

    again = await client.patch(
        f"{PROJECTS}/WEB",
        headers=owner.headers,
        json={"estimation_scale": "tshirt", "sprint_length_days": 10, "description": "d"},
    )
    assert again.status_code == 200, again.text
    assert etag_version(again) == 3
    assert again.json()["estimation_scale"] == "tshirt"
    assert again.json()["scale_values"][0]["label"] == "XS"
    assert again.json()["sprint_length_days"] == 10
    assert again.json()["description"] == "d"
    assert again.json()["name"] == "Web shop"


@pytest.mark.parametrize("key", ["WEB", "NEW"])
async def test_patch_key_is_rejected_as_immutable(
    client: httpx.AsyncClient, factory: Factory, key: str
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    response = await client.patch(
        f"{PROJECTS}/WEB", headers=owner.headers, json={"key": key, "name": "Renamed"}
    )
    assert_problem(response, 422, "body.key")
    after = await client.get(f"{PROJECTS}/WEB", headers=owner.headers)
    assert after.json()["name"] == "Project WEB"
    assert etag_version(after) == 1
    assert (await client.get(f"{PROJECTS}/NEW", headers=owner.headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"time_zone": "Mars/Olympus"}, "body.time_zone"),
        ({"working_days": []}, "body.working_days"),
        ({"working_days": ["tue", "tue"]}, "body.working_days"),
        ({"sprint_length_days": 0}, "body.sprint_length_days"),
        ({"sprint_length_days": 61}, "body.sprint_length_days"),
        ({"name": ""}, "body.name"),
        ({"name": None}, "body.name"),
        ({"sprint_length_days": None}, "body.sprint_length_days"),
        ({"colour": "blue"}, "body.colour"),
    ],
)
async def test_patch_rejects_invalid_input_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, body: dict[str, Any], field: str
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    before = (await client.get(f"{PROJECTS}/WEB", headers=owner.headers)).json()
    response = await client.patch(f"{PROJECTS}/WEB", headers=owner.headers, json=body)
    assert_problem(response, 422, field)
    assert (await client.get(f"{PROJECTS}/WEB", headers=owner.headers)).json() == before


async def test_patch_with_stale_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    first = await client.patch(
        f"{PROJECTS}/WEB", headers={**owner.headers, "If-Match": '"1"'}, json={"name": "One"}
    )
    assert first.status_code == 200, first.text
    assert etag_version(first) == 2

    stale = await client.patch(
        f"{PROJECTS}/WEB", headers={**owner.headers, "If-Match": '"1"'}, json={"name": "Two"}
    )
    assert_problem(stale, 412)
    after = await client.get(f"{PROJECTS}/WEB", headers=owner.headers)
    assert after.json()["name"] == "One"
    assert etag_version(after) == 2

    current = await client.patch(
        f"{PROJECTS}/WEB",
        headers={**owner.headers, "If-Match": after.headers["ETag"]},
        json={"name": "Two"},
    )
    assert current.status_code == 200, current.text
    assert current.json()["name"] == "Two"
    assert etag_version(current) == 3

    star = await client.patch(
        f"{PROJECTS}/WEB", headers={**owner.headers, "If-Match": "*"}, json={"name": "Three"}
    )
    assert star.status_code == 200, star.text
    assert star.json()["name"] == "Three"
    assert etag_version(star) == 4

    garbage = await client.patch(
        f"{PROJECTS}/WEB", headers={**owner.headers, "If-Match": "bogus"}, json={"name": "X"}
    )
    assert_problem(garbage, 412)
    assert (await client.get(f"{PROJECTS}/WEB", headers=owner.headers)).json()["name"] == "Three"


@pytest.mark.parametrize("role", [Role.MEMBER, Role.VIEWER])
async def test_non_owner_cannot_patch_or_delete(
    client: httpx.AsyncClient, factory: Factory, role: Role
) -> None:
    owner = await factory.user()
    someone = await factory.user()
    await factory.project(owner, "WEB")
    await factory.member("WEB", owner, someone, role)

    patch = await client.patch(f"{PROJECTS}/WEB", headers=someone.headers, json={"name": "Mine"})
    assert_problem(patch, 403)
    delete = await client.delete(
        f"{PROJECTS}/WEB", headers=someone.headers, params={"confirm": "WEB"}
    )
    assert_problem(delete, 403)

    after = await client.get(f"{PROJECTS}/WEB", headers=someone.headers)
    assert after.status_code == 200
    assert after.json()["name"] == "Project WEB"
    assert after.json()["version"] == 1
    assert after.json()["role"] == role.value


# --- delete ---------------------------------------------------------------------------------


@pytest.mark.parametrize("params", [{}, {"confirm": "NOPE"}, {"confirm": "web"}, {"confirm": ""}])
async def test_delete_needs_confirmation(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, str]
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    response = await client.delete(f"{PROJECTS}/WEB", headers=owner.headers, params=params)
    problem = assert_problem(response, 422, "query.confirm")
    assert "confirm=WEB" in problem["detail"]
    assert await list_keys(client, owner) == ["WEB"]


async def test_owner_deletes_project(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    viewer = await factory.user()
    await factory.project(owner, "WEB")
    await factory.project(owner, "KEEP")
    await factory.member("WEB", owner, viewer, Role.VIEWER)

    response = await client.delete(
        f"{PROJECTS}/WEB", headers=owner.headers, params={"confirm": "WEB"}
    )
    assert response.status_code == 204, response.text
    assert response.content == b""

    assert_problem(await client.get(f"{PROJECTS}/WEB", headers=owner.headers), 404)
    assert_problem(await client.get(f"{PROJECTS}/WEB", headers=viewer.headers), 404)
    assert await list_keys(client, owner) == ["KEEP"]
    assert await list_keys(client, viewer) == []
    again = await client.delete(f"{PROJECTS}/WEB", headers=owner.headers, params={"confirm": "WEB"})
    assert_problem(again, 404)

    # The key is free again.
    recreated = await create(client, owner, {"key": "WEB", "name": "Fresh start"})
    assert recreated.status_code == 201, recreated.text
    assert etag_version(recreated) == 1


async def test_delete_honours_if_match(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    await client.patch(f"{PROJECTS}/WEB", headers=owner.headers, json={"name": "v2"})

    stale = await client.delete(
        f"{PROJECTS}/WEB",
        headers={**owner.headers, "If-Match": '"1"'},
        params={"confirm": "WEB"},
    )
    assert_problem(stale, 412)
    assert await list_keys(client, owner) == ["WEB"]

    current = await client.delete(
        f"{PROJECTS}/WEB",
        headers={**owner.headers, "If-Match": '"2"'},
        params={"confirm": "WEB"},
    )
    assert current.status_code == 204, current.text
    assert await list_keys(client, owner) == []


async def test_changing_the_scale_is_refused_while_estimates_would_fall_off_it(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    number = await factory.item("WEB", owner, points=40)
    refused = await client.patch(
        "/api/v1/projects/WEB", json={"estimation_scale": "tshirt"}, headers=owner.headers
    )
    assert_problem(refused, 409, "body.estimation_scale")
    assert (await client.get("/api/v1/projects/WEB", headers=owner.headers)).json()[
        "estimation_scale"
    ] == "fibonacci"
    await client.patch(
        f"/api/v1/projects/WEB/items/{number}", json={"points": 8}, headers=owner.headers
    )
    allowed = await client.patch(
        "/api/v1/projects/WEB", json={"estimation_scale": "tshirt"}, headers=owner.headers
    )
    assert allowed.status_code == 200, allowed.text
    item = (await client.get(f"/api/v1/projects/WEB/items/{number}", headers=owner.headers)).json()
    assert (item["points"], item["points_label"]) == (8, "XL")
