"""A retro as a summary for a wiki: the board under the same visibility rules, as JSON or
markdown."""

from dataclasses import dataclass
from typing import Any

from app.domain.retros.actions.schemas import ActionPublic
from app.domain.retros.schemas import (
    ExportCard,
    ExportColumn,
    ExportGroup,
    RetroBoard,
    RetroExport,
    SprintHeadline,
)


@dataclass(frozen=True)
class ExportView:
    """The fields of `RetroExport`, read from a board the caller may see."""

    project: str
    number: int
    title: str
    sprint: int | None
    phase: str
    anonymous: bool
    context: Any
    columns: list[ExportColumn]
    groups: list[ExportGroup]
    actions: list[Any]


def export_of(project_key: str, board: RetroBoard) -> RetroExport:
    """The export of a board already filtered for its reader."""
    texts = {card.id: card.text for column in board.board for card in column.cards}
    groups = [
        ExportGroup(
            name=group.name,
            votes=group.votes,
            cards=[texts[card_id] for card_id in group.card_ids if card_id in texts],
        )
        for group in board.groups
    ]
    if board.tallies_visible:
        # Stable: groups with equal votes keep their id order.
        groups.sort(key=lambda group: -(group.votes or 0))
    columns = [
        ExportColumn(
            name=column.name,
            card_count=column.card_count,
            cards=[
                ExportCard(
                    text=card.text,
                    author=card.author.display_name if card.author else None,
                    votes=card.votes,
                )
                for card in column.cards
            ],
        )
        for column in board.board
    ]
    return RetroExport.model_validate(
        ExportView(
            project=project_key,
            number=board.number,
            title=board.title,
            sprint=board.sprint,
            phase=board.phase,
            anonymous=board.anonymous,
            context=board.context,
            columns=columns,
            groups=groups,
            actions=board.actions,
        )
    )


def _line(text: str) -> str:
    """Card text on one markdown line."""
    return " ".join(text.split())


def _points(value: float) -> str:
    return f"{value:g}"


def _headline(sprint: SprintHeadline) -> list[str]:
    lines = [f"## Sprint {sprint.number}: {_line(sprint.name)}", ""]
    if sprint.goal:
        outcome = f" ({sprint.goal_outcome.replace('_', ' ')})" if sprint.goal_outcome else ""
        lines.append(f"- Goal: {_line(sprint.goal)}{outcome}")
    if sprint.committed is not None and sprint.completed is not None:
        lines.append(
            f"- Committed: {_points(sprint.committed.points)} points "
            f"({sprint.committed.count} items); completed: "
            f"{_points(sprint.completed.points)} points ({sprint.completed.count} items)"
        )
    if sprint.say_do is not None:
        lines.append(f"- Say/do: {sprint.say_do:.0%}")
    if sprint.scope_added is not None and sprint.scope_removed is not None:
        lines.append(
            f"- Scope added: {sprint.scope_added.count} items "
            f"({_points(sprint.scope_added.points)} points); removed: "
            f"{sprint.scope_removed.count} items ({_points(sprint.scope_removed.points)} points)"
        )
    return [*lines, ""]


def _action(action: ActionPublic) -> str:
    box = "x" if action.status == "done" else " "
    parts = [f"- [{box}] #{action.number} {_line(action.title)}"]
    parts.append(f"owner: {action.owner.display_name}" if action.owner else "no owner")
    if action.due_date is not None:
        parts.append(f"due {action.due_date.isoformat()}")
    if action.status != "open":
        parts.append(str(action.status))
    return " — ".join([parts[0], ", ".join(parts[1:])])


def render_markdown(export: RetroExport) -> str:
    """The export as markdown to paste into a wiki page."""
    lines = [f"# {_line(export.title)}", ""]
    where = f"Sprint {export.sprint}" if export.sprint is not None else "Project retrospective"
    lines += [f"{export.project} retro {export.number} · {where} · phase: {export.phase}", ""]
    if export.context.sprint is not None:
        lines += _headline(export.context.sprint)
    if export.context.open_actions:
        lines += ["## Open actions from earlier retros", ""]
        for action in export.context.open_actions:
            lines.append(f"{_action(action)} (open {action.age_days} days)")
        lines.append("")
    lines += ["## Board", ""]
    for column in export.columns:
        lines += [f"### {_line(column.name)} ({column.card_count})", ""]
        for card in column.cards:
            by = f" — {card.author}" if card.author else ""
            votes = f" ({card.votes} votes)" if card.votes is not None else ""
            lines.append(f"- {_line(card.text)}{by}{votes}")
        hidden = column.card_count - len(column.cards)
        if hidden:
            lines.append(f"- _{hidden} more, shown from the grouping phase on_")
        lines.append("")
    if export.groups:
        lines += ["## Groups", ""]
        for rank, group in enumerate(export.groups, start=1):
            votes = f" — {group.votes} votes" if group.votes is not None else ""
            lines.append(f"{rank}. **{_line(group.name)}**{votes}")
            lines += [f"   - {_line(text)}" for text in group.cards]
        lines.append("")
    lines += ["## Action items", ""]
    lines += [_action(action) for action in export.actions] or ["_None yet._"]
    return "\n".join(lines) + "\n"
