"""Closing a project: the check and the figures that come from the areas built on projects.

The one module of the projects area that reads sprints, releases, budgets, risks and retros
(pyproject.toml names it in the acyclic contract's exceptions): closing is about the whole
project, so it looks at everything in it. Nothing else in `projects` imports it but the
lifecycle service.
"""

import statistics

from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.budgets import service as budgets
from app.domain.projects.access import ProjectAccess
from app.domain.projects.lifecycle.schemas import (
    ActionFigures,
    BudgetFigures,
    ClosingFigures,
    OccurredRisk,
    ShippedRelease,
    VelocityFigures,
)
from app.domain.releases import repository as releases_repository
from app.domain.retros import service as retros
from app.domain.retros.actions import service as actions
from app.domain.retros.models import RetroFormat
from app.domain.retros.schemas import RetroCreate, RetroUpdate
from app.domain.risks import repository as risks_repository
from app.domain.risks.models import RiskStatus
from app.domain.sprints import repository as sprints_repository

POST_MORTEM_COLUMNS = ["Went well", "Went wrong", "Do differently next time"]
# The retro's notes hold the summary; long lists are cut so the notes stay well within bounds.
_LISTED = 20


async def active_sprint_number(session: AsyncSession, project_id: int) -> int | None:
    """The number of the project's active sprint, if one is running."""
    sprint = await sprints_repository.active_sprint(session, project_id)
    return None if sprint is None else sprint.number


async def figures(session: AsyncSession, access: ProjectAccess) -> ClosingFigures:
    """What the project has achieved, as of now: sprints, velocity, releases, budget, risks
    and action items."""
    project_id = access.project_id
    sprints = await sprints_repository.completed_sprints(session, project_id)
    points = [sprint.completed_points or 0.0 for sprint in sprints]
    releases = await releases_repository.shipped_releases(session, project_id)
    budget = await budgets.spent_vs_planned(session, access.project)
    risks = await risks_repository.risks_with_status(session, project_id, RiskStatus.OCCURRED)
    tally = (await actions.stats(session, access)).total
    return ClosingFigures(
        sprints_completed=len(sprints),
        velocity=VelocityFigures(
            mean=statistics.fmean(points) if points else None,
            last=points[-1] if points else None,
        ),
        releases_shipped=[ShippedRelease.model_validate(release) for release in releases],
        budget=BudgetFigures.model_validate(budget.to_json()),
        risks_occurred=[OccurredRisk.model_validate(risk) for risk in risks],
        actions=ActionFigures(
            total=tally.created,
            done=tally.done,
            dropped=tally.dropped,
            open=tally.open,
            completion_rate=tally.completion_rate,
        ),
    )


async def open_post_mortem(
    session: AsyncSession, access: ProjectAccess, number: int, summary: ClosingFigures
) -> int:
    """Open the project-level post-mortem retro of closing `number`, the summary in its notes
    (without the budget, which only owners see); returns the retro's number."""
    title = "Post-mortem" if number == 1 else f"Post-mortem (closing {number})"
    board = await retros.create_project_retro(
        session,
        access,
        RetroCreate(title=title, format=RetroFormat.CUSTOM, columns=POST_MORTEM_COLUMNS),
    )
    retro_number = board.retro.number
    notes = RetroUpdate(notes=summary_notes(access.project.key, summary))
    await retros.update_retro(session, access, retro_number, notes, None)
    return retro_number


def _listed(names: list[str]) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:_LISTED])
    return shown if len(names) <= _LISTED else f"{shown} and {len(names) - _LISTED} more"


def _points(value: float | None) -> str:
    return "n/a" if value is None else f"{value:g}"


def summary_notes(key: str, summary: ClosingFigures) -> str:
    """The closing summary as the post-mortem retro's notes (Markdown, no budget figures)."""
    releases = [
        f"{release.name} ({release.released_on})" if release.released_on else release.name
        for release in summary.releases_shipped
    ]
    risks = [f"#{risk.number} {risk.title}" for risk in summary.risks_occurred]
    actions_line = (
        f"{summary.actions.done} of {summary.actions.total} done"
        + (
            f" ({summary.actions.completion_rate:.0%})"
            if summary.actions.completion_rate is not None
            else ""
        )
        + f", {summary.actions.dropped} dropped, {summary.actions.open} open"
    )
    return "\n".join(
        [
            f"Closing summary of {key}:",
            "",
            f"- Sprints completed: {summary.sprints_completed}",
            f"- Velocity: mean {_points(summary.velocity.mean)} points, "
            f"last sprint {_points(summary.velocity.last)}",
            f"- Releases shipped: {_listed(releases)}",
            f"- Risks that occurred: {_listed(risks)}",
            f"- Retro action items: {actions_line}",
            "",
            f"Budget spent against planned: GET /api/v1/projects/{key}/closing-summary (owners).",
        ]
    )
