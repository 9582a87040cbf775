"""The HTTP API (Starlette on uvicorn): event intake, health, readiness and metrics.

``POST /v1/events`` answers 202 once every valid item is on the bus (the memory bus: in this
process; Kafka: acknowledged by all in-sync replicas) and every invalid one is on its way to the
dead-letter table, listing each rejected item's index, event_id and reason. 413 above
``INGEST_MAX_BODY_BYTES``; 401 without the bearer token when ``INGEST_API_TOKEN`` is set; 503
with ``Retry-After`` while the service is full (backpressure: nothing is dropped, the client
retries, and event_id makes the retry harmless).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ingest.bus import BusFull
from ingest.framing import split_body
from ingest.service import Service

log = logging.getLogger(__name__)

RETRY_AFTER_S = "1"
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class _TooLarge(Exception):
    pass


def create_app(service: Service) -> Starlette:
    """The ASGI app; its lifespan starts the service and drains it on shutdown."""
    settings = service.settings

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(service.start)
        try:
            yield
        finally:
            await asyncio.to_thread(service.stop)

    def authorised(request: Request) -> bool:
        if not settings.api_token:
            return True
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        expected = settings.api_token.encode()
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > settings.max_body_bytes:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > settings.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
        return b"".join(chunks)

    async def post_events(request: Request) -> Response:
        if not authorised(request):
            return JSONResponse(
                {"error": "missing or wrong bearer token"}, 401, headers={"WWW-Authenticate": "Bearer"}
            )
        try:
            body = await read_body(request)
        except _TooLarge:
            return JSONResponse({"error": f"body larger than {settings.max_body_bytes} bytes"}, 413)
        items = split_body(body, request.headers.get("content-type", ""))
        if not items:
            return JSONResponse({"error": "the body holds no event"}, 400)
        if service.full:
            return _unavailable("the service is full; retry shortly")
        try:
            outcome = await service.intake(items)
        except BusFull as error:
            return _unavailable(str(error))
        except Exception as error:  # the bus refused or lost contact: nothing was acknowledged
            log.warning("publishing %d events failed: %s", len(items), error)
            return _unavailable(f"the bus did not take the events: {error}")
        return JSONResponse(
            {"accepted": outcome.accepted, "rejected": [asdict(item) for item in outcome.rejected]}, 202
        )

    async def healthz(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_: Request) -> Response:
        checks = await asyncio.to_thread(service.readiness)
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse({"ready": ready, "checks": checks}, 200 if ready else 503)

    async def metrics(_: Request) -> Response:
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
