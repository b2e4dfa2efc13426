"""The demo's ceremonies: two retros with their action items, planning poker, a week of stand-ups.

Written through the same services the API uses, at simulated moments like the rest of the demo.
"""

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from app.demo.simulation import Simulation, at, working_days
from app.domain.estimation import service as estimation
from app.domain.estimation.schemas import RoundAccept
from app.domain.items.models import ItemType
from app.domain.retros import service as retros
from app.domain.retros.actions import service as actions
from app.domain.retros.actions.models import ActionStatus
from app.domain.retros.actions.schemas import ActionCreate, ActionUpdate
from app.domain.retros.models import RetroFormat, RetroPhase
from app.domain.retros.schemas import CardCreate, GroupCreate, RetroCreate, VoteCreate
from app.domain.standups import service as standups
from app.domain.standups.schemas import StandupEntryReplace

# What each member writes, per column; the first retro names people, the second is anonymous.
_CARDS: dict[RetroFormat, dict[str, tuple[str, ...]]] = {
    RetroFormat.WENT_WELL_TO_IMPROVE: {
        "Went well": (
            "Pairing on the checkout made reviews quick",
            "The demo to stakeholders went smoothly",
            "Hotfix shipped within a day",
        ),
        "To improve": (
            "Stories arrived in the sprint without acceptance criteria",
            "Releases need a checklist: we forgot the migration again",
            "Code review waited two days more than once",
            "Too many meetings on Wednesday",
        ),
    },
    RetroFormat.START_STOP_CONTINUE: {
        "Start": (
            "Write acceptance criteria before planning",
            "Limit work in review to three items",
        ),
        "Stop": (
            "Pulling work into the sprint on day three",
            "Reviews that wait for one person",
        ),
        "Continue": ("Pairing on risky changes", "Short stand-ups"),
    },
}


async def hold_retro(
    sim: Simulation, sprint_number: int, day: date, *, anonymous: bool, due_in_days: int
) -> int:
    """A sprint's retro at the end of its last day, from collecting to closed; its number."""
    retro_format = (
        RetroFormat.START_STOP_CONTINUE if anonymous else RetroFormat.WENT_WELL_TO_IMPROVE
    )
    team = [sim.team.owner_id, *sim.team.member_ids]

    async def collect(session: AsyncSession) -> int:
        owner = await sim.access(session, sim.team.owner_id)
        board = await retros.create_sprint_retro(
            session,
            owner,
            sprint_number,
            RetroCreate(format=retro_format, vote_budget=3, anonymous=anonymous),
        )
        for index, (column, texts) in enumerate(_CARDS[retro_format].items()):
            for offset, text in enumerate(texts):
                author = await sim.access(session, team[(index + offset) % len(team)])
                await retros.add_card(
                    session, author, board.number, CardCreate(column=column, text=text)
                )
        return int(board.number)

    number = await sim.moment(at(day, 16, 30), collect)

    async def discuss(session: AsyncSession) -> None:
        owner = await sim.access(session, sim.team.owner_id)
        await retros.move_phase(session, owner, number, RetroPhase.GROUPING, None)
        board = await retros.get_board(session, owner, number)
        cards = [card for column in board.board for card in column.cards]
        # The two review complaints (or the two review cards) belong together.
        review = [card.card.id for card in cards if "review" in card.card.text.lower()]
        group = await retros.create_group(
            session, owner, number, GroupCreate(name="Code review", card_ids=review[:2])
        )
        await retros.move_phase(session, owner, number, RetroPhase.VOTING, None)
        grouped = set(review[:2])
        loose = [card.card.id for card in cards if card.card.id not in grouped]
        for index, user_id in enumerate(team):
            voter = await sim.access(session, user_id)
            await retros.cast_vote(session, voter, number, VoteCreate(group_id=group.group.id))
            for card_id in (loose[index % len(loose)], loose[(index + 2) % len(loose)]):
                await retros.cast_vote(session, voter, number, VoteCreate(card_id=card_id))
        await retros.move_phase(session, owner, number, RetroPhase.DISCUSSING, None)
        members = sim.team.member_ids
        titles = (
            (
                ("Cap work in review at three items", members[2]),
                ("Stop pulling work in after day two", sim.team.owner_id),
                ("Pair on every change to payments", members[3]),
            )
            if anonymous
            else (
                ("Agree a review rota so no review waits a day", members[0]),
                ("Add a release checklist to the wiki", members[1]),
                ("Write acceptance criteria before planning", sim.team.owner_id),
            )
        )
        for title, owner_id in titles:
            await actions.create_retro_action(
                session,
                owner,
                number,
                ActionCreate(
                    title=title, owner_id=owner_id, due_date=day + timedelta(days=due_in_days)
                ),
            )
        await retros.move_phase(session, owner, number, RetroPhase.CLOSED, None)

    await sim.moment(at(day, 17, 15), discuss)
    return number


async def follow_up(sim: Simulation, day: date, first_action: int) -> None:
    """Work on the first retro's actions during the next sprint: one done, one dropped."""

    async def work(session: AsyncSession) -> None:
        owner = await sim.access(session, sim.team.owner_id)
        await actions.update_action(
            session, owner, first_action, ActionUpdate(status=ActionStatus.DONE), None
        )
        await actions.update_action(
            session,
            owner,
            first_action + 2,
            ActionUpdate(
                status=ActionStatus.DROPPED, notes="Covered by the new definition of ready."
            ),
            None,
        )

    await sim.moment(at(day, 11), work)


async def take_to_backlog(sim: Simulation, day: date, action: int) -> None:
    """Turn one action of the latest retro into a backlog task."""

    async def work(session: AsyncSession) -> None:
        owner = await sim.access(session, sim.team.owner_id)
        await actions.to_item(session, owner, action, None)

    await sim.moment(at(day, 17, 30), work)


async def planning_poker(sim: Simulation, day: date, numbers: list[int]) -> None:
    """Estimate backlog items: a first round that splits the team and a re-vote that agrees,
    then a round that agrees at once; the last item's round is left open."""
    team = [sim.team.owner_id, *sim.team.member_ids]
    first_votes = ("3", "5", "8", "5", "13")

    async def work(session: AsyncSession) -> None:
        owner = await sim.access(session, sim.team.owner_id)
        for position, number in enumerate(numbers):
            opened = await estimation.open_round(session, owner, number)
            votes = first_votes if position == 0 else ("5", "5", "3", "5", "5")
            for user_id, value in zip(team, votes, strict=True):
                voter = await sim.access(session, user_id)
                await estimation.cast_vote(session, voter, number, opened.number, value)
            if position == len(numbers) - 1:
                return
            await estimation.reveal(session, owner, number, opened.number)
            round_number = opened.number
            if position == 0:
                again = await estimation.revote(session, owner, number, round_number)
                for user_id in team:
                    voter = await sim.access(session, user_id)
                    await estimation.cast_vote(session, voter, number, again.number, "5")
                await estimation.reveal(session, owner, number, again.number)
                round_number = again.number
            await estimation.accept(session, owner, number, round_number, RoundAccept())

    await sim.moment(at(day, 14), work)


_STANDUP_LINES = (
    ("Reviewed the cart summary.", "Pay by card: the form.", ""),
    ("Paired on the coupon rules.", "Finish the coupon tests.", ""),
    ("Wrote the confirmation email.", "Localise it.", "Waiting for the translations."),
    ("Fixed the search sort.", "Saved searches.", ""),
    ("Set up the payment sandbox.", "3-D Secure.", "The provider's sandbox keys expired."),
)


async def standup_week(sim: Simulation, start: date, today: date, blocked: int) -> None:
    """Every member's stand-up on each working day of the active sprint up to yesterday;
    blockers come and go, and yesterday's is still open on the board."""
    team = [sim.team.owner_id, *sim.team.member_ids]
    days = working_days(start, today - timedelta(days=1))
    for offset, day in enumerate(days):

        async def post(session: AsyncSession, day: date = day, offset: int = offset) -> None:
            for index, user_id in enumerate(team):
                author = await sim.access(session, user_id)
                yesterday, plan, blockers = _STANDUP_LINES[(index + offset) % len(team)]
                if offset == len(days) - 1 and index == len(team) - 1:
                    # Yesterday's last word: the payment sandbox blocks an item of the sprint.
                    yesterday, plan, blockers = _STANDUP_LINES[-1]
                # A blocker names the item while it lasts; the next entry without it clears it.
                await standups.replace_entry(
                    session,
                    author,
                    day,
                    user_id,
                    StandupEntryReplace(
                        yesterday=yesterday if offset else "Sprint planning.",
                        today=plan,
                        blockers=blockers,
                        blocked_items=[blocked] if blockers else [],
                    ),
                    None,
                )

        await sim.moment(at(day, 9, 35), post, pinned=True)


def estimable(rows: list[tuple[int, ItemType]]) -> list[int]:
    """Numbers of backlog stories to estimate in the demo's planning poker: three of them."""
    return [number for number, kind in rows if kind == ItemType.STORY][:3]
