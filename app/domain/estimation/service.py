"""Rules for planning poker: rounds on items, hidden votes, the reveal, re-votes, accepting an
estimate through the item write path, and sessions that walk a list of items in rank order.

Locks are taken item first, then round (then, for sessions, the session before both), so the
changes of one item's rounds run one after another and never deadlock.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.estimation import repository
from app.domain.estimation.models import (
    EstimationRound,
    EstimationSession,
    EstimationVote,
    RoundState,
    SessionState,
)
from app.domain.estimation.schemas import (
    RoundAccept,
    SessionAdvance,
    SessionCreate,
    SessionItemState,
)
from app.domain.items import repository as items_repository
from app.domain.items import service as items_service
from app.domain.items.models import Item
from app.domain.items.schemas import ItemUpdate
from app.domain.kernel import clock
from app.domain.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from app.domain.kernel.pagination import PageRequest
from app.domain.kernel.versioning import bump
from app.domain.kernel.views import RowView
from app.domain.metrics.estimation import COFFEE, UNSURE, RevealStats, ScalePoint, reveal_stats
from app.domain.projects import repository as projects_repository
from app.domain.projects.access import ProjectAccess
from app.domain.projects.models import EstimationScale, Role
from app.domain.projects.scales import scale_values
from app.domain.users import repository as users_repository
from app.domain.users.models import User
from app.domain.workflow.models import StatusCategory

# Sessions are meetings: a project rarely has more than one or two going at once.
MAX_OPEN_SESSIONS = 20

Ballot = tuple[EstimationVote, User | None]


def scale_points(scale: EstimationScale | str) -> tuple[ScalePoint, ...]:
    """A scale's values as the pure statistics read them, smallest first."""
    return tuple(ScalePoint(value.label, value.value) for value in scale_values(scale))


@dataclass(frozen=True)
class VoteView:
    """One vote with its voter."""

    user: User | None
    value: str


@dataclass(frozen=True)
class RoundView(RowView):
    """A round with its item number, facilitator and votes, as the caller may see them."""

    ROW = "round"

    round: EstimationRound
    item_number: int
    facilitator: User | None
    ballots: Sequence[Ballot]
    caller_id: int | None

    @property
    def shown(self) -> bool:
        """Votes are shown once revealed (a round cancelled while voting never shows them)."""
        return self.round.revealed_at is not None

    @property
    def voters(self) -> list[User]:
        """Who has voted, in the order they first voted."""
        return [user for _, user in self.ballots if user is not None]

    @property
    def my_vote(self) -> str | None:
        """The caller's own vote."""
        return next((v.value for v, _ in self.ballots if v.user_id == self.caller_id), None)

    @property
    def votes(self) -> list[VoteView] | None:
        """Every vote, once revealed."""
        return [VoteView(user, vote.value) for vote, user in self.ballots] if self.shown else None

    @property
    def stats(self) -> RevealStats | None:
        """The reveal's statistics on the round's scale, once revealed."""
        if not self.shown:
            return None
        return reveal_stats(scale_points(self.round.scale), [v.value for v, _ in self.ballots])


def _check_facilitator(access: ProjectAccess, facilitator_id: int | None, what: str) -> None:
    if access.role != Role.OWNER and access.user.id != facilitator_id:
        raise Forbidden(f"Only the facilitator or a project owner may {what}.")


async def _round_views(
    session: AsyncSession, access: ProjectAccess, item_number: int, rounds: list[EstimationRound]
) -> list[RoundView]:
    """Rounds of one item with their votes and facilitators (two queries for any number)."""
    ids = [r.id for r in rounds if r.id is not None]
    ballots = await repository.votes_with_users(session, access.project_id, ids)
    users = await users_repository.users_by_id(
        session, sorted({r.facilitator_id for r in rounds if r.facilitator_id is not None})
    )
    return [
        RoundView(
            round=r,
            item_number=item_number,
            facilitator=users.get(r.facilitator_id) if r.facilitator_id else None,
            ballots=ballots.get(r.id or 0, []),
            caller_id=access.user.id,
        )
        for r in rounds
    ]


async def _round_view(
    session: AsyncSession, access: ProjectAccess, item_number: int, row: EstimationRound
) -> RoundView:
    return (await _round_views(session, access, item_number, [row]))[0]


async def _item(
    session: AsyncSession, access: ProjectAccess, number: int, *, for_update: bool = False
) -> Item:
    item = await items_repository.get_item(
        session, access.project_id, number, for_update=for_update
    )
    if item is None:
        raise NotFound(f"No item {access.project.key}-{number}.")
    return item


async def _round(
    session: AsyncSession, access: ProjectAccess, item: Item, number: int
) -> EstimationRound:
    """A round of the item, locked for a change, or 404."""
    assert item.id is not None
    found = await repository.get_round(session, access.project_id, item.id, number, for_update=True)
    if found is None:
        raise NotFound(f"No round {number} on {access.project.key}-{item.number}.")
    return found


async def _open_on(
    session: AsyncSession,
    access: ProjectAccess,
    item: Item,
    facilitator_id: int | None,
    session_id: int | None,
) -> EstimationRound:
    """A new voting round on a (locked) item, numbered after its last one."""
    assert item.id is not None
    key = f"{access.project.key}-{item.number}"
    existing = await repository.open_round(session, access.project_id, item.id)
    if existing is not None:
        raise Conflict(f"{key} has an open round ({existing.number}); finish it first.")
    number = await repository.last_round_number(session, access.project_id, item.id) + 1
    new = EstimationRound(
        project_id=access.project_id,
        item_id=item.id,
        number=number,
        scale=access.project.estimation_scale,
        facilitator_id=facilitator_id,
        session_id=session_id,
    )
    try:
        # The partial unique index is the last word on "one open round per item".
        async with session.begin_nested():
            session.add(new)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(f"{key} has an open round already; finish it first.") from exc
    return new


def _close(row: EstimationRound, state: RoundState | None = None) -> None:
    """Stop a round being its item's open one (optionally moving it to `state`)."""
    if state is not None:
        row.state = state
    row.closed_at = clock.now()
    bump(row)


async def open_round(session: AsyncSession, access: ProjectAccess, number: int) -> RoundView:
    """Open a voting round on an item; the caller facilitates it."""
    # The item's lock makes concurrent openers of one item run one after the other.
    item = await _item(session, access, number, for_update=True)
    row = await _open_on(session, access, item, access.user.id, None)
    return await _round_view(session, access, number, row)


async def list_rounds(
    session: AsyncSession, access: ProjectAccess, number: int, page: PageRequest
) -> tuple[list[RoundView], str | None]:
    """An item's rounds, latest first."""
    item = await _item(session, access, number)
    assert item.id is not None
    rows, cursor = await repository.list_rounds(session, access.project_id, item.id, page)
    return await _round_views(session, access, number, rows), cursor


async def get_round(
    session: AsyncSession, access: ProjectAccess, number: int, round_number: int
) -> RoundView:
    """One round of an item."""
    item = await _item(session, access, number)
    assert item.id is not None
    row = await repository.get_round(session, access.project_id, item.id, round_number)
    if row is None:
        raise NotFound(f"No round {round_number} on {access.project.key}-{number}.")
    return await _round_view(session, access, number, row)


def _check_value(scale: EstimationScale, value: str) -> None:
    labels = [point.label for point in scale_points(scale)]
    if value not in (*labels, UNSURE, COFFEE):
        raise InvalidInput.for_field(
            "body.value",
            f"{value!r} is not on the {scale} scale ({', '.join(labels)}), `?` or `coffee`.",
            "not_on_scale",
        )


def _voting(row: EstimationRound, key: str) -> None:
    if row.state != RoundState.VOTING:
        raise Conflict(
            f"Round {row.number} on {key} is {row.state}; votes change only while voting."
        )


async def cast_vote(
    session: AsyncSession, access: ProjectAccess, number: int, round_number: int, value: str
) -> RoundView:
    """Cast or change the caller's vote while the round is voting."""
    item = await _item(session, access, number)
    # The round's lock orders votes against the reveal: no vote lands after it.
    row = await _round(session, access, item, round_number)
    _voting(row, f"{access.project.key}-{number}")
    _check_value(row.scale, value)
    assert row.id is not None and access.user.id is not None
    await repository.put_vote(session, access.project_id, row.id, access.user.id, value)
    return await _round_view(session, access, number, row)


async def retract_vote(
    session: AsyncSession, access: ProjectAccess, number: int, round_number: int
) -> None:
    """Take back the caller's vote while the round is voting (nothing to take back is fine)."""
    item = await _item(session, access, number)
    row = await _round(session, access, item, round_number)
    _voting(row, f"{access.project.key}-{number}")
    assert row.id is not None and access.user.id is not None
    await repository.delete_vote(session, access.project_id, row.id, access.user.id)


async def reveal(
    session: AsyncSession, access: ProjectAccess, number: int, round_number: int
) -> RoundView:
    """Show every vote of a voting round, with its statistics."""
    item = await _item(session, access, number)
    row = await _round(session, access, item, round_number)
    _check_facilitator(access, row.facilitator_id, "reveal a round")
    key = f"{access.project.key}-{number}"
    if row.state != RoundState.VOTING:
        raise Conflict(f"Round {row.number} on {key} is {row.state}; only voting rounds reveal.")
    assert row.id is not None
    if not await repository.count_votes(session, access.project_id, row.id):
        raise Conflict(f"Round {row.number} on {key} has no votes; nothing to reveal.")
    row.state = RoundState.REVEALED
    row.revealed_at = clock.now()
    bump(row)
    await session.flush()
    return await _round_view(session, access, number, row)


def _revealed_and_open(row: EstimationRound, key: str, what: str) -> None:
    if row.state != RoundState.REVEALED or row.closed_at is not None:
        state = "re-voted" if row.state == RoundState.REVEALED else str(row.state)
        raise Conflict(
            f"Round {row.number} on {key} is {state}; {what} needs the open revealed round."
        )


async def revote(
    session: AsyncSession, access: ProjectAccess, number: int, round_number: int
) -> RoundView:
    """Open the next round on the item after a reveal; the revealed one is kept as it is."""
    item = await _item(session, access, number, for_update=True)
    row = await _round(session, access, item, round_number)
    _check_facilitator(access, row.facilitator_id, "start a re-vote")
    _revealed_and_open(row, f"{access.project.key}-{number}", "a re-vote")
    _close(row)
    await session.flush()
    new = await _open_on(session, access, item, row.facilitator_id, row.session_id)
    return await _round_view(session, access, number, new)


async def accept(
    session: AsyncSession,
    access: ProjectAccess,
    number: int,
    round_number: int,
    data: RoundAccept,
) -> RoundView:
    """Set the item's points from a revealed round (the median unless a value is given).

    The points change goes through the item write path, so it shows in the item's history and
    in the sprint's scope changes like any other re-estimate.
    """
    item = await _item(session, access, number, for_update=True)
    row = await _round(session, access, item, round_number)
    _check_facilitator(access, row.facilitator_id, "accept a round")
    _revealed_and_open(row, f"{access.project.key}-{number}", "accepting")
    scale = scale_points(row.scale)
    label = data.value
    if label is None:
        assert row.id is not None
        ballots = (await repository.votes_with_users(session, access.project_id, [row.id])).get(
            row.id, []
        )
        label = reveal_stats(scale, [vote.value for vote, _ in ballots]).median
        if label is None:
            raise InvalidInput.for_field(
                "body.value", "No numeric votes to take a median of; send a value.", "required"
            )
    point = next((p for p in scale if p.label == label), None)
    if point is None:
        labels = ", ".join(p.label for p in scale)
        raise InvalidInput.for_field(
            "body.value", f"{label!r} is not on the {row.scale} scale ({labels}).", "not_on_scale"
        )
    try:
        await items_service.update_item(
            session, access, number, ItemUpdate.model_validate({"points": point.value}), None
        )
    except InvalidInput as exc:
        # Only when the project's scale changed since the round opened.
        raise InvalidInput.for_field("body.value", exc.detail, "not_on_scale") from exc
    row.accepted_value = point.label
    _close(row, RoundState.ACCEPTED)
    await session.flush()
    return await _round_view(session, access, number, row)


# --- sessions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionItemView:
    """One item of a session and where it stands."""

    number: int
    key: str
    title: str
    points: float | None
    state: SessionItemState
    round: int | None


@dataclass(frozen=True)
class ProgressView:
    """How far a session has come."""

    total: int
    estimated: int
    skipped: int
    remaining: int


@dataclass(frozen=True)
class SessionView(RowView):
    """A session with its items, the current one, and its progress."""

    ROW = "row"

    row: EstimationSession
    facilitator: User | None
    items: list[SessionItemView]
    current: SessionItemView | None

    @property
    def progress(self) -> ProgressView:
        """Estimated, skipped and remaining items."""
        estimated = sum(1 for item in self.items if item.state == SessionItemState.ESTIMATED)
        skipped = sum(1 for item in self.items if item.state == SessionItemState.SKIPPED)
        total = len(self.items)
        return ProgressView(total, estimated, skipped, total - estimated - skipped)


async def _session_views(
    session: AsyncSession, access: ProjectAccess, rows: list[EstimationSession]
) -> list[SessionView]:
    """Sessions with their items, latest rounds and facilitators (five queries for any page)."""
    pid = access.project_id
    item_ids = sorted({item_id for row in rows for item_id in row.item_ids})
    items = {
        found.id: found for found in await items_repository.current_items(session, pid, item_ids)
    }
    latest = await repository.latest_rounds(session, pid, item_ids)
    accepted = await repository.accepted_item_ids(
        session, pid, [row.id for row in rows if row.id is not None]
    )
    users = await users_repository.users_by_id(
        session, sorted({row.facilitator_id for row in rows if row.facilitator_id is not None})
    )
    views = []
    for row in rows:
        done = accepted.get(row.id or 0, set())
        listed: list[SessionItemView] = []
        current: SessionItemView | None = None
        for index, item_id in enumerate(row.item_ids):
            found = items.get(item_id)
            if found is None:
                continue
            on_table = row.state == SessionState.OPEN and index == row.position
            if item_id in done:
                state = SessionItemState.ESTIMATED
            elif item_id in row.skipped_ids:
                state = SessionItemState.SKIPPED
            elif on_table:
                state = SessionItemState.CURRENT
            else:
                state = SessionItemState.PENDING
            last = latest.get(item_id)
            view = SessionItemView(
                number=found.number,
                key=f"{access.project.key}-{found.number}",
                title=found.title,
                points=found.points,
                state=state,
                round=last.number if last is not None else None,
            )
            listed.append(view)
            if on_table:
                current = view
        facilitator = users.get(row.facilitator_id) if row.facilitator_id else None
        views.append(SessionView(row, facilitator, listed, current))
    return views


async def _session_view(
    session: AsyncSession, access: ProjectAccess, row: EstimationSession
) -> SessionView:
    return (await _session_views(session, access, [row]))[0]


async def _locked_session(
    session: AsyncSession, access: ProjectAccess, session_id: int
) -> EstimationSession:
    row = await repository.get_session(session, access.project_id, session_id, for_update=True)
    if row is None:
        raise NotFound(f"No estimation session {session_id} in {access.project.key}.")
    return row


async def _item_by_id(session: AsyncSession, access: ProjectAccess, item_id: int) -> Item | None:
    """An item of the project by id, locked; None once it is gone."""
    found = await items_repository.current_items(session, access.project_id, [item_id])
    if not found:
        return None
    return await items_repository.get_item(
        session, access.project_id, found[0].number, for_update=True
    )


async def _enter(session: AsyncSession, access: ProjectAccess, row: EstimationSession) -> None:
    """Put the item at the session's position on the table: open its round, or take over the
    item's open round; past the last item (deleted ones are passed over) the session closes."""
    assert row.id is not None
    while row.position < len(row.item_ids):
        item = await _item_by_id(session, access, row.item_ids[row.position])
        if item is not None:
            assert item.id is not None
            existing = await repository.open_round(
                session, access.project_id, item.id, for_update=True
            )
            if existing is None:
                await _open_on(session, access, item, row.facilitator_id, row.id)
            elif existing.session_id != row.id:
                existing.session_id = row.id
                bump(existing)
            return
        row.position += 1
    row.state = SessionState.CLOSED
    row.closed_at = clock.now()


async def _session_items(
    session: AsyncSession, access: ProjectAccess, data: SessionCreate
) -> list[Item]:
    """The items a new session walks, in rank order."""
    if data.items is not None:
        seen: dict[int, int] = {}
        for index, number in enumerate(data.items):
            if number in seen:
                raise InvalidInput.for_field(
                    f"body.items.{index}", f"Repeats items.{seen[number]}.", "duplicate"
                )
            seen[number] = index
        found = await items_repository.get_items_by_numbers(session, access.project_id, data.items)
        errors = [
            FieldError(
                field=f"body.items.{index}",
                message=f"No item {access.project.key}-{number}.",
                type="unknown",
            )
            for index, number in enumerate(data.items)
            if number not in found
        ]
        if errors:
            raise InvalidInput(
                "Unknown items: " + ", ".join(e.field for e in errors), errors=errors
            )
        # Rank keys compare in the column's "C" collation, which is Python's code-point order.
        return sorted(found.values(), key=lambda item: item.rank)
    assert data.first_unestimated is not None
    filters = items_repository.ItemFilter(
        estimated=False,
        backlog_only=True,
        exclude_epics=True,
        categories=[StatusCategory.TODO, StatusCategory.IN_PROGRESS],
    )
    rows, _ = await items_repository.list_items(
        session, access.project_id, filters, "rank", PageRequest(limit=data.first_unestimated)
    )
    if not rows:
        raise Conflict(f"{access.project.key} has no unestimated backlog items to estimate.")
    return [row.item for row in rows]


async def create_session(
    session: AsyncSession, access: ProjectAccess, data: SessionCreate
) -> SessionView:
    """Start a session over items in rank order; the first one's round opens at once."""
    # Under the project's lock the cap on open sessions holds against concurrent creations.
    await projects_repository.lock_project(session, access.project_id)
    if await repository.count_open_sessions(session, access.project_id) >= MAX_OPEN_SESSIONS:
        raise Conflict(
            f"{access.project.key} has {MAX_OPEN_SESSIONS} open estimation sessions; close one."
        )
    items = await _session_items(session, access, data)
    row = EstimationSession(
        project_id=access.project_id,
        facilitator_id=access.user.id,
        item_ids=[item.id for item in items if item.id is not None],
    )
    session.add(row)
    await session.flush()
    await _enter(session, access, row)
    await session.flush()
    return await _session_view(session, access, row)


async def get_session(session: AsyncSession, access: ProjectAccess, session_id: int) -> SessionView:
    """One estimation session."""
    row = await repository.get_session(session, access.project_id, session_id)
    if row is None:
        raise NotFound(f"No estimation session {session_id} in {access.project.key}.")
    return await _session_view(session, access, row)


async def list_sessions(
    session: AsyncSession, access: ProjectAccess, page: PageRequest
) -> tuple[list[SessionView], str | None]:
    """The project's estimation sessions, latest first."""
    rows, cursor = await repository.list_sessions(session, access.project_id, page)
    return await _session_views(session, access, rows), cursor


def _still_open(row: EstimationSession) -> None:
    if row.state != SessionState.OPEN:
        raise Conflict(f"Estimation session {row.id} is closed.")


async def advance_session(
    session: AsyncSession, access: ProjectAccess, session_id: int, data: SessionAdvance
) -> SessionView:
    """Move on to the next item, once the current one is accepted (or when skipping it)."""
    row = await _locked_session(session, access, session_id)
    _check_facilitator(access, row.facilitator_id, "move a session on")
    _still_open(row)
    item = await _item_by_id(session, access, row.item_ids[row.position])
    if item is not None:
        assert item.id is not None
        latest = (await repository.latest_rounds(session, access.project_id, [item.id])).get(
            item.id
        )
        if latest is None or latest.state != RoundState.ACCEPTED:
            if not data.skip:
                raise Conflict(
                    f"{access.project.key}-{item.number} is not estimated yet: accept its round, "
                    'or send {"skip": true}.'
                )
            still_open = await repository.open_round(
                session, access.project_id, item.id, for_update=True
            )
            if still_open is not None:
                _close(still_open, RoundState.CANCELLED)
            row.skipped_ids = [*row.skipped_ids, item.id]
    row.position += 1
    await session.flush()
    await _enter(session, access, row)
    bump(row)
    await session.flush()
    return await _session_view(session, access, row)


async def close_session(
    session: AsyncSession, access: ProjectAccess, session_id: int
) -> SessionView:
    """End a session; the current item's unfinished round in it is cancelled."""
    row = await _locked_session(session, access, session_id)
    _check_facilitator(access, row.facilitator_id, "close a session")
    _still_open(row)
    item = await _item_by_id(session, access, row.item_ids[row.position])
    if item is not None and item.id is not None:
        still_open = await repository.open_round(
            session, access.project_id, item.id, for_update=True
        )
        if still_open is not None and still_open.session_id == row.id:
            _close(still_open, RoundState.CANCELLED)
    row.state = SessionState.CLOSED
    row.closed_at = clock.now()
    bump(row)
    await session.flush()
    return await _session_view(session, access, row)
