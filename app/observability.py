"""Logging set-up, Prometheus metrics and the access log."""

import logging
import sys
import time
from collections.abc import Iterable

from asgi_correlation_id import CorrelationIdFilter
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import LogFormat, Settings

access_logger = logging.getLogger("timebox.access")


def configure_logging(settings: Settings) -> None:
    """Send logs to stderr as text or JSON, each line with the request id."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(CorrelationIdFilter(name="request_id", default_value="-"))
    formatter: logging.Formatter
    if settings.log_format == LogFormat.JSON:
        formatter = JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            rename_fields={"correlation_id": "request_id", "levelname": "level"},
        )
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"
        )
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    # pgserver narrates every pg_ctl call at INFO; only its problems are worth a line.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    # uvicorn's own access log lacks the request id; ours replaces it.
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True


class PoolCollector(Collector):
    """Reports the database pool's connections at scrape time."""

    def __init__(self, pool: object) -> None:
        self.pool = pool

    def collect(self) -> Iterable[Metric]:
        """Yield the pool gauges."""
        gauge = GaugeMetricFamily(
            "timebox_db_pool_connections", "Database pool connections by state", labels=["state"]
        )
        if isinstance(self.pool, QueuePool):
            gauge.add_metric(["checked_out"], self.pool.checkedout())
            gauge.add_metric(["idle"], self.pool.checkedin())
            gauge.add_metric(["overflow"], max(self.pool.overflow(), 0))
            gauge.add_metric(["size"], self.pool.size())
        yield gauge


class Metrics:
    """The app's own Prometheus registry (per app, so tests can build many apps)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "timebox_http_requests",
            "HTTP requests by method, route and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "timebox_http_request_duration_seconds",
            "HTTP request latency by method and route",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )

    def watch_pool(self, pool: object) -> None:
        """Report the given pool's use."""
        self.registry.register(PoolCollector(pool))


class ObservabilityMiddleware:
    """Counts and times every request by route template, and writes the access log."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route = scope.get("route")
            # Route templates, not raw paths, keep label cardinality bounded.
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(elapsed)
            access_logger.info(
                "%s %s %s %.1fms",
                method,
                scope["path"],
                status,
                elapsed * 1000,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": template,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 2),
                },
            )
