"""API shapes for action items, their history and their follow-up statistics."""

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StringConstraints

from app.domain.events.catalogue import RetroRef
from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import BodyInt, InputModel, IsoDate
from app.domain.kernel.pagination import Page
from app.domain.retros.actions.models import NOTES_MAX, TITLE_MAX, ActionStatus

# Notes keep their whitespace (markdown); titles are stripped, so a blank one is too short.
Notes = Annotated[str, StringConstraints(strip_whitespace=False, max_length=NOTES_MAX)]
Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX)]

_EXAMPLE: dict[str, JsonValue] = {
    "title": "Write the release checklist down",
    "owner_id": 3,
    "due_date": "2026-12-18",
    "notes": "Two releases slipped because the smoke test was forgotten.",
}


class ActionCreate(InputModel):
    """A new action item: a title, and optionally an owner (a member), a due date and notes."""

    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE, {"title": "Book a room"}]})

    title: Title
    owner_id: BodyInt | None = Field(
        default=None, description="User id of a project member (role member or owner), or null."
    )
    due_date: IsoDate | None = Field(default=None, description="The day it is due, or null.")
    notes: Notes = Field(default="", description=f"Markdown, at most {NOTES_MAX} characters.")


class ActionUpdate(InputModel):
    """Changes to an action item: only the fields sent change; null clears owner and due date."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"status": "done"}, {"owner_id": 5, "due_date": None}, {"title": "X"}]
        }
    )

    title: Title | None = None
    notes: Notes | None = None
    owner_id: BodyInt | None = Field(
        default=None, description="User id of a project member (role member or owner), or null."
    )
    due_date: IsoDate | None = None
    status: ActionStatus | None = Field(
        default=None,
        description="`open`, `done` or `dropped`; done stamps `done_at`, reopening clears it.",
    )


class ActionItemLink(BaseModel):
    """The backlog item made from an action (`to-item`)."""

    model_config = ConfigDict(from_attributes=True)

    number: int
    key: str = Field(description="The item's key, e.g. `WEB-42`.")


class ActionPublic(BaseModel):
    """An action item: what to do, who owns it, by when, and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    number: int = Field(description="The action's number in its project.")
    title: str
    notes: str
    status: ActionStatus
    owner: UserRef | None = Field(description="Who owns it, or null.")
    due_date: date | None
    overdue: bool = Field(
        description="Open and due before today (today in the project's time zone)."
    )
    age_days: int = Field(
        description="Calendar days (project time zone) from its creation to today, or to the "
        "day it was closed (done or dropped)."
    )
    retro: int | None = Field(description="Number of the retro it came from, or null.")
    item: ActionItemLink | None = Field(description="The backlog item made from it, or null.")
    version: int
    created_at: datetime
    updated_at: datetime
    done_at: datetime | None = Field(description="When it was done; null unless done.")
    closed_at: datetime | None = Field(description="When it was done or dropped; null if open.")


class ActionPage(Page[ActionPublic]):
    """A page of action items, by number."""


class ActionEventPublic(BaseModel):
    """One change in an action item's history."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    occurred_at: datetime
    actor: UserRef | None = Field(description="Who made the change (null once they are gone).")
    field: str = Field(
        description="`created`, `title`, `notes`, `owner`, `due_date`, `status` or `item`."
    )
    old_value: Any = Field(description="Owners by user id, items by key, dates ISO.")
    new_value: Any
    via: str | None = Field(
        description="What made the change when not a direct edit, e.g. `item WEB-12` when "
        "finishing that item finished the action."
    )


class ActionEventPage(Page[ActionEventPublic]):
    """A page of an action item's history, oldest first."""


class ActionTallyPublic(BaseModel):
    """Counts and follow-up figures over a set of action items."""

    model_config = ConfigDict(from_attributes=True)

    created: int = Field(description="Action items created (whatever their status now).")
    done: int = Field(description="Of those, how many are done.")
    dropped: int = Field(description="Of those, how many were dropped.")
    open: int = Field(description="Of those, how many are still open.")
    completion_rate: float | None = Field(
        description="done / created, from 0 to 1; null when none were created."
    )
    median_days_to_close: float | None = Field(
        description="Median, over the done actions, of calendar days from the date created to "
        "the date done (both in the project's time zone); null when none is done."
    )


class RetroActionTally(ActionTallyPublic):
    """The figures of one retro's action items."""

    retro: RetroRef


class ActionStatsPublic(BaseModel):
    """How well actions are followed up: per retro, for actions created directly, in total."""

    model_config = ConfigDict(from_attributes=True)

    retros: list[RetroActionTally] = Field(description="Every retro of the project, by number.")
    direct: ActionTallyPublic = Field(description="Actions not from a retro.")
    total: ActionTallyPublic = Field(description="Every action item of the project.")
