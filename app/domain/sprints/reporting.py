"""Loading a sprint's slice of the event log, for its scope ledger and its report."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.metrics.report import (
    ItemAtClose,
    ItemFacts,
    ReportLine,
    SprintReportData,
    sprint_report,
)
from app.domain.metrics.scope import LoggedChange, ScopeChange, points_at_start, scope_ledger
from app.domain.sprints import repository
from app.domain.sprints.models import Sprint, SprintState
from app.domain.sprints.schemas import (
    ReEstimates,
    ReportBody,
    ReportLinePublic,
    ReportSection,
    ScopeChangeTotals,
    Tally,
)
from app.domain.workflow.models import StatusCategory
from app.errors import Conflict


@dataclass(frozen=True)
class SprintHistory:
    """What happened to a started sprint's items, from the start to close (or now)."""

    committed: dict[int, float | None]
    start_points: dict[int, float | None]
    changes: list[LoggedChange]
    facts: dict[int, ItemFacts]
    current: list[Row[Any]]


def _sprint_changes(
    rows: Sequence[Any], sprint: Sprint, committed: set[int]
) -> tuple[set[int], list[LoggedChange]]:
    """The items that were ever in the sprint after its start, and their changes in the window.

    Creation into the sprint reads as joining it; sprint numbers and status ids are integers.
    """
    number, close = sprint.number, sprint.close_event_id
    involved = set(committed)
    for row in rows:
        if row.kind == "created":
            if row.created_sprint == number:
                involved.add(row.item_id)
        elif row.field == "sprint" and number in (row.old_number, row.new_number):
            involved.add(row.item_id)
    changes = []
    for (
        event_id,
        occurred_at,
        actor_id,
        item_id,
        item_number,
        kind,
        field,
        old_value,
        new_value,
        created_sprint,
        *_,
    ) in rows:
        if item_id not in involved or (close is not None and event_id > close):
            continue
        if kind == "created":
            if created_sprint != number:
                continue
            field, old_value, new_value = "sprint", None, number
        elif field != "points":
            old_value = None if old_value is None else int(old_value)
            new_value = None if new_value is None else int(new_value)
        changes.append(
            LoggedChange(
                event_id,
                occurred_at,
                actor_id,
                item_id,
                item_number,
                field,
                old_value,
                new_value,
            )
        )
    return involved, changes


async def load_history(session: AsyncSession, project_id: int, sprint: Sprint) -> SprintHistory:
    """The commitment, the logged changes in the sprint's window and the items' estimates."""
    assert sprint.id is not None and sprint.start_event_id is not None
    commitment = await repository.commitment(session, sprint.id)
    rows = await repository.sprint_log(session, project_id, sprint.start_event_id)
    involved, changes = _sprint_changes(rows, sprint, {entry.item_id for entry in commitment})
    close = sprint.close_event_id
    current = await repository.current_items(session, project_id, sorted(involved))
    points: dict[int, float | None] = {row.id: row.points for row in current}
    facts = {row.id: ItemFacts(row.number, row.title, row.type) for row in current}
    for row in rows:
        if row.kind == "deleted" and row.item_id in involved:
            points.setdefault(row.item_id, row.deleted_points)
            facts.setdefault(
                row.item_id, ItemFacts(row.item_number, row.deleted_title, row.deleted_type)
            )
    # Estimates changed after the close are undone first, to get each estimate at the close.
    for row in reversed(rows):
        late = close is not None and row.id > close
        if late and row.field == "points" and row.item_id in involved:
            points[row.item_id] = row.old_number
    for entry in commitment:
        facts.setdefault(entry.item_id, ItemFacts(entry.item_number, None, None))
    return SprintHistory(
        committed={entry.item_id: entry.points for entry in commitment},
        start_points=points_at_start(points, changes),
        changes=changes,
        facts=facts,
        current=current,
    )


async def scope_changes(
    session: AsyncSession, project_id: int, sprint: Sprint
) -> list[ScopeChange]:
    """Every change to a started sprint's scope: added, removed, re-estimated."""
    if sprint.start_event_id is None:
        return []
    history = await load_history(session, project_id, sprint)
    return scope_ledger(
        sprint.number, set(history.committed), history.start_points, history.changes
    )


async def compute_report(
    session: AsyncSession, project_id: int, sprint: Sprint, carried_to: int | str | None = None
) -> ReportBody:
    """The report of a started sprint as things stand: live items, or frozen outcomes.

    `carried_to` says where unfinished items are about to go, when the sprint is closing.
    """
    if sprint.start_event_id is None or sprint.id is None:
        raise Conflict(f"Sprint {sprint.number} has not started; its report begins at the start.")
    if sprint.state == SprintState.CANCELLED.value:
        raise Conflict(f"Sprint {sprint.number} was cancelled; it has no report.")
    history = await load_history(session, project_id, sprint)
    statuses = await repository.statuses(session, project_id)
    names = {status.id: status.name for status in statuses if status.id is not None}
    done = {
        status.id
        for status in statuses
        if status.id is not None and status.category == StatusCategory.DONE.value
    }
    at_close: dict[int, ItemAtClose] = {}
    if sprint.state == SprintState.COMPLETED.value:
        # Only for sprints completed before reports were kept: rebuilt from frozen outcomes.
        for outcome in await repository.outcomes(session, sprint.id):
            at_close[outcome.item_id] = ItemAtClose(
                item_id=outcome.item_id,
                points=outcome.points,
                status=names.get(outcome.status_id),
                done=outcome.done,
                carried_to=None if outcome.done else (outcome.carried_to or "backlog"),
            )
    else:
        for row in history.current:
            if row.sprint_id == sprint.id:
                at_close[row.id] = ItemAtClose(
                    item_id=row.id,
                    points=row.points,
                    status=names.get(row.status_id),
                    done=row.status_id in done,
                )
    data = sprint_report(
        sprint.number,
        history.committed,
        history.start_points,
        history.changes,
        at_close,
        history.facts,
        done,
    )
    return report_body(data, carried_to)


def report_body(data: SprintReportData, carried_to: int | str | None = None) -> ReportBody:
    """The public shape of a report; `carried_to` fills in where unfinished items went."""

    def section(lines: list[ReportLine], carried: bool = False) -> ReportSection:
        items = [
            ReportLinePublic(
                number=line.number,
                title=line.title,
                type=line.type,
                added_after_start=line.added_after_start,
                points_at_start=line.points_at_start,
                points_at_close=line.points_at_close,
                status=line.status,
                carried_to=carried_to if carried and carried_to is not None else line.carried_to,
                deleted=line.deleted,
            )
            for line in lines
        ]
        return ReportSection(
            count=len(items), points=sum(i.points_at_close or 0.0 for i in items), items=items
        )

    movement = data.movement
    return ReportBody(
        committed=_tally(data.committed.items, data.committed.points),
        scope_change=ScopeChangeTotals(
            added=_tally(movement.added.items, movement.added.points),
            removed=_tally(movement.removed.items, movement.removed.points),
            re_estimated=ReEstimates(
                count=movement.re_estimates, points=round(movement.re_estimated, 6)
            ),
        ),
        scope=_tally(data.scope.items, data.scope.points),
        completed=section(data.completed.lines),
        not_completed=section(data.not_completed.lines, carried=True),
        completed_outside=section(data.completed_outside.lines),
        removed=section(data.removed.lines),
        say_do=data.say_do,
    )


def _tally(count: int, points: float) -> Tally:
    return Tally(count=count, points=round(points, 6))


def frozen_report(stored: Mapping[str, Any]) -> ReportBody:
    """A report kept at completion, as it was."""
    return ReportBody.model_validate(stored)
