"""Jira's columns and values mapped to item fields, one row at a time, with what went wrong.

Pure functions over the parsed file and plain project data: no database, so every rule of the
mapping (types, priorities, estimates, statuses, dates, labels) is tested without one.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.domain.items.models import ItemType
from app.domain.items.schemas import MAX_DESCRIPTION, MAX_LABELS, PriorityName
from app.domain.jira_import.parser import CsvRow, normal_name
from app.domain.projects.models import EstimationScale
from app.domain.projects.scales import scale_values
from app.domain.workflow.models import StatusCategory

MAX_TITLE = 255
MAX_KEY = 255
MAX_LABEL = 50


class Column(StrEnum):
    """An item field a Jira column is read into."""

    SUMMARY = "summary"
    KEY = "key"
    ISSUE_ID = "issue_id"
    TYPE = "type"
    PRIORITY = "priority"
    POINTS = "points"
    SPRINT = "sprint"
    STATUS = "status"
    STATUS_CATEGORY = "status_category"
    CREATED = "created"
    LABELS = "labels"
    DESCRIPTION = "description"
    PARENT = "parent"


# Jira's column names (any case) and what each is read into. Several names for one field are
# the spellings of Jira Cloud, Jira Data Center and their team- or company-managed projects.
ALIASES: dict[str, Column] = {
    "summary": Column.SUMMARY,
    "issue key": Column.KEY,
    "issue id": Column.ISSUE_ID,
    "issue type": Column.TYPE,
    "priority": Column.PRIORITY,
    "custom field (story points)": Column.POINTS,
    "story points": Column.POINTS,
    "custom field (story point estimate)": Column.POINTS,
    "story point estimate": Column.POINTS,
    "sprint": Column.SPRINT,
    "status": Column.STATUS,
    "status category": Column.STATUS_CATEGORY,
    "created": Column.CREATED,
    "labels": Column.LABELS,
    "description": Column.DESCRIPTION,
    # A parent by issue id or key: Cloud's "Parent", Data Center's "Parent id" (sub-tasks),
    # and the epic of the older Epic Link field.
    "parent": Column.PARENT,
    "parent id": Column.PARENT,
    "parent key": Column.PARENT,
    "custom field (epic link)": Column.PARENT,
    "epic link": Column.PARENT,
}

TYPES: dict[str, ItemType] = {
    "story": ItemType.STORY,
    "user story": ItemType.STORY,
    "bug": ItemType.BUG,
    "task": ItemType.TASK,
    "sub-task": ItemType.TASK,
    "subtask": ItemType.TASK,
    "spike": ItemType.SPIKE,
    "epic": ItemType.EPIC,
}

PRIORITIES: dict[str, PriorityName] = {
    "highest": PriorityName.HIGHEST,
    "high": PriorityName.HIGH,
    "medium": PriorityName.MEDIUM,
    "low": PriorityName.LOW,
    "lowest": PriorityName.LOWEST,
    # Jira's older default scheme, highest first.
    "blocker": PriorityName.HIGHEST,
    "critical": PriorityName.HIGH,
    "major": PriorityName.MEDIUM,
    "minor": PriorityName.LOW,
    "trivial": PriorityName.LOWEST,
}

# Jira's status categories as its exports name them (and their internal keys).
CATEGORIES: dict[str, StatusCategory] = {
    "to do": StatusCategory.TODO,
    "new": StatusCategory.TODO,
    "in progress": StatusCategory.IN_PROGRESS,
    "indeterminate": StatusCategory.IN_PROGRESS,
    "done": StatusCategory.DONE,
    "complete": StatusCategory.DONE,
}

MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# Jira's own date format, `dd/MMM/yy h:mm a` (`12/Mar/24 9:15 AM`), with a 4-digit year too.
_JIRA_DATE = re.compile(
    r"(?P<day>\d{1,2})/(?P<month>[A-Za-z]{3})/(?P<year>\d{2}|\d{4})"
    r"(?:\s+(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?\s*(?P<ampm>[AaPp][Mm])?)?"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}([ T].*)?")
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")


class Severity(StrEnum):
    """Whether a row was left out (`error`) or imported with a field changed (`warning`)."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """Something about one row: where it is (line and column), and what was done about it."""

    line: int
    issue_key: str | None
    column: str | None
    severity: Severity
    code: str
    message: str

    @property
    def detail(self) -> str:
        """The problem in one line: `row 12, column "Story Points": "abc" is not a number`."""
        where = f'row {self.line}, column "{self.column}"' if self.column else f"row {self.line}"
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class StatusOption:
    """A status of the project, as the mapping sees it."""

    id: int
    name: str
    category: StatusCategory


@dataclass(frozen=True)
class Context:
    """What the mapping needs of the project: its scale, statuses (in order) and time zone."""

    scale: EstimationScale
    statuses: Sequence[StatusOption]
    time_zone: ZoneInfo
    now: datetime

    def default_status(self) -> StatusOption:
        """Where new items start: the first `todo` status, else the first status."""
        todo = [s for s in self.statuses if s.category == StatusCategory.TODO]
        return (todo or list(self.statuses))[0]


class StatusBy(StrEnum):
    """How a Jira status found its Timebox status."""

    NAME = "name"
    CATEGORY = "category"
    DEFAULT = "default"


@dataclass(frozen=True)
class StatusMatch:
    """Where a Jira status went, and how."""

    jira: str
    status: StatusOption
    by: StatusBy


@dataclass(frozen=True)
class Columns:
    """Where each mapped field is in the header, and the columns nothing is read from."""

    header: Sequence[str]
    positions: dict[Column, list[int]]
    unmapped: list[str]

    @classmethod
    def of(cls, header: Sequence[str]) -> "Columns":
        """The mapped and unmapped columns of a header (unmapped names listed once)."""
        positions: dict[Column, list[int]] = {}
        unmapped: list[str] = []
        for index, name in enumerate(header):
            column = ALIASES.get(normal_name(name))
            if column is not None:
                positions.setdefault(column, []).append(index)
            elif name and name not in unmapped:
                unmapped.append(name)
        return cls(header=header, positions=positions, unmapped=unmapped)

    def cells(self, row: CsvRow, column: Column) -> list[tuple[str, str]]:
        """The non-empty cells of a field in a row, as (column name, trimmed value)."""
        found = []
        for index in self.positions.get(column, []):
            if index < len(row.cells) and row.cells[index].strip():
                found.append((self.header[index], row.cells[index].strip()))
        return found

    def first(self, row: CsvRow, column: Column) -> tuple[str, str] | None:
        """The first non-empty cell of a field in a row."""
        cells = self.cells(row, column)
        return cells[0] if cells else None

    def name(self, column: Column) -> str | None:
        """The header name of a field's first column, if the file has one."""
        indexes = self.positions.get(column)
        return self.header[indexes[0]] if indexes else None

    def raw(self, row: CsvRow, column: Column) -> tuple[str, str] | None:
        """The first non-blank cell of a field untrimmed (descriptions keep their layout)."""
        for index in self.positions.get(column, []):
            if index < len(row.cells) and row.cells[index].strip():
                return self.header[index], row.cells[index]
        return None


@dataclass
class MappedRow:
    """One row read into item fields; None means the file leaves that field alone."""

    line: int
    key: str
    issue_id: str | None = None
    title: str | None = None
    type: ItemType | None = None
    priority: PriorityName | None = None
    points: float | None = None
    status: StatusMatch | None = None
    sprint: tuple[str, str] | None = None
    created: datetime | None = None
    labels: list[str] | None = None
    description: str | None = None
    parents: list[tuple[str, str]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> bool:
        """Whether the row is left out (it has an error)."""
        return any(problem.severity == Severity.ERROR for problem in self.problems)

    def problem(self, column: str | None, severity: Severity, code: str, message: str) -> None:
        """Note a problem with this row."""
        key = self.key or None
        self.problems.append(Problem(self.line, key, column, severity, code, message))

    def warn(self, column: str | None, code: str, message: str) -> None:
        """Note a field that was imported differently from the file, or not at all."""
        self.problem(column, Severity.WARNING, code, message)

    def fail(self, column: str | None, code: str, message: str) -> None:
        """Note why the row is left out."""
        self.problem(column, Severity.ERROR, code, message)


def _quoted(value: str, limit: int = 60) -> str:
    shown = value if len(value) <= limit else value[: limit - 1] + "…"
    return '"' + shown.replace('"', '\\"') + '"'


def cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of `text` that is at most `limit` bytes of UTF-8."""
    return text.encode()[:limit].decode(errors="ignore")


def parse_points(cell: str, scale: EstimationScale) -> tuple[float | None, str | None]:
    """An estimate cell as a value of the scale; or None and why (`not_a_number`, ...)."""
    text = cell.strip()
    values = scale_values(scale)
    for value in values:
        if text.upper() == value.label and not _NUMBER.fullmatch(text):
            return value.value, None  # a t-shirt size written as its label
    if not _NUMBER.fullmatch(text):
        return None, "not_a_number"
    number = float(text.replace(",", "."))
    if number < 0:
        return None, "negative"
    for value in values:
        if number == value.value:
            return value.value, None
    return number, "off_scale"


def parse_created(text: str, time_zone: ZoneInfo) -> datetime | None:
    """A Jira date (`12/Mar/24 9:15 AM`, `12/Mar/2024 09:15`, ISO 8601) as UTC; None if not one."""
    # Jira writes times without an offset in the exporting user's zone: read in the project's.
    text = text.strip()
    moment: datetime | None = None
    matched = _JIRA_DATE.fullmatch(text)
    if matched:
        month = MONTHS.get(matched["month"].casefold())
        if month is None:
            return None
        year = int(matched["year"])
        if len(matched["year"]) == 2:
            year += 2000 if year < 70 else 1900
        hour, minute = int(matched["hour"] or 0), int(matched["minute"] or 0)
        if matched["ampm"]:
            if not 1 <= hour <= 12:
                return None
            hour = hour % 12 + (12 if matched["ampm"].casefold() == "pm" else 0)
        try:
            moment = datetime(
                year, month, int(matched["day"]), hour, minute, int(matched["second"] or 0)
            )
        except ValueError:
            return None
    elif _ISO_DATE.fullmatch(text):
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=time_zone)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None  # the first or last day of year 1 or 9999, moved out of range


def _labels(mapped: MappedRow, cells: list[tuple[str, str]]) -> list[str] | None:
    """Every label of the row's Labels columns, once each, within the item limits."""
    if not cells:
        return None
    labels: list[str] = []
    for column, cell in cells:
        # Jira labels never hold spaces; a cell with several is a list joined by spaces.
        for label in cell.split():
            if len(label) > MAX_LABEL:
                mapped.warn(
                    column,
                    "label_too_long",
                    f"label {_quoted(label)} is longer than 50 characters; left out",
                )
            elif label not in labels:
                labels.append(label)
    if len(labels) > MAX_LABELS:
        mapped.warn(
            None, "too_many_labels", f"{len(labels)} labels; the first {MAX_LABELS} were kept"
        )
        labels = labels[:MAX_LABELS]
    return labels


def match_status(name: str, category: str | None, context: Context) -> StatusMatch:
    """A project status for a Jira status: by name (any case), its category, or the default."""
    wanted = normal_name(name)
    for status in context.statuses:
        if normal_name(status.name) == wanted:
            return StatusMatch(name, status, StatusBy.NAME)
    jira_category = CATEGORIES.get(normal_name(category)) if category else None
    if jira_category is not None:
        for status in context.statuses:
            if status.category == jira_category:
                return StatusMatch(name, status, StatusBy.CATEGORY)
    return StatusMatch(name, context.default_status(), StatusBy.DEFAULT)


def map_row(row: CsvRow, columns: Columns, context: Context) -> MappedRow:
    """One row's fields, and its problems: errors leave the row out, warnings say what changed."""
    key_cell = columns.first(row, Column.KEY)
    mapped = MappedRow(line=row.line, key=key_cell[1] if key_cell else "")
    if len(row.cells) > len(columns.header):
        mapped.warn(
            None,
            "extra_cells",
            f"{len(row.cells)} cells under a header of {len(columns.header)}; the extra ones "
            "were ignored",
        )
    key_column = columns.name(Column.KEY)
    if key_cell is None:
        mapped.fail(key_column, "missing", "no issue key: it is what re-imports match items by")
    elif len(mapped.key) > MAX_KEY:
        mapped.fail(key_column, "too_long", f"the issue key is longer than {MAX_KEY} characters")
    issue_id = columns.first(row, Column.ISSUE_ID)
    mapped.issue_id = issue_id[1] if issue_id else None

    summary = columns.first(row, Column.SUMMARY)
    if summary is None:
        mapped.fail(columns.name(Column.SUMMARY), "missing", "no summary: an item needs a title")
    else:
        column, title = summary
        title = " ".join(title.split())
        if len(title) > MAX_TITLE:
            mapped.warn(column, "too_long", f"longer than {MAX_TITLE} characters; cut to that")
            title = title[:MAX_TITLE]
        mapped.title = title

    issue_type = columns.first(row, Column.TYPE)
    if issue_type is not None:
        column, value = issue_type
        mapped.type = TYPES.get(normal_name(value))
        if mapped.type is None:
            mapped.warn(
                column,
                "unknown_type",
                f"type {_quoted(value)} is not known: a new item is a story, an existing one "
                "keeps its type",
            )

    priority = columns.first(row, Column.PRIORITY)
    if priority is not None:
        column, value = priority
        mapped.priority = PRIORITIES.get(normal_name(value))
        if mapped.priority is None:
            mapped.warn(
                column,
                "unknown_priority",
                f"priority {_quoted(value)} is not known: a new item is medium, an existing one "
                "keeps its priority",
            )

    points = columns.first(row, Column.POINTS)
    if points is not None:
        column, value = points
        number, why = parse_points(value, context.scale)
        if why == "not_a_number":
            mapped.fail(column, why, f"{_quoted(value)} is not a number")
        elif why == "negative":
            mapped.fail(column, why, f"{_quoted(value)} is negative")
        elif why == "off_scale":
            allowed = ", ".join(v.label for v in scale_values(context.scale))
            mapped.warn(
                column,
                why,
                f"{number:g} is not on the project's {context.scale} scale ({allowed}); "
                "imported without an estimate",
            )
        else:
            mapped.points = number

    status = columns.first(row, Column.STATUS)
    if status is not None:
        column, value = status
        category = columns.first(row, Column.STATUS_CATEGORY)
        mapped.status = match_status(value, category[1] if category else None, context)
        if mapped.status.by == StatusBy.DEFAULT:
            mapped.warn(
                column,
                "unknown_status",
                f"status {_quoted(value)} matches no status of the project by name or category: "
                f'a new item starts in "{mapped.status.status.name}", an existing one stays in '
                "its status",
            )

    sprints = columns.cells(row, Column.SPRINT)
    # Jira lists an issue's sprints oldest first: the last is the one it is in, or was last in.
    mapped.sprint = sprints[-1] if sprints else None

    created = columns.first(row, Column.CREATED)
    if created is not None:
        column, value = created
        moment = parse_created(value, context.time_zone)
        if moment is None:
            mapped.warn(
                column,
                "not_a_date",
                f"{_quoted(value)} is not a date Jira writes (12/Mar/24 9:15 AM, or ISO 8601); "
                "the item's created time is the import's",
            )
        elif moment > context.now:
            mapped.warn(
                column,
                "future",
                f"{_quoted(value)} is in the future; the item's created time is the import's",
            )
        else:
            mapped.created = moment

    mapped.labels = _labels(mapped, columns.cells(row, Column.LABELS))

    description = columns.raw(row, Column.DESCRIPTION)
    if description is not None:
        column, text = description
        text = text.replace("\r\n", "\n").replace("\r", "\n")
        if len(text.encode()) > MAX_DESCRIPTION:
            mapped.warn(column, "too_long", f"longer than {MAX_DESCRIPTION} bytes; cut to that")
            text = cut_utf8(text, MAX_DESCRIPTION)
        mapped.description = text

    mapped.parents = columns.cells(row, Column.PARENT)
    return mapped


def map_rows(header: Sequence[str], rows: Sequence[CsvRow], context: Context) -> list[MappedRow]:
    """Every row mapped; a key that an earlier row has already is an error of the later row."""
    columns = Columns.of(header)
    mapped_rows = [map_row(row, columns, context) for row in rows]
    first_line: dict[str, int] = {}
    for mapped in mapped_rows:
        if not mapped.key:
            continue
        if mapped.key in first_line:
            mapped.fail(
                columns.name(Column.KEY),
                "duplicate",
                f"issue key {mapped.key} is on row {first_line[mapped.key]} already",
            )
        else:
            first_line[mapped.key] = mapped.line
    return mapped_rows
