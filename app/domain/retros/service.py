"""Rules for retros: phases, who may do what in each, what each caller may see, and votes.

Visibility is decided here, once, for the board and the export alike: while collecting a caller
reads only their own cards' text (others' are counted per column); tallies stay hidden until
discussing; an anonymous retro never names a card's author, to anyone.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.events import service as events
from app.domain.events.catalogue import EventType, RetroCreated, RetroPhaseChanged, RetroRef
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import Versions, apply_changes, bump, check_version
from app.domain.kernel.views import RowView
from app.domain.notifications import service as notifications
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import Role
from app.domain.retros import repository
from app.domain.retros.actions import service as actions
from app.domain.retros.export import export_of, render_markdown
from app.domain.retros.models import (
    FORMAT_COLUMNS,
    MAX_CARDS_PER_MEMBER,
    MAX_GROUPS_PER_RETRO,
    Retro,
    RetroCard,
    RetroFormat,
    RetroGroup,
    RetroPhase,
    RetroVote,
)
from app.domain.retros.repository import CardRow, RetroLock, VoteRow
from app.domain.retros.schemas import (
    CardCreate,
    CardUpdate,
    ExportFormat,
    GroupCreate,
    GroupUpdate,
    RetroBoard,
    RetroCreate,
    RetroExport,
    RetroUpdate,
    VoteCreate,
)
from app.domain.sprints import repository as sprints_repository
from app.domain.sprints.lookup import sprint_by_number
from app.domain.sprints.models import Sprint, SprintState
from app.domain.sprints.report import service as report_service
from app.domain.sprints.report.schemas import ReportBody
from app.domain.users.models import User


@dataclass(frozen=True)
class RetroView(RowView):
    """A retro with its sprint's number and its facilitator: what `RetroPublic` shows."""

    ROW = "retro"

    retro: Retro
    sprint: int | None
    facilitator: User | None


@dataclass(frozen=True)
class CardView(RowView):
    """A card as one caller may see it: `author` only when the retro is not anonymous."""

    ROW = "card"

    card: RetroCard | CardRow
    mine: bool
    author: User | None
    votes: int | None


@dataclass(frozen=True)
class ColumnView:
    """A board column: its card count and the cards the caller may read."""

    name: str
    card_count: int
    cards: list[CardView]


@dataclass(frozen=True)
class GroupView(RowView):
    """A group with its cards' ids and (from discussing) its tally."""

    ROW = "group"

    group: RetroGroup
    card_ids: list[int]
    votes: int | None


@dataclass(frozen=True)
class HeadlineView(RowView):
    """A sprint with its report's headline figures (None before it started or if cancelled)."""

    ROW = "sprint_row"

    sprint_row: Sprint
    body: ReportBody | None

    @property
    def frozen(self) -> bool:
        """Whether the figures are the ones kept at completion."""
        return self.sprint_row.report is not None

    @property
    def committed(self) -> Any:
        """Items and points at start."""
        return self.body.committed if self.body else None

    @property
    def completed(self) -> Any:
        """Items and points completed in the sprint."""
        return self.body.completed if self.body else None

    @property
    def say_do(self) -> float | None:
        """Completed points / committed points."""
        return self.body.say_do if self.body else None

    @property
    def scope_added(self) -> Any:
        """Items that joined after the start, with their points then."""
        return self.body.scope_change.added if self.body else None

    @property
    def scope_removed(self) -> Any:
        """Items that left before the close, with their points then."""
        return self.body.scope_change.removed if self.body else None


@dataclass(frozen=True)
class ContextView:
    """What a retro opens with: the sprint headline and older still-open actions."""

    sprint: HeadlineView | None
    open_actions: list[Any]


@dataclass(frozen=True)
class BoardView(RetroView):
    """A whole board as one caller may see it: what `RetroBoard` shows."""

    board: list[ColumnView]
    groups: list[GroupView]
    my_votes: list[VoteRow]
    votes_remaining: int | None
    tallies_visible: bool
    context: ContextView
    actions: list[Any]


@dataclass(frozen=True)
class VoteView:
    """A vote just cast and the caller's remaining budget."""

    vote: RetroVote
    votes_remaining: int


# --- lookups and checks -----------------------------------------------------------------------


async def _retro(
    session: AsyncSession, access: ProjectAccess, number: int, lock: RetroLock = None
) -> RetroView:
    found = await repository.retro_by_number(session, access.project_id, number, lock=lock)
    if found is None:
        raise NotFound(f"No retro {number} in {access.project.key}.")
    return RetroView(*found)


async def _writable(session: AsyncSession, access: ProjectAccess, number: int) -> RetroView:
    """The retro, its row held FOR SHARE so no phase change interleaves; 409 once closed."""
    view = await _retro(session, access, number, "share")
    _open(view.retro)
    return view


async def _facilitated(
    session: AsyncSession, access: ProjectAccess, number: int, if_match: Versions | None
) -> RetroView:
    """The open retro locked for a change only its facilitator or an owner makes."""
    # FOR UPDATE: waits for board writes holding the row FOR SHARE, and they for it.
    view = await _retro(session, access, number, "update")
    _facilitating(access, view.retro)
    _open(view.retro)
    check_version(view.retro.version, if_match)
    return view


def _open(retro: Retro) -> None:
    if retro.phase == RetroPhase.CLOSED:
        raise Conflict(f"Retro {retro.number} is closed; it is read-only.")


def _in_phase(retro: Retro, phase: RetroPhase, what: str) -> None:
    if retro.phase != phase:
        raise Conflict(f"{what} only in the {phase} phase; retro {retro.number} is {retro.phase}.")


def _facilitating(access: ProjectAccess, retro: Retro) -> None:
    if retro.facilitator_id != access.user.id and access.role != Role.OWNER:
        raise Forbidden("Only the retro's facilitator or a project owner may do this.")


def _retro_id(retro: Retro) -> int:
    assert retro.id is not None
    return retro.id


def _user_id(access: ProjectAccess) -> int:
    assert access.user.id is not None
    return access.user.id


# --- retros -----------------------------------------------------------------------------------


def _columns(data: RetroCreate) -> list[str]:
    """The board's columns: the format's, or the custom ones (distinct, 1–6)."""
    if data.format != RetroFormat.CUSTOM:
        if data.columns is not None:
            raise InvalidInput.for_field(
                "body.columns", "Columns are named only for the custom format.", "not_allowed"
            )
        return list(FORMAT_COLUMNS[data.format])
    if data.columns is None:
        raise InvalidInput.for_field(
            "body.columns", "The custom format needs 1 to 6 column names.", "required"
        )
    seen: set[str] = set()
    for index, name in enumerate(data.columns):
        if name.casefold() in seen:
            raise InvalidInput.for_field(
                f"body.columns.{index}", f"Column {name!r} is named twice.", "duplicate"
            )
        seen.add(name.casefold())
    return list(data.columns)


def _check_vote_settings(budget: int, per_card: int | None) -> None:
    if per_card is not None and per_card > budget:
        raise InvalidInput.for_field(
            "body.max_votes_per_card",
            f"The maximum per card ({per_card}) exceeds the vote budget ({budget}).",
            "out_of_range",
        )


async def _create(
    session: AsyncSession, access: ProjectAccess, data: RetroCreate, sprint: Sprint | None
) -> BoardView:
    columns = _columns(data)
    _check_vote_settings(data.vote_budget, data.max_votes_per_card)
    title = data.title or (f"Sprint {sprint.number} retrospective" if sprint else "Retrospective")
    number = await projects_repository.take_numbers(session, access.project_id, "retro")
    retro = Retro(
        project_id=access.project_id,
        number=number,
        sprint_id=sprint.id if sprint else None,
        title=title,
        format=data.format,
        columns=columns,
        vote_budget=data.vote_budget,
        max_votes_per_card=data.max_votes_per_card,
        anonymous=data.anonymous,
        facilitator_id=access.user.id,
    )
    try:
        # uq_retros_sprint_id decides between concurrent creations for one sprint.
        async with session.begin_nested():
            session.add(retro)
            await session.flush()
    except IntegrityError as exc:
        assert sprint is not None
        raise Conflict(f"Sprint {sprint.number} already has a retro.") from exc
    _publish(session, access, retro, sprint.number if sprint else None, None)
    return await _board(
        session, access, RetroView(retro, sprint.number if sprint else None, access.user)
    )


async def create_sprint_retro(
    session: AsyncSession, access: ProjectAccess, sprint_number: int, data: RetroCreate
) -> BoardView:
    """Open the retro of an active or completed sprint (one per sprint)."""
    sprint = await sprint_by_number(session, access, sprint_number)
    if sprint.state not in (SprintState.ACTIVE, SprintState.COMPLETED):
        raise Conflict(
            f"Sprint {sprint_number} is {sprint.state}; a retro needs an active or completed "
            "sprint."
        )
    assert sprint.id is not None
    if await repository.retro_number_for_sprint(session, access.project_id, sprint.id):
        raise Conflict(f"Sprint {sprint_number} already has a retro.")
    return await _create(session, access, data, sprint)


async def create_project_retro(
    session: AsyncSession, access: ProjectAccess, data: RetroCreate
) -> BoardView:
    """Open a project-level retro (a release, a post-mortem), tied to no sprint."""
    return await _create(session, access, data, None)


async def list_retros(
    session: AsyncSession,
    access: ProjectAccess,
    page: PageRequest,
    phase: RetroPhase | None = None,
    sprint_number: int | None = None,
) -> tuple[list[RetroView], str | None]:
    """The project's retros by number."""
    rows, cursor = await repository.list_retros(
        session, access.project_id, page, phase, sprint_number
    )
    return [RetroView(*row) for row in rows], cursor


async def _sprint_retro_number(
    session: AsyncSession, access: ProjectAccess, sprint_number: int
) -> int:
    sprint = await sprint_by_number(session, access, sprint_number)
    assert sprint.id is not None
    number = await repository.retro_number_for_sprint(session, access.project_id, sprint.id)
    if number is None:
        raise NotFound(f"Sprint {sprint_number} has no retro.")
    return number


async def get_board(session: AsyncSession, access: ProjectAccess, number: int) -> BoardView:
    """A retro's whole board as the caller may see it."""
    return await _board(session, access, await _retro(session, access, number))


async def get_sprint_board(
    session: AsyncSession, access: ProjectAccess, sprint_number: int
) -> BoardView:
    """A sprint's retro board as the caller may see it."""
    return await get_board(
        session, access, await _sprint_retro_number(session, access, sprint_number)
    )


async def update_retro(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    data: RetroUpdate,
    if_match: Versions | None,
) -> BoardView:
    """Change a retro's title, notes, facilitator, or (before voting) its vote settings."""
    view = await _facilitated(session, access, number, if_match)
    retro = view.retro
    changes = data.model_dump(exclude_unset=True)
    voting = {"vote_budget", "max_votes_per_card"} & changes.keys()
    voting_began = retro.phase.position >= RetroPhase.VOTING.position
    if voting_began and any(changes[name] != getattr(retro, name) for name in voting):
        raise Conflict(f"Retro {number} is {retro.phase}; vote settings change only before voting.")
    facilitator = view.facilitator
    if changes.get("facilitator_id") is not None:
        found = await projects_repository.get_member(
            session, access.project_id, changes["facilitator_id"]
        )
        if found is None or found[0].role == Role.VIEWER:
            raise InvalidInput.for_field(
                "body.facilitator_id",
                f"User {changes['facilitator_id']} is not a member of {access.project.key} "
                "with the member or owner role.",
                "not_member",
            )
        facilitator = found[1]
    budget = changes.get("vote_budget") or retro.vote_budget
    per_card = changes.get("max_votes_per_card", retro.max_votes_per_card)
    _check_vote_settings(budget, per_card)
    if voting:
        # Votes cast before a move back to an earlier phase stay: new limits must hold them.
        most, most_on_one = await repository.vote_maxima(
            session, access.project_id, _retro_id(retro)
        )
        if budget < most:
            raise Conflict(
                f"A member holds {most} votes on retro {number}; the budget cannot go below that."
            )
        if per_card is not None and per_card < most_on_one:
            raise Conflict(
                f"A member holds {most_on_one} votes on one card or group; the per-card maximum "
                "cannot go below that."
            )
    apply_changes(retro, changes, nullable=frozenset({"max_votes_per_card"}))
    await session.flush()
    return await _board(session, access, RetroView(retro, view.sprint, facilitator))


async def move_phase(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    phase: RetroPhase,
    if_match: Versions | None,
) -> BoardView:
    """Move a retro one phase forward, or (until closed) one back."""
    view = await _facilitated(session, access, number, if_match)
    retro = view.retro
    if phase not in (retro.phase.next, retro.phase.previous):
        raise Conflict(
            f"Retro {number} is {retro.phase}; it moves one phase at a time, to "
            + " or ".join(str(p) for p in (retro.phase.next, retro.phase.previous) if p)
            + "."
        )
    old = retro.phase
    retro.phase = phase
    if phase == RetroPhase.CLOSED:
        retro.closed_at = clock.now()
    bump(retro)
    await session.flush()
    _publish(session, access, retro, view.sprint, old)
    return await _board(session, access, view)


def _publish(
    session: AsyncSession,
    access: ProjectAccess,
    retro: Retro,
    sprint_number: int | None,
    old_phase: RetroPhase | None,
) -> None:
    """Publish a retro's creation (`old_phase` None) or a move between phases."""
    ref = RetroRef(number=retro.number, title=retro.title, sprint=sprint_number)
    actor = events.actor_name(access.user.display_name)
    if old_phase is None:
        event_type, summary = EventType.RETRO_CREATED, f"{actor} opened {retro.title}"
        payload: RetroCreated | RetroPhaseChanged = RetroCreated(retro=ref)
    else:
        event_type = EventType.RETRO_PHASE_CHANGED
        summary = f"{actor} moved {retro.title} to {retro.phase.value}"
        payload = RetroPhaseChanged(retro=ref, old=old_phase.value, new=retro.phase.value)
    events.publish(
        session,
        access.project_id,
        event_type,
        payload,
        actor_id=access.user.id,
        summary=summary,
        sprint=sprint_number,
    )


# --- the board --------------------------------------------------------------------------------


async def _headline(session: AsyncSession, project_id: int, sprint_number: int) -> HeadlineView:
    sprint = await sprints_repository.get_sprint(session, project_id, sprint_number)
    assert sprint is not None
    if sprint.report is not None:
        return HeadlineView(sprint, ReportBody.model_validate(sprint.report))
    if sprint.state == SprintState.ACTIVE and sprint.start_event_id is not None:
        live = await report_service.compute_report(session, project_id, sprint)
        return HeadlineView(sprint, ReportBody.model_validate(live))
    return HeadlineView(sprint, None)


async def _board(session: AsyncSession, access: ProjectAccess, view: RetroView) -> BoardView:
    """Assemble the board in a handful of set-based queries, applying the visibility rules."""
    retro, me = view.retro, access.user.id
    retro_id = _retro_id(retro)
    phase = retro.phase
    collecting = phase == RetroPhase.COLLECTING
    tallies_visible = phase.position >= RetroPhase.DISCUSSING.position
    cards = await repository.board_cards(
        session, access.project_id, retro_id, with_authors=not retro.anonymous
    )
    card_tally: dict[int, int] = {}
    group_tally: dict[int, int] = {}
    if tallies_visible:
        card_tally, group_tally = await repository.tallies(session, access.project_id, retro_id)
    by_column: dict[str, list[CardView]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    in_group: dict[int, list[int]] = defaultdict(list)
    for card, author in cards:
        counts[card.column] += 1
        card_id = card.id or 0
        if card.group_id is not None:
            in_group[card.group_id].append(card_id)
        mine = card.author_id is not None and card.author_id == me
        if collecting and not mine:
            continue
        by_column[card.column].append(
            CardView(
                card,
                mine,
                None if retro.anonymous else author,
                card_tally.get(card_id, 0) if tallies_visible else None,
            )
        )
    groups: list[GroupView] = []
    if not collecting:
        for group in await repository.board_groups(session, access.project_id, retro_id):
            members = in_group.get(group.id or 0, [])
            votes = group_tally.get(group.id or 0, 0) + sum(card_tally.get(c, 0) for c in members)
            groups.append(GroupView(group, members, votes if tallies_visible else None))
    voter = access.role != Role.VIEWER
    my_votes = (
        await repository.votes_of(session, access.project_id, retro_id, _user_id(access))
        if voter
        else []
    )
    context = ContextView(
        sprint=(
            await _headline(session, access.project_id, view.sprint)
            if view.sprint is not None
            else None
        ),
        open_actions=list(await actions.open_actions_before(session, access, retro)),
    )
    return BoardView(
        retro=retro,
        sprint=view.sprint,
        facilitator=view.facilitator,
        board=[
            ColumnView(name, counts.get(name, 0), by_column.get(name, [])) for name in retro.columns
        ],
        groups=groups,
        my_votes=my_votes,
        votes_remaining=retro.vote_budget - len(my_votes) if voter else None,
        tallies_visible=tallies_visible,
        context=context,
        actions=list(await actions.retro_actions(session, access, retro)),
    )


# --- cards ------------------------------------------------------------------------------------


def _column(retro: Retro, column: str) -> str:
    if column not in retro.columns:
        raise InvalidInput.for_field(
            "body.column",
            f"No column {column!r} on this board; it has " + ", ".join(retro.columns) + ".",
            "not_found",
        )
    return column


async def _notify_mentions(
    session: AsyncSession, access: ProjectAccess, retro: Retro, text: str, previous: str = ""
) -> None:
    """Notify the members a card @mentions; from nobody on an anonymous retro."""
    await notifications.notify_mentions(
        session,
        access.project_id,
        text,
        retro_number=retro.number,
        retro_title=retro.title,
        actor_id=None if retro.anonymous else access.user.id,
        author_id=access.user.id,
        previous=previous,
    )


async def add_card(
    session: AsyncSession, access: ProjectAccess, number: int, data: CardCreate
) -> CardView:
    """Add a card to a collecting retro."""
    retro = (await _writable(session, access, number)).retro
    _in_phase(retro, RetroPhase.COLLECTING, "Cards are added")
    column = _column(retro, data.column)
    retro_id, me = _retro_id(retro), _user_id(access)
    # One member's cards queue up on their lock, so the cap holds under concurrent adds.
    await repository.lock_voter(session, retro_id, me)
    if await repository.count_cards_by(session, access.project_id, retro_id, me) >= (
        MAX_CARDS_PER_MEMBER
    ):
        raise Conflict(f"You have {MAX_CARDS_PER_MEMBER} cards on this retro, the most allowed.")
    card = RetroCard(
        project_id=access.project_id, retro_id=retro_id, column=column, text=data.text, author_id=me
    )
    await repository.add(session, card)
    await _notify_mentions(session, access, retro, card.text)
    return CardView(card, True, None if retro.anonymous else access.user, None)


async def _own_card(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    card_id: int,
    if_match: Versions | None,
) -> tuple[Retro, RetroCard]:
    retro = (await _writable(session, access, number)).retro
    card = await repository.get_card(
        session, access.project_id, _retro_id(retro), card_id, for_update=True
    )
    if card is None:
        raise NotFound(f"No card {card_id} on retro {number}.")
    if card.author_id != access.user.id:
        # Names nobody: in an anonymous retro even "someone else's" must not say whose.
        raise Forbidden("Only a card's author may change or delete it.")
    _in_phase(retro, RetroPhase.COLLECTING, "Cards are changed")
    check_version(card.version, if_match)
    return retro, card


async def edit_card(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    card_id: int,
    data: CardUpdate,
    if_match: Versions | None,
) -> CardView:
    """Change your own card while the retro is collecting."""
    retro, card = await _own_card(session, access, number, card_id, if_match)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("column") is not None:
        _column(retro, changes["column"])
    previous = card.text
    apply_changes(card, changes)
    await session.flush()
    await _notify_mentions(session, access, retro, card.text, previous)
    return CardView(card, True, None if retro.anonymous else access.user, None)


async def delete_card(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    card_id: int,
    if_match: Versions | None,
) -> None:
    """Delete your own card while the retro is collecting."""
    _, card = await _own_card(session, access, number, card_id, if_match)
    await repository.delete_card(session, access.project_id, card.id or 0)


# --- groups -----------------------------------------------------------------------------------


async def _grouping(session: AsyncSession, access: ProjectAccess, number: int) -> Retro:
    # FOR UPDATE: group changes of one retro run one at a time, so card moves and the cap hold.
    retro = (await _retro(session, access, number, "update")).retro
    _open(retro)
    _in_phase(retro, RetroPhase.GROUPING, "Cards are grouped")
    return retro


async def _check_cards(
    session: AsyncSession, access: ProjectAccess, retro: Retro, card_ids: Sequence[int]
) -> None:
    found = await repository.cards_by_ids(session, access.project_id, _retro_id(retro), card_ids)
    errors: list[FieldError] = []
    seen: set[int] = set()
    for index, card_id in enumerate(card_ids):
        if card_id in seen:
            message, code = f"Card {card_id} is listed twice.", "duplicate"
        elif card_id not in found:
            message, code = f"No card {card_id} on retro {retro.number}.", "not_found"
        else:
            seen.add(card_id)
            continue
        errors.append(FieldError(field=f"body.card_ids.{index}", message=message, type=code))
    if errors:
        raise InvalidInput(
            "Invalid input: " + ", ".join(error.field for error in errors) + ".", errors=errors
        )


async def create_group(
    session: AsyncSession, access: ProjectAccess, number: int, data: GroupCreate
) -> GroupView:
    """Group cards under a name (they leave any group they were in)."""
    retro = await _grouping(session, access, number)
    retro_id = _retro_id(retro)
    await _check_cards(session, access, retro, data.card_ids)
    if await repository.count_groups(session, access.project_id, retro_id) >= MAX_GROUPS_PER_RETRO:
        raise Conflict(f"Retro {number} has {MAX_GROUPS_PER_RETRO} groups, the most allowed.")
    group = RetroGroup(project_id=access.project_id, retro_id=retro_id, name=data.name)
    await repository.add(session, group)
    assert group.id is not None
    await repository.set_group_cards(session, access.project_id, retro_id, group.id, data.card_ids)
    return GroupView(group, sorted(data.card_ids), None)


async def _group(
    session: AsyncSession, access: ProjectAccess, retro: Retro, group_id: int
) -> RetroGroup:
    group = await repository.get_group(session, access.project_id, _retro_id(retro), group_id)
    if group is None:
        raise NotFound(f"No group {group_id} on retro {retro.number}.")
    return group


async def update_group(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    group_id: int,
    data: GroupUpdate,
    if_match: Versions | None,
) -> GroupView:
    """Rename a group or give it a whole new list of cards."""
    retro = await _grouping(session, access, number)
    group = await _group(session, access, retro, group_id)
    check_version(group.version, if_match)
    changes = data.model_dump(exclude_unset=True)
    card_ids = changes.pop("card_ids", None)
    if "card_ids" in data.model_fields_set and card_ids is None:
        raise InvalidInput.null("body.card_ids")
    renamed = apply_changes(group, changes)
    retro_id, gid = _retro_id(retro), group.id or 0
    if card_ids is not None:
        await _check_cards(session, access, retro, card_ids)
        before = await repository.group_card_ids(session, access.project_id, retro_id, gid)
        if sorted(card_ids) != before:
            await repository.set_group_cards(session, access.project_id, retro_id, gid, card_ids)
            if not renamed:
                bump(group)
    await session.flush()
    members = await repository.group_card_ids(session, access.project_id, retro_id, gid)
    return GroupView(group, members, None)


async def delete_group(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    group_id: int,
    if_match: Versions | None,
) -> None:
    """Delete a group: its cards become ungrouped (and any votes on it go)."""
    retro = await _grouping(session, access, number)
    group = await _group(session, access, retro, group_id)
    check_version(group.version, if_match)
    await repository.delete_group(session, access.project_id, group.id or 0)


# --- votes ------------------------------------------------------------------------------------


async def cast_vote(
    session: AsyncSession, access: ProjectAccess, number: int, data: VoteCreate
) -> VoteView:
    """Cast one vote on a card or a group, within your budget and the per-card maximum."""
    retro = (await _writable(session, access, number)).retro
    _in_phase(retro, RetroPhase.VOTING, "Votes are cast")
    retro_id, me = _retro_id(retro), _user_id(access)
    if data.card_id is not None:
        card = await repository.get_card(session, access.project_id, retro_id, data.card_id)
        if card is None:
            raise InvalidInput.for_field(
                "body.card_id", f"No card {data.card_id} on retro {number}.", "not_found"
            )
        if card.group_id is not None:
            raise InvalidInput.for_field(
                "body.card_id",
                f"Card {data.card_id} is in group {card.group_id}: vote on the group.",
                "grouped",
            )
    else:
        assert data.group_id is not None
        if await repository.get_group(session, access.project_id, retro_id, data.group_id) is None:
            raise InvalidInput.for_field(
                "body.group_id", f"No group {data.group_id} on retro {number}.", "not_found"
            )
    # The member's votes on this retro queue here: the check and the insert are one step.
    await repository.lock_voter(session, retro_id, me)
    used, on_target = await repository.vote_counts(
        session, access.project_id, retro_id, me, data.card_id, data.group_id
    )
    if used >= retro.vote_budget:
        raise Conflict(f"You have used all {retro.vote_budget} of your votes; retract one first.")
    if retro.max_votes_per_card is not None and on_target >= retro.max_votes_per_card:
        raise Conflict(
            f"You have {on_target} votes on it already, the most one member may put on one "
            "card or group."
        )
    vote = RetroVote(
        project_id=access.project_id,
        retro_id=retro_id,
        user_id=me,
        card_id=data.card_id,
        group_id=data.group_id,
    )
    await repository.add(session, vote)
    return VoteView(vote, retro.vote_budget - used - 1)


async def retract_vote(
    session: AsyncSession, access: ProjectAccess, number: int, vote_id: int
) -> None:
    """Retract one of your votes while the retro is voting."""
    retro = (await _writable(session, access, number)).retro
    _in_phase(retro, RetroPhase.VOTING, "Votes are retracted")
    retro_id, me = _retro_id(retro), _user_id(access)
    await repository.lock_voter(session, retro_id, me)
    vote = await repository.get_vote(session, access.project_id, retro_id, vote_id)
    # Someone else's vote is as unknown as a missing one: votes are private.
    if vote is None or vote.user_id != me:
        raise NotFound(f"No vote {vote_id} of yours on retro {number}.")
    await repository.delete_vote(session, access.project_id, vote_id)


# --- export -----------------------------------------------------------------------------------


async def export_retro(
    session: AsyncSession, access: ProjectAccess, number: int, fmt: ExportFormat
) -> RetroExport | str:
    """A retro's summary as the caller may see it: a `RetroExport`, or its markdown."""
    board = RetroBoard.model_validate(await get_board(session, access, number))
    summary = export_of(access.project.key, board)
    return render_markdown(summary) if fmt == ExportFormat.MARKDOWN else summary


async def export_sprint_retro(
    session: AsyncSession, access: ProjectAccess, sprint_number: int, fmt: ExportFormat
) -> RetroExport | str:
    """A sprint's retro summary as the caller may see it."""
    number = await _sprint_retro_number(session, access, sprint_number)
    return await export_retro(session, access, number, fmt)
