"""The sprint report and scope ledger: a sprint's slice of the event log, replayed.

The report is live while the sprint is active; at completion `freeze` keeps it verbatim on the
sprint, and from then on it is read back as kept, so a closed sprint's numbers never move.
Burn charts read the same slice through `load_history`.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository as items_repository
from app.domain.kernel.errors import Conflict
from app.domain.kernel.views import RowView
from app.domain.metrics.report import (
    ItemAtClose,
    ItemFacts,
    Section,
    SprintReportData,
    sprint_report,
)
from app.domain.metrics.scope import LoggedChange, ScopeChange, points_at_start, scope_ledger
from app.domain.projects.access import ProjectAccess
from app.domain.risks import repository as risks_repository
from app.domain.risks.models import Risk
from app.domain.sprints.lookup import sprint_by_number
from app.domain.sprints.models import Sprint, SprintState
from app.domain.sprints.report import repository
from app.domain.sprints.report.repository import (
    LOG_CREATED_SPRINT,
    LOG_DELETED_POINTS,
    LOG_DELETED_STATUS,
    LOG_DELETED_TITLE,
    LOG_DELETED_TYPE,
    LOG_FIELD,
    LOG_ID,
    LOG_ITEM_ID,
    LOG_ITEM_NUMBER,
    LOG_KIND,
    LOG_NEW,
    LOG_OLD,
)
from app.domain.sprints.report.schemas import ReportBody
from app.domain.workflow import repository as workflow_repository


@dataclass(frozen=True)
class SprintHistory:
    """What happened to a started sprint's items, from the start to close (or now)."""

    committed: dict[int, float | None]
    start_points: dict[int, float | None]
    changes: list[LoggedChange]
    facts: dict[int, ItemFacts]
    current: list[Row[Any]]
    # Each involved item's status at the start; only when every status change was read.
    start_status: dict[int, int | None]


def _sprint_changes(
    rows: Sequence[Any], sprint: Sprint, committed: set[int]
) -> tuple[set[int], list[LoggedChange]]:
    """The items that were ever in the sprint after its start, and their changes in the window.

    Creation into the sprint reads as joining it; sprint numbers and status ids are integers.
    Rows are read by position (see `repository.sprint_log`): thousands are read per report.
    """
    number, close = sprint.number, sprint.close_event_id
    involved = set(committed)
    for row in rows:
        if (row[LOG_KIND] == "created" and row[LOG_CREATED_SPRINT] == number) or (
            row[LOG_FIELD] == "sprint" and (row[LOG_OLD] == number or row[LOG_NEW] == number)
        ):
            involved.add(row[LOG_ITEM_ID])
    changes = []
    for row in rows:
        event_id, occurred_at, actor_id, item_id, item_number, kind, field, old, new = row[:9]
        if item_id not in involved or (close is not None and event_id > close):
            continue
        if kind == "created":
            if row[LOG_CREATED_SPRINT] != number:
                continue
            field, old, new = "sprint", None, number
        elif field != "points":
            old = None if old is None else int(old)
            new = None if new is None else int(new)
        changes.append(
            LoggedChange(event_id, occurred_at, actor_id, item_id, item_number, field, old, new)
        )
    return involved, changes


async def load_history(
    session: AsyncSession,
    project_id: int,
    sprint: Sprint,
    done_statuses: Collection[int] | None = (),
    *,
    with_times: bool = True,
) -> SprintHistory:
    """The commitment, the logged changes in the sprint's window and the items' estimates.

    Status changes are included only where an item moved into one of `done_statuses`, or all
    of them (and each item's status at start) when `done_statuses` is None.
    """
    assert sprint.id is not None and sprint.start_event_id is not None
    commitment = await repository.commitment_points(session, project_id, sprint.id)
    rows = await repository.sprint_log(
        session, project_id, sprint.start_event_id, done_statuses, with_times=with_times
    )
    involved, changes = _sprint_changes(rows, sprint, set(commitment))
    close = sprint.close_event_id
    current = await items_repository.current_items(session, project_id, sorted(involved))
    points: dict[int, float | None] = {row.id: row.points for row in current}
    facts = {row.id: ItemFacts(row.number, row.title, row.type) for row in current}
    for row in rows:
        if row[LOG_KIND] == "deleted" and row[LOG_ITEM_ID] in involved:
            item_id = row[LOG_ITEM_ID]
            points.setdefault(item_id, row[LOG_DELETED_POINTS])
            facts.setdefault(
                item_id,
                ItemFacts(
                    row[LOG_ITEM_NUMBER],
                    row[LOG_DELETED_TITLE],
                    row[LOG_DELETED_TYPE],
                ),
            )
    if close is not None:
        # Estimates changed after the close are undone first, to get each estimate then.
        for row in reversed(rows):
            late = row[LOG_ID] > close and row[LOG_FIELD] == "points"
            if late and row[LOG_ITEM_ID] in involved:
                points[row[LOG_ITEM_ID]] = row[LOG_OLD]
    for item_id, (item_number, _) in commitment.items():
        facts.setdefault(item_id, ItemFacts(item_number, None, None))
    start_status: dict[int, int | None] = {}
    if done_statuses is None:
        start_status = {row.id: row.status_id for row in current}
        for row in rows:
            if row[LOG_KIND] == "deleted" and row[LOG_DELETED_STATUS] is not None:
                start_status.setdefault(row[LOG_ITEM_ID], int(row[LOG_DELETED_STATUS]))
        for row in reversed(rows):
            if row[LOG_FIELD] == "status" and row[LOG_ITEM_ID] in involved:
                old = row[LOG_OLD]
                start_status[row[LOG_ITEM_ID]] = None if old is None else int(old)
    return SprintHistory(
        committed={item_id: value for item_id, (_, value) in commitment.items()},
        start_points=points_at_start(points, changes),
        changes=changes,
        facts=facts,
        current=current,
        start_status=start_status,
    )


@dataclass(frozen=True)
class ReportView(RowView):
    """A report as computed, for `ReportBody`; `carried_to` names where unfinished items go."""

    ROW = "data"

    data: SprintReportData
    carried_to: int | str | None = None

    @property
    def not_completed(self) -> Section:
        """The unfinished items, each naming where it goes when the sprint is closing."""
        section = self.data.not_completed
        if self.carried_to is None:
            return section
        return Section([replace(line, carried_to=self.carried_to) for line in section.lines])


@dataclass(frozen=True)
class SprintReportView(RowView):
    """A sprint and its report (as kept, or as computed now): what `SprintReport` shows."""

    ROW = "sprint"
    # The report's sections and totals; the sprint has none of their names.
    ALSO = ("body",)

    sprint: Sprint
    body: ReportBody | ReportView
    # Live: the open risks linked to the sprint now, never kept with the frozen numbers.
    open_risks: list[Risk]

    @property
    def frozen(self) -> bool:
        """Whether the report is the one kept at completion."""
        return self.sprint.report is not None


async def scope_changes(
    session: AsyncSession, access: ProjectAccess, number: int
) -> list[ScopeChange]:
    """Every change to a sprint's scope after it started: added, removed, re-estimated."""
    sprint = await sprint_by_number(session, access, number)
    if sprint.start_event_id is None:
        return []
    history = await load_history(session, access.project_id, sprint)
    return scope_ledger(
        sprint.number, set(history.committed), history.start_points, history.changes
    )


async def report(session: AsyncSession, access: ProjectAccess, number: int) -> SprintReportView:
    """A sprint's report: live while it is active, as kept at completion afterwards."""
    sprint = await sprint_by_number(session, access, number)
    if sprint.report is not None:
        body: ReportBody | ReportView = ReportBody.model_validate(sprint.report)
    else:
        body = await compute_report(session, access.project_id, sprint)
    risks = await risks_repository.open_risks_linked(
        session, access.project_id, sprint_id=sprint.id
    )
    return SprintReportView(sprint, body, risks)


async def freeze(
    session: AsyncSession, project_id: int, sprint: Sprint, carried_to: int | str
) -> ReportBody:
    """Compute a completing sprint's report and keep it on the sprint, verbatim, for good.

    Called with the sprint's items locked and before unfinished items carry over to
    `carried_to` (a sprint number or `backlog`), which the report already names.
    """
    body = ReportBody.model_validate(await compute_report(session, project_id, sprint, carried_to))
    sprint.report = body.model_dump(mode="json")
    return body


async def compute_report(
    session: AsyncSession, project_id: int, sprint: Sprint, carried_to: int | str | None = None
) -> ReportView:
    """The report of a started sprint as things stand: live items, or frozen outcomes.

    `carried_to` says where unfinished items are about to go, when the sprint is closing.
    """
    if sprint.start_event_id is None or sprint.id is None:
        raise Conflict(f"Sprint {sprint.number} has not started; its report begins at the start.")
    if sprint.state == SprintState.CANCELLED:
        raise Conflict(f"Sprint {sprint.number} was cancelled; it has no report.")
    statuses = await workflow_repository.list_statuses(session, project_id)
    names = {status.id: status.name for status in statuses if status.id is not None}
    done = await workflow_repository.done_status_ids(session, project_id)
    history = await load_history(session, project_id, sprint, done, with_times=False)
    at_close: dict[int, ItemAtClose] = {}
    if sprint.state == SprintState.COMPLETED:
        # Only for sprints completed before reports were kept: rebuilt from frozen outcomes.
        for outcome in await repository.outcomes(session, project_id, sprint.id):
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
    return ReportView(data, carried_to)
