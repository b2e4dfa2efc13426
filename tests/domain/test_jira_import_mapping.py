"""The Jira CSV mapping rules, without a database: dates, estimates, statuses, columns."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.items.models import ItemType
from app.domain.jira_import.mapping import (
    Columns,
    Context,
    StatusBy,
    StatusOption,
    map_row,
    map_rows,
    match_status,
    parse_created,
    parse_points,
)
from app.domain.jira_import.parser import CsvRow, decode, parse
from app.domain.kernel.errors import InvalidInput
from app.domain.projects.models import EstimationScale
from app.domain.workflow.models import StatusCategory

BERLIN = ZoneInfo("Europe/Berlin")
STATUSES = [
    StatusOption(1, "Backlog", StatusCategory.TODO),
    StatusOption(2, "Doing", StatusCategory.IN_PROGRESS),
    StatusOption(3, "Shipped", StatusCategory.DONE),
]
CONTEXT = Context(EstimationScale.FIBONACCI, STATUSES, BERLIN, datetime(2024, 6, 1, tzinfo=UTC))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Jira's own format, read in the project's zone (CET in winter, CEST in summer).
        ("12/Mar/24 9:15 AM", datetime(2024, 3, 12, 8, 15, tzinfo=UTC)),
        ("12/mar/24 12:05 AM", datetime(2024, 3, 11, 23, 5, tzinfo=UTC)),
        ("1/Jul/24 12:30 PM", datetime(2024, 7, 1, 10, 30, tzinfo=UTC)),
        ("03/Jan/2024 08:00", datetime(2024, 1, 3, 7, 0, tzinfo=UTC)),
        ("03/Jan/99 5:00 PM", datetime(1999, 1, 3, 16, 0, tzinfo=UTC)),
        ("2024-03-12", datetime(2024, 3, 11, 23, 0, tzinfo=UTC)),
        ("2024-03-12 09:15", datetime(2024, 3, 12, 8, 15, tzinfo=UTC)),
        # An offset or Z is kept as written.
        ("2024-03-14T16:05:00.000+0100", datetime(2024, 3, 14, 15, 5, tzinfo=UTC)),
        ("2024-03-14T16:05:00Z", datetime(2024, 3, 14, 16, 5, tzinfo=UTC)),
        ("31/Feb/24 9:00 AM", None),
        ("12/Foo/24 9:00 AM", None),
        ("12/Mar/24 13:00 PM", None),
        ("12/03/2024 09:15", None),
        ("2024-13-01", None),
        ("yesterday", None),
        ("9999-12-31T23:30:00-05:00", None),
        ("0001-01-01 00:30", None),
    ],
)
def test_jira_dates(text: str, expected: datetime | None) -> None:
    assert parse_created(text, BERLIN) == expected


@pytest.mark.parametrize(
    ("scale", "cell", "expected"),
    [
        (EstimationScale.FIBONACCI, "5", (5.0, None)),
        (EstimationScale.FIBONACCI, "5.0", (5.0, None)),
        (EstimationScale.FIBONACCI, " 13 ", (13.0, None)),
        (EstimationScale.FIBONACCI, "0,5", (0.5, "off_scale")),
        (EstimationScale.FIBONACCI, "4", (4.0, "off_scale")),
        (EstimationScale.FIBONACCI, "-3", (None, "negative")),
        (EstimationScale.FIBONACCI, "abc", (None, "not_a_number")),
        (EstimationScale.FIBONACCI, "1e3", (None, "not_a_number")),
        (EstimationScale.FIBONACCI, "nan", (None, "not_a_number")),
        (EstimationScale.TSHIRT, "m", (3.0, None)),
        (EstimationScale.TSHIRT, "5", (5.0, None)),
        (EstimationScale.TSHIRT, "4", (4.0, "off_scale")),
        (EstimationScale.POWERS_OF_TWO, "16", (16.0, None)),
    ],
)
def test_estimates_on_the_project_scale(
    scale: EstimationScale, cell: str, expected: tuple[float | None, str | None]
) -> None:
    assert parse_points(cell, scale) == expected


def test_statuses_match_by_name_then_category_then_default() -> None:
    assert match_status("  doing ", None, CONTEXT).status.id == 2
    assert match_status("doing", None, CONTEXT).by == StatusBy.NAME
    by_category = match_status("In QA", "In Progress", CONTEXT)
    assert (by_category.status.id, by_category.by) == (2, StatusBy.CATEGORY)
    assert match_status("Released", "done", CONTEXT).status.id == 3
    assert match_status("Waiting", "indeterminate", CONTEXT).status.id == 2
    fallback = match_status("Waiting", None, CONTEXT)
    assert (fallback.status.id, fallback.by) == (1, StatusBy.DEFAULT)


def row(header: list[str], cells: list[str], line: int = 2) -> tuple[CsvRow, Columns]:
    return CsvRow(line, cells), Columns.of(header)


def test_types_and_priorities_of_both_jira_schemes() -> None:
    header = ["Summary", "Issue key", "Issue Type", "Priority"]
    expected = [
        ("Story", "Highest", ItemType.STORY, "highest"),
        ("Sub-task", "Blocker", ItemType.TASK, "highest"),
        ("Subtask", "Critical", ItemType.TASK, "high"),
        ("bug", "Major", ItemType.BUG, "medium"),
        ("Spike", "minor", ItemType.SPIKE, "low"),
        ("EPIC", "Trivial", ItemType.EPIC, "lowest"),
        ("Task", "Low", ItemType.TASK, "low"),
    ]
    for jira_type, priority, item_type, name in expected:
        mapped = map_row(*row(header, ["T", "K-1", jira_type, priority]), CONTEXT)
        assert (mapped.type, mapped.priority, mapped.problems) == (item_type, name, [])
    unknown = map_row(*row(header, ["T", "K-1", "Initiative", "Urgent"]), CONTEXT)
    assert (unknown.type, unknown.priority) == (None, None)
    assert [p.code for p in unknown.problems] == ["unknown_type", "unknown_priority"]


def test_repeated_columns_and_names_in_any_case() -> None:
    header = ["SUMMARY", "issue key", "Labels", "Labels", "Sprint", "Sprint", "Sprint", "Labels"]
    csv_row, columns = row(header, ["T", "K-1", "a", "", "S1", "S2", "", "b a"])
    mapped = map_row(csv_row, columns, CONTEXT)
    assert mapped.labels == ["a", "b"]
    assert mapped.sprint == ("Sprint", "S2")
    assert columns.unmapped == []
    no_labels = map_row(*row(header, ["T", "K-1", "", "", "", "", "", ""]), CONTEXT)
    assert (no_labels.labels, no_labels.sprint) == (None, None)


def test_long_values_are_cut_and_too_many_labels_dropped() -> None:
    header = ["Summary", "Issue key", "Description", *["Labels"] * 25]
    labels = [f"l{n}" for n in range(25)]
    description = "é" * 40_000  # 80,000 bytes of UTF-8
    mapped = map_row(*row(header, ["x" * 300, "K-1", description, *labels]), CONTEXT)
    assert mapped.title == "x" * 255
    assert mapped.description == "é" * 32_768
    assert mapped.labels == labels[:20]
    assert [p.code for p in mapped.problems] == ["too_long", "too_many_labels", "too_long"]
    assert all(p.severity == "warning" for p in mapped.problems)


def test_a_future_created_time_is_not_kept() -> None:
    header = ["Summary", "Issue key", "Created"]
    mapped = map_row(*row(header, ["T", "K-1", "01/Jan/30 9:00 AM"]), CONTEXT)
    assert mapped.created is None and [p.code for p in mapped.problems] == ["future"]


def test_duplicate_keys_are_errors_of_the_later_rows() -> None:
    header = ["Summary", "Issue key"]
    rows = [CsvRow(2, ["A", "K-1"]), CsvRow(3, ["B", "K-2"]), CsvRow(5, ["C", "K-1"])]
    mapped = map_rows(header, rows, CONTEXT)
    assert [m.skipped for m in mapped] == [False, False, True]
    assert (
        mapped[2].problems[0].detail
        == 'row 5, column "Issue key": issue key K-1 is on row 2 already'
    )


def test_the_parser_numbers_rows_by_the_line_they_start_on() -> None:
    text = decode(b'\xef\xbb\xbfSummary,Issue key\r\n"Two\r\nlines",K-1\r\n\r\nThird,K-2\r\n')
    table = parse(text)
    assert table.header == ["Summary", "Issue key"]
    assert [(r.line, r.cells) for r in table.rows] == [
        (2, ["Two\r\nlines", "K-1"]),
        (5, ["Third", "K-2"]),
    ]


def test_too_many_rows_are_refused() -> None:
    text = "Summary,Issue key\n" + "".join(f"T,K-{n}\n" for n in range(1001))
    with pytest.raises(InvalidInput) as raised:
        parse(text)
    assert raised.value.errors is not None and raised.value.errors[0].type == "too_many_rows"


CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["Epic", "Sub-task", "Blocker", "5", "4", "-1", "In QA", "Done", "K-1", "1"]),
    st.sampled_from(["12/Mar/24 9:15 AM", "0001-01-01", "9999-12-31T23:59-05:00", "31/Dec/99"]),
)
HEADER = [
    "Summary",
    "Issue key",
    "Issue id",
    "Issue Type",
    "Priority",
    "Story Points",
    "Sprint",
    "Status",
    "Status Category",
    "Created",
    "Labels",
    "Labels",
    "Description",
    "Parent",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(CELLS, max_size=len(HEADER) + 2), max_size=6))
def test_any_cells_map_to_fields_or_problems_never_a_crash(rows: list[list[str]]) -> None:
    mapped = map_rows(HEADER, [CsvRow(n + 2, cells) for n, cells in enumerate(rows)], CONTEXT)
    for row in mapped:
        if not row.key or row.title is None:
            assert row.skipped
        assert row.labels is None or len(row.labels) <= 20
        assert row.points is None or row.points in {0, 1, 2, 3, 5, 8, 13, 21, 40, 100}
        assert all(
            p.line == row.line and p.detail.startswith(f"row {row.line}") for p in row.problems
        )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_any_bytes_parse_or_are_a_422(data: bytes) -> None:
    try:
        table = parse(decode(b"Summary,Issue key\n" + data))
    except InvalidInput as error:
        assert error.errors is not None and error.errors[0].field == "body"
    else:
        assert all(row.line >= 2 for row in table.rows)
