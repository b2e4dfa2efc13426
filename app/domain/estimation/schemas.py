"""API shapes for planning poker: rounds, votes, reveal statistics and estimation sessions."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain.estimation.models import RoundState, SessionState
from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import NUMBER_MAX, NUMBER_MIN, BodyBool, BodyInt, InputModel
from app.domain.kernel.pagination import Page
from app.domain.projects.models import EstimationScale

# A session walks at most this many items; a planning meeting estimates far fewer.
MAX_SESSION_ITEMS = 100
# Labels are short ("13", "XXL", "coffee"); this bounds the body before the scale check.
MAX_VALUE_LENGTH = 10


class VoteCast(InputModel):
    """A vote: a label of the project's scale, `?` (not sure) or `coffee` (a break)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"value": "5"}, {"value": "?"}]})

    value: str = Field(min_length=1, max_length=MAX_VALUE_LENGTH)


class RoundAccept(InputModel):
    """The estimate to set on the item; without one, the round's median."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"value": "8"}]})

    value: str | None = Field(default=None, min_length=1, max_length=MAX_VALUE_LENGTH)


class EstimationVotePublic(BaseModel):
    """One member's vote, shown once the round is revealed."""

    model_config = ConfigDict(from_attributes=True)

    user: UserRef | None = Field(description="Null once the voter's account is gone.")
    value: str


class RevealStatsPublic(BaseModel):
    """Statistics over the numeric votes of a revealed round."""

    model_config = ConfigDict(from_attributes=True)

    numeric_votes: int = Field(description="Votes with a value of the scale.")
    unsure: int = Field(description="Votes of `?`.")
    coffee: int = Field(description="Votes of `coffee`.")
    min: str | None = Field(description="The lowest numeric vote's label; null without one.")
    max: str | None = Field(description="The highest numeric vote's label.")
    min_value: float | None
    max_value: float | None
    spread: float | None = Field(description="max_value − min_value.")
    spread_steps: int | None = Field(description="How many scale steps lie between min and max.")
    discuss: bool = Field(description="The spread spans more than 2 scale steps: talk first.")
    median: str | None = Field(
        description="The median of the numeric votes snapped to the nearest scale value; "
        "exactly between two, the higher one."
    )
    median_value: float | None
    mode: list[str] = Field(description="The most common numeric votes (all of them on a tie).")


class RoundPublic(BaseModel):
    """A planning-poker round on an item: who voted while voting, every vote once revealed."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="The round's number on its item (1, 2, ...).")
    item_number: int
    state: RoundState
    scale: EstimationScale = Field(description="The project's scale when the round opened.")
    facilitator: UserRef | None = Field(
        description="Who reveals, re-votes and accepts (with the project's owners)."
    )
    session_id: int | None = Field(description="The estimation session it belongs to, if any.")
    voters: list[UserRef] = Field(description="Who has voted (names only, while voting).")
    my_vote: str | None = Field(description="Your own vote, if you cast one.")
    votes: list[EstimationVotePublic] | None = Field(description="Every vote; null until revealed.")
    stats: RevealStatsPublic | None = Field(description="Null until revealed.")
    accepted_value: str | None = Field(description="The estimate set on the item at accept.")
    created_at: datetime
    revealed_at: datetime | None
    closed_at: datetime | None = Field(
        description="When it stopped being the item's open round (re-voted, accepted, cancelled)."
    )
    version: int


class RoundPage(Page[RoundPublic]):
    """A page of an item's rounds, latest first."""


class SessionCreate(InputModel):
    """Items to estimate: either their numbers, or the first N unestimated backlog items."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"items": [12, 7, 31]}, {"first_unestimated": 5}]}
    )

    items: list[Annotated[BodyInt, Field(ge=NUMBER_MIN, le=NUMBER_MAX)]] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_SESSION_ITEMS,
        description="Item numbers; walked in rank order, whatever order they are sent in.",
    )
    first_unestimated: BodyInt | None = Field(
        default=None,
        ge=1,
        le=MAX_SESSION_ITEMS,
        description="Take the first N backlog items (no sprint, no points, no epics) by rank.",
    )

    @model_validator(mode="after")
    def _one_of(self) -> "SessionCreate":
        if (self.items is None) == (self.first_unestimated is None):
            raise ValueError("send either `items` or `first_unestimated`")
        return self


class SessionAdvance(InputModel):
    """Move to the next item; `skip` leaves the current one unestimated."""

    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"skip": True}]})

    skip: BodyBool = Field(
        default=False, description="Skip the current item (its open round is cancelled)."
    )


class SessionItemState(StrEnum):
    """Where an item of a session stands."""

    PENDING = "pending"
    CURRENT = "current"
    ESTIMATED = "estimated"
    SKIPPED = "skipped"


class SessionItemPublic(BaseModel):
    """One item of a session."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    key: str
    title: str
    points: float | None
    state: SessionItemState
    round: int | None = Field(description="Its latest round's number, once it has one.")


class SessionProgressPublic(BaseModel):
    """How far a session has come."""

    model_config = ConfigDict(from_attributes=True)

    total: int
    estimated: int = Field(description="Items whose round was accepted in this session.")
    skipped: int
    remaining: int = Field(description="Items not yet estimated or skipped.")


class SessionPublic(BaseModel):
    """An estimation session: its items in rank order, the current one, and the progress."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    state: SessionState
    facilitator: UserRef | None
    current: SessionItemPublic | None = Field(description="The item on the table now.")
    items: list[SessionItemPublic] = Field(description="In rank order (deleted items drop out).")
    progress: SessionProgressPublic
    created_at: datetime
    closed_at: datetime | None
    version: int


class SessionPage(Page[SessionPublic]):
    """A page of the project's estimation sessions, latest first."""
