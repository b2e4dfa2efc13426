"""create_app(): lifespan, middleware, error handlers and routers."""

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from asgi_correlation_id import CorrelationIdMiddleware
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app import __version__, webhooks_worker
from app.db import Database
from app.domain.kernel import clock
from app.domain.notifications import service as notifications_service
from app.domain.streams import service as streams
from app.domain.users import repository as users_repository
from app.domain.users.security import configure_password_hashing
from app.http.conditional import ConditionalGetMiddleware
from app.http.docs import install_docs
from app.http.idempotency import repository as idempotency_repository
from app.http.idempotency.middleware import DatabaseRef, IdempotencyMiddleware
from app.http.middleware import (
    BodySizeLimitMiddleware,
    SecurityHeadersMiddleware,
    UnhandledErrorMiddleware,
)
from app.http.problems import install_error_handlers, is_database_unavailable
from app.http.throttle import repository as throttle_repository
from app.live.hub import Hub
from app.observability import Metrics, ObservabilityMiddleware, configure_logging
from app.openapi import install_openapi
from app.routers import (
    actions,
    activity,
    archive,
    auth,
    blockers,
    board,
    budget,
    capacity,
    comments,
    estimation,
    events,
    flow,
    forecast,
    health,
    invitations,
    items,
    jira_import,
    me,
    meetings,
    members,
    notifications,
    phases,
    projects,
    releases,
    reports,
    retros,
    risks,
    sprints,
    standups,
    statuses,
    users,
    watching,
    webhooks,
    workload,
    worklogs,
)
from app.settings import Settings, get_settings

logger = logging.getLogger("timebox")

_PURGE_INTERVAL_SECONDS = 3600


async def _purge_expired(database: Database, ttl: timedelta) -> None:
    """Hourly: forget stored Idempotency-Key responses past their TTL, and dead login tokens."""
    while True:
        try:
            async with database.sessions() as session, session.begin():
                await idempotency_repository.purge_older_than(session, clock.now() - ttl)
                await users_repository.purge_dead_login_tokens(session, clock.now() - ttl)
                await throttle_repository.purge_idle(session, clock.now())
                await streams.purge_expired(session, clock.now() - ttl)
        except Exception as exc:
            if is_database_unavailable(exc):
                logger.warning("purging expired records: the database is unavailable")
            else:
                logger.exception("purging expired records failed")
        await asyncio.sleep(_PURGE_INTERVAL_SECONDS)


async def _remind_due_actions(database: Database, interval: float) -> None:
    """Every `interval` seconds: remind owners of action items due today or overdue."""
    while True:
        try:
            async with database.sessions() as session, session.begin():
                await notifications_service.scan_due_actions(session)
        except Exception as exc:
            if is_database_unavailable(exc):
                logger.warning("reminding of due actions: the database is unavailable")
            else:
                logger.exception("reminding of due actions failed")
        await asyncio.sleep(interval)


def create_app(settings: Settings | None = None, *, freeze_heap: bool = False) -> FastAPI:
    """Build the ASGI application.

    `freeze_heap` moves everything alive after start-up out of the garbage collector's view.
    """
    settings = settings or get_settings()
    database_ref = DatabaseRef()
    metrics = Metrics()
    idempotency_ttl = timedelta(hours=settings.idempotency_ttl_hours)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        database = Database.connect(settings)
        database_ref.database = database
        app.state.database = database
        metrics.watch_pool(database.engine.pool)
        assert settings.database_url is not None  # Database.connect refused it otherwise
        hub = Hub(database, settings.database_url, settings.stream_queue_size)
        app.state.hub = hub
        await hub.start()
        purger = asyncio.create_task(_purge_expired(database, idempotency_ttl))
        reminder = asyncio.create_task(
            _remind_due_actions(database, settings.notification_scan_seconds)
        )
        dispatcher = (
            asyncio.create_task(webhooks_worker.run(database, settings))
            if settings.webhook_dispatcher
            else None
        )
        if freeze_heap:
            # Modules, routes and models live as long as the process: without this, every full
            # collection walks them again (~100 ms pauses measured under report workloads).
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            for task in (purger, reminder):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if dispatcher is not None:
                dispatcher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await dispatcher
            await hub.stop()
            await database.dispose()

    app = FastAPI(
        title="Timebox",
        docs_url=None,
        redoc_url=None,
        version=__version__,
        lifespan=lifespan,
        # Route functions are named verb-first (`get_sprint_report`): SDKs' method names.
        generate_unique_id_function=lambda route: route.name,
    )
    install_openapi(app)
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handlers(app)
    configure_password_hashing(settings.password_hash_concurrency, settings.password_hash_queue)
    install_docs(app)

    for module in (
        health,
        auth,
        me,
        users,
        projects,
        archive,
        members,
        invitations,
        statuses,
        items,
        jira_import,
        comments,
        blockers,
        board,
        sprints,
        capacity,
        workload,
        estimation,
        flow,
        reports,
        forecast,
        releases,
        standups,
        meetings,
        actions,
        retros,
        phases,
        risks,
        activity,
        events,
        webhooks,
        notifications,
        watching,
        worklogs,
        budget,
    ):
        app.include_router(module.router)
    app.webhooks.include_router(webhooks.outgoing)

    # Added innermost first: the last one added wraps all the others.
    app.add_middleware(IdempotencyMiddleware, database=database_ref, ttl=idempotency_ttl)
    app.add_middleware(ConditionalGetMiddleware)
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_body_bytes,
        limits={archive.IMPORT_PATH: settings.max_import_bytes},
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=[
                "Authorization",
                "Content-Type",
                "If-Match",
                "If-None-Match",
                "Idempotency-Key",
                "X-Request-ID",
            ],
            expose_headers=[
                "ETag",
                "Link",
                "Location",
                "Retry-After",
                "Allow",
                "Accept-Post",
                "Accept-Patch",
                "X-Request-ID",
                "Idempotency-Replayed",
            ],
        )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(ObservabilityMiddleware, metrics=metrics)
    app.add_middleware(CorrelationIdMiddleware, header_name="X-Request-ID")
    return app


def serve_app() -> FastAPI:
    """The app as `timebox serve` runs it: logging configured from settings first."""
    settings = get_settings()
    configure_logging(settings)
    return create_app(settings, freeze_heap=True)
