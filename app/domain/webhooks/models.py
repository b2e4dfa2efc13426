"""Webhooks and their deliveries (the outbox the dispatcher claims from)."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from app.domain.kernel.columns import (
    created_at_field,
    enum_field,
    fk_field,
    id_field,
    timestamp_field,
    updated_at_field,
    version_field,
)

URL_MAX = 2000
DESCRIPTION_MAX = 500


class WebhookKind(StrEnum):
    """What a webhook sends: the signed event JSON, or a Slack-compatible chat message."""

    STANDARD = "standard"
    SLACK = "slack"


class DeliveryStatus(StrEnum):
    """Where a delivery is: waiting, being sent (leased), delivered or given up."""

    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    FAILED = "failed"

    @property
    def is_outstanding(self) -> bool:
        """Whether it will still be sent (it blocks later deliveries of its webhook)."""
        return self in (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


class Webhook(SQLModel, table=True):
    """An owner's subscription of a URL to a project's events."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("kind IN ('standard', 'slack')", name="kind_valid"),
        Index("ix_webhooks_project_id_id", "project_id", "id"),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    url: str = Field(sa_type=String(URL_MAX))
    kind: WebhookKind = enum_field(WebhookKind, WebhookKind.STANDARD, 10)
    # Empty: every event type.
    event_types: list[str] = Field(
        default_factory=list,
        sa_column=Column(ARRAY(String(40)), nullable=False, server_default="{}"),
    )
    # Kept as it is, not hashed: HMAC signing needs the key itself. Never logged or shown again.
    secret: str = Field(sa_type=String(100), repr=False)
    active: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default="true")
    )
    description: str = Field(
        default="", sa_type=String(DESCRIPTION_MAX), sa_column_kwargs={"server_default": ""}
    )
    # Failed deliveries in a row (given up after every attempt); a delivered one resets it.
    consecutive_failures: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    disabled_reason: str | None = Field(default=None, sa_type=Text)
    disabled_at: datetime | None = timestamp_field()
    created_by: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    version: int = version_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = updated_at_field()


class WebhookDelivery(SQLModel, table=True):
    """One event (or ping) to send to one webhook, with the outcome of its last attempt.

    Written in the transaction of the event it carries; the dispatcher claims due rows with
    `FOR UPDATE SKIP LOCKED`, marks them `sending` with a lease (`next_attempt_at`) and records
    the outcome only if its attempt number still matches, so a lease taken over is never
    overwritten.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint(
            "status IN ('pending', 'sending', 'delivered', 'failed')", name="status_valid"
        ),
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
        # For the cascades when a project (and its event log) is deleted.
        Index("ix_webhook_deliveries_project_id", "project_id"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
        # The dispatcher's two questions: what is due, and what comes first for a webhook.
        Index(
            "ix_webhook_deliveries_next_attempt_at",
            "next_attempt_at",
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
        Index(
            "ix_webhook_deliveries_webhook_id_seq",
            "webhook_id",
            "seq",
            postgresql_where=text("status IN ('pending', 'sending')"),
        ),
    )

    id: int | None = id_field()
    project_id: int = fk_field("projects.id")
    webhook_id: int = fk_field("webhooks.id")
    # Null for a ping, which is no event of the log.
    event_id: int | None = fk_field("project_events.id", nullable=True)
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    event_type: str = Field(sa_type=String(40))
    status: DeliveryStatus = enum_field(DeliveryStatus, DeliveryStatus.PENDING, 10)
    attempts: int = Field(
        default=0, sa_column=Column(SmallInteger, nullable=False, server_default="0")
    )
    # When it is due (pending), or when its lease runs out (sending); null once settled.
    next_attempt_at: datetime | None = timestamp_field()
    last_attempt_at: datetime | None = timestamp_field()
    response_code: int | None = Field(default=None, sa_column=Column(SmallInteger))
    latency_ms: int | None = Field(default=None, sa_column=Column(Integer))
    last_error: str | None = Field(default=None, sa_type=Text)
    delivered_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
