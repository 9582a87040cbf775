"""The HTTP API (Starlette on uvicorn): event intake, health, readiness and metrics.

``POST /v1/events`` answers 202 once every item is durable: valid items on the bus (memory bus:
fsync'ed in the local spool; Kafka: acknowledged by all in-sync replicas), rejected ones listed in
the response (the first ``DETAILED_REJECTIONS`` with index, event_id and reason, the rest counted
per rule) and on their way to the dead-letter table. 413 above ``INGEST_MAX_BODY_BYTES`` or
``INGEST_MAX_ITEMS_PER_REQUEST``; 408 when the body does not arrive within
``INGEST_BODY_TIMEOUT_S``; 401 without the bearer token when ``INGEST_API_TOKEN`` is set (also on
``/metrics`` unless ``INGEST_METRICS_PUBLIC``); 503 with ``Retry-After`` while the service is full
or the bus does not take the events (nothing was acknowledged; event_id makes the retry harmless).

``GET /healthz`` is the liveness probe, open like ``/readyz``: 200 while the process serves, 503
once the bus pump died on an error (only a restart retries; the body names the pump, nothing else).
Splitting and validating a body run in a worker thread: the event loop keeps answering
``/healthz`` whatever a request holds.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.bus import BusFull
from ingest.framing import TooManyItems, split_body
from ingest.messages import Message
from ingest.service import Intake, Service, validate
from ingest.write_loop import describe

log = logging.getLogger(__name__)

RETRY_AFTER_S = "1"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class _TooLarge(Exception):
    pass


def create_app(service: Service) -> Starlette:
    """The ASGI app; its lifespan starts the service and drains it (bounded) on shutdown."""
    settings = service.settings

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(service.start)
        try:
            yield
        finally:
            await asyncio.to_thread(service.stop, settings.shutdown_timeout_s)

    def authorised(request: Request) -> bool:
        if settings.api_token is None:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = settings.api_token.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)

    def unauthorised() -> Response:
        return JSONResponse(
            {"error": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"}
        )

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(settings.body_timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > settings.max_body_bytes:
                    raise _TooLarge
                chunks.append(chunk)
        return b"".join(chunks)

    def prepare(body: bytes, content_type: str) -> tuple[list[Message], list[Message], Intake] | None:
        items = split_body(body, content_type, settings.max_items_per_request)
        return validate(items) if items else None

    async def post_events(request: Request) -> Response:
        if not authorised(request):
            return unauthorised()
        try:
            body = await read_body(request)
        except _TooLarge:
            return JSONResponse({"error": f"body larger than {settings.max_body_bytes} bytes"}, 413)
        except TimeoutError:
            return JSONResponse(
                {"error": f"the body did not arrive within {settings.body_timeout_s:g}s"}, 408
            )
        except ClientDisconnect:
            log.info("a client disconnected before sending its whole body")
            return Response(status_code=400)
        try:
            prepared = await asyncio.to_thread(prepare, body, request.headers.get("content-type", ""))
        except TooManyItems as error:
            return JSONResponse({"error": str(error), "max_items_per_request": error.limit}, 413)
        if prepared is None:
            return JSONResponse({"error": "the body holds no event"}, 400)
        good, bad, outcome = prepared
        if service.full:
            return _unavailable("the service is full; retry shortly")
        try:
            await service.publish(good, bad)
        except BusFull as error:
            return _unavailable(str(error))
        except Exception as error:  # the bus refused or lost contact: nothing was acknowledged
            log.warning("publishing %d events failed: %s", len(good) + len(bad), describe(error))
            return _unavailable(f"the bus did not take the events ({type(error).__name__})")
        return JSONResponse(
            {
                "accepted": outcome.accepted,
                "rejected": [asdict(item) for item in outcome.rejected],
                "rejected_total": outcome.rejected_total,
                "rejected_by_rule": dict(outcome.rejected_by_rule),
            },
            202,
        )

    async def healthz(_: Request) -> Response:
        # Liveness: 503 once the pump died, for the platform to restart what will not recover.
        if service.pump_failed:
            return JSONResponse({"status": "failing", "pump": service.pump_state()}, 503)
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await asyncio.to_thread(service.readiness)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, 200 if ready else 503)

    async def metrics(request: Request) -> Response:
        if not settings.metrics_public and not authorised(request):
            return unauthorised()
        return Response(service.metrics.render(), media_type=PROMETHEUS_TEXT)

    return Starlette(
        routes=[
            Route("/v1/events", post_events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def _unavailable(reason: str) -> Response:
    return JSONResponse({"error": reason}, 503, headers={"Retry-After": RETRY_AFTER_S})
