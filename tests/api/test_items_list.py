"""Backlog listing: filters, sorts, full-text search and keyset pagination — over HTTP."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from app.domain.kernel.pagination import encode_cursor
from app.domain.projects.models import Role
from tests.factories import Actor, Factory
from tests.helpers import assert_problem, status_ids

PROJECTS = "/api/v1/projects"
ITEMS = f"{PROJECTS}/WEB/items"
PRIORITY = {"highest": 1, "high": 2, "medium": 3, "low": 4, "lowest": 5}


async def page(
    client: httpx.AsyncClient, actor: Actor, params: dict[str, Any] | list[tuple[str, Any]]
) -> httpx.Response:
    response = await client.get(ITEMS, headers=actor.headers, params=params)
    assert response.status_code == 200, response.text
    return response


async def numbers(client: httpx.AsyncClient, actor: Actor, *params: tuple[str, Any]) -> list[int]:
    """Item numbers of one unpaginated listing with these (repeatable) query parameters."""
    response = await page(client, actor, [("limit", 200), *params])
    body = response.json()
    assert body["next_cursor"] is None
    return [item["number"] for item in body["data"]]


async def walk(
    client: httpx.AsyncClient,
    actor: Actor,
    params: list[tuple[str, Any]],
    limit: int,
    between_pages: Callable[[int], Any] | None = None,
) -> list[dict[str, Any]]:
    """Every page of a listing, following `next_cursor`; checks page sizes and Link headers."""
    found: list[dict[str, Any]] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = [*params, ("limit", limit)] + ([("cursor", cursor)] if cursor else [])
        response = await page(client, actor, query)
        body = response.json()
        pages += 1
        assert len(body["data"]) <= limit
        cursor = body["next_cursor"]
        if cursor is None:
            assert "Link" not in response.headers
        else:
            assert len(body["data"]) == limit
            link = response.headers["Link"]
            assert link.endswith('>; rel="next"')
            assert parse_qs(urlsplit(link[1 : link.index(">")]).query)["cursor"] == [cursor]
        found.extend(body["data"])
        if cursor is None:
            return found
        if between_pages is not None:
            await between_pages(pages)
        assert pages < 100, "pagination does not end"


def numbers_of(items: list[dict[str, Any]]) -> list[int]:
    return [item["number"] for item in items]


@dataclass
class Backlog:
    """A project with a varied backlog (numbers 1..9, ranked in number order)."""

    owner: Actor
    dev: Actor
    statuses: dict[str, int]


async def backlog(client: httpx.AsyncClient, factory: Factory) -> Backlog:
    owner = await factory.user()
    dev = await factory.user()
    await factory.project(owner, "WEB")
    await factory.member("WEB", owner, dev, Role.MEMBER)
    ids = await status_ids(client, owner)
    item = factory.item
    assert await item("WEB", owner, type="epic", title="Checkout epic", priority="high") == 1
    assert await item("WEB", owner, type="epic", title="Search epic") == 2
    await item(
        "WEB", owner, title="Cart page", parent=1, points=3, assignee_id=owner.id,
        labels=["ui", "web"], priority="high",
    )  # fmt: skip
    await item(
        "WEB", owner, type="bug", title="Payment fails", parent=1, points=5, assignee_id=dev.id,
        labels=["backend"], status_id=ids["In Progress"], priority="highest",
    )  # fmt: skip
    await item(
        "WEB", owner, type="task", title="Write docs", labels=["docs"], status_id=ids["Done"],
        priority="low",
    )  # fmt: skip
    await item(
        "WEB", owner, title="Search box", parent=2, points=8, assignee_id=owner.id,
        labels=["ui"], status_id=ids["In Review"],
    )  # fmt: skip
    await item(
        "WEB", owner, type="spike", title="Try a search engine", parent=2, assignee_id=dev.id,
        labels=["backend", "research"], priority="lowest",
    )  # fmt: skip
    await item(
        "WEB", owner, type="bug", title="Typo in footer", points=1, labels=["ui", "web"],
        status_id=ids["Done"], priority="low",
    )  # fmt: skip
    assert await item("WEB", owner, title="Profile page", points=0, assignee_id=owner.id) == 9
    return Backlog(owner=owner, dev=dev, statuses=ids)


# --- default order ---------------------------------------------------------------------------


async def test_default_order_is_rank(client: httpx.AsyncClient, factory: Factory) -> None:
    data = await backlog(client, factory)
    assert await numbers(client, data.owner) == list(range(1, 10))
    top = await client.post(
        ITEMS, headers=data.owner.headers, json={"title": "Hotfix", "position": "top"}
    )
    assert top.status_code == 201
    moved = await client.post(f"{ITEMS}/9/move", headers=data.owner.headers, json={"after": 2})
    assert moved.status_code == 200, moved.text
    assert await numbers(client, data.owner) == [10, 1, 2, 9, 3, 4, 5, 6, 7, 8]
    assert await numbers(client, data.owner, ("sort", "rank")) == [10, 1, 2, 9, 3, 4, 5, 6, 7, 8]


async def test_empty_backlog(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    response = await page(client, owner, {})
    assert response.json() == {"data": [], "next_cursor": None}
    assert "Link" not in response.headers


async def test_other_projects_items_never_appear(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    data = await backlog(client, factory)
    await factory.project(data.owner, "OPS")
    await factory.item("OPS", data.owner, title="Cart page in ops", labels=["ui"], points=3)
    assert await numbers(client, data.owner) == list(range(1, 10))
    assert await numbers(client, data.owner, ("label", "ui")) == [3, 6, 8]
    assert await numbers(client, data.owner, ("q", "cart")) == [3]


# --- filters ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ([("type", "bug")], [4, 8]),
        ([("type", "bug"), ("type", "spike")], [4, 7, 8]),
        ([("type", "epic")], [1, 2]),
        ([("type", "story")], [3, 6, 9]),
        ([("status_category", "todo")], [1, 2, 3, 7, 9]),
        ([("status_category", "in_progress")], [4, 6]),
        ([("status_category", "done")], [5, 8]),
        ([("status_category", "in_progress"), ("status_category", "done")], [4, 5, 6, 8]),
        ([("assignee", "none")], [1, 2, 5, 8]),
        ([("label", "ui")], [3, 6, 8]),
        ([("label", "ui"), ("label", "web")], [3, 8]),
        ([("label", "backend")], [4, 7]),
        ([("label", "nothing-has-this")], []),
        ([("sprint", "backlog")], list(range(1, 10))),
        ([("sprint", "active")], []),
        ([("parent", "1")], [3, 4]),
        ([("parent", "2")], [6, 7]),
        ([("parent", "none")], [1, 2, 5, 8, 9]),
        ([("parent", "3")], []),
        ([("parent", "999")], []),
        ([("parent", str(2**40))], []),
        ([("assignee", str(2**40))], []),
        ([("estimated", "true")], [3, 4, 6, 8, 9]),
        ([("estimated", "false")], [1, 2, 5, 7]),
        ([("q", "search"), ("sort", "rank")], [2, 6, 7]),
        # Combinations narrow (AND across parameters).
        ([("type", "story"), ("estimated", "true"), ("label", "ui")], [3, 6]),
        ([("status_category", "todo"), ("parent", "none")], [1, 2, 9]),
        ([("type", "bug"), ("status_category", "done"), ("label", "web")], [8]),
        ([("parent", "2"), ("estimated", "false")], [7]),
        ([("label", "ui"), ("assignee", "none")], [8]),
        ([("q", "page"), ("sort", "rank")], [3, 9]),
        ([("q", "search"), ("type", "epic")], [2]),
        ([("sprint", "backlog"), ("type", "bug")], [4, 8]),
        ([("sprint", "active"), ("type", "bug")], []),
        ([("type", "task"), ("label", "ui")], []),
    ],
)
async def test_filter(
    client: httpx.AsyncClient,
    factory: Factory,
    params: list[tuple[str, str]],
    expected: list[int],
) -> None:
    data = await backlog(client, factory)
    assert await numbers(client, data.owner, *params) == expected


async def test_filter_by_status_id(client: httpx.AsyncClient, factory: Factory) -> None:
    data = await backlog(client, factory)
    ids = data.statuses
    assert await numbers(client, data.owner, ("status", ids["In Progress"])) == [4]
    assert await numbers(client, data.owner, ("status", ids["Done"])) == [5, 8]
    both = await numbers(client, data.owner, ("status", ids["To Do"]), ("status", ids["Done"]))
    assert both == [1, 2, 3, 5, 7, 8, 9]
    combined = await numbers(
        client, data.owner, ("status", ids["Done"]), ("type", "bug"), ("estimated", "true")
    )
    assert combined == [8]
    # A status id of nothing in this project matches nothing.
    assert await numbers(client, data.owner, ("status", 999_999)) == []


async def test_filter_by_assignee(client: httpx.AsyncClient, factory: Factory) -> None:
    data = await backlog(client, factory)
    owner, dev = data.owner, data.dev
    assert await numbers(client, owner, ("assignee", owner.id)) == [3, 6, 9]
    assert await numbers(client, owner, ("assignee", dev.id)) == [4, 7]
    assert await numbers(client, owner, ("assignee", "me")) == [3, 6, 9]
    assert await numbers(client, dev, ("assignee", "me")) == [4, 7]
    assert await numbers(client, owner, ("assignee", dev.id), ("assignee", "none")) == [
        1,
        2,
        4,
        5,
        7,
        8,
    ]
    assert await numbers(client, dev, ("assignee", "me"), ("assignee", owner.id)) == [
        3,
        4,
        6,
        7,
        9,
    ]
    assert await numbers(client, owner, ("assignee", "me"), ("type", "story"), ("parent", 1)) == [3]
    # A viewer has nothing assigned; `me` is whoever asks.
    viewer = await factory.user()
    await factory.member("WEB", owner, viewer, Role.VIEWER)
    assert await numbers(client, viewer, ("assignee", "me")) == []
    assert await numbers(client, viewer, ("assignee", 999_999)) == []


async def test_filters_follow_changes(client: httpx.AsyncClient, factory: Factory) -> None:
    data = await backlog(client, factory)
    headers = data.owner.headers
    changed = await client.patch(
        f"{ITEMS}/7",
        headers=headers,
        json={"points": 2, "labels": ["ui"], "status_id": data.statuses["Done"], "parent": 1},
    )
    assert changed.status_code == 200, changed.text
    assert await numbers(client, data.owner, ("estimated", "false")) == [1, 2, 5]
    assert await numbers(client, data.owner, ("label", "ui")) == [3, 6, 7, 8]
    assert await numbers(client, data.owner, ("status_category", "done")) == [5, 7, 8]
    assert await numbers(client, data.owner, ("parent", "1")) == [3, 4, 7]
    assert (await client.delete(f"{ITEMS}/1", headers=headers)).status_code == 204
    assert await numbers(client, data.owner, ("parent", "none")) == [2, 3, 4, 5, 7, 8, 9]
    assert await numbers(client, data.owner, ("parent", "1")) == []


# --- invalid query parameters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"type": "feature"}, "query.type"),
        ({"status": "todo"}, "query.status"),
        ({"status_category": "doing"}, "query.status_category"),
        ({"assignee": "bob"}, "query.assignee"),
        ({"assignee": "-1"}, "query.assignee"),
        ({"assignee": "\u00b2"}, "query.assignee"),
        ({"assignee": str(2**64)}, "query.assignee"),
        ({"status": str(2**64)}, "query.status"),
        ({"parent": "\u00b2"}, "query.parent"),
        ({"sprint": "\u00b2"}, "query.sprint"),
        ({"sprint": "3"}, "query.sprint"),
        ({"sprint": "later"}, "query.sprint"),
        ({"parent": "epic"}, "query.parent"),
        ({"parent": "-2"}, "query.parent"),
        ({"estimated": "maybe"}, "query.estimated"),
        ({"sort": "title"}, "query.sort"),
        ({"sort": "-rank"}, "query.sort"),
        ({"sort": "relevance"}, "query.sort"),
        ({"q": "x" * 201}, "query.q"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 201}, "query.limit"),
        ({"limit": "many"}, "query.limit"),
    ],
    ids=lambda value: str(value)[:30] if isinstance(value, dict) else str(value),
)
async def test_invalid_query_parameters_are_422(
    client: httpx.AsyncClient, factory: Factory, params: dict[str, Any], field: str
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    await factory.item("WEB", owner, title="Something")
    response = await client.get(ITEMS, headers=owner.headers, params=params)
    problem = assert_problem(response, 422)
    # Repeatable parameters name the bad occurrence too (`query.type.0`).
    named = [error["field"] for error in problem["errors"]]
    assert len(named) == 1 and named[0].split(".")[:2] == field.split("."), named


async def test_unknown_sprint_number_names_the_sprint(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    response = await client.get(ITEMS, headers=owner.headers, params={"sprint": "7"})
    problem = assert_problem(response, 422, fields={"query.sprint"})
    assert "7" in problem["detail"]


@pytest.mark.parametrize(
    ("sort", "cursor"),
    [
        (None, "not a cursor!"),
        (None, "%%%"),
        (None, "bm90IGpzb24"),  # base64 of "not json"
        (None, encode_cursor([])),
        (None, encode_cursor(["a0", "extra"])),
        (None, encode_cursor([42])),
        (None, encode_cursor([None])),
        ("priority", encode_cursor(["high", "a0"])),
        ("priority", encode_cursor([2**70, "a0"])),
        ("priority", encode_cursor([True, "a0"])),
        ("created", encode_cursor(["a0"])),
        ("created", encode_cursor(["yesterday", 1])),
        ("created", encode_cursor(["2024-01-01T00:00:00", 1])),
        ("created", encode_cursor([1, 1])),
        ("-updated", encode_cursor(["2024-01-01T00:00:00+00:00", "one"])),
        ("points", encode_cursor(["3", "a0"])),
        ("-points", encode_cursor([3])),
    ],
)
async def test_garbage_cursor_is_422(
    client: httpx.AsyncClient, factory: Factory, sort: str | None, cursor: str
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    await factory.item("WEB", owner, title="One", points=3)
    params = {"cursor": cursor, **({"sort": sort} if sort else {})}
    response = await client.get(ITEMS, headers=owner.headers, params=params)
    assert_problem(response, 422, "query.cursor")


async def test_garbage_relevance_cursor_is_422(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    await factory.item("WEB", owner, title="Invoice")
    for cursor in [encode_cursor(["high", 1]), encode_cursor([0.5]), encode_cursor([0.5, "x"])]:
        response = await client.get(
            ITEMS, headers=owner.headers, params={"q": "invoice", "cursor": cursor}
        )
        assert_problem(response, 422, "query.cursor")


async def test_forged_cursor_out_of_the_column_range_is_not_a_server_error(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    # Priorities are small integers in the database; a well-typed cursor beyond them is a
    # position past the end (ascending) or before the start (descending), never a 500.
    owner = await factory.user()
    await factory.project(owner, "WEB")
    one = await factory.item("WEB", owner, title="One")
    two = await factory.item("WEB", owner, title="Two", priority="low")
    cursor = encode_cursor([40_000, "a0"])
    ascending = await page(client, owner, {"sort": "priority", "cursor": cursor})
    assert ascending.json() == {"data": [], "next_cursor": None}
    descending = await page(client, owner, {"sort": "-priority", "cursor": cursor})
    assert numbers_of(descending.json()["data"]) == [two, one]


# --- sorting with pagination -----------------------------------------------------------------


async def sorting_backlog(
    client: httpx.AsyncClient, factory: Factory
) -> tuple[Actor, list[dict[str, Any]]]:
    """13 items with tied and missing values; rank order differs from creation order."""
    owner = await factory.user()
    await factory.project(owner, "WEB")
    specs: list[dict[str, Any]] = [
        {"priority": "low", "points": 3},
        {"priority": "high", "points": 8},
        {"priority": "high"},
        {"priority": "medium", "points": 3, "position": "top"},
        {"priority": "highest", "points": 0},
        {"priority": "lowest", "points": 13},
        {"priority": "medium"},
        {"priority": "high", "points": 3},
        {"priority": "low", "points": 1, "position": "top"},
        {"priority": "medium", "points": 8},
        {"priority": "highest", "points": 100},
        {"priority": "lowest"},
        {"priority": "medium", "points": 1},
    ]
    for index, spec in enumerate(specs):
        await factory.item("WEB", owner, title=f"Item {index}", **spec)
    # Touch a few so that update order differs from creation order.
    for number in [5, 2, 11]:
        response = await client.patch(
            f"{ITEMS}/{number}", headers=owner.headers, json={"title": f"Touched {number}"}
        )
        assert response.status_code == 200
    items = (await page(client, owner, {"limit": 200})).json()["data"]
    assert len(items) == len(specs)
    return owner, items


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value)


SORT_KEYS: dict[str, Callable[[dict[str, Any]], tuple[Any, ...]]] = {
    "rank": lambda item: (item["rank"],),
    "priority": lambda item: (PRIORITY[item["priority"]], item["rank"]),
    "created": lambda item: (_time(item["created_at"]), item["id"]),
    "updated": lambda item: (_time(item["updated_at"]), item["id"]),
    "points": lambda item: (
        item["points"] if item["points"] is not None else -1,
        item["rank"],
    ),
}


@pytest.mark.parametrize(
    "sort",
    [
        None,
        "rank",
        "priority",
        "-priority",
        "created",
        "-created",
        "updated",
        "-updated",
        "points",
        "-points",
    ],
)
@pytest.mark.parametrize("limit", [1, 4])
async def test_sort_paginates_every_item_once_in_order(
    client: httpx.AsyncClient, factory: Factory, sort: str | None, limit: int
) -> None:
    owner, items = await sorting_backlog(client, factory)
    name = (sort or "rank").lstrip("-")
    expected = sorted(items, key=SORT_KEYS[name])
    if sort and sort.startswith("-"):
        expected.reverse()

    params = [("sort", sort)] if sort else []
    walked = await walk(client, owner, params, limit)

    assert numbers_of(walked) == numbers_of(expected)
    assert len(set(numbers_of(walked))) == len(items)
    # The unpaginated listing agrees with the paginated one.
    assert numbers_of((await page(client, owner, [*params, ("limit", 200)])).json()["data"]) == (
        numbers_of(expected)
    )


async def test_sorts_put_what_users_expect_first(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner, items = await sorting_backlog(client, factory)
    by_number = {item["number"]: item for item in items}

    async def first(sort: str) -> dict[str, Any]:
        return by_number[
            (await page(client, owner, {"sort": sort, "limit": 1})).json()["data"][0]["number"]
        ]

    assert (await first("priority"))["priority"] == "highest"
    assert (await first("-priority"))["priority"] == "lowest"
    assert (await first("-points"))["points"] == 100
    assert (await first("points"))["points"] is None  # unestimated sorts below 0
    assert (await first("created"))["number"] == 1
    assert (await first("-created"))["number"] == 13
    assert (await first("-updated"))["title"] == "Touched 11"
    assert (await first("rank"))["number"] == 9  # the last one sent to the top


async def test_sorted_and_filtered_pagination(client: httpx.AsyncClient, factory: Factory) -> None:
    owner, items = await sorting_backlog(client, factory)
    estimated = [item for item in items if item["points"] is not None]
    expected = sorted(estimated, key=SORT_KEYS["points"], reverse=True)
    walked = await walk(client, owner, [("sort", "-points"), ("estimated", "true")], 2)
    assert numbers_of(walked) == numbers_of(expected)
    walked = await walk(client, owner, [("sort", "-created"), ("type", "story")], 1)
    assert numbers_of(walked) == list(range(13, 0, -1))
    walked = await walk(client, owner, [("sort", "points"), ("label", "none")], 1)
    assert walked == []
    walked = await walk(client, owner, [("sort", "updated")], 5)
    assert numbers_of(walked)[-3:] == [5, 2, 11]


async def test_link_header_keeps_the_filters(client: httpx.AsyncClient, factory: Factory) -> None:
    data = await backlog(client, factory)
    first = await page(client, data.owner, [("label", "ui"), ("sort", "-points"), ("limit", 2)])
    assert numbers_of(first.json()["data"]) == [6, 3]
    link = first.headers["Link"]
    url = link[1 : link.index(">")]
    query = parse_qs(urlsplit(url).query)
    assert query["label"] == ["ui"]
    assert query["sort"] == ["-points"]
    assert query["limit"] == ["2"]
    second = await client.get(url, headers=data.owner.headers)
    assert second.status_code == 200, second.text
    assert numbers_of(second.json()["data"]) == [8]
    assert second.json()["next_cursor"] is None


# --- full-text search ------------------------------------------------------------------------


async def test_search_ranks_title_matches_above_description_matches(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    in_description = await factory.item(
        "WEB", owner, title="Billing backlog", description="Customers want an invoice by e-mail."
    )
    unrelated = await factory.item("WEB", owner, title="Login", description="Sessions expire.")
    in_title = await factory.item("WEB", owner, title="Invoice PDF export", description="Later.")
    stemmed = await factory.item("WEB", owner, title="Send invoices monthly")

    ranked = await numbers(client, owner, ("q", "invoice"))
    assert set(ranked) == {in_description, in_title, stemmed}
    assert unrelated not in ranked
    assert ranked[-1] == in_description
    # Relevance is the default with `q`; rank order can still be asked for.
    assert await numbers(client, owner, ("q", "invoice"), ("sort", "relevance")) == ranked
    assert await numbers(client, owner, ("q", "invoice"), ("sort", "rank")) == [
        in_description,
        in_title,
        stemmed,
    ]
    assert await numbers(client, owner, ("q", "invoice"), ("sort", "-created")) == [
        stemmed,
        in_title,
        in_description,
    ]
    # Web search syntax: phrases and exclusions.
    assert await numbers(client, owner, ("q", '"pdf export"')) == [in_title]
    assert await numbers(client, owner, ("q", "invoice -pdf"), ("sort", "rank")) == [
        in_description,
        stemmed,
    ]
    assert await numbers(client, owner, ("q", "kangaroo")) == []
    # A blank query filters nothing.
    assert await numbers(client, owner, ("q", "   ")) == [
        in_description,
        unrelated,
        in_title,
        stemmed,
    ]


async def test_search_follows_edits(client: httpx.AsyncClient, factory: Factory) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    number = await factory.item("WEB", owner, title="Old words")
    assert await numbers(client, owner, ("q", "refund")) == []
    response = await client.patch(
        f"{ITEMS}/{number}", headers=owner.headers, json={"description": "Handle refunds."}
    )
    assert response.status_code == 200
    assert await numbers(client, owner, ("q", "refund")) == [number]
    response = await client.patch(f"{ITEMS}/{number}", headers=owner.headers, json={"title": "New"})
    assert await numbers(client, owner, ("q", "old")) == []


async def test_relevance_pagination_matches_the_unpaginated_order(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    titles = ["report", "report report", "weekly report", "nothing"]
    descriptions = ["", "report", "a report of reports", "report"]
    expected_matches = set()
    for index in range(12):
        title = titles[index % 4]
        description = descriptions[(index // 4) % 4]
        number = await factory.item("WEB", owner, title=f"{title} {index}", description=description)
        if "report" in title or "report" in description:
            expected_matches.add(number)
    whole = await numbers(client, owner, ("q", "report"))
    assert set(whole) == expected_matches
    for limit in [1, 2, 5]:
        walked = await walk(client, owner, [("q", "report")], limit)
        assert numbers_of(walked) == whole
    # Every title match outranks every item that matches only in its description.
    only_description = [n for n in whole if titles[(n - 1) % 4] == "nothing"]
    assert only_description
    assert whole[-len(only_description) :] == only_description


# --- pagination while the backlog changes ----------------------------------------------------


async def test_rank_pagination_is_stable_while_items_are_inserted(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    for index in range(9):
        await factory.item("WEB", owner, title=f"Original {index}")
    added: list[int] = []

    async def meanwhile(pages_seen: int) -> None:
        async def add(body: dict[str, Any]) -> int:
            response = await client.post(ITEMS, headers=owner.headers, json=body)
            assert response.status_code == 201, response.text
            number: int = response.json()["number"]
            added.append(number)
            return number

        await add({"title": f"Top {pages_seen}", "position": "top"})
        await add({"title": f"Bottom {pages_seen}"})
        # One lands inside an already-seen page, one inside the pages still to come.
        behind = await add({"title": f"Behind {pages_seen}"})
        ahead = await add({"title": f"Ahead {pages_seen}"})
        for number, anchor in [(behind, 1), (ahead, 8)]:
            moved = await client.post(
                f"{ITEMS}/{number}/move", headers=owner.headers, json={"after": anchor}
            )
            assert moved.status_code == 200, moved.text

    walked = numbers_of(await walk(client, owner, [], 3, meanwhile))

    assert len(walked) == len(set(walked)), walked
    assert [n for n in walked if n <= 9] == list(range(1, 10))
    titles = {
        item["number"]: item["title"]
        for item in (await page(client, owner, {"limit": 200})).json()["data"]
    }
    seen_added = [titles[n].split()[0] for n in walked if n > 9]
    # Items placed before the cursor are not returned; those placed after it are.
    assert "Top" not in seen_added and "Behind" not in seen_added
    assert seen_added.count("Ahead") >= 1 and seen_added.count("Bottom") >= 1
    # The final listing holds everything, in rank order.
    final = await numbers(client, owner)
    assert sorted(final) == sorted([*range(1, 10), *added])


@pytest.mark.parametrize("sort", ["created", "-created", "priority", "-points", "updated"])
async def test_sorted_pagination_is_stable_while_items_are_inserted(
    client: httpx.AsyncClient, factory: Factory, sort: str
) -> None:
    owner = await factory.user()
    await factory.project(owner, "WEB")
    priorities = ["high", "low", "medium"]
    for index in range(10):
        await factory.item(
            "WEB",
            owner,
            title=f"Original {index}",
            priority=priorities[index % 3],
            points=[1, 2, 3, 5, 8][index % 5],
        )
    before = (await page(client, owner, {"sort": sort, "limit": 200})).json()["data"]

    async def meanwhile(pages_seen: int) -> None:
        if pages_seen > 2:
            return
        response = await client.post(
            f"{ITEMS}/batch",
            headers=owner.headers,
            json={
                "items": [
                    {
                        "title": f"New {pages_seen}.{i}",
                        "priority": p,
                        "points": pts,
                        "position": pos,
                    }
                    for i, (p, pts, pos) in enumerate(
                        [("highest", 13, "top"), ("lowest", 0, "bottom"), ("medium", 3, "top")]
                    )
                ]
            },
        )
        assert response.status_code == 200, response.text

    walked = numbers_of(await walk(client, owner, [("sort", sort)], 3, meanwhile))

    assert len(walked) == len(set(walked)), walked
    originals = [n for n in walked if n <= 10]
    assert originals == numbers_of(before)
    # Whatever new items were returned appear where the sort puts them.
    final = (await page(client, owner, {"sort": sort, "limit": 200})).json()["data"]
    final_order = numbers_of(final)
    positions = [final_order.index(n) for n in walked]
    assert positions == sorted(positions)
