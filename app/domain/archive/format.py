"""The archive format: which tables travel, their columns, and what each column's ids name.

Derived from the table models (SQLModel.metadata), so a table another area adds is exported
and imported without being named here: every table with a `project_id` column travels, in
foreign-key order, minus the exclusions below, and every foreign key is rewritten on import.
What the models cannot say is declared here and in `rules`: ids kept without a foreign key
(an item's history outlives the item), and columns that hold no ids although they could.
"""

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import Column, Table
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.types import BigInteger
from sqlmodel import SQLModel

from app.domain.archive.codecs import Decoder, decoder
from app.domain.archive.rules import RULES, USERS, Rule

FORMAT = "timebox.project"
VERSION = 1
# What this server reads; it writes VERSION.
SUPPORTED_VERSIONS = frozenset({1})

PROJECTS = "projects"

# Project-scoped tables that never travel, and why.
EXCLUDED_TABLES: dict[str, str] = {
    "webhooks": "signing secrets, and URLs that may carry credentials",
    "webhook_deliveries": "the webhooks' outbox on this instance",
    "stream_tickets": "single-use credentials of live streams (token hashes)",
    "notifications": "each person's inbox on this instance",
    "project_invitations": "invitations to addresses, answered on this instance",
    "project_event_sequences": "recomputed from the imported activity log",
}

# Columns that never travel: the calendar feed's token (the owner issues a new one).
EXCLUDED_COLUMNS: dict[tuple[str, str], str] = {
    ("meeting_schedules", "feed_token_hash"): "the calendar feed's token hash",
    ("meeting_schedules", "feed_token_prefix"): "the calendar feed's token prefix",
    ("meeting_schedules", "feed_token_created_at"): "when the calendar feed's token was made",
}

# Ids kept without a foreign key, by the table they name: the row may be gone (an item's
# history, commitment and outcome outlive the item), so its id is given a new one all the same.
# An array column holds a list of such ids; 0 names nothing. Item-event positions (a sprint's
# window of the log) are ids of `item_events` taken from its sequence, most of them no event's.
SOFT_REFERENCES: dict[tuple[str, str], str] = {
    ("item_events", "item_id"): "items",
    ("sprint_commitments", "item_id"): "items",
    ("sprint_outcomes", "item_id"): "items",
    ("sprint_outcomes", "status_id"): "statuses",
    ("sprints", "start_event_id"): "item_events",
    ("sprints", "close_event_id"): "item_events",
    ("sprints", "done_status_ids"): "statuses",
    ("estimation_sessions", "item_ids"): "items",
    ("estimation_sessions", "skipped_ids"): "items",
    # The phase change that opened a gate's round of sign-offs (0: before any change).
    ("phase_signoffs", "round"): "phase_changes",
}

# Array, JSON and unreferenced bigint columns that hold no ids of this instance, and what they
# hold instead (numbers are per project and travel unchanged).
PLAIN: dict[tuple[str, str], str] = {
    ("items", "labels"): "label names",
    ("retros", "columns"): "column names",
    ("sprint_capacity", "days_off"): "dates",
    ("standup_entries", "blocked_items"): "item numbers",
    ("sprints", "report"): "the frozen report: numbers, titles, status names",
    ("project_closings", "summary"): "the figures kept at the close: numbers and names",
}

# The activity log is numbered 1, 2, 3... per project: import numbers it afresh in order.
RESEQUENCED = ("project_events", "seq")

# The project's number counters, and the table each numbers: a counter is never below the
# largest number in use, or the next item (sprint...) would take a number that is taken.
NUMBER_SERIES: dict[str, str] = {
    "next_item_number": "items",
    "next_sprint_number": "sprints",
    "next_retro_number": "retros",
    "next_action_number": "action_items",
    "next_release_number": "releases",
    "next_risk_number": "risks",
}

# Authors that anonymity hides: the column, the column naming its retro, and the flag.
ANONYMISED = ("retro_cards", "author_id", "retro_id")


@dataclass(frozen=True)
class ColumnSpec:
    """One column as the archive carries it."""

    name: str
    column: Column[Any]
    decode: Decoder
    nullable: bool
    # The table whose ids it holds (`users`: people, by archive ref), or None.
    target: str | None = None
    # A foreign key: the row it names must be in the archive (else it may be gone).
    hard: bool = False
    array: bool = False
    rule: Rule | None = None


@dataclass(frozen=True)
class TableSpec:
    """One project-scoped table as the archive carries it."""

    name: str
    table: Table
    columns: tuple[ColumnSpec, ...]

    @cached_property
    def by_name(self) -> dict[str, ColumnSpec]:
        """The columns by name."""
        return {spec.name: spec for spec in self.columns}

    @property
    def identity(self) -> bool:
        """Whether rows have an `id` of their own (a new one on import)."""
        column = self.table.c.get("id")
        return column is not None and column.identity is not None

    @property
    def self_references(self) -> list[str]:
        """Columns naming another row of the same table (inserted after the row they name)."""
        return [spec.name for spec in self.columns if spec.hard and spec.target == self.name]


def is_project_scoped(table: Table) -> bool:
    """Whether a table belongs to one project (it has `project_id`)."""
    return "project_id" in table.c


def _reference(table: Table, column: Column[Any]) -> tuple[str | None, bool]:
    keys = list(column.foreign_keys)
    if len(keys) > 1:
        raise TypeError(f"{table.name}.{column.name}: more than one foreign key")
    if keys:
        target = keys[0].column
        if target.name != "id":
            raise TypeError(f"{table.name}.{column.name} references {target} (not an id)")
        return target.table.name, True
    return SOFT_REFERENCES.get((table.name, column.name)), False


def _spec(table: Table, column: Column[Any]) -> ColumnSpec:
    target, hard = _reference(table, column)
    if hard and target in EXCLUDED_TABLES:
        raise TypeError(f"{table.name}.{column.name} references {target}, which never travels")
    if hard and target == PROJECTS:
        raise TypeError(f"{table.name}.{column.name} references another project")
    return ColumnSpec(
        name=column.name,
        column=column,
        decode=decoder(column),
        nullable=bool(column.nullable),
        target=target,
        hard=hard,
        array=isinstance(column.type, ARRAY),
        rule=RULES.get((table.name, column.name)),
    )


def _columns(table: Table, *, skip: tuple[str, ...]) -> tuple[ColumnSpec, ...]:
    return tuple(
        _spec(table, column)
        for column in table.columns
        if column.name not in skip
        and column.computed is None
        and (table.name, column.name) not in EXCLUDED_COLUMNS
    )


def needs_declaring(table: Table, column: Column[Any]) -> bool:
    """Whether a column may hold ids that no foreign key names: arrays, JSON, and bigints
    (ids are bigints). Each such column must have a rule, a soft reference or be PLAIN."""
    if column.foreign_keys or (column.name == "id" and column.identity is not None):
        return False
    return isinstance(column.type, ARRAY | JSON | JSONB | BigInteger)


@dataclass(frozen=True)
class ArchiveFormat:
    """The project row and the project-scoped tables, in foreign-key order."""

    project: TableSpec
    tables: tuple[TableSpec, ...]

    @cached_property
    def by_name(self) -> dict[str, TableSpec]:
        """The tables by name."""
        return {spec.name: spec for spec in self.tables}

    @property
    def user_columns(self) -> list[tuple[TableSpec, ColumnSpec]]:
        """Every column naming a person, the project's own included."""
        return [
            (table, column)
            for table in (self.project, *self.tables)
            for column in table.columns
            if column.target == USERS
        ]


def archive_format() -> ArchiveFormat:
    """The format as the registered table models make it (every model must be imported)."""
    project_table = SQLModel.metadata.tables[PROJECTS]
    project = TableSpec(PROJECTS, project_table, _columns(project_table, skip=("id",)))
    tables = tuple(
        TableSpec(table.name, table, _columns(table, skip=("project_id",)))
        for table in SQLModel.metadata.sorted_tables
        if is_project_scoped(table) and table.name not in EXCLUDED_TABLES
    )
    return ArchiveFormat(project=project, tables=tables)
