"""Reading a Jira CSV export: bytes to text, the header, and rows numbered by their file line."""

import csv
import io
from dataclasses import dataclass

from app.domain.kernel.errors import InvalidInput

# Jira writes commas; a spreadsheet saved in some locales writes semicolons or tabs.
DELIMITERS = (",", ";", "\t")
# More rows than this are refused whole: a larger backlog is imported in several files. Each
# row goes through the item write path with its checks, events and notifications, in one
# transaction: a thousand rows take seconds, and keep the transaction's events in bounds.
MAX_ROWS = 1000
# Besides Summary, the column a file must have: re-imports match items by it.
KEY_COLUMN = "issue key"


@dataclass(frozen=True)
class CsvRow:
    """One record of the file: the line it starts on (the header is line 1) and its cells."""

    line: int
    cells: list[str]


@dataclass(frozen=True)
class CsvTable:
    """The header (each name as written, trimmed) and the records below it."""

    header: list[str]
    rows: list[CsvRow]


def _unreadable(message: str, code: str) -> InvalidInput:
    return InvalidInput.for_field("body", message, code)


def decode(data: bytes) -> str:
    """The file as text: UTF-8, with or without a byte order mark; anything else is a 422."""
    if not data.strip():
        raise _unreadable("The file is empty.", "empty")
    if data.startswith(b"PK\x03\x04"):
        raise _unreadable(
            "This is a spreadsheet workbook (.xlsx), not CSV: export CSV from Jira instead.",
            "not_csv",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise _unreadable(
            f"The file is not UTF-8: line {line} (byte {error.start}) is not valid UTF-8. "
            "Export it from Jira again, or save it as CSV UTF-8.",
            "encoding",
        ) from error
    if "\x00" in text:
        raise _unreadable("The file holds NUL characters: it is not a CSV text file.", "not_csv")
    return text


def normal_name(name: str) -> str:
    """How names compare: trimmed, inner whitespace collapsed, any case."""
    return " ".join(name.split()).casefold()


def _first_record(text: str, delimiter: str) -> list[str]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        return next(reader, [])
    except csv.Error:
        return []


def _delimiter(text: str) -> str:
    """The separator whose first record names a Summary column."""
    for delimiter in DELIMITERS:
        if any(normal_name(cell) == "summary" for cell in _first_record(text, delimiter)):
            return delimiter
    raise _unreadable(
        'The first row names no "Summary" column: the file must be a Jira CSV export '
        "with its header row (Summary, Issue key, ...).",
        "no_summary",
    )


def parse(text: str) -> CsvTable:
    """The header and the non-empty records of a CSV text; malformed CSV is a 422 naming it."""
    delimiter = _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows: list[CsvRow] = []
    header: list[str] | None = None
    start = 1
    try:
        for record in reader:
            line, start = start, reader.line_num + 1
            if header is None:
                header = [cell.strip() for cell in record]
                continue
            if not any(cell.strip() for cell in record):
                continue
            if len(rows) == MAX_ROWS:
                raise _unreadable(
                    f"The file has more than {MAX_ROWS} rows: export the backlog in parts "
                    "(by a JQL filter, say) and import each.",
                    "too_many_rows",
                )
            rows.append(CsvRow(line=line, cells=record))
    except csv.Error as error:
        raise _unreadable(
            f"Line {reader.line_num} is not valid CSV ({error}); nothing was imported.", "not_csv"
        ) from error
    assert header is not None  # the delimiter was chosen by its header row
    if KEY_COLUMN not in {normal_name(name) for name in header}:
        raise _unreadable(
            'The file has no "Issue key" column: it is what items are matched by, so that '
            "a re-import updates them instead of making copies.",
            "missing_column",
        )
    return CsvTable(header=header, rows=rows)
