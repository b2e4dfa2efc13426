"""Importing a Jira CSV export into a project's backlog, through the item and sprint services.

The file is read and every row mapped and checked first (`mapping`, `plan`); then missing
sprints are planned, epics written, then the other items (so they can name their epics), all
with the batch upsert of the item service: numbers, ranks, the event log and public events
follow the one write path. The request's transaction makes it all or nothing.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository as items_repository
from app.domain.items import service as items
from app.domain.items.models import PRIORITY_NAMES, ItemType, Priority
from app.domain.items.schemas import BatchUpsert, ItemBatch, PriorityName
from app.domain.jira_import import parser
from app.domain.jira_import.mapping import (
    Columns,
    Context,
    Problem,
    Severity,
    StatusOption,
    map_rows,
)
from app.domain.jira_import.parser import normal_name
from app.domain.jira_import.plan import (
    Entry,
    ExistingItem,
    Outcome,
    Plan,
    ProjectState,
    SprintOption,
    StatusUse,
    plan_import,
)
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, DomainError, FieldError, InvalidInput
from app.domain.kernel.pagination import MAX_LIMIT, PageRequest
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints import service as sprints
from app.domain.sprints.schemas import SprintCreate
from app.domain.workflow import repository as workflow_repository

# The item service's batch limit: larger imports are written in several batches.
BATCH_SIZE = 500


@dataclass(frozen=True)
class ImportOptions:
    """How to import: for real or as a dry run, strictly or skipping bad rows, with sprints."""

    dry_run: bool = False
    strict: bool = False
    create_sprints: bool = True


@dataclass(frozen=True)
class RowResult:
    """What became of one row: its outcome, and its item's number (once it has one)."""

    line: int
    issue_key: str | None
    outcome: Outcome
    number: int | None


@dataclass(frozen=True)
class SprintUse:
    """A sprint the file's rows were put in, and whether the import planned it."""

    name: str
    number: int | None
    created: bool
    rows: int


@dataclass(frozen=True)
class ImportReport:
    """What an import did (or, as a dry run, would do)."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    skipped: int
    items: list[RowResult]
    problems: list[Problem]
    unmapped_columns: list[str]
    statuses: list[StatusUse]
    sprints: list[SprintUse]


async def _sprint_options(session: AsyncSession, project_id: int) -> list[SprintOption]:
    """Every sprint of the project (a few dozen: read page by page)."""
    options: list[SprintOption] = []
    page = PageRequest(limit=MAX_LIMIT)
    while True:
        rows, cursor = await sprints_repository.list_sprints(session, project_id, page)
        options += [SprintOption(s.id, s.number, s.name, s.state) for s in rows if s.id]
        if cursor is None:
            return options
        page = PageRequest(limit=MAX_LIMIT, cursor=cursor)


async def _existing(
    session: AsyncSession, project_id: int, keys: Sequence[str], retyped: set[str]
) -> dict[str, ExistingItem]:
    """The project's items that the file's keys name (locked until commit)."""
    found = await items_repository.get_items_by_external_ids(session, project_id, list(keys))
    existing: dict[str, ExistingItem] = {}
    for key, item in found.items():
        assert item.id is not None
        has_children = (
            key in retyped
            and item.type == ItemType.EPIC
            and bool(await items_repository.children(session, project_id, item.id))
        )
        existing[key] = ExistingItem(
            id=item.id,
            number=item.number,
            version=item.version,
            type=item.type,
            title=item.title,
            description=item.description,
            points=item.points,
            priority=PriorityName(PRIORITY_NAMES[Priority(item.priority)]),
            labels=list(item.labels),
            status_id=item.status_id,
            sprint_id=item.sprint_id,
            parent_id=item.parent_id,
            has_children=has_children,
        )
    return existing


async def _wip(session: AsyncSession, access: ProjectAccess) -> dict[int, tuple[int, int]]:
    """The enforced WIP limits and how many items each status holds now."""
    if not access.project.enforce_wip_limits:
        return {}
    statuses = await workflow_repository.list_statuses(session, access.project_id)
    return {
        status.id: (
            status.wip_limit,
            await items_repository.count_in_status(session, access.project_id, status.id),
        )
        for status in statuses
        if status.id is not None and status.wip_limit is not None
    }


def _row_error(error: DomainError, entries: Sequence[Entry]) -> DomainError:
    """An error of the item service about batch entry N, told as the row it came from."""
    if not isinstance(error, InvalidInput | Conflict) or not error.errors:
        return error
    translated = []
    line: int | None = None
    for item_error in error.errors:
        parts = item_error.field.split(".")
        if len(parts) >= 3 and parts[:2] == ["body", "items"] and parts[2].isdigit():
            line = entries[int(parts[2])].row.line
            translated.append(
                FieldError(
                    field=f"body.line.{line}",
                    message=f"row {line}: {item_error.message}",
                    type=item_error.type,
                )
            )
        else:
            translated.append(item_error)
    detail = f"row {line}: {error.detail}" if line is not None else error.detail
    return type(error)(f"{detail} Nothing was imported.", errors=translated)


async def _write(
    session: AsyncSession,
    access: ProjectAccess,
    entries: list[Entry],
    sprint_numbers: dict[str, int],
    epic_numbers: dict[int, int],
) -> dict[int, tuple[int, int, int]]:
    """Write entries through the batch upsert; returns row line -> (item id, number, version)."""
    written: dict[int, tuple[int, int, int]] = {}
    for start in range(0, len(entries), BATCH_SIZE):
        chunk = entries[start : start + BATCH_SIZE]
        batch = []
        for entry in chunk:
            sprint = parent = None
            if entry.sprint is not None:
                sprint = entry.sprint.number or sprint_numbers[normal_name(entry.sprint.name)]
            if entry.parent is not None:
                parent = entry.parent.number
                if parent is None:
                    assert entry.parent.line is not None
                    parent = epic_numbers[entry.parent.line]
            batch.append(entry.item_create(sprint, parent))
        try:
            view = await items.batch(
                session, access, ItemBatch(items=batch, upsert=BatchUpsert.EXTERNAL_ID)
            )
        except DomainError as error:
            raise _row_error(error, chunk) from error
        for entry, item in zip(chunk, view.data, strict=True):
            assert item.item.id is not None
            written[entry.row.line] = (item.item.id, item.number, item.version)
    return written


def _refusal(problems: list[Problem]) -> InvalidInput:
    """The 422 of a strict import whose file has rows it would leave out."""
    errors = [
        FieldError(field=f"body.line.{problem.line}", message=problem.detail, type=problem.code)
        for problem in problems
    ]
    count = len({problem.line for problem in problems})
    return InvalidInput(
        f"{count} {'row' if count == 1 else 'rows'} cannot be imported (first: "
        f"{problems[0].detail}); nothing was imported.",
        errors=errors,
    )


async def import_csv(
    session: AsyncSession, access: ProjectAccess, data: bytes, options: ImportOptions
) -> ImportReport:
    """Make or update backlog items from a Jira CSV export; a dry run only reports."""
    table = parser.parse(parser.decode(data))
    if not options.dry_run:
        # Before anything is read: the plan must still hold when it is written.
        await projects_repository.lock_project(session, access.project_id)
    project = access.project
    statuses = await workflow_repository.list_statuses(session, access.project_id)
    context = Context(
        scale=project.estimation_scale,
        statuses=[StatusOption(s.id, s.name, s.category) for s in statuses if s.id is not None],
        time_zone=ZoneInfo(project.time_zone),
        now=clock.now(),
    )
    columns = Columns.of(table.header)
    rows = map_rows(table.header, table.rows, context)
    keys = {row.key for row in rows if row.key} | {v for row in rows for _, v in row.parents}
    retyped = {row.key for row in rows if row.type is not None and row.type != ItemType.EPIC}
    state = ProjectState(
        context=context,
        existing=await _existing(session, access.project_id, sorted(keys), retyped),
        sprints=await _sprint_options(session, access.project_id),
        wip=await _wip(session, access),
        create_sprints=options.create_sprints,
    )
    plan = plan_import(columns, rows, state)
    errors = [p for p in plan.problems if p.severity == Severity.ERROR]
    if options.strict and errors:
        raise _refusal(errors)
    written: dict[int, tuple[int, int, int]] = {}
    sprint_numbers: dict[str, int] = {}
    if not options.dry_run:
        for name in plan.new_sprints:
            sprint = await sprints.create_sprint(session, access, SprintCreate(name=name))
            sprint_numbers[normal_name(name)] = sprint.number
        written = await _write(session, access, plan.epics, sprint_numbers, {})
        epic_numbers = {line: number for line, (_, number, _) in written.items()}
        written |= await _write(session, access, plan.others, sprint_numbers, epic_numbers)
        await items_repository.backdate_created(
            session, access.project_id, _created_times(plan, written)
        )
    return _report(plan, columns, options, written, sprint_numbers)


def _created_times(plan: Plan, written: dict[int, tuple[int, int, int]]) -> dict[int, datetime]:
    """The Jira created time of each new item that has one, by item id."""
    return {
        written[entry.row.line][0]: entry.row.created
        for entry in [*plan.epics, *plan.others]
        if entry.existing is None and entry.row.created is not None
    }


def _report(
    plan: Plan,
    columns: Columns,
    options: ImportOptions,
    written: dict[int, tuple[int, int, int]],
    sprint_numbers: dict[str, int],
) -> ImportReport:
    entries = {entry.row.line: entry for entry in [*plan.epics, *plan.others]}
    results = []
    for row in plan.rows:
        outcome = plan.outcomes[row.line]
        number: int | None = None
        entry = entries.get(row.line)
        if entry is not None and entry.existing is not None:
            number = entry.existing.number
            if row.line in written and written[row.line][2] == entry.existing.version:
                outcome = Outcome.UNCHANGED  # every field it sent was as it is already
        elif row.line in written:
            number = written[row.line][1]
        else:
            number = plan.numbers.get(row.line)
        results.append(RowResult(row.line, row.key or None, outcome, number))
    sprint_rows: dict[str, SprintUse] = {}
    for entry in entries.values():
        if entry.sprint is None:
            continue
        name = normal_name(entry.sprint.name)
        use = sprint_rows.get(name)
        number = entry.sprint.number or sprint_numbers.get(name)
        created = entry.sprint.number is None
        sprint_rows[name] = SprintUse(
            entry.sprint.name, number, created, (use.rows if use else 0) + 1
        )
    count = {outcome: sum(r.outcome == outcome for r in results) for outcome in Outcome}
    return ImportReport(
        dry_run=options.dry_run,
        rows=len(plan.rows),
        created=count[Outcome.CREATED],
        updated=count[Outcome.UPDATED],
        unchanged=count[Outcome.UNCHANGED],
        skipped=count[Outcome.SKIPPED],
        items=results,
        problems=plan.problems,
        unmapped_columns=columns.unmapped,
        statuses=plan.statuses,
        sprints=list(sprint_rows.values()),
    )
