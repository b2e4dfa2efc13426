"""Jira CSV import: mapping a real export, re-imports, dry runs, bad files and roles."""

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from time_machine import TimeMachineFixture

from app.domain.items import service as items_service
from app.domain.items.schemas import ItemBatch
from app.domain.kernel.errors import Conflict, FieldError
from app.domain.projects.access import ProjectAccess
from tests.factories import Actor, Factory
from tests.helpers import PROJECTS, all_pages, assert_problem, backlog, history, status_ids

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jira"
URL = f"{PROJECTS}/WEB/import/jira-csv"
CLOUD = (FIXTURES / "cloud.csv").read_bytes()
DATA_CENTER = (FIXTURES / "datacenter.csv").read_bytes()
CSV = {"Content-Type": "text/csv"}


def freeze(time_machine: TimeMachineFixture, moment: str = "2024-03-20T12:00:00") -> None:
    """Pin the clock at `moment` (an ISO UTC timestamp)."""
    time_machine.move_to(datetime.fromisoformat(moment).replace(tzinfo=UTC), tick=False)


async def post_csv(
    client: httpx.AsyncClient, actor: Actor, content: bytes | str, **params: str
) -> httpx.Response:
    """POST a CSV body to WEB's import."""
    body = content.encode() if isinstance(content, str) else content
    return await client.post(URL, headers={**actor.headers, **CSV}, content=body, params=params)


async def imported(
    client: httpx.AsyncClient, actor: Actor, content: bytes | str, **params: str
) -> dict[str, Any]:
    """The report of an import that must succeed."""
    response = await post_csv(client, actor, content, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def by_key(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Items by their Jira key."""
    return {item["external_id"]: item for item in items}


def problems_of(report: dict[str, Any], key: str | None) -> list[tuple[str | None, str, str]]:
    """A row's problems as (column, severity, code)."""
    return [
        (p["column"], p["severity"], p["code"]) for p in report["problems"] if p["issue_key"] == key
    ]


async def test_a_cloud_export_becomes_a_backlog(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB", time_zone="Europe/Berlin")
    report = await imported(client, owner, CLOUD)

    assert (report["rows"], report["created"], report["updated"]) == (9, 7, 0)
    assert (report["unchanged"], report["skipped"], report["dry_run"]) == (0, 2, False)
    # Every row in file order, by the line it starts on: SHOP-2's description spans 4 lines.
    assert [(r["line"], r["issue_key"], r["outcome"]) for r in report["items"]] == [
        (2, "SHOP-1", "created"),
        (3, "SHOP-2", "created"),
        (7, "SHOP-3", "created"),
        (8, "SHOP-4", "created"),
        (9, "SHOP-5", "created"),
        (10, "SHOP-6", "created"),
        (11, "SHOP-7", "skipped"),
        (12, "SHOP-8", "skipped"),
        (13, "SHOP-9", "created"),
    ]
    assert report["unmapped_columns"] == [
        "Project key",
        "Project name",
        "Resolution",
        "Assignee",
        "Reporter",
        "Updated",
        "Parent summary",
        "Watchers",
    ]
    bad_points = next(p for p in report["problems"] if p["issue_key"] == "SHOP-7")
    assert bad_points == {
        "line": 11,
        "issue_key": "SHOP-7",
        "column": "Custom field (Story point estimate)",
        "severity": "error",
        "code": "not_a_number",
        "message": '"abc" is not a number',
        "detail": 'row 11, column "Custom field (Story point estimate)": "abc" is not a number',
    }
    assert problems_of(report, "SHOP-8") == [("Summary", "error", "missing")]

    items = by_key(await backlog(client, owner))
    assert list(items) == ["SHOP-1", "SHOP-2", "SHOP-3", "SHOP-4", "SHOP-5", "SHOP-6", "SHOP-9"]
    epic, story, subtask, bug = items["SHOP-1"], items["SHOP-2"], items["SHOP-3"], items["SHOP-4"]
    assert (epic["type"], epic["number"], epic["labels"]) == ("epic", 1, ["checkout"])
    assert epic["description"] == "The new checkout, end to end."
    assert epic["epic"] == {"children": 4, "points_total": 10.0, "points_done": 3.0}
    # Jira's times have no zone: they are read in the project's (Berlin, UTC+1 in March).
    assert epic["created_at"] == "2024-03-02T08:15:00Z"
    assert epic["updated_at"] == "2024-03-20T12:00:00Z"
    assert (story["type"], story["priority"], story["points"]) == ("story", "high", 5.0)
    assert story["labels"] == ["checkout", "payments"]
    assert story["status"]["name"] == "In Progress" and story["parent"] == 1
    assert story["description"] == (
        "So that I don't type my card number on every order.\n\n"
        '* cards are saved only with consent, "opt-in"\n* 3-D Secure still applies'
    )
    assert story["created_at"] == "2024-03-12T13:40:00Z"
    # The last of the Sprint columns is the sprint the issue is in: planned here, as new.
    sprints = await all_pages(client, owner, f"{PROJECTS}/WEB/sprints")
    assert [(s["number"], s["name"], s["state"]) for s in sprints] == [
        (1, "SHOP Sprint 2", "planned")
    ]
    assert report["sprints"] == [{"name": "SHOP Sprint 2", "number": 1, "created": True, "rows": 3}]
    assert story["sprint"] == 1 and items["SHOP-9"]["sprint"] == 1
    # A sub-task is a task; its parent is a story, so it goes under the story's epic.
    assert (subtask["type"], subtask["priority"], subtask["parent"]) == ("task", "low", 1)
    assert problems_of(report, "SHOP-3") == [("Parent", "warning", "parent_not_epic")]
    # Done work stays out of sprints; Blocker is the highest priority; ISO times keep offsets.
    assert (bug["type"], bug["priority"], bug["sprint"]) == ("bug", "highest", None)
    assert bug["status"]["name"] == "Done" and bug["done_at"] == "2024-03-20T12:00:00Z"
    assert bug["created_at"] == "2024-03-14T15:05:00Z"
    # An unknown type is a story; "In QA" is no status here, but its category is In Progress.
    improvement = items["SHOP-5"]
    assert (improvement["type"], improvement["status"]["name"]) == ("story", "In Progress")
    assert problems_of(report, "SHOP-5") == [("Issue Type", "warning", "unknown_type")]
    # No such status and no category: the default status; 4 is not on the Fibonacci scale.
    legal = items["SHOP-6"]
    assert (legal["status"]["name"], legal["points"], legal["priority"]) == (
        "To Do",
        None,
        "lowest",
    )
    assert problems_of(report, "SHOP-6") == [
        ("Custom field (Story point estimate)", "warning", "off_scale"),
        ("Status", "warning", "unknown_status"),
    ]
    # A date Jira does not write leaves the created time at the import.
    tidy = items["SHOP-9"]
    assert (tidy["type"], tidy["priority"], tidy["created_at"]) == (
        "task",
        "lowest",
        "2024-03-20T12:00:00Z",
    )
    assert problems_of(report, "SHOP-9") == [("Created", "warning", "not_a_date")]
    assert {(s["jira_status"], s["status"], s["by"], s["rows"]) for s in report["statuses"]} == {
        ("To Do", "To Do", "name", 3),
        ("In Progress", "In Progress", "name", 1),
        ("Done", "Done", "name", 1),
        ("In QA", "In Progress", "category", 1),
        ("Blocked by legal", "To Do", "default", 1),
    }
    # Made through the item write path: numbered, ranked and logged like any other item.
    events = await history(client, owner, story["number"])
    assert [(e["kind"], e["actor_id"]) for e in events] == [("created", owner.id)]
    assert events[0]["new_value"]["sprint"] == 1 and events[0]["new_value"]["parent"] == 1


async def test_importing_the_same_file_again_changes_nothing(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB", time_zone="Europe/Berlin")
    first = await imported(client, owner, CLOUD)
    before = await backlog(client, owner)
    histories = [await history(client, owner, item["number"]) for item in before]
    freeze(time_machine, "2024-03-21T08:00:00")

    again = await imported(client, owner, CLOUD)

    assert (again["created"], again["updated"], again["unchanged"], again["skipped"]) == (
        0,
        0,
        7,
        2,
    )
    assert [r["number"] for r in again["items"]] == [r["number"] for r in first["items"]]
    assert await backlog(client, owner) == before
    assert [await history(client, owner, item["number"]) for item in before] == histories
    assert len(await all_pages(client, owner, f"{PROJECTS}/WEB/sprints")) == 1
    assert again["sprints"] == []


async def test_a_changed_row_updates_its_item_and_the_change_is_in_its_history(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB")
    header = "Issue key,Summary,Issue Type,Status,Priority,Story Points,Labels,Labels\n"
    await imported(client, owner, header + "WEB-A,Log in,Story,To Do,Medium,3,auth,\n")
    [item] = await backlog(client, owner)
    statuses = await status_ids(client, owner)

    changed = header + "WEB-A,Log in with email,Story,In Review,Medium,5,auth,login\n"
    report = await imported(client, owner, changed)

    assert (report["created"], report["updated"], report["unchanged"]) == (0, 1, 0)
    assert report["items"] == [
        {"line": 2, "issue_key": "WEB-A", "outcome": "updated", "number": item["number"]}
    ]
    [after] = await backlog(client, owner)
    assert after["title"] == "Log in with email" and after["points"] == 5.0
    assert after["status"]["id"] == statuses["In Review"] and after["labels"] == ["auth", "login"]
    events = await history(client, owner, item["number"])
    changes = {e["field"]: (e["old_value"], e["new_value"]) for e in events[1:]}
    assert [e["kind"] for e in events] == ["created"] + ["updated"] * 4
    assert changes == {
        "title": ("Log in", "Log in with email"),
        "points": (3.0, 5.0),
        "status": (statuses["To Do"], statuses["In Review"]),
        "labels": (["auth"], ["auth", "login"]),
    }
    # Empty cells leave a field alone: what the team changed here since stays.
    patched = await client.patch(
        f"{PROJECTS}/WEB/items/{item['number']}", headers=owner.headers, json={"points": 8}
    )
    assert patched.status_code == 200, patched.text
    blank = await imported(
        client, owner, header + "WEB-A,Log in with email,Story,In Review,Medium,,auth,login\n"
    )
    assert blank["unchanged"] == 1
    assert (await backlog(client, owner))[0]["points"] == 8.0


async def test_a_dry_run_reports_the_same_and_writes_nothing(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB", time_zone="Europe/Berlin")

    dry = await imported(client, owner, CLOUD, dry_run="true")

    assert await backlog(client, owner) == []
    assert await all_pages(client, owner, f"{PROJECTS}/WEB/sprints") == []
    assert dry["dry_run"] is True and (dry["created"], dry["skipped"]) == (7, 2)
    assert all(r["number"] is None for r in dry["items"])
    assert dry["sprints"] == [{"name": "SHOP Sprint 2", "number": None, "created": True, "rows": 3}]
    real = await imported(client, owner, CLOUD)
    same = ("rows", "created", "updated", "unchanged", "skipped", "problems", "unmapped_columns")
    assert {k: dry[k] for k in same} == {k: real[k] for k in same}
    # A dry run of an imported file finds nothing to do.
    again = await imported(client, owner, CLOUD, dry_run="true")
    assert (again["unchanged"], again["created"]) == (7, 0)
    assert [r["number"] for r in again["items"]] == [r["number"] for r in real["items"]]


async def test_strict_refuses_a_file_with_bad_rows(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")

    response = await post_csv(client, owner, CLOUD, strict="true")

    body = assert_problem(response, 422, fields={"body.line.11", "body.line.12"})
    assert 'row 11, column "Custom field (Story point estimate)"' in body["errors"][0]["message"]
    assert await backlog(client, owner) == []
    # Warnings alone do not refuse it.
    fine = "Summary,Issue key,Issue Type\nOne,X-1,Improvement\n"
    report = await imported(client, owner, fine, strict="true")
    assert report["created"] == 1


async def test_a_data_center_export_with_epic_links_and_sub_task_parents(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB")
    # An open sprint of the same name (any case) is used, not planned again.
    sprint = await factory.sprint("WEB", owner, name="ops sprint 4")

    report = await imported(client, owner, DATA_CENTER)

    assert (report["created"], report["skipped"]) == (3, 0)
    items = by_key(await backlog(client, owner))
    epic, story, subtask = items["OPS-10"], items["OPS-11"], items["OPS-12"]
    assert (epic["type"], epic["priority"], epic["labels"]) == ("epic", "medium", ["ops"])
    assert epic["created_at"] == "2024-01-03T08:00:00Z"
    assert (story["parent"], story["priority"], story["points"]) == (epic["number"], "high", 3.0)
    assert story["sprint"] == sprint and story["created_at"] == "2024-01-04T13:05:00Z"
    assert story["labels"] == ["ops", "monitoring"]
    assert (subtask["type"], subtask["parent"]) == ("task", epic["number"])
    assert subtask["created_at"] == "2024-01-05T09:30:00Z"
    assert report["sprints"] == [
        {"name": "ops sprint 4", "number": sprint, "created": False, "rows": 1}
    ]
    assert problems_of(report, "OPS-10") == [("Status", "warning", "unknown_status")]
    assert problems_of(report, "OPS-12") == [
        ("Status", "warning", "unknown_status"),
        ("Parent id", "warning", "parent_not_epic"),
    ]


async def test_files_that_cannot_be_read_are_422s_naming_the_problem(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    cases: list[tuple[bytes, str, str]] = [
        (b"", "empty", "empty"),
        ("Summary,Issue key\nCaf\xe9,X-1\n".encode("latin-1"), "encoding", "line 2 (byte 21)"),
        (b"PK\x03\x04\x14\x00\x06\x00", "not_csv", ".xlsx"),
        (b"Summary,Issue key\nA,\x00B\n", "not_csv", "NUL"),
        (b'{"issues": [{"key": "X-1"}]}', "no_summary", '"Summary"'),
        (b"Summary,Key\nA,X-1\n", "missing_column", '"Issue key"'),
        (b'Summary,Issue key\n"Open quote,X-1\nmore\n', "not_csv", "Line "),
    ]
    for content, code, says in cases:
        response = await post_csv(client, owner, content)
        body = assert_problem(response, 422, fields={"body"})
        assert body["errors"][0]["type"] == code, (content, body)
        assert says in body["detail"], (content, body["detail"])
    assert await backlog(client, owner) == []


async def test_a_byte_order_mark_semicolons_and_a_form_upload_are_read(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    semicolons = "\ufeffSummary;Issue key;Labels;Labels\nFirst;X-1;a;b\n".encode()
    report = await imported(client, owner, semicolons)
    assert report["created"] == 1
    upload = await client.post(
        URL,
        headers=owner.headers,
        files={"file": ("jira.csv", b"Summary,Issue key\nSecond,X-2\n", "text/csv")},
    )
    assert upload.status_code == 200, upload.text
    assert upload.json()["created"] == 1
    items = await backlog(client, owner)
    assert [(i["title"], i["labels"]) for i in items] == [("First", ["a", "b"]), ("Second", [])]
    no_file = await client.post(URL, headers=owner.headers, files={"other": ("x.csv", b"x")})
    assert_problem(no_file, 422, "body.file")


async def test_other_media_types_are_415_and_large_files_413(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    response = await client.post(URL, headers=owner.headers, json={"Summary": "x"})
    assert_problem(response, 415)
    assert response.headers["accept-post"] == "text/csv, multipart/form-data"
    bare = await client.post(URL, headers=owner.headers, content=b"Summary,Issue key\n")
    assert_problem(bare, 415)
    large = b"Summary,Issue key\n" + b"x" * 2_000_000
    assert_problem(await post_csv(client, owner, large), 413)
    assert await backlog(client, owner) == []


async def test_members_import_viewers_may_not_and_outsiders_learn_nothing(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    team = await factory.team("WEB")
    content = "Summary,Issue key\nOne,X-1\n"
    assert_problem(await post_csv(client, team.viewer, content), 403)
    assert_problem(await post_csv(client, team.outsider, content), 404)
    assert await backlog(client, team.owner) == []
    report = await imported(client, team.member, content)
    assert report["created"] == 1


async def test_sprints_by_name_never_a_closed_one(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB")
    done = await factory.sprint(
        "WEB", owner, [await factory.item("WEB", owner)], start=True, name="Sprint 1"
    )
    completed = await client.post(
        f"{PROJECTS}/WEB/sprints/{done}/complete", headers=owner.headers, json={}
    )
    assert completed.status_code == 200, completed.text
    content = (
        "Summary,Issue key,Issue Type,Sprint,Sprint\n"
        "In a closed sprint,X-1,Story,Sprint 1,\n"
        "Twice in new ones,X-2,Story,Sprint 10,Sprint 9\n"
        "In sprint 10,X-3,Story,Sprint 10,\n"
        "An epic,X-4,Epic,Sprint 10,\n"
    )
    without = await imported(client, owner, content, create_sprints="false", dry_run="true")
    assert problems_of(without, "X-2") == [("Sprint", "warning", "no_sprint")]
    assert without["sprints"] == []

    report = await imported(client, owner, content)

    items = by_key(await backlog(client, owner))
    assert items["X-1"]["sprint"] is None
    assert problems_of(report, "X-1") == [("Sprint", "warning", "closed_sprint")]
    assert problems_of(report, "X-4") == [("Sprint", "warning", "epic_in_sprint")]
    sprints = await all_pages(client, owner, f"{PROJECTS}/WEB/sprints")
    # New sprints are planned in name order ("Sprint 9" before "Sprint 10"), in the next slots.
    assert [(s["number"], s["name"], s["state"]) for s in sprints[1:]] == [
        (2, "Sprint 9", "planned"),
        (3, "Sprint 10", "planned"),
    ]
    assert sprints[1]["start_date"] > sprints[0]["end_date"]
    assert sprints[2]["start_date"] > sprints[1]["end_date"]
    assert (items["X-2"]["sprint"], items["X-3"]["sprint"], items["X-4"]["sprint"]) == (2, 3, None)


async def test_rows_beyond_an_enforced_wip_limit_are_left_out(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB", enforce_wip_limits=True)
    statuses = await status_ids(client, owner)
    limited = await client.patch(
        f"{PROJECTS}/WEB/statuses/{statuses['In Progress']}",
        headers=owner.headers,
        json={"wip_limit": 2},
    )
    assert limited.status_code == 200, limited.text
    await factory.item("WEB", owner, status_id=statuses["In Progress"], external_id="X-1")
    content = (
        "Summary,Issue key,Status\n"
        "Moves out,X-1,Done\n"
        "Fits,X-2,In Progress\n"
        "Fits once X-1 has left,X-3,In Progress\n"
        "Over the limit,X-4,In Progress\n"
    )

    report = await imported(client, owner, content)

    assert [r["outcome"] for r in report["items"]] == ["updated", "created", "created", "skipped"]
    assert problems_of(report, "X-4") == [("Status", "error", "wip_limit")]
    assert "at its WIP limit of 2" in report["problems"][0]["message"]
    assert len(await backlog(client, owner, status=str(statuses["In Progress"]))) == 2


async def test_parents_keys_and_cells_that_do_not_fit(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    epic = await factory.item("WEB", owner, type="epic", external_id="OLD-1")
    await factory.item("WEB", owner, parent=epic, external_id="OLD-2")
    long_label = "x" * 51
    content = (
        "Summary,Issue key,Issue Type,Parent,Labels,Labels\n"
        f"Under an epic imported before,X-1,Story,OLD-1,ok,{long_label}\n"
        "Its own parent,X-2,Story,X-2,,\n"
        "Parent nowhere,X-3,Task,GONE-1,,\n"
        "Same key again,X-1,Story,,,\n"
        "No key,,Story,,,\n"
        "Still an epic: it has children,OLD-1,Story,,,\n"
        "Too many cells,X-5,Bug,,,,surplus\n"
    )

    report = await imported(client, owner, content)

    assert problems_of(report, "X-1") == [
        ("Labels", "warning", "label_too_long"),
        ("Issue key", "error", "duplicate"),
    ]
    assert problems_of(report, "X-2") == [("Parent", "warning", "parent_is_itself")]
    assert problems_of(report, "X-3") == [("Parent", "warning", "parent_unknown")]
    assert problems_of(report, None) == [("Issue key", "error", "missing")]
    assert problems_of(report, "OLD-1") == [("Issue Type", "warning", "epic_has_children")]
    assert problems_of(report, "X-5") == [(None, "warning", "extra_cells")]
    items = by_key(await backlog(client, owner))
    assert (items["X-1"]["parent"], items["X-1"]["labels"]) == (epic, ["ok"])
    assert items["X-2"]["parent"] is None and items["OLD-1"]["type"] == "epic"
    assert [r["outcome"] for r in report["items"]] == [
        "created",
        "created",
        "created",
        "skipped",
        "skipped",
        "updated",
        "created",
    ]


async def test_a_reimport_leaves_finished_sprints_and_unmatched_statuses_alone(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB")
    header = "Summary,Issue key,Status,Sprint\n"
    await imported(client, owner, header + "Sprinted,X-1,To Do,Sprint A\nMoved here,X-2,To Do,\n")
    items = by_key(await backlog(client, owner))
    statuses = await status_ids(client, owner)
    await factory.start_sprint("WEB", owner, 1)
    completed = await client.post(
        f"{PROJECTS}/WEB/sprints/1/complete", headers=owner.headers, json={}
    )
    assert completed.status_code == 200, completed.text
    moved = await client.patch(
        f"{PROJECTS}/WEB/items/{items['X-2']['number']}",
        headers=owner.headers,
        json={"status_id": statuses["In Review"]},
    )
    assert moved.status_code == 200, moved.text

    again = header + "Sprinted,X-1,To Do,Sprint A\nMoved here,X-2,Waiting for QA,\n"
    report = await imported(client, owner, again)

    # X-1 was carried back to the backlog by the completion; its sprint is over, so it stays.
    assert (report["created"], report["updated"], report["unchanged"]) == (0, 0, 2)
    assert problems_of(report, "X-1") == [("Sprint", "warning", "closed_sprint")]
    assert problems_of(report, "X-2") == [("Status", "warning", "unknown_status")]
    after = by_key(await backlog(client, owner))
    assert after["X-1"]["sprint"] is None
    assert after["X-2"]["status"]["id"] == statuses["In Review"]
    assert len(await all_pages(client, owner, f"{PROJECTS}/WEB/sprints")) == 1


async def test_a_strict_dry_run_is_refused_like_a_strict_import(
    client: httpx.AsyncClient, factory: Factory
) -> None:
    owner = await factory.owner("WEB")
    content = "Summary,Issue key,Story Points\nOne,X-1,lots\nTwo,X-2,3\n"
    body = assert_problem(
        await post_csv(client, owner, content, strict="true", dry_run="true"),
        422,
        fields={"body.line.2"},
    )
    assert body["detail"].startswith("1 row cannot be imported")
    report = await imported(client, owner, content, dry_run="true")
    assert (report["created"], report["skipped"]) == (1, 1)


async def test_an_item_service_refusal_names_the_row_and_nothing_is_written(
    client: httpx.AsyncClient, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = await factory.owner("WEB")

    async def refuse(session: AsyncSession, access: ProjectAccess, data: ItemBatch) -> None:
        # What the batch says when a concurrent change beats the import's own checks.
        raise Conflict(
            "'In Progress' is at its WIP limit of 1.",
            errors=[
                FieldError(field="body.items.1.status_id", message="WIP limit 1", type="wip_limit")
            ],
        )

    monkeypatch.setattr(items_service, "batch", refuse)
    content = "Summary,Issue key,Sprint\nOne,X-1,Sprint 1\nTwo,X-2,Sprint 1\n"

    body = assert_problem(await post_csv(client, owner, content), 409, fields={"body.line.3"})

    assert body["detail"] == "row 3: 'In Progress' is at its WIP limit of 1. Nothing was imported."
    assert body["errors"][0]["message"] == "row 3: WIP limit 1"
    monkeypatch.undo()
    assert await all_pages(client, owner, f"{PROJECTS}/WEB/sprints") == []


async def test_two_imports_at_once_create_each_item_once(
    client: httpx.AsyncClient, factory: Factory, time_machine: TimeMachineFixture
) -> None:
    freeze(time_machine)
    owner = await factory.owner("WEB", time_zone="Europe/Berlin")

    first, second = await asyncio.gather(
        post_csv(client, owner, CLOUD), post_csv(client, owner, CLOUD)
    )

    reports = sorted((first.json(), second.json()), key=lambda report: -report["created"])
    assert [(r["created"], r["unchanged"]) for r in reports] == [(7, 0), (0, 7)]
    assert len(await backlog(client, owner)) == 7
    assert len(await all_pages(client, owner, f"{PROJECTS}/WEB/sprints")) == 1
