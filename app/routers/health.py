"""Liveness, readiness and Prometheus metrics."""

import secrets

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.db import Database
from app.domain.kernel.errors import NotFound, Unauthorized
from app.http.problems import problem_response, problem_responses
from app.settings import Settings

router = APIRouter(tags=["ops"])


class Health(BaseModel):
    """A health answer."""

    status: str


@router.get("/healthz", response_model=Health)
async def get_health() -> Health:
    """Liveness: the process is up and serving; it does not touch the database."""
    return Health(status="ok")


@router.get("/readyz", responses={200: {"model": Health}, **problem_responses(503)})
async def get_readiness(request: Request) -> Response:
    """Readiness: 200 when the database answers, else a 503 problem; route traffic on 200 only.

    The probe has a connection of its own and a 2 s budget, so a busy or stuck request pool
    neither delays nor fakes its answer.
    """
    database: Database = request.app.state.database
    settings: Settings = request.app.state.settings
    if not await database.ping():
        return problem_response(
            503,
            "The database does not answer.",
            headers={"Retry-After": str(settings.retry_after_seconds)},
        )
    return Response(Health(status="ready").model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **problem_responses(401, 404),
    },
)
async def get_metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route and status, database pool use.

    Off (404) unless `TIMEBOX_METRICS_TOKEN` is set, and then only for
    `Authorization: Bearer <that token>`; `TIMEBOX_METRICS_PUBLIC=true` serves anyone.
    """
    settings: Settings = request.app.state.settings
    if not settings.metrics_public:
        if settings.metrics_token is None:
            raise NotFound("Metrics are off; set TIMEBOX_METRICS_TOKEN to serve them.")
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.get_secret_value()
        # Bytes: compare_digest refuses non-ASCII text, and a header may carry any.
        matches = secrets.compare_digest(given.encode(), expected.encode())
        if scheme.lower() != "bearer" or not matches:
            raise Unauthorized("/metrics needs the metrics token as a bearer token.")
    data = generate_latest(request.app.state.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
