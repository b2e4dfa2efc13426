"""Webhooks: owners send a project's events to other systems (signed JSON, or chat lines)."""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response, status
from pydantic import BaseModel, create_model

from app.domain.events.catalogue import PAYLOADS, EventType, TypedEvent
from app.domain.webhooks import service as webhooks
from app.domain.webhooks.models import DeliveryStatus
from app.domain.webhooks.schemas import (
    DeliveryPage,
    DeliveryPublic,
    WebhookCreate,
    WebhookPage,
    WebhookPublic,
    WebhookSecretPublic,
    WebhookUpdate,
)
from app.http.problems import problem_responses
from app.routers.deps import (
    API_PREFIX,
    Id,
    IfMatch,
    OwnerAccess,
    PageParams,
    SessionDep,
    SettingsDep,
    link_next,
    set_etag,
    set_location,
)

router = APIRouter(
    prefix=API_PREFIX + "/projects/{key}",
    tags=["webhooks"],
    responses=problem_responses(401, 403, 404),
)


@router.get("/webhooks", response_model=WebhookPage)
async def list_webhooks(
    access: OwnerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
) -> WebhookPage:
    """The project's webhooks by id (owners: their URLs can be credentials, e.g. Slack's)."""
    rows, cursor = await webhooks.list_webhooks(session, access, page)
    link_next(request, response, cursor)
    return WebhookPage(data=[WebhookPublic.model_validate(row) for row in rows], next_cursor=cursor)


@router.post(
    "/webhooks",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookSecretPublic,
    responses=problem_responses(409, 422),
)
async def create_webhook(
    data: WebhookCreate,
    access: OwnerAccess,
    session: SessionDep,
    settings: SettingsDep,
    response: Response,
) -> WebhookSecretPublic:
    """Add a webhook (owners); the response carries its signing secret, shown only this once.

    A URL that resolves to a loopback, private, link-local, multicast, reserved or metadata
    address is a 422 naming `body.url` (unless the server allows private targets). At most
    20 webhooks per project (409 beyond).
    """
    created = await webhooks.create_webhook(
        session, access, data, allow_private=settings.webhook_allow_private
    )
    set_location(response, f"/projects/{access.project.key}/webhooks/{created.webhook.id}")
    set_etag(response, created.webhook.version)
    return WebhookSecretPublic.model_validate(
        {**WebhookPublic.model_validate(created.webhook).model_dump(), "secret": created.secret}
    )


@router.get("/webhooks/{webhook_id}", response_model=WebhookPublic)
async def get_webhook(
    webhook_id: Id, access: OwnerAccess, session: SessionDep, response: Response
) -> WebhookPublic:
    """One webhook (owners), with why it was disabled if Timebox disabled it."""
    row = await webhooks.get_webhook(session, access, webhook_id)
    set_etag(response, row.version)
    return WebhookPublic.model_validate(row)


@router.patch(
    "/webhooks/{webhook_id}",
    response_model=WebhookPublic,
    responses=problem_responses(412, 422),
)
async def update_webhook(
    webhook_id: Id,
    data: WebhookUpdate,
    access: OwnerAccess,
    session: SessionDep,
    settings: SettingsDep,
    if_match: IfMatch,
    response: Response,
) -> WebhookPublic:
    """Change a webhook (owners); `active: true` re-enables it and resets its failure count."""
    row = await webhooks.update_webhook(
        session, access, webhook_id, data, if_match, allow_private=settings.webhook_allow_private
    )
    set_etag(response, row.version)
    return WebhookPublic.model_validate(row)


@router.delete(
    "/webhooks/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(412),
)
async def delete_webhook(
    webhook_id: Id, access: OwnerAccess, session: SessionDep, if_match: IfMatch
) -> None:
    """Delete a webhook and its deliveries (owners); pending deliveries are never sent."""
    await webhooks.delete_webhook(session, access, webhook_id, if_match)


@router.post(
    "/webhooks/{webhook_id}/ping",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryPublic,
)
async def create_webhook_ping(
    webhook_id: Id, access: OwnerAccess, session: SessionDep
) -> DeliveryPublic:
    """Queue a `webhook.ping` test delivery (owners), sent even while the webhook is disabled;
    follow it in the deliveries list."""
    delivery = await webhooks.ping(session, access, webhook_id)
    return DeliveryPublic.model_validate(delivery)


@router.get(
    "/webhooks/{webhook_id}/deliveries",
    response_model=DeliveryPage,
    responses=problem_responses(422),
)
async def list_webhook_deliveries(
    webhook_id: Id,
    access: OwnerAccess,
    session: SessionDep,
    page: PageParams,
    request: Request,
    response: Response,
    status_filter: Annotated[
        list[DeliveryStatus] | None,
        Query(
            alias="status",
            description="`pending`, `sending`, `delivered` or `failed`; repeat for several.",
        ),
    ] = None,
) -> DeliveryPage:
    """A webhook's deliveries, newest first (owners): status, attempts, the last response
    code, latency and error, and when the next attempt is due."""
    rows, cursor = await webhooks.list_deliveries(session, access, webhook_id, page, status_filter)
    link_next(request, response, cursor)
    return DeliveryPage(
        data=[DeliveryPublic.model_validate(row) for row in rows], next_cursor=cursor
    )


@router.post(
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryPublic,
    responses=problem_responses(409),
)
async def create_webhook_redelivery(
    webhook_id: Id, delivery_id: Id, access: OwnerAccess, session: SessionDep
) -> DeliveryPublic:
    """Send a delivered or failed delivery's event again, as a new delivery (owners); 409
    while it is still pending or sending. Its `webhook-id` is the event's, as before."""
    delivery = await webhooks.redeliver(session, access, webhook_id, delivery_id)
    return DeliveryPublic.model_validate(delivery)


# --- The OpenAPI `webhooks`: what Timebox sends, one entry per event type -------------------

outgoing = APIRouter()

_SIGNATURE_HEADERS: dict[str, str] = {
    "webhook_id": "The event's id, the same on every attempt: dedupe by it (pings: `ping_<n>`).",
    "webhook_timestamp": "Unix seconds when this attempt was signed; reject old ones.",
    "webhook_signature": "`v1,<base64 HMAC-SHA256>` of `<webhook-id>.<webhook-timestamp>.<body>` "
    "keyed with the secret's base64-decoded bytes (Standard Webhooks).",
}


def _event_model(payload: type[BaseModel]) -> type[BaseModel]:
    """`ItemCreatedEvent`: a concrete subclass, so the schema gets the plain name."""
    name = f"{payload.__name__}Event"
    if name not in _MODELS:
        _MODELS[name] = create_model(
            name,
            __base__=TypedEvent[payload],  # type: ignore[valid-type]
            __doc__=f"An event whose payload is `{payload.__name__}`.",
        )
    return _MODELS[name]


_MODELS: dict[str, type[BaseModel]] = {}


def _describe(event_type: EventType) -> Any:
    model = _event_model(PAYLOADS[event_type])

    async def receive(
        event: Annotated[model, Body()],  # type: ignore[valid-type]
        webhook_id: Annotated[str, Header(description=_SIGNATURE_HEADERS["webhook_id"])],
        webhook_timestamp: Annotated[
            str, Header(description=_SIGNATURE_HEADERS["webhook_timestamp"])
        ],
        webhook_signature: Annotated[
            str, Header(description=_SIGNATURE_HEADERS["webhook_signature"])
        ],
    ) -> None:
        """Documentation only: Timebox sends this; nothing here receives it."""

    return receive


for _type in EventType:
    outgoing.add_api_route(
        _type.value,
        _describe(_type),
        methods=["POST"],
        name=f"receive_{_type.value.replace('.', '_')}",
        operation_id=f"receive_{_type.value.replace('.', '_')}",
        summary=f"`{_type.value}`",
        description=(
            f"Sent to every active `standard` webhook subscribed to `{_type.value}`: the "
            "event as JSON, signed the Standard Webhooks way (docs/webhooks.md). Answer 2xx "
            "within 10 s; anything else is retried with backoff for about a day."
        ),
        status_code=200,
    )
