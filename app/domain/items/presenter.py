"""Shape stored items into their API form."""

from app.domain.items.models import PRIORITY_NAMES, ItemType, Priority
from app.domain.items.repository import ItemRow
from app.domain.items.schemas import (
    Board,
    BoardColumn,
    EpicProgress,
    ItemPublic,
    StatusRef,
    UserRef,
)
from app.domain.projects.models import Project
from app.domain.projects.scales import scale_values
from app.domain.workflow.models import Status, StatusCategory


def points_label(project: Project, points: float | None) -> str | None:
    """How the project's scale names an estimate."""
    if points is None:
        return None
    for value in scale_values(project.estimation_scale):
        if value.value == points:
            return value.label
    return f"{points:g}"


def item_public(
    project: Project, row: ItemRow, progress: dict[int, tuple[int, float, float]]
) -> ItemPublic:
    """One item as the API shows it."""
    item = row.item
    assert item.id is not None
    epic = None
    if item.type == ItemType.EPIC:
        children, total, done = progress.get(item.id, (0, 0.0, 0.0))
        epic = EpicProgress(children=children, points_total=total, points_done=done)
    return ItemPublic(
        id=item.id,
        number=item.number,
        key=f"{project.key}-{item.number}",
        type=ItemType(item.type),
        title=item.title,
        description=item.description,
        points=item.points,
        points_label=points_label(project, item.points),
        priority=PRIORITY_NAMES[Priority(item.priority)],
        labels=list(item.labels),
        assignee=(
            UserRef(id=item.assignee_id, display_name=row.assignee_name or "")
            if item.assignee_id is not None
            else None
        ),
        parent=row.parent_number,
        sprint=row.sprint_number,
        status=StatusRef(
            id=item.status_id, name=row.status_name, category=StatusCategory(row.status_category)
        ),
        external_id=item.external_id,
        rank=item.rank,
        done_at=item.done_at,
        epic=epic,
        created_at=item.created_at,
        updated_at=item.updated_at,
        version=item.version,
    )


def board_public(scope: str, statuses: list[Status], cards: list[ItemPublic]) -> Board:
    """Group a board's items into its columns, with counts, points and WIP flags."""
    columns = []
    for status in statuses:
        assert status.id is not None
        in_column = [card for card in cards if card.status.id == status.id]
        columns.append(
            BoardColumn(
                status=StatusRef(
                    id=status.id, name=status.name, category=StatusCategory(status.category)
                ),
                position=status.position,
                wip_limit=status.wip_limit,
                over_wip_limit=status.wip_limit is not None and len(in_column) > status.wip_limit,
                count=len(in_column),
                points=sum(card.points or 0.0 for card in in_column),
                items=in_column,
            )
        )
    return Board(
        scope=scope,
        columns=columns,
        count=len(cards),
        points=sum(card.points or 0.0 for card in cards),
    )
