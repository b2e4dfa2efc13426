"""Liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel

from app.db import Database
from app.http.problems import problem_response, problem_responses

router = APIRouter(tags=["ops"])
# Seconds a load balancer or client waits before asking again.
RETRY_READINESS = "5"


class Health(BaseModel):
    """A health answer."""

    status: str


@router.get("/healthz", response_model=Health)
async def get_health() -> Health:
    """Liveness: the process is up and serving; it does not touch the database."""
    return Health(status="ok")


@router.get("/readyz", responses={200: {"model": Health}, **problem_responses(503)})
async def get_readiness(request: Request) -> Response:
    """Readiness: 200 when the database answers, else a 503 problem; route traffic on 200 only."""
    database: Database = request.app.state.database
    if not await database.ping():
        return problem_response(
            503, "The database does not answer.", headers={"Retry-After": RETRY_READINESS}
        )
    return Response(Health(status="ready").model_dump_json(), media_type="application/json")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
async def get_metrics(request: Request) -> Response:
    """Prometheus metrics: requests and latency by route and status, database pool use."""
    data = generate_latest(request.app.state.metrics.registry)
    return Response(data, media_type=CONTENT_TYPE_LATEST)
