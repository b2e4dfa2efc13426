"""API shapes for notifications, notification preferences and item watchers."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.domain.items.schemas import UserRef
from app.domain.kernel.inputs import BodyBool, InputModel
from app.domain.kernel.pagination import Page
from app.domain.notifications.models import NotificationKind


class NotificationPublic(BaseModel):
    """A notice about something that concerns you, with what to link to."""

    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="Increases with every notification: the personal stream's `id:`.")
    kind: NotificationKind = Field(
        description="`assigned`, `mentioned`, `status_changed` (an item you watch), "
        "`sprint_started`, `sprint_completed`, `action_due` or `action_overdue`."
    )
    project: str = Field(description="The project's key.")
    summary: str = Field(description="One readable line, e.g. `Ada assigned you WEB-42`.")
    item: int | None = Field(description="The item's number, when it is about an item.")
    sprint: int | None = Field(description="The sprint's number, when it is about a sprint.")
    retro: int | None = Field(description="The retro's number, for a mention on a retro card.")
    action: int | None = Field(description="The action item's number, for a due reminder.")
    actor: UserRef | None = Field(
        description="Who caused it; null for reminders, for mentions on anonymous retro cards "
        "and for accounts since deleted."
    )
    event_seq: int | None = Field(
        description="The `seq` of the project event it came from (null for reminders and "
        "retro-card mentions, which are not project events)."
    )
    created_at: datetime
    read_at: datetime | None = Field(description="When you marked it read; null while unread.")


class NotificationPage(Page[NotificationPublic]):
    """A page of your notifications: unread first, then newest first."""

    unread_count: int = Field(
        description="How many of your notifications are unread, narrowed by the `project` and "
        "`kind` filters (not by `unread` or the page)."
    )


class NotificationsMarked(BaseModel):
    """How many notifications a bulk change marked."""

    marked: int = Field(description="Notifications that were unread and are now read.")


class NotificationPreferencesBase(InputModel):
    """Which kinds of notification you get: each is on unless switched off."""

    assigned: BodyBool = Field(default=True, description="Someone assigns you an item.")
    mentioned: BodyBool = Field(
        default=True, description="Someone mentions you (`@name`) in a comment or retro card."
    )
    status_changed: BodyBool = Field(default=True, description="An item you watch changes status.")
    sprint_started: BodyBool = Field(
        default=True, description="A sprint you are in (assigned items or capacity) starts."
    )
    sprint_completed: BodyBool = Field(
        default=True, description="A sprint you are in is completed."
    )
    action_due: BodyBool = Field(default=True, description="An action item you own is due today.")
    action_overdue: BodyBool = Field(
        default=True, description="An action item you own is past its due date."
    )


class NotificationPreferencesReplace(NotificationPreferencesBase):
    """All your preferences at once: a kind left out is on (the default)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"sprint_started": False, "sprint_completed": False}]}
    )


class NotificationPreferencesPublic(NotificationPreferencesBase):
    """Your preferences, one switch per kind."""

    model_config = ConfigDict(from_attributes=True)


class WatchPublic(BaseModel):
    """Whether you watch an item: you hear when its status changes."""

    model_config = ConfigDict(from_attributes=True)

    item: int = Field(description="The item's number.")
    watching: bool


class WatcherPage(Page[UserRef]):
    """A page of an item's watchers (members of the project), by user id."""
