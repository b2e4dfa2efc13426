"""Backlog list filters: query parameters turned into an `ItemFilter`, naming the bad one."""

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.items import repository
from app.domain.items.models import ItemType
from app.domain.kernel.errors import InvalidInput
from app.domain.kernel.inputs import fits_bigint
from app.domain.projects.access import ProjectAccess
from app.domain.releases import repository as releases_repository
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.models import SprintState
from app.domain.workflow.models import StatusCategory

# `?sprint=backlog`: the items in no sprint. `?sprint=active` names the active sprint.
BACKLOG = "backlog"
# `?release=none`: the items in no release.
NONE = "none"


class ItemSort(StrEnum):
    """How a backlog list is ordered; a leading `-` sorts descending."""

    RANK = "rank"
    PRIORITY = "priority"
    PRIORITY_DESC = "-priority"
    CREATED = "created"
    CREATED_DESC = "-created"
    UPDATED = "updated"
    UPDATED_DESC = "-updated"
    POINTS = "points"
    POINTS_DESC = "-points"
    RELEVANCE = "relevance"


def _is_small_number(text: str) -> bool:
    """ASCII digits short enough to parse cheaply (Python refuses ints of 4,300+ digits).

    Eighteen digits also keep the value within the range of an id.
    """
    return text.isascii() and text.isdigit() and len(text) <= 18


@dataclass(frozen=True)
class ItemQuery:
    """A backlog list's filters as the query string gave them; each one narrows the result."""

    types: Sequence[ItemType] = ()
    status_ids: Sequence[int] = ()
    categories: Sequence[StatusCategory] = ()
    assignees: Sequence[str] = ()
    labels: Sequence[str] = ()
    sprint: str | None = None
    release: str | None = None
    parent: str | None = None
    estimated: bool | None = None
    text: str | None = None


async def build_filter(
    session: AsyncSession, access: ProjectAccess, query: ItemQuery
) -> repository.ItemFilter:
    """Turn list query parameters into a filter, naming the parameter that is wrong."""
    filters = repository.ItemFilter(
        types=list(query.types),
        status_ids=list(query.status_ids),
        categories=list(query.categories),
        labels=list(query.labels),
        estimated=query.estimated,
        query=query.text.strip() if query.text and query.text.strip() else None,
    )
    if not all(fits_bigint(status_id) for status_id in query.status_ids):
        raise InvalidInput.for_field("query.status", "No such status id.", "unknown")
    for value in query.assignees:
        if value == "me":
            assert access.user.id is not None
            filters.assignee_ids.append(access.user.id)
        elif value == "none":
            filters.unassigned = True
        elif _is_small_number(value):
            filters.assignee_ids.append(int(value))
        else:
            raise InvalidInput.for_field(
                "query.assignee", "Use a user id, `me` or `none`.", "assignee"
            )
    parent = query.parent
    if parent is not None:
        if parent == "none":
            filters.no_parent = True
        elif _is_small_number(parent):
            epics = await repository.get_items_by_numbers(session, access.project_id, [int(parent)])
            epic = epics.get(int(parent))
            if epic is None:
                filters.nothing = True
            else:
                filters.parent_id = epic.id
        else:
            raise InvalidInput.for_field("query.parent", "Use an epic number or `none`.", "parent")
    if query.sprint is not None:
        await _sprint_filter(session, access, query.sprint, filters)
    if query.release is not None:
        await _release_filter(session, access, query.release, filters)
    return filters


async def _release_filter(
    session: AsyncSession, access: ProjectAccess, release: str, filters: repository.ItemFilter
) -> None:
    """Narrow `filters` to the items in no release, or whose own release is this number."""
    if release == NONE:
        filters.no_release = True
        return
    if not _is_small_number(release):
        raise InvalidInput.for_field("query.release", "Use a release number or `none`.", "release")
    found = await releases_repository.get_release(session, access.project_id, int(release))
    if found is None:
        raise InvalidInput.for_field(
            "query.release", f"No release {release} in {access.project.key}.", "unknown"
        )
    filters.release_id = found.id


async def _sprint_filter(
    session: AsyncSession, access: ProjectAccess, sprint: str, filters: repository.ItemFilter
) -> None:
    """Narrow `filters` to the backlog, the active sprint or a sprint by number."""
    if sprint == BACKLOG:
        filters.backlog_only = True
    elif sprint == SprintState.ACTIVE:
        active = await sprints_repository.active_sprint_id(session, access.project_id)
        if active is None:
            filters.nothing = True
        else:
            filters.sprint_id = active
    elif _is_small_number(sprint):
        found = await sprints_repository.sprint_id_by_number(
            session, access.project_id, int(sprint)
        )
        if found is None:
            raise InvalidInput.for_field(
                "query.sprint", f"No sprint {sprint} in {access.project.key}.", "unknown"
            )
        filters.sprint_id = found
    else:
        raise InvalidInput.for_field(
            "query.sprint", "Use `backlog`, `active` or a sprint number.", "sprint"
        )
