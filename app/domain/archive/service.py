"""Exporting a project as one archive, and importing an archive as a new project.

Export streams the project table by table from one read-only snapshot. Import reads the whole
archive first (every value as its column can hold it, every reference resolved), gives every
row a new id in the order the old ones had, rewrites every reference through those ids, then
writes each table with one set-based insert: one transaction, so a bad archive writes nothing.
"""

import json
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.domain.archive import repository
from app.domain.archive.codecs import BadValue, encode
from app.domain.archive.format import (
    ANONYMISED,
    FORMAT,
    NUMBER_SERIES,
    RESEQUENCED,
    SUPPORTED_VERSIONS,
    VERSION,
    ArchiveFormat,
    ColumnSpec,
    TableSpec,
    archive_format,
)
from app.domain.archive.rules import CHECKS, USERS
from app.domain.archive.schemas import ArchiveUser, ProjectArchive
from app.domain.events import repository as events_repository
from app.domain.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from app.domain.kernel.inputs import ID_MAX, ID_MIN
from app.domain.projects import repository as projects_repository
from app.domain.projects.models import ProjectMember, Role
from app.domain.projects.schemas import KEY_PATTERN, ProjectCreate
from app.domain.projects.service import MAX_OWNED_PROJECTS, ProjectView
from app.domain.users import repository as users_repository
from app.domain.users.models import User

# Field errors reported at most per import; the first ones are enough to mend an archive.
MAX_ERRORS = 20
_KEY = re.compile(KEY_PATTERN)
_MEMBERS = "project_members"
_KEY_CONSTRAINT = "uq_projects_key"


def _dumps(value: Any) -> bytes:
    return json.dumps(value, default=encode, ensure_ascii=False, separators=(",", ":")).encode()


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and ID_MIN <= value <= ID_MAX


def _is_nothing(value: Any) -> bool:
    """0, which soft references (and kept documents) use for "none"."""
    return isinstance(value, int) and not isinstance(value, bool) and value == 0


# --- export ----------------------------------------------------------------------------------


class _Noting:
    """A Remap that changes nothing and notes the people and ids it is shown.

    `strict` (import): an id that is no id is a BadValue; export notes what it finds.
    """

    def __init__(self, *, strict: bool) -> None:
        self.strict = strict
        self.users: set[int] = set()
        self.ids: defaultdict[str, set[int]] = defaultdict(set)

    def _bad(self, message: str, code: str) -> None:
        if self.strict:
            raise BadValue(message, code)

    def user(self, value: Any, *, required: bool = False) -> Any:
        # 0 names nobody: what an import wrote for a person it found no account for.
        if value is None or _is_nothing(value):
            return value
        if _is_id(value):
            self.users.add(value)
        else:
            self._bad("Expected a person's ref (an integer) or null.", "int_type")
        return value

    def ref(self, table: str, value: Any) -> Any:
        if value is None or _is_nothing(value):
            return value
        if _is_id(value):
            self.ids[table].add(value)
        else:
            self._bad(f"Expected an id of {table} (a positive integer) or null.", "int_type")
        return value

    def key(self, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            self._bad("Expected an item key such as `WEB-42`.", "string_type")
        return value

    def keys_in(self, value: Any) -> Any:
        if value is not None and not isinstance(value, str):
            self._bad("Expected a text.", "string_type")
        return value


def _note(table: TableSpec, rows: Iterable[dict[str, Any]], noting: _Noting) -> None:
    """Note the people a table's rows name (export)."""
    users = [spec.name for spec in table.columns if spec.target == USERS]
    rules = [spec for spec in table.columns if spec.rule is not None]
    for row in rows:
        for name in users:
            noting.user(row[name])
        for spec in rules:
            assert spec.rule is not None
            spec.rule(row[spec.name], row, noting)


async def export_archive(
    sessions: async_sessionmaker[AsyncSession], project_id: int, exported_at: datetime
) -> AsyncIterator[bytes]:
    """The project's archive as parts of one JSON document, read from one snapshot.

    The first part is the head (format, version, project): getting it raises NotFound when
    the project is gone. Then each table, a batch of rows at a time, and the people last.
    """
    spec = archive_format()
    async with sessions() as session, session.begin():
        await repository.read_snapshot(session)
        found = await repository.project_row(session, spec.project, project_id)
        if found is None:
            raise NotFound("The project was deleted before its export began.")
        project = dict(found._mapping)
        people = _Noting(strict=False)
        _note(spec.project, [project], people)
        head = {"format": FORMAT, "version": VERSION, "exported_at": exported_at}
        yield _dumps({**head, "project": project})[:-1] + b',"tables":{'
        anonymous: set[int] = set()
        for index, table in enumerate(spec.tables):
            yield (b"," if index else b"") + _dumps(table.name) + b":["
            first = True
            async for batch in repository.table_rows(session, table, project_id):
                rows = [dict(row._mapping) for row in batch]
                _anonymise(table, rows, anonymous)
                _note(table, rows, people)
                yield (b"" if first else b",") + _dumps(rows)[1:-1]
                first = False
            yield b"]"
        users = await repository.users_by_ids(session, sorted(people.users))
        listed = [
            {"ref": row.id, "email": row.email, "display_name": row.display_name} for row in users
        ]
        yield b'},"users":' + _dumps(listed) + b"}"


def _anonymise(table: TableSpec, rows: list[dict[str, Any]], anonymous: set[int]) -> None:
    """Forget who wrote the cards of anonymous retros (retros stream before their cards)."""
    name, author, retro = ANONYMISED
    if table.name == "retros":
        anonymous.update(row["id"] for row in rows if row["anonymous"])
    elif table.name == name:
        for row in rows:
            if row[retro] in anonymous:
                row[author] = None


# --- import: reading -------------------------------------------------------------------------


class _Errors:
    """Field errors found while reading an archive (the first MAX_ERRORS)."""

    def __init__(self) -> None:
        self.found: list[FieldError] = []

    def add(self, where: str, message: str, code: str) -> None:
        # One error per field: the first is the one to mend.
        if len(self.found) < MAX_ERRORS and all(error.field != where for error in self.found):
            self.found.append(FieldError(field=where, message=message, type=code))

    def check(self) -> None:
        """Raise the errors found, if any."""
        if self.found:
            first = self.found[0]
            more = f" (and {len(self.found) - 1} more)" if len(self.found) > 1 else ""
            raise InvalidInput(
                f"Not a valid {FORMAT} archive: {first.field}: {first.message}{more}",
                errors=list(self.found),
            )


def _invalid(where: str, message: str, code: str = "invalid") -> InvalidInput:
    return InvalidInput(
        f"Not a valid {FORMAT} archive: {where}: {message}",
        errors=[FieldError(field=where, message=message, type=code)],
    )


@dataclass
class _Row:
    """A row of the archive: where it was, and its values as its columns hold them."""

    index: int
    values: dict[str, Any]


@dataclass
class _Archive:
    """An archive read and checked, not yet resolved against this instance."""

    key: str
    project: dict[str, Any]
    users: dict[int, ArchiveUser]
    rows: dict[str, list[_Row]]


def _read_row(
    table: TableSpec, where: str, raw: Any, errors: _Errors, *, required: Iterable[ColumnSpec]
) -> dict[str, Any] | None:
    """A row's values decoded, or None (with errors noted)."""
    if not isinstance(raw, dict):
        errors.add(where, "Expected an object (a row).", "dict_type")
        return None
    values: dict[str, Any] = {}
    ok = True
    for name in raw.keys() - table.by_name.keys():
        errors.add(f"{where}.{name}", f"{table.name} has no column {name} to import.", "unknown")
        ok = False
    for spec in required:
        if spec.name not in raw:
            errors.add(f"{where}.{spec.name}", "Missing: every row has every column.", "missing")
            ok = False
            continue
        value = raw[spec.name]
        if value is None:
            if not spec.nullable:
                errors.add(f"{where}.{spec.name}", "May not be null.", "null")
                ok = False
            values[spec.name] = None
            continue
        try:
            values[spec.name] = spec.decode(value)
        except BadValue as exc:
            errors.add(f"{where}.{spec.name}", exc.message, exc.code)
            ok = False
    if ok and (check := CHECKS.get(table.name)) is not None and (bad := check(values)):
        column, problem = bad
        errors.add(f"{where}.{column}", problem.message, problem.code)
        ok = False
    return values if ok else None


def _read_project(
    spec: ArchiveFormat, raw: dict[str, Any], errors: _Errors
) -> tuple[str, dict[str, Any]]:
    key = raw.get("key")
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        errors.add("body.project.key", "Expected the key the project had, e.g. `WEB`.", "key")
        key = ""
    columns = [column for column in spec.project.columns if column.name != "key"]
    values = _read_row(spec.project, "body.project", raw, errors, required=columns) or {}
    # The settings as a new project takes them (a known time zone, real working days...).
    settings = {name: raw[name] for name in ProjectCreate.model_fields if name in raw}
    try:
        ProjectCreate.model_validate({**settings, "key": key or "XX"})
    except ValidationError as exc:
        for error in exc.errors():
            path = ".".join(str(part) for part in error["loc"])
            errors.add(f"body.project.{path}", error["msg"], error["type"])
    values.pop("key", None)
    return key, values


def _read_users(listed: list[ArchiveUser], errors: _Errors) -> dict[int, ArchiveUser]:
    users: dict[int, ArchiveUser] = {}
    emails: set[str] = set()
    for index, person in enumerate(listed):
        where = f"body.users.{index}"
        email = person.email.lower()
        if person.ref in users:
            errors.add(f"{where}.ref", f"Ref {person.ref} is listed twice.", "duplicate")
        elif email in emails:
            errors.add(f"{where}.email", f"{email} is listed twice.", "duplicate")
        else:
            users[person.ref] = person.model_copy(update={"email": email})
            emails.add(email)
    return users


def _read_tables(
    spec: ArchiveFormat, raw: dict[str, list[dict[str, Any]]], errors: _Errors
) -> dict[str, list[_Row]]:
    for name in raw.keys() - spec.by_name.keys():
        errors.add(f"body.tables.{name}", f"No table {name} is part of the archive.", "unknown")
    rows: dict[str, list[_Row]] = {}
    for table in spec.tables:
        where = f"body.tables.{table.name}"
        entries = raw.get(table.name)
        if entries is None:
            errors.add(where, "Missing: an archive has every table, if only empty.", "missing")
            continue
        read: list[_Row] = []
        seen: set[int] = set()
        for index, entry in enumerate(entries):
            values = _read_row(table, f"{where}.{index}", entry, errors, required=table.columns)
            if values is None:
                continue
            if table.identity:
                if values["id"] in seen:
                    errors.add(f"{where}.{index}.id", "Another row has this id.", "duplicate")
                    continue
                seen.add(values["id"])
            read.append(_Row(index, values))
        rows[table.name] = read
    return rows


def _check_numbers(project: dict[str, Any], rows: dict[str, list[_Row]], errors: _Errors) -> None:
    """Each counter is at least the largest number its table uses."""
    for counter, table in NUMBER_SERIES.items():
        if counter not in project or table not in rows:
            continue
        used = max((row.values["number"] for row in rows[table]), default=0)
        if project[counter] is not None and project[counter] < used:
            errors.add(
                f"body.project.{counter}",
                f"Below the largest number in {table} ({used}).",
                "counter",
            )


def read_archive(spec: ArchiveFormat, archive: ProjectArchive) -> _Archive:
    """An archive checked value by value against the format (raises InvalidInput)."""
    if archive.version not in SUPPORTED_VERSIONS:
        supported = ", ".join(str(number) for number in sorted(SUPPORTED_VERSIONS))
        raise _invalid("body.version", f"This server reads version {supported}.", "version")
    errors = _Errors()
    key, project = _read_project(spec, archive.project, errors)
    users = _read_users(archive.users, errors)
    rows = _read_tables(spec, archive.tables, errors)
    _check_numbers(project, rows, errors)
    errors.check()
    return _Archive(key=key, project=project, users=users, rows=rows)


# --- import: resolving -----------------------------------------------------------------------


@dataclass
class _Plan:
    """The rows to write (those whose people have accounts), and what each row's ids become."""

    kept: dict[str, list[_Row]] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
    ids: dict[str, dict[int, int]] = field(default_factory=dict)


def _resolve(
    spec: ArchiveFormat, archive: _Archive, people: Mapping[int, int | None], errors: _Errors
) -> _Plan:
    """Which rows are kept: every foreign key names a row of the archive (or a person of its
    `users`); a row needing a person with no account here is dropped, and so is what needs it."""
    plan = _Plan()
    kept_ids: dict[str, set[int]] = {}
    dropped_ids: dict[str, set[int]] = defaultdict(set)
    for table in spec.tables:
        where = f"body.tables.{table.name}"
        rows = archive.rows.get(table.name, [])
        own = {row.values["id"] for row in rows} if table.identity else set()
        kept: list[_Row] = []
        for row in rows:
            if _needed_is_gone(table, row, where, archive, people, kept_ids, dropped_ids, errors):
                if table.identity:
                    dropped_ids[table.name].add(row.values["id"])
            else:
                kept.append(row)
        kept = _resolve_own(table, kept, own, where, errors, dropped_ids[table.name])
        plan.kept[table.name] = kept
        plan.dropped[table.name] = len(rows) - len(kept)
        kept_ids[table.name] = {row.values["id"] for row in kept} if table.identity else set()
    return plan


def _resolve_own(
    table: TableSpec,
    kept: list[_Row],
    own: set[int],
    where: str,
    errors: _Errors,
    dropped: set[int],
) -> list[_Row]:
    """References within the table: each names a row of it; one naming a dropped row is
    cleared (nullable) or drops its row too, until nothing changes."""
    names = table.self_references
    changed = bool(names)
    while changed:
        changed = False
        present = {row.values["id"] for row in kept}
        for row in list(kept):
            for name in names:
                value = row.values[name]
                if value is None or value in present:
                    continue
                if value not in own:
                    errors.add(
                        f"{where}.{row.index}.{name}",
                        f"Names no row of {table.name} in the archive.",
                        "dangling",
                    )
                    row.values[name] = None
                elif table.by_name[name].nullable:
                    row.values[name] = None
                else:
                    kept.remove(row)
                    dropped.add(row.values["id"])
                    changed = True
                    break
    return kept


def _needed_is_gone(
    table: TableSpec,
    row: _Row,
    where: str,
    archive: _Archive,
    people: Mapping[int, int | None],
    kept_ids: Mapping[str, set[int]],
    dropped_ids: Mapping[str, set[int]],
    errors: _Errors,
) -> bool:
    """Whether the row must go because what it cannot be without is not imported; references
    to nothing at all are errors, and nullable ones to what went are cleared."""
    gone = False
    for spec in table.columns:
        value = row.values[spec.name]
        if not spec.hard or value is None or spec.target == table.name:
            continue
        if spec.target == USERS:
            if value not in archive.users:
                errors.add(
                    f"{where}.{row.index}.{spec.name}",
                    f"Names person {value}, who is not in body.users.",
                    "dangling",
                )
            elif people[value] is None:
                gone = gone or not spec.nullable
            continue
        assert spec.target is not None
        if value in kept_ids.get(spec.target, ()):
            continue
        if value in dropped_ids.get(spec.target, ()):
            if spec.nullable:
                row.values[spec.name] = None
            else:
                gone = True
            continue
        errors.add(
            f"{where}.{row.index}.{spec.name}",
            f"Names no row of {spec.target} in the archive.",
            "dangling",
        )
    return gone


def _note_soft(spec: ArchiveFormat, plan: _Plan, errors: _Errors) -> _Noting:
    """The ids that soft references and rules name (they get new ids like rows do)."""
    noting = _Noting(strict=True)
    for table in spec.tables:
        soft = [column for column in table.columns if column.target and not column.hard]
        rules = [column for column in table.columns if column.rule is not None]
        if not soft and not rules:
            continue
        for row in plan.kept[table.name]:
            for column in soft:
                assert column.target is not None
                value = row.values[column.name]
                for entry in value if column.array and value is not None else [value]:
                    noting.ref(column.target, entry)
            for column in rules:
                assert column.rule is not None
                try:
                    column.rule(row.values[column.name], row.values, noting)
                except BadValue as exc:
                    where = f"body.tables.{table.name}.{row.index}.{column.name}"
                    errors.add(where, exc.message, exc.code)
    return noting


async def _allocate(
    session: AsyncSession, spec: ArchiveFormat, plan: _Plan, noted: _Noting
) -> None:
    """New ids for every table's rows and the ids naming its gone rows, in the old order."""
    for table in spec.tables:
        if not table.identity:
            continue
        old = {row.values["id"] for row in plan.kept[table.name]} | noted.ids.get(table.name, set())
        ordered = sorted(old)
        fresh = await repository.allocate_ids(session, table.name, len(ordered))
        plan.ids[table.name] = dict(zip(ordered, fresh, strict=True))


# --- import: writing -------------------------------------------------------------------------


class _Rewriting:
    """A Remap that rewrites ids (every one was allocated) and the project's key."""

    def __init__(
        self,
        people: Mapping[int, int | None],
        ids: Mapping[str, dict[int, int]],
        old_key: str,
        new_key: str,
    ) -> None:
        self.people, self.ids, self.new_key = people, ids, new_key
        self.whole_key = re.compile(rf"{re.escape(old_key)}-([0-9]+)")
        # The project's key as a word: alone (`moved WEB to execution`) or in an item's key.
        self.key_in_text = re.compile(rf"(?<![A-Za-z0-9]){re.escape(old_key)}(?![A-Za-z0-9])")

    def user(self, value: Any, *, required: bool = False) -> Any:
        if value is None:
            return None
        found = self.people.get(value)
        if found is None:
            return 0 if required else None
        return found

    def ref(self, table: str, value: Any) -> Any:
        if value is None or _is_nothing(value):
            return value
        return self.ids[table][value]

    def key(self, value: Any) -> Any:
        if isinstance(value, str) and (matched := self.whole_key.fullmatch(value)):
            return f"{self.new_key}-{matched.group(1)}"
        return value

    def keys_in(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.key_in_text.sub(self.new_key, value)
        return value


def _rewrite(
    table: TableSpec, rows: list[_Row], project_id: int, remap: _Rewriting
) -> list[dict[str, Any]]:
    """The rows as they are written: new ids, the new project, people as accounts here."""
    written = []
    for row in rows:
        values = row.values
        new: dict[str, Any] = {"project_id": project_id}
        for spec in table.columns:
            value = values[spec.name]
            if spec.name == "id" and table.identity:
                value = remap.ids[table.name][value]
            elif spec.target == USERS:
                value = remap.user(value)
            elif spec.target is not None and value is not None:
                target = spec.target
                if spec.array:
                    value = [remap.ref(target, entry) for entry in value]
                else:
                    value = remap.ref(target, value)
            elif spec.rule is not None:
                value = spec.rule(value, values, remap)
            new[spec.name] = value
        written.append(new)
    if table.name == RESEQUENCED[0]:
        # Numbered 1, 2, 3... in the order they had: the log has no gaps.
        written.sort(key=lambda entry: (entry[RESEQUENCED[1]], entry["id"]))
        for seq, entry in enumerate(written, start=1):
            entry[RESEQUENCED[1]] = seq
    return _referenced_first(table, written)


def _referenced_first(table: TableSpec, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows ordered so that a row another row of the table names comes before it (an epic
    before its stories), whatever their ids."""
    names = table.self_references
    if not names:
        return rows
    by_id = {row["id"]: row for row in rows}
    placed: set[int] = set()
    ordered: list[dict[str, Any]] = []

    def place(row: dict[str, Any], path: set[int]) -> None:
        if row["id"] in placed:
            return
        path.add(row["id"])
        for name in names:
            target = row[name]
            if target is not None and target not in placed:
                if target in path:
                    raise _invalid(
                        f"body.tables.{table.name}",
                        f"Its rows name each other in a circle through {name}.",
                        "cycle",
                    )
                place(by_id[target], path)
        placed.add(row["id"])
        ordered.append(row)

    for row in rows:
        place(row, set())
    return ordered


def _constraint(exc: BaseException) -> str | None:
    seen: BaseException | None = exc
    while seen is not None:
        name = getattr(seen, "constraint_name", None)
        if isinstance(name, str):
            return name
        seen = seen.__cause__ or seen.__context__
    return None


async def _write(session: AsyncSession, table: TableSpec, rows: list[dict[str, Any]]) -> None:
    """Insert one table's rows; a rule of the database they break is a 422 naming the table."""
    try:
        await repository.insert_rows(session, table, rows)
    except (IntegrityError, DataError) as exc:
        constraint = _constraint(exc)
        rule = f" ({constraint})" if constraint else ""
        raise _invalid(
            f"body.tables.{table.name}",
            f"Its rows break a rule of the database{rule}.",
            "constraint",
        ) from exc


@dataclass(frozen=True)
class TableCount:
    """What became of one table's rows."""

    imported: int
    dropped: int


@dataclass(frozen=True)
class ImportView:
    """The new project as its importer sees it, and what could not be kept."""

    project: ProjectView
    tables: dict[str, TableCount]
    users_matched: int
    users_not_found: list[ArchiveUser]


async def _check_key(session: AsyncSession, user: User, key: str) -> None:
    """409 when the key is taken or the importer owns as many projects as one may."""
    assert user.id is not None
    if await projects_repository.key_exists(session, key):
        raise _key_taken(key)
    # The importer's row lock queues their concurrent creations (as creating a project does).
    await users_repository.get_user(session, user.id, for_update=True)
    owned = await projects_repository.count_owned(session, user.id)
    if owned >= MAX_OWNED_PROJECTS:
        raise Conflict(
            f"You own {owned} projects and an account may own at most {MAX_OWNED_PROJECTS}; "
            "delete one or hand it to another owner first."
        )


def _key_taken(key: str) -> Conflict:
    detail = f"A project with key {key!r} already exists; import under another key."
    return Conflict(detail, errors=[FieldError(field="query.key", message=detail, type="taken")])


async def import_archive(session: AsyncSession, user: User, key: str, document: Any) -> ImportView:
    """Restore an archive as a new project `key` owned by `user`: 409 when the key is taken,
    422 naming the first problems of an archive that is not valid (nothing is written)."""
    assert user.id is not None
    await _check_key(session, user, key)
    spec = archive_format()
    archive = read_archive(spec, document)
    found = await repository.user_ids_by_email(
        session, [person.email for person in archive.users.values()]
    )
    people = {ref: found.get(person.email) for ref, person in archive.users.items()}
    errors = _Errors()
    plan = _resolve(spec, archive, people, errors)
    noted = _note_soft(spec, plan, errors)
    errors.check()
    await _allocate(session, spec, plan, noted)
    remap = _Rewriting(people, plan.ids, archive.key or key, key)

    project = {**archive.project, "key": key}
    if project.get("created_by") is not None:
        project["created_by"] = remap.user(project["created_by"])
    try:
        async with session.begin_nested():
            project_id = await repository.insert_project(session, project)
    except (IntegrityError, DataError) as exc:
        if _constraint(exc) == _KEY_CONSTRAINT:
            raise _key_taken(key) from exc  # taken meanwhile, by a concurrent request
        raise _invalid("body.project", "Breaks a rule of the database.", "constraint") from exc

    counts: dict[str, TableCount] = {}
    owner_listed = False
    for table in spec.tables:
        rows = _rewrite(table, plan.kept[table.name], project_id, remap)
        if table.name == _MEMBERS:
            for row in rows:
                if row["user_id"] == user.id:
                    row["role"], owner_listed = Role.OWNER.value, True
        await _write(session, table, rows)
        counts[table.name] = TableCount(len(rows), plan.dropped[table.name])
    if not owner_listed:
        await projects_repository.add(
            session, ProjectMember(project_id=project_id, user_id=user.id, role=Role.OWNER)
        )
    events = counts.get(RESEQUENCED[0])
    if events is not None and events.imported:
        # The counter the next event takes its number from (it starts from the last one).
        await events_repository.take_seqs(session, project_id, events.imported)

    created = await projects_repository.project_with_role(session, key, user.id)
    assert created is not None
    return ImportView(
        project=ProjectView(created[0], created[1]),
        tables=counts,
        users_matched=sum(1 for account in people.values() if account is not None),
        users_not_found=[
            archive.users[ref] for ref, account in sorted(people.items()) if account is None
        ],
    )
