"""Rules for the sprint workload: live from the sprint's items and capacity while it is planned
or active, computed once at completion and kept verbatim after that."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository as items_repository
from app.domain.kernel.errors import Conflict
from app.domain.kernel.views import RowView
from app.domain.metrics.workload import MemberLoad, SprintItem, Workload, workload
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.sprints.capacity import service as capacity_service
from app.domain.sprints.lookup import sprint_by_number
from app.domain.sprints.models import Sprint, SprintState
from app.domain.sprints.workload.schemas import WorkloadBody
from app.domain.users.models import User


@dataclass(frozen=True)
class ItemView(RowView):
    """An item of the sprint with its key."""

    ROW = "item"

    item: SprintItem
    key: str


@dataclass(frozen=True)
class MemberView(RowView):
    """One person's figures with their name and whether they are still a member."""

    ROW = "figures"

    figures: MemberLoad
    user: User | None
    member: bool
    project_key: str

    @property
    def display_name(self) -> str:
        """Their display name (empty once the account is gone)."""
        return self.user.display_name if self.user else ""

    @property
    def items(self) -> list[ItemView]:
        """Their items, in rank order."""
        return [ItemView(item, f"{self.project_key}-{item.number}") for item in self.figures.items]


@dataclass(frozen=True)
class UnassignedView:
    """The items nobody carries."""

    items: list[ItemView]
    points: float
    flagged: bool


@dataclass(frozen=True)
class TotalsView:
    """The team's figures."""

    points: float
    assigned_points: float
    unassigned_points: float
    person_days: float
    capacity_points: float | None
    load: float | None


@dataclass(frozen=True)
class WorkloadView(RowView):
    """A computed workload, for `WorkloadBody`."""

    ROW = "figures"

    figures: Workload
    recorded_capacity: bool
    members: list[MemberView]
    project_key: str

    @property
    def unassigned(self) -> UnassignedView:
        """The items nobody carries."""
        return UnassignedView(
            items=[
                ItemView(item, f"{self.project_key}-{item.number}")
                for item in self.figures.unassigned
            ],
            points=self.figures.unassigned_points,
            flagged=self.figures.has_unassigned,
        )

    @property
    def totals(self) -> TotalsView:
        """The team's figures."""
        figures = self.figures
        return TotalsView(
            points=figures.total_points,
            assigned_points=figures.assigned_points,
            unassigned_points=figures.unassigned_points,
            person_days=figures.total_person_days,
            capacity_points=figures.capacity_points,
            load=figures.load,
        )


@dataclass(frozen=True)
class SprintWorkloadView(RowView):
    """A sprint and its workload (as kept, or as computed now): what `SprintWorkload` shows."""

    ROW = "sprint"
    ALSO = ("body",)

    sprint: Sprint
    body: WorkloadBody

    @property
    def frozen(self) -> bool:
        """Whether the workload is the one kept at completion."""
        return self.sprint.workload is not None


async def compute(session: AsyncSession, access: ProjectAccess, sprint: Sprint) -> WorkloadBody:
    """A sprint's workload as things stand: its items, assignees and capacity now."""
    assert sprint.id is not None
    capacity = await capacity_service.get_capacity(session, access, sprint.number)
    rows = await items_repository.board_items(
        session, access.project_id, items_repository.ItemFilter(sprint_id=sprint.id)
    )
    figures = workload(
        [
            SprintItem(row.item.number, row.item.title, row.item.points, row.item.assignee_id)
            for row in rows
        ],
        {member.user_id: member.person_days for member in capacity.figures.members},
        capacity.suggestion.points_per_person_day,
    )
    users = {member.user_id: member.user for member in capacity.members}
    users.update(
        {row.assignee.id: row.assignee for row in rows if row.assignee and row.assignee.id}
    )
    members = await projects_repository.member_ids(
        session, access.project_id, [member.user_id for member in figures.members]
    )
    key = access.project.key
    view = WorkloadView(
        figures=figures,
        recorded_capacity=capacity.recorded,
        members=[
            MemberView(member, users.get(member.user_id), member.user_id in members, key)
            for member in figures.members
        ],
        project_key=key,
    )
    return WorkloadBody.model_validate(view)


async def get_workload(
    session: AsyncSession, access: ProjectAccess, number: int
) -> SprintWorkloadView:
    """A sprint's workload: live while planned or active, as kept at completion afterwards."""
    sprint = await sprint_by_number(session, access, number)
    if sprint.workload is not None:
        return SprintWorkloadView(sprint, WorkloadBody.model_validate(sprint.workload))
    if sprint.state == SprintState.CANCELLED:
        raise Conflict(
            f"Sprint {number} was cancelled and its items went back to the backlog; "
            "it has no workload."
        )
    if sprint.state == SprintState.COMPLETED:
        raise Conflict(f"Sprint {number} was completed before workloads were kept; it has none.")
    return SprintWorkloadView(sprint, await compute(session, access, sprint))


async def freeze(session: AsyncSession, access: ProjectAccess, sprint: Sprint) -> None:
    """Compute a completing sprint's workload and keep it on the sprint, verbatim, for good.

    Called with the sprint's items locked and before unfinished items carry over.
    """
    sprint.workload = (await compute(session, access, sprint)).model_dump(mode="json")
