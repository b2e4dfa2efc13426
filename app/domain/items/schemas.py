"""API shapes for backlog items, their history and the board."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from app.domain.items.blockers.schemas import BlockerBrief
from app.domain.items.models import ItemType
from app.domain.kernel.inputs import BodyBool, BodyFloat, BodyInt, InputModel
from app.domain.kernel.pagination import Page
from app.domain.workflow.models import StatusCategory


class PriorityName(StrEnum):
    """An item's priority, from highest to lowest."""

    HIGHEST = "highest"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    LOWEST = "lowest"


PointsInput = float | str | None

MAX_DESCRIPTION = 64 * 1024
MAX_LABELS = 20
HOURS_ESTIMATE_MAX = 10_000


def _hundredths(value: float) -> float:
    # Stored exact to the hundredth: a finer value would be rounded silently.
    if round(value, 2) != value:
        raise ValueError("at most two decimals (hundredths of an hour)")
    return value


# An hour estimate in a request body: a JSON number from 0 to 10,000, to the hundredth.
HoursEstimate = Annotated[
    BodyFloat, Field(ge=0, le=HOURS_ESTIMATE_MAX), AfterValidator(_hundredths)
]


def _within_markdown_limit(value: str) -> str:
    # The limit is 64 KiB of text as stored, not 64 Ki characters.
    if len(value.encode()) > MAX_DESCRIPTION:
        raise ValueError(f"at most {MAX_DESCRIPTION} bytes of UTF-8")
    return value


# Markdown keeps its whitespace: leading indentation and trailing newlines carry meaning.
Markdown = Annotated[
    str, StringConstraints(strip_whitespace=False), AfterValidator(_within_markdown_limit)
]


def _clean_labels(labels: list[str] | None) -> list[str] | None:
    if labels is None:
        return None
    cleaned: list[str] = []
    for label in labels:
        label = label.strip()
        if not label:
            raise ValueError("labels must not be empty")
        if len(label) > 50:
            raise ValueError("labels are at most 50 characters")
        if label not in cleaned:
            cleaned.append(label)
    if len(cleaned) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    return cleaned


class ItemFields(InputModel):
    """Fields shared by create and update."""

    type: ItemType | None = None
    title: str | None = Field(default=None, min_length=1, max_length=255)
    description: Markdown | None = Field(default=None, max_length=MAX_DESCRIPTION)
    points: PointsInput = Field(
        default=None,
        description="A value of the project's scale (t-shirt projects also accept the label).",
    )
    priority: PriorityName | None = None
    labels: list[str] | None = None
    assignee_id: BodyInt | None = Field(default=None, description="A member's user id, or null.")
    parent: BodyInt | None = Field(default=None, description="Number of an epic in this project.")
    status_id: BodyInt | None = None
    sprint: BodyInt | None = Field(
        default=None, description="Number of a planned or active sprint, or null for the backlog."
    )
    release: BodyInt | None = Field(
        default=None,
        description="Number of a planned release or milestone, or null for none. An epic's "
        "release brings its children that have none of their own.",
    )
    external_id: str | None = Field(default=None, min_length=1, max_length=255)
    original_estimate_hours: HoursEstimate | None = Field(
        default=None,
        description="The first estimate of the work in hours (0 to 10,000, to the hundredth), "
        "or null.",
    )
    remaining_hours: HoursEstimate | None = Field(
        default=None,
        description="Hours of work still left (0 to 10,000, to the hundredth), or null; set by "
        "the team, not reduced by logged work.",
    )

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: list[str] | None) -> list[str] | None:
        return _clean_labels(value)

    @field_validator("points", mode="before")
    @classmethod
    def _points_not_boolean(cls, value: object) -> object:
        # Without this, JSON `true` would be coerced to 1 point.
        if isinstance(value, bool):
            raise ValueError("an estimate is a number or a scale label, not a boolean")
        return value


class Position(StrEnum):
    """Where a new item goes."""

    TOP = "top"
    BOTTOM = "bottom"


class ItemCreate(ItemFields):
    """A new backlog item; it goes to the bottom of the backlog unless `position` says top."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "story",
                    "title": "As a shopper I can pay with a saved card",
                    "description": "So that I don't type my card number on every order.\n\n"
                    "- [ ] cards are saved only with consent\n- [ ] 3-D Secure still applies",
                    "points": 5,
                    "priority": "high",
                    "labels": ["checkout"],
                    "assignee_id": 3,
                    "parent": 12,
                },
                {
                    "type": "bug",
                    "title": "Order confirmation email shows the wrong total",
                    "points": 2,
                    "priority": "highest",
                    "labels": ["checkout", "email"],
                    "sprint": 4,
                    "external_id": "ZD-48213",
                    "position": "top",
                },
            ]
        }
    )

    type: ItemType = ItemType.STORY
    title: str = Field(min_length=1, max_length=255)
    position: Position = Position.BOTTOM


class ItemUpdate(ItemFields):
    """Changes to an item (only the fields sent change; null clears where allowed)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"points": 8, "status_id": 2, "assignee_id": 5},
                {"sprint": None, "labels": ["checkout", "payments"]},
            ]
        }
    )


class ItemMove(InputModel):
    """Exactly one of: before/after another item (by number), top, or bottom."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"before": 17}, {"top": True}]})

    before: BodyInt | None = None
    after: BodyInt | None = None
    top: BodyBool | None = None
    bottom: BodyBool | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> "ItemMove":
        given = [
            name
            for name in ("before", "after", "top", "bottom")
            if getattr(self, name) not in (None, False)
        ]
        if len(given) != 1:
            raise ValueError("give exactly one of before, after, top: true, bottom: true")
        return self


class BatchUpsert(StrEnum):
    """How a batch treats items whose external_id exists already."""

    EXTERNAL_ID = "external_id"


class ItemBatch(InputModel):
    """Up to 500 items created (or, with upsert, updated) in one atomic call."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "title": "As a shopper I can pay with a saved card",
                            "points": 5,
                            "labels": ["checkout"],
                        },
                        {
                            "type": "task",
                            "title": "Add the card vault to the payment service",
                            "points": 3,
                            "labels": ["checkout", "backend"],
                        },
                    ]
                },
                {
                    "items": [
                        {
                            "type": "bug",
                            "title": "Order confirmation email shows the wrong total",
                            "priority": "highest",
                            "external_id": "ZD-48213",
                        },
                        {
                            "type": "bug",
                            "title": "Coupon field accepts expired codes",
                            "priority": "medium",
                            "external_id": "ZD-48240",
                        },
                    ],
                    "upsert": "external_id",
                },
            ]
        }
    )

    items: list[ItemCreate] = Field(min_length=1, max_length=500)
    upsert: BatchUpsert | None = Field(
        default=None, description='"external_id": update items whose external_id exists.'
    )


class StatusRef(BaseModel):
    """The status an item is in."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    category: StatusCategory


class UserRef(BaseModel):
    """A user, briefly."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    display_name: str


class EpicProgress(BaseModel):
    """An epic's children, counted."""

    model_config = ConfigDict(from_attributes=True)

    children: int
    points_total: float
    points_done: float


class ItemPublic(BaseModel):
    """A backlog item."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    key: str = Field(description="Project key and number, e.g. `WEB-42`.")
    type: ItemType
    title: str
    description: str
    points: float | None
    points_label: str | None = Field(description="The estimate as the scale shows it.")
    original_estimate_hours: float | None = Field(
        description="The first estimate in hours, or null."
    )
    remaining_hours: float | None = Field(description="Hours of work still left, or null.")
    priority: PriorityName
    labels: list[str]
    assignee: UserRef | None
    parent: int | None = Field(description="Number of the parent epic.")
    sprint: int | None = Field(description="Number of the item's sprint; null: the backlog.")
    release: int | None = Field(
        description="Number of the item's own release or milestone; null: none (an epic's "
        "release still counts its children in)."
    )
    status: StatusRef
    external_id: str | None
    rank: str = Field(description="Opaque backlog order key: sort ascending.")
    done_at: datetime | None
    epic: EpicProgress | None = Field(description="Only for epics: their children's progress.")
    created_at: datetime
    updated_at: datetime
    version: int


class ItemPage(Page[ItemPublic]):
    """A page of items."""


class BatchResult(BaseModel):
    """What a batch did, in input order."""

    model_config = ConfigDict(from_attributes=True)

    created: int
    updated: int
    data: list[ItemPublic]


class ItemEventPublic(BaseModel):
    """One change in an item's history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor_id: int | None
    kind: str
    field: str | None
    old_value: Any
    new_value: Any


class ItemEventPage(Page[ItemEventPublic]):
    """A page of an item's history, oldest first."""


class BoardItem(ItemPublic):
    """An item as a board card: the item, and whether anything blocks it."""

    blocked: bool = Field(description="Whether the item has an open blocker.")
    blockers: list[BlockerBrief] = Field(description="Its open blockers, oldest first.")


class BoardColumn(BaseModel):
    """One board column: a status with its items in backlog order."""

    model_config = ConfigDict(from_attributes=True)

    status: StatusRef
    position: int
    wip_limit: int | None
    over_wip_limit: bool
    count: int
    points: float
    items: list[BoardItem]


class Board(BaseModel):
    """Everything needed to draw a board, in one response."""

    model_config = ConfigDict(from_attributes=True)

    scope: str = Field(description="`backlog`, `active`, or a sprint number.")
    columns: list[BoardColumn]
    count: int
    points: float
