"""What an import will do: for each mapped row, create, update, leave alone or skip, and how.

Pure: the project's state comes in as plain data (its items by Jira key, its sprints, the WIP
counts), so a dry run and the real import decide alike, and the rules are tested alone.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from app.domain.items.models import ItemType
from app.domain.items.schemas import ItemCreate, PriorityName
from app.domain.jira_import.mapping import (
    Column,
    Columns,
    Context,
    MappedRow,
    Problem,
    StatusBy,
)
from app.domain.jira_import.parser import normal_name
from app.domain.sprints.models import SprintState
from app.domain.workflow.models import StatusCategory

MAX_SPRINT_NAME = 120


class Outcome(StrEnum):
    """What the import did with a row."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class ExistingItem:
    """An item of the project that a row's key (or a parent reference) names."""

    id: int
    number: int
    version: int
    type: ItemType
    title: str
    description: str
    points: float | None
    priority: PriorityName
    labels: list[str]
    status_id: int
    sprint_id: int | None
    parent_id: int | None
    has_children: bool = False


@dataclass(frozen=True)
class SprintOption:
    """A sprint of the project, as the import sees it."""

    id: int
    number: int
    name: str
    state: SprintState


@dataclass(frozen=True)
class ProjectState:
    """The project as the import found it."""

    context: Context
    existing: dict[str, ExistingItem]
    sprints: Sequence[SprintOption]
    # Only when the project enforces WIP limits: status id -> (limit, items in it now).
    wip: dict[int, tuple[int, int]] = field(default_factory=dict)
    create_sprints: bool = True


@dataclass(frozen=True)
class SprintTarget:
    """The sprint a row's item goes into: an open one (by number), or one to plan by name."""

    name: str
    number: int | None = None
    id: int | None = None


@dataclass(frozen=True)
class ParentTarget:
    """The epic a row's item goes under: an item that exists, or the epic of another row."""

    number: int | None = None
    id: int | None = None
    line: int | None = None


@dataclass
class Entry:
    """One item to create or update: the fields it sets, and its sprint and parent, if any."""

    row: MappedRow
    existing: ExistingItem | None
    fields: dict[str, Any]
    sprint: SprintTarget | None = None
    parent: ParentTarget | None = None

    def item_create(self, sprint: int | None, parent: int | None) -> ItemCreate:
        """The batch entry, with the sprint and parent numbers known by now."""
        extra: dict[str, Any] = {}
        if self.sprint is not None:
            extra["sprint"] = sprint
        if self.parent is not None:
            extra["parent"] = parent
        return ItemCreate(**self.fields, **extra)


@dataclass(frozen=True)
class StatusUse:
    """A Jira status of the file, the project status its rows went to, and how it was found."""

    jira_status: str
    status_id: int
    status: str
    by: StatusBy
    rows: int


@dataclass
class Plan:
    """What the import will write, in order, and what it reports."""

    rows: list[MappedRow]
    outcomes: dict[int, Outcome]
    epics: list[Entry]
    others: list[Entry]
    new_sprints: list[str]
    statuses: list[StatusUse]
    # Row line -> number of the item the row's key names, for the rows that name one.
    numbers: dict[int, int]

    @property
    def problems(self) -> list[Problem]:
        """Every problem, by row."""
        return [problem for row in self.rows for problem in row.problems]


def _natural(name: str) -> list[Any]:
    """A sort key that puts "Sprint 9" before "Sprint 10"."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name.casefold())]


class _Planner:
    def __init__(self, columns: Columns, rows: list[MappedRow], state: ProjectState) -> None:
        self.columns = columns
        self.rows = rows
        self.state = state
        self.categories = {s.id: s.category for s in state.context.statuses}
        self.types: dict[int, ItemType] = {}
        self.by_key: dict[str, MappedRow] = {}
        self.by_issue_id: dict[str, MappedRow] = {}
        self.new_sprints: dict[str, str] = {}
        self.wip_counts = {status: count for status, (_, count) in state.wip.items()}

    def column(self, column: Column) -> str | None:
        return self.columns.name(column)

    def live(self) -> list[MappedRow]:
        return [row for row in self.rows if not row.skipped]

    def existing(self, row: MappedRow) -> ExistingItem | None:
        return self.state.existing.get(row.key)

    def final_type(self, row: MappedRow) -> ItemType:
        """The row's type, unless the item it updates cannot take it."""
        current = self.existing(row)
        wanted = row.type or (current.type if current else ItemType.STORY)
        if current is None or wanted == current.type:
            return wanted
        column = self.column(Column.TYPE)
        if current.type == ItemType.EPIC and current.has_children:
            row.warn(
                column,
                "epic_has_children",
                "the item is an epic with items under it here, so it stays an epic",
            )
            return ItemType.EPIC
        if wanted == ItemType.EPIC and current.sprint_id is not None:
            row.warn(
                column,
                "in_sprint",
                f"the item is in a sprint, which an epic cannot be, so it stays a {current.type}",
            )
            return current.type
        return wanted

    def status_id(self, row: MappedRow) -> int:
        current = self.existing(row)
        if current is not None and (row.status is None or row.status.by == StatusBy.DEFAULT):
            return current.status_id
        if row.status is not None:
            return row.status.status.id
        return self.state.context.default_status().id

    def sprint(self, row: MappedRow, item_type: ItemType, status_id: int) -> SprintTarget | None:
        """The open sprint the row names, one to plan, or None (a warning says why, if due)."""
        if row.sprint is None:
            return None
        column, name = row.sprint
        name = " ".join(name.split())
        if item_type == ItemType.EPIC:
            row.warn(column, "epic_in_sprint", f'epics stay out of sprints; not put in "{name}"')
            return None
        if self.categories.get(status_id) == StatusCategory.DONE:
            # Finished work is history: it stays out of sprints still to run.
            return None
        current = self.existing(row)
        same_name = [s for s in self.state.sprints if normal_name(s.name) == normal_name(name)]
        if current is not None and current.sprint_id is not None:
            sprint = next((s for s in self.state.sprints if s.id == current.sprint_id), None)
            if sprint is not None and not sprint.state.is_open:
                if normal_name(sprint.name) != normal_name(name):
                    row.warn(
                        column,
                        "closed_sprint",
                        f"the item stays in sprint {sprint.number}, which is {sprint.state}",
                    )
                return None
        open_ones = sorted((s for s in same_name if s.state.is_open), key=lambda s: s.number)
        if open_ones:
            return SprintTarget(
                name=open_ones[0].name, number=open_ones[0].number, id=open_ones[0].id
            )
        if same_name:
            closed = same_name[0]
            row.warn(
                column,
                "closed_sprint",
                f'sprint "{name}" is {closed.state} here; the item was not put in it',
            )
            return None
        if not self.state.create_sprints:
            row.warn(
                column,
                "no_sprint",
                f'no open sprint is named "{name}"; the item was not put in a sprint',
            )
            return None
        if len(name) > MAX_SPRINT_NAME:
            row.warn(
                column,
                "too_long",
                f"sprint names are at most {MAX_SPRINT_NAME} characters; not put in a sprint",
            )
            return None
        planned = self.new_sprints.setdefault(normal_name(name), name)
        return SprintTarget(name=planned)

    def _row_of(self, value: str) -> MappedRow | None:
        return self.by_key.get(value) or self.by_issue_id.get(value)

    def _epic_of(self, value: str, row: MappedRow) -> tuple[ParentTarget | None, str]:
        """The epic a reference names, or None and what it names instead."""
        target = self._row_of(value)
        if target is not None:
            if target is row:
                return None, "itself"
            if self.types[target.line] == ItemType.EPIC:
                current = self.existing(target)
                if current is not None:
                    return ParentTarget(number=current.number, id=current.id), target.key
                return ParentTarget(line=target.line), target.key
            return None, f"{target.key}, a {self.types[target.line]}"
        current = self.state.existing.get(value)
        if current is not None:
            if current.type == ItemType.EPIC:
                return ParentTarget(number=current.number, id=current.id), value
            return None, f"{value}, a {current.type}"
        return None, ""

    def parent(self, row: MappedRow, item_type: ItemType) -> ParentTarget | None:
        """The epic the row's item goes under, if its parent references find one."""
        if not row.parents:
            return None
        column, first = row.parents[0]
        if item_type == ItemType.EPIC:
            row.warn(
                column,
                "epic_parent",
                f"epics are not nested by the import; its parent {first} was not kept",
            )
            return None
        explanation = ""
        for _, value in row.parents:
            target, named = self._epic_of(value, row)
            if target is not None:
                return target
            explanation = explanation or named
        # A sub-task's parent is a story: file it under that story's epic, as the nearest
        # thing Timebox has (items nest only in epics).
        middle = self._row_of(first)
        if middle is not None and middle is not row:
            for _, value in middle.parents:
                target, named = self._epic_of(value, middle)
                if target is not None:
                    row.warn(
                        column,
                        "parent_not_epic",
                        f"its parent {explanation} cannot hold items (only epics can); "
                        f"it was put under that item's epic {named}",
                    )
                    return target
        if explanation == "itself":
            row.warn(
                column,
                "parent_is_itself",
                "the issue names itself as its parent; no parent was kept",
            )
        elif explanation:
            row.warn(
                column,
                "parent_not_epic",
                f"its parent {explanation} cannot hold items (only epics can); no parent was kept",
            )
        else:
            row.warn(
                column,
                "parent_unknown",
                f"its parent {first} is neither in the file nor in the project; no parent was kept",
            )
        return None

    def entry(self, row: MappedRow, item_type: ItemType) -> Entry | None:
        """The fields to write for a row, or None when its item already matches it."""
        current = self.existing(row)
        status_id = self.status_id(row)
        sprint = self.sprint(row, item_type, status_id)
        parent = self.parent(row, item_type)
        assert row.title is not None
        fields: dict[str, Any] = {"title": row.title, "external_id": row.key}
        if current is None:
            fields |= {"type": item_type, "status_id": status_id}
            for name in ("description", "points", "priority", "labels"):
                if getattr(row, name) is not None:
                    fields[name] = getattr(row, name)
            return self._validated(Entry(row, None, fields, sprint, parent))
        changed = row.title != current.title
        if item_type != current.type:
            fields["type"] = item_type
        if status_id != current.status_id:
            fields["status_id"] = status_id
        if row.description is not None and row.description != current.description:
            fields["description"] = row.description
        if row.points is not None and row.points != current.points:
            fields["points"] = row.points
        if row.priority is not None and row.priority != current.priority:
            fields["priority"] = row.priority
        if row.labels is not None and sorted(row.labels) != sorted(current.labels):
            fields["labels"] = row.labels
        if sprint is not None and sprint.id == current.sprint_id:
            sprint = None
        if parent is not None and parent.id is not None and parent.id == current.parent_id:
            parent = None
        changed = changed or len(fields) > 2 or sprint is not None or parent is not None
        return self._validated(Entry(row, current, fields, sprint, parent)) if changed else None

    def _validated(self, entry: Entry) -> Entry | None:
        """The entry if the item write path will take it (a row error otherwise)."""
        try:
            entry.item_create(1 if entry.sprint else None, 1 if entry.parent else None)
        except ValidationError as error:
            first = error.errors()[0]
            entry.row.fail(None, "invalid", f"{'.'.join(map(str, first['loc']))}: {first['msg']}")
            return None
        return entry

    def within_wip(self, entries: list[Entry]) -> list[Entry]:
        """The entries that fit the enforced WIP limits, in write order; the rest fail their row."""
        if not self.state.wip:
            return entries
        kept = []
        for entry in entries:
            target = entry.fields.get("status_id")
            if target is None:
                kept.append(entry)
                continue
            limit = self.state.wip[target][0] if target in self.state.wip else None
            if limit is not None and self.wip_counts[target] >= limit:
                name = next(s.name for s in self.state.context.statuses if s.id == target)
                entry.row.fail(
                    self.column(Column.STATUS),
                    "wip_limit",
                    f'"{name}" is at its WIP limit of {limit}',
                )
                continue
            if limit is not None:
                self.wip_counts[target] += 1
            if entry.existing is not None and entry.existing.status_id in self.wip_counts:
                self.wip_counts[entry.existing.status_id] -= 1
            kept.append(entry)
        return kept

    def phase(self, rows: list[MappedRow]) -> list[Entry]:
        """Entries for rows: updates, then new items in file order (as the batch writes them)."""
        entries = [entry for row in rows if (entry := self.entry(row, self.types[row.line]))]
        ordered = [e for e in entries if e.existing] + [e for e in entries if not e.existing]
        return self.within_wip(ordered)

    def plan(self) -> Plan:
        for row in self.live():
            self.types[row.line] = self.final_type(row)
        epics = self.phase([row for row in self.live() if self.types[row.line] == ItemType.EPIC])
        # Children look their epics up after the epics' own checks: a left-out epic holds none.
        for row in self.live():
            self.by_key.setdefault(row.key, row)
            if row.issue_id:
                self.by_issue_id.setdefault(row.issue_id, row)
        others = self.phase([row for row in self.live() if self.types[row.line] != ItemType.EPIC])
        written = {entry.row.line: entry for entry in [*epics, *others]}
        outcomes: dict[int, Outcome] = {}
        for row in self.rows:
            if row.skipped:
                outcomes[row.line] = Outcome.SKIPPED
            elif row.line not in written:
                outcomes[row.line] = Outcome.UNCHANGED
            elif written[row.line].existing is None:
                outcomes[row.line] = Outcome.CREATED
            else:
                outcomes[row.line] = Outcome.UPDATED
        used = {
            entry.sprint.name
            for entry in written.values()
            if entry.sprint and entry.sprint.number is None
        }
        new_sprints = sorted(
            (name for name in self.new_sprints.values() if name in used), key=_natural
        )
        numbers = {
            row.line: current.number for row in self.live() if (current := self.existing(row))
        }
        return Plan(self.rows, outcomes, epics, others, new_sprints, self._statuses(), numbers)

    def _statuses(self) -> list[StatusUse]:
        uses: dict[str, StatusUse] = {}
        for row in self.live():
            if row.status is None:
                continue
            key = normal_name(row.status.jira)
            use = uses.get(key)
            rows = use.rows + 1 if use else 1
            status = row.status.status
            uses[key] = StatusUse(
                row.status.jira if not use else use.jira_status,
                status.id,
                status.name,
                row.status.by,
                rows,
            )
        return list(uses.values())


def plan_import(columns: Columns, rows: list[MappedRow], state: ProjectState) -> Plan:
    """Decide, for every mapped row, what the import writes (rows with errors are left out)."""
    return _Planner(columns, rows, state).plan()
