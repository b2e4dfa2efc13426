"""API shapes for webhooks and their deliveries."""

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from app.domain.events.catalogue import EventType
from app.domain.kernel.inputs import BodyBool, InputModel
from app.domain.kernel.pagination import Page
from app.domain.webhooks.models import DESCRIPTION_MAX, URL_MAX, DeliveryStatus, WebhookKind

Url = Annotated[str, Field(min_length=1, max_length=URL_MAX)]
Description = Annotated[str, Field(max_length=DESCRIPTION_MAX)]
EventTypes = Annotated[
    list[EventType],
    Field(
        max_length=len(EventType),
        description="The event types to send; empty (the default) sends every type.",
    ),
]

_EXAMPLE: dict[str, JsonValue] = {
    "url": "https://ci.example.com/hooks/timebox",
    "event_types": ["item.created", "item.updated", "sprint.completed"],
    "description": "CI: rebuild the release notes",
}


class WebhookCreate(InputModel):
    """A new webhook: where to send, what kind, which events, and optionally its secret."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                _EXAMPLE,
                {"url": "https://hooks.slack.com/services/T0/B0/XXXX", "kind": "slack"},
            ]
        }
    )

    url: Url = Field(
        description="An http(s) URL; by default it may not resolve to a loopback, private, "
        "link-local, multicast, reserved or metadata address."
    )
    kind: WebhookKind = Field(
        default=WebhookKind.STANDARD,
        description="`standard`: the event as JSON, signed the Standard Webhooks way; "
        "`slack`: a Slack-compatible incoming-webhook message (Mattermost, Rocket.Chat).",
    )
    event_types: EventTypes = Field(default_factory=list)
    secret: str | None = Field(
        default=None,
        max_length=100,
        description="`whsec_` and base64 of 24 to 64 random bytes; generated when absent. "
        "Shown in this response only.",
    )
    active: BodyBool = True
    description: Description = ""


class WebhookUpdate(InputModel):
    """Changes to a webhook: only the fields sent change; `active: true` re-enables it."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"active": True}, {"event_types": ["item.created"]}]}
    )

    url: Url | None = None
    kind: WebhookKind | None = None
    event_types: EventTypes | None = None
    active: BodyBool | None = Field(
        default=None,
        description="`true` re-enables a disabled webhook and resets its failure count.",
    )
    description: Description | None = None


class WebhookPublic(BaseModel):
    """A webhook (its secret is never shown again after creation)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    url: str
    kind: WebhookKind
    event_types: list[EventType] = Field(description="Empty: every event type.")
    active: bool
    description: str
    consecutive_failures: int = Field(
        description="Deliveries given up in a row; a delivered one resets it."
    )
    disabled_reason: str | None = Field(
        description="Why Timebox disabled it (too many failed deliveries), or null."
    )
    disabled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class WebhookSecretPublic(WebhookPublic):
    """A webhook just created, with its signing secret: store it now, it is not shown again."""

    secret: str = Field(description="The signing secret (`whsec_...`), shown only here.")


class WebhookPage(Page[WebhookPublic]):
    """A page of a project's webhooks, by id."""


class DeliveryPublic(BaseModel):
    """One event (or ping) sent to one webhook, and the outcome of its last attempt."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: DeliveryStatus = Field(
        description="`pending` (due at `next_attempt_at`), `sending`, `delivered` or `failed` "
        "(given up after every attempt)."
    )
    event_id: int | None = Field(description="The event's id (`webhook-id`); null for a ping.")
    event_type: EventType
    seq: int | None = Field(description="The event's number in its project; null for a ping.")
    attempts: int = Field(description="Attempts made so far.")
    next_attempt_at: datetime | None = Field(
        description="When it is tried next (pending), or when an attempt that never reported "
        "back is retried (sending); null once delivered or failed."
    )
    last_attempt_at: datetime | None
    response_code: int | None = Field(description="The HTTP status of the last attempt.")
    latency_ms: int | None = Field(description="How long the last attempt took.")
    last_error: str | None = Field(description="Why the last attempt failed, or null.")
    delivered_at: datetime | None
    created_at: datetime


class DeliveryPage(Page[DeliveryPublic]):
    """A page of a webhook's deliveries, newest first."""
