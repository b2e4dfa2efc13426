"""API shapes for item blockers."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.kernel.inputs import InputModel
from app.domain.kernel.pagination import Page

MAX_REASON = 500
# Open blockers one item may carry at once: past this, clear some first.
MAX_OPEN_PER_ITEM = 20


class BlockerCreate(InputModel):
    """A blocker raised by hand on an item."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"reason": "Waiting for the payment provider's keys"}]}
    )

    reason: str = Field(min_length=1, max_length=MAX_REASON)

    @field_validator("reason")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("a blocker needs a reason")
        return value


class BlockerBrief(BaseModel):
    """An open blocker, briefly, as the board shows it on a card."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    reason: str
    raised_by: int | None = Field(description="User id of who raised it.")
    raised_at: datetime


class BlockerPublic(BaseModel):
    """A blocker on an item: open until cleared."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    item: int = Field(description="The item's number.")
    reason: str
    open: bool = Field(description="Whether it still blocks the item (not yet cleared).")
    raised_by: int | None = Field(description="User id of who raised it.")
    raised_at: datetime
    standup_entry_id: int | None = Field(
        description="The stand-up entry that named the item; null when raised by hand."
    )
    cleared_at: datetime | None
    cleared_by: int | None = Field(description="User id of who cleared it.")


class BlockerPage(Page[BlockerPublic]):
    """A page of an item's blockers, newest first."""
