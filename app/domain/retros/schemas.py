"""API shapes for retros: settings, the board (cards, groups, votes), its context and export."""

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import ID_MAX, ID_MIN, BodyBool, BodyInt, InputModel
from app.domain.retros.actions.schemas import ActionPublic
from app.domain.retros.models import (
    CARD_TEXT_MAX,
    COLUMN_NAME_MAX,
    GROUP_NAME_MAX,
    MAX_CARDS_PER_GROUP,
    RetroFormat,
    RetroPhase,
)
from app.domain.sprints.models import GoalOutcome, SprintState
from app.domain.sprints.report.schemas import Tally

TITLE_MAX = 120
NOTES_MAX = 10_000
MAX_COLUMNS = 6

Title = Annotated[str, StringConstraints(min_length=1, max_length=TITLE_MAX)]
ColumnName = Annotated[str, StringConstraints(min_length=1, max_length=COLUMN_NAME_MAX)]
CardText = Annotated[str, StringConstraints(min_length=1, max_length=CARD_TEXT_MAX)]
GroupName = Annotated[str, StringConstraints(min_length=1, max_length=GROUP_NAME_MAX)]
RowId = Annotated[BodyInt, Field(ge=ID_MIN, le=ID_MAX)]
VoteBudget = Annotated[BodyInt, Field(ge=1, le=100)]


class RetroCreate(InputModel):
    """A new retro. `columns` only (and required) for the `custom` format."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"format": "start_stop_continue", "vote_budget": 5, "anonymous": True},
                {
                    "title": "Release 2.0 post-mortem",
                    "format": "custom",
                    "columns": ["Surprised us", "Slowed us", "Try next"],
                    "vote_budget": 3,
                    "max_votes_per_card": 2,
                },
            ]
        }
    )

    title: Title | None = Field(
        default=None, description='Default: "Sprint N retrospective" (or "Retrospective").'
    )
    format: RetroFormat = RetroFormat.START_STOP_CONTINUE
    columns: list[ColumnName] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_COLUMNS,
        description="For `custom` only: 1–6 distinct column names of up to 60 characters.",
    )
    vote_budget: VoteBudget = Field(default=5, description="Votes each member may cast, 1–100.")
    max_votes_per_card: VoteBudget | None = Field(
        default=None, description="At most this many of one member's votes on one card or group."
    )
    anonymous: BodyBool = Field(
        default=False, description="Never show, to anyone, who wrote which card."
    )


class RetroUpdate(InputModel):
    """Changes to a retro; vote settings only before voting begins."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"notes": "Timeboxed to 45 minutes.", "vote_budget": 3}]}
    )

    title: Title | None = None
    notes: str | None = Field(default=None, max_length=NOTES_MAX)
    facilitator_id: RowId | None = Field(
        default=None, description="Hand the retro over to a member (role member or owner)."
    )
    vote_budget: VoteBudget | None = None
    max_votes_per_card: VoteBudget | None = Field(default=None, description="null: no maximum.")


class RetroPhaseMove(InputModel):
    """The phase to move to: the next one, or (until closed) the previous one."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"phase": "grouping"}]})

    phase: RetroPhase


class CardCreate(InputModel):
    """A new card in one of the retro's columns."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"column": "Start", "text": "Pair on the risky bits"}]}
    )

    column: ColumnName = Field(description="One of the retro's columns, by name.")
    text: CardText


class CardUpdate(InputModel):
    """Changes to your own card."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"text": "Pair on every PR"}]})

    column: ColumnName | None = None
    text: CardText | None = None


class GroupCreate(InputModel):
    """A named group of cards (a card moves out of any group it was in)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"name": "Code review", "card_ids": [12, 15]}]}
    )

    name: GroupName
    card_ids: list[RowId] = Field(default_factory=list, max_length=MAX_CARDS_PER_GROUP)


class GroupUpdate(InputModel):
    """A group's new name and/or its whole new list of cards."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"card_ids": [12, 15, 19]}]})

    name: GroupName | None = None
    card_ids: list[RowId] | None = Field(default=None, max_length=MAX_CARDS_PER_GROUP)


class VoteCreate(InputModel):
    """A vote on exactly one card (not in a group) or one group."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"card_id": 12}, {"group_id": 3}]})

    card_id: RowId | None = None
    group_id: RowId | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.card_id is None) == (self.group_id is None):
            raise ValueError("name exactly one of card_id and group_id")
        return self


class RetroPublic(BaseModel):
    """A retro's settings and phase."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    sprint: int | None = Field(description="The sprint's number; null for a project retro.")
    format: RetroFormat
    columns: list[str] = Field(description="The board's column names, in order.")
    phase: RetroPhase
    vote_budget: int
    max_votes_per_card: int | None
    anonymous: bool
    facilitator: UserRef | None = Field(description="Runs it, with the project's owners.")
    notes: str
    closed_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class RetroPage(BaseModel):
    """A page of retros, by number."""

    data: list[RetroPublic]
    next_cursor: str | None


class CardPublic(BaseModel):
    """A card. `author` is null in an anonymous retro (for everyone); `mine` marks yours."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    column: str
    text: str
    group_id: int | None
    mine: bool = Field(description="Whether you wrote it.")
    author: UserRef | None = Field(description="Who wrote it; always null when anonymous.")
    votes: int | None = Field(description="Votes on it; null until the discussing phase.")
    version: int
    created_at: datetime
    updated_at: datetime


class RetroColumn(BaseModel):
    """One column of the board: how many cards it has, and those you may read."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    card_count: int = Field(description="Every card in the column, readable or not.")
    cards: list[CardPublic] = Field(
        description="While collecting only your own cards; from grouping on, all of them."
    )


class GroupPublic(BaseModel):
    """A named group of cards."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    card_ids: list[int]
    votes: int | None = Field(
        description="Votes on the group and on its cards; null until the discussing phase."
    )
    version: int


class RetroVotePublic(BaseModel):
    """One of your votes."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    card_id: int | None
    group_id: int | None
    created_at: datetime


class RetroVoteCast(BaseModel):
    """A vote just cast, and how many you have left."""

    model_config = ConfigDict(from_attributes=True)

    vote: RetroVotePublic
    votes_remaining: int


class SprintHeadline(BaseModel):
    """The sprint report's headline: commitment, completion, say/do, goal and scope change."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    name: str
    state: SprintState
    goal: str
    goal_outcome: GoalOutcome | None
    start_date: date | None
    end_date: date | None
    committed: Tally | None = Field(description="Items and points at start; null if not started.")
    completed: Tally | None = Field(description="Items and points completed in the sprint.")
    say_do: float | None = Field(description="Completed points / committed points.")
    scope_added: Tally | None
    scope_removed: Tally | None
    frozen: bool = Field(description="The figures are the ones kept at completion.")


class RetroContext(BaseModel):
    """What a retro opens with."""

    model_config = ConfigDict(from_attributes=True)

    sprint: SprintHeadline | None = Field(description="Null for a project retro.")
    open_actions: list[ActionPublic] = Field(
        description="Every still-open action item from earlier retros, oldest first."
    )


class RetroBoard(RetroPublic):
    """A whole retro board in one call, shown as the phase and your role allow."""

    board: list[RetroColumn] = Field(description="The columns, in order.")
    groups: list[GroupPublic] = Field(description="Groups, by id (from the grouping phase on).")
    my_votes: list[RetroVotePublic] = Field(description="Your votes, by id.")
    votes_remaining: int | None = Field(description="Your unused votes; null for viewers.")
    tallies_visible: bool = Field(description="Whether vote counts are shown (from discussing).")
    context: RetroContext
    actions: list[ActionPublic] = Field(description="This retro's action items, by number.")


class ExportFormat(StrEnum):
    """How a retro is exported."""

    MARKDOWN = "markdown"
    JSON = "json"


class ExportCard(BaseModel):
    """A card in an export."""

    model_config = ConfigDict(from_attributes=True)

    text: str
    author: str | None = Field(description="The author's name; null when anonymous.")
    votes: int | None


class ExportColumn(BaseModel):
    """A column in an export."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    card_count: int
    cards: list[ExportCard]


class ExportGroup(BaseModel):
    """A group in an export, ranked by votes once they are shown."""

    model_config = ConfigDict(from_attributes=True)

    name: str
    votes: int | None
    cards: list[str] = Field(description="The texts of its cards.")


class RetroExport(BaseModel):
    """A retro summary fit for a wiki: columns, ranked groups, action items and context."""

    model_config = ConfigDict(from_attributes=True)

    project: str = Field(description="The project's key.")
    number: int
    title: str
    sprint: int | None
    phase: RetroPhase
    anonymous: bool
    context: RetroContext
    columns: list[ExportColumn]
    groups: list[ExportGroup] = Field(description="By votes (most first) once shown, else by id.")
    actions: list[ActionPublic]
