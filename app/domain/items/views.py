"""Items and boards as the API shows them: rows plus the values computed for their shapes."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from app.domain.items.blockers.models import ItemBlocker
from app.domain.items.models import PRIORITY_NAMES, Item, ItemType, Priority
from app.domain.items.repository import EpicTotals, ItemRow
from app.domain.kernel.views import FromRow, RowView
from app.domain.projects.models import Project
from app.domain.projects.scales import points_label
from app.domain.users.models import User
from app.domain.workflow.models import Status


@dataclass(frozen=True)
class ItemView(RowView):
    """An item with its key, estimate label, status, assignee, parent and sprint numbers."""

    ROW = "item"

    item: Item
    key: str
    points_label: str | None
    status: Status
    assignee: User | None
    parent: int | None
    sprint: int | None
    epic: EpicTotals | None
    release: int | None = None
    # Its open blockers, oldest first: only the board loads them.
    blockers: Sequence[ItemBlocker] = ()

    number = FromRow[int]()
    version = FromRow[int]()

    @property
    def priority(self) -> str:
        """The priority by name."""
        return PRIORITY_NAMES[Priority(self.item.priority)]

    @property
    def blocked(self) -> bool:
        """Whether an open blocker is on the item."""
        return bool(self.blockers)


def item_view(project: Project, row: ItemRow, progress: dict[int, EpicTotals]) -> ItemView:
    """One item as the API shows it; `progress` holds the children of epics that have any."""
    item = row.item
    assert item.id is not None
    return ItemView(
        item=item,
        key=f"{project.key}-{item.number}",
        points_label=points_label(project.estimation_scale, item.points),
        status=row.status,
        assignee=row.assignee,
        parent=row.parent_number,
        sprint=row.sprint_number,
        epic=progress.get(item.id, EpicTotals()) if item.type == ItemType.EPIC else None,
        release=row.release_number,
    )


class ItemTotals:
    """The `count` and `points` of a view's items: a board's, or one of its columns'."""

    items: Sequence[ItemView]

    @property
    def count(self) -> int:
        """How many items there are."""
        return len(self.items)

    @property
    def points(self) -> float:
        """Their points (unestimated items count 0)."""
        return sum(item.item.points or 0.0 for item in self.items)


@dataclass(frozen=True)
class BoardColumnView(RowView, ItemTotals):
    """A status as a board column, with its items in backlog order."""

    ROW = "status"

    status: Status
    items: list[ItemView]

    @property
    def over_wip_limit(self) -> bool:
        """Whether the column holds more than its WIP limit."""
        return self.status.wip_limit is not None and self.count > self.status.wip_limit


@dataclass(frozen=True)
class BoardView(ItemTotals):
    """A board: its columns in workflow order, and the totals of every item on it."""

    scope: str
    columns: list[BoardColumnView]
    items: Sequence[ItemView]


def board_view(
    scope: str,
    statuses: Sequence[Status],
    items: Sequence[ItemView],
    blockers: Mapping[int, Sequence[ItemBlocker]],
) -> BoardView:
    """Group a board's items into its columns, keeping backlog order within each; cards
    carry their open blockers (by item id)."""
    items = [
        replace(item, blockers=blockers[item.item.id or 0])
        if (item.item.id or 0) in blockers
        else item
        for item in items
    ]
    columns = [
        BoardColumnView(status, [item for item in items if item.item.status_id == status.id])
        for status in statuses
    ]
    return BoardView(scope=scope, columns=columns, items=items)
