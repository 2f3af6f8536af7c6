"""The ASGI app (Starlette): the page, /stream.mjpg, /events, /api/classify, /api/status, /api/results, /api/model,
/healthz, /metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from importlib import resources
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from antbee.common.errors import UsageError
from antbee.common.files import write_atomic
from antbee.edge.events import MAX_RESULTS, parse_since
from antbee.common.command import printable
from antbee.edge.service.auth import COOKIE, LOGIN_PAGE, TokenGate, token_matches
from antbee.edge.service.core import Service
from antbee.edge.service.liveview import BOUNDARY, mjpeg

MAX_NAME = 200  # characters of an upload's file name kept in its result
MAX_LOGIN_BYTES = 4096
MAX_MODEL_BYTES = 200 * 1024 * 1024  # a float32 MobileNetV2 is about 9 MB; room for much larger models


class _Refusal(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def build_app(service: Service, token: str | None, max_upload: int, model_path=None,
              on_shutdown: Callable[[], None] = lambda: None):
    """The service's ASGI app; `model_path` is where an accepted POST /api/model is written (None: memory only)."""
    page = resources.files("antbee.edge.service").joinpath("page.html").read_text(encoding="utf-8")

    async def index(request: Request) -> Response:
        return HTMLResponse(page)

    async def login(request: Request) -> Response:
        if token is None:
            return RedirectResponse("/", 303)
        if request.method == "GET":
            return HTMLResponse(LOGIN_PAGE % "This device needs its token.")
        fields = parse_qs((await _read_body(request, MAX_LOGIN_BYTES)).decode("utf-8", "replace"))
        if not token_matches(fields.get("token", [None])[0], token):
            return HTMLResponse(LOGIN_PAGE % "Wrong token; try again.", 401)
        response = RedirectResponse("/", 303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
        return response

    async def healthz(request: Request) -> Response:
        ok, reason = service.healthy()
        return JSONResponse({"status": reason}, 200 if ok else 503)

    async def status(request: Request) -> Response:
        return JSONResponse(service.status())

    async def results(request: Request) -> Response:
        try:
            since = request.query_params.get("since")
            since = None if since is None else parse_since(since)
            limit = _limit(request.query_params.get("limit", "100"))
        except UsageError as exc:
            raise _Refusal(400, str(exc)) from None
        events = await run_in_threadpool(service.events.events, since, limit)
        return JSONResponse({"results": [event._asdict() for event in events]})

    async def metrics(request: Request) -> Response:
        return Response(service.metrics.text(), media_type="text/plain; version=0.0.4; charset=utf-8")

    async def classify(request: Request) -> Response:
        try:
            data, name = await _upload(request, max_upload, "image")
        except _Refusal as exc:
            service.count_refusal(exc.status)
            raise
        answer = await run_in_threadpool(service.classify_upload, data, name)
        return Response(answer.body, answer.status, media_type="application/json")

    async def model(request: Request) -> Response:
        if token is None:  # a model upload changes what the device says: never without a token
            raise _Refusal(403, "model uploads need a token: start the service with --token or ANTBEE_TOKEN")
        data, _ = await _upload(request, MAX_MODEL_BYTES, "model")
        outcome = await run_in_threadpool(service.slot.consider, data, "upload")
        if outcome.accepted and model_path is not None:
            await run_in_threadpool(write_atomic, model_path, data)  # survives a restart
        service.model_outcome(outcome)
        record = outcome.record()
        return JSONResponse(record if outcome.accepted else {"error": outcome.reason, **record},
                            200 if outcome.accepted else 422)

    async def stream(request: Request) -> Response:
        return StreamingResponse(service.broadcast.stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def video(request: Request) -> Response:
        source_id = request.query_params.get("source", next(iter(service.sources), None))
        if source_id not in service.sources:
            known = ", ".join(service.sources) or "none: the service runs without a camera or video"
            raise _Refusal(404, f"source={source_id!r}: no such live source (known: {known})")
        return StreamingResponse(mjpeg(service.frames, source_id),
                                 media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def refusal(request: Request, exc: _Refusal) -> Response:
        return JSONResponse({"error": str(exc)}, exc.status)

    async def http_error(request: Request, exc: HTTPException) -> Response:
        return JSONResponse({"error": exc.detail}, exc.status_code)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        on_shutdown()

    routes = [
        Route("/", index), Route("/login", login, methods=["GET", "POST"]), Route("/healthz", healthz),
        Route("/api/status", status), Route("/api/results", results), Route("/metrics", metrics),
        Route("/events", stream), Route("/stream.mjpg", video), Route("/api/classify", classify, methods=["POST"]),
        Route("/api/model", model, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={_Refusal: refusal, HTTPException: http_error})
    return TokenGate(app, token)


async def _upload(request: Request, limit: int, field: str) -> tuple[bytes, str]:
    """The uploaded file: multipart field `field`, or else the raw body; with its name, for the result."""
    body = await _read_body(request, limit)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return body, "upload"

    async def replay():
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(max_files=1, max_fields=8)
    except (MultiPartException, HTTPException) as exc:
        raise _Refusal(400, f"malformed multipart body ({getattr(exc, 'detail', None) or exc})") from None
    part = form.get(field)
    if not isinstance(part, UploadFile):
        raise _Refusal(400, f"multipart body without a file field named {field!r}")
    name = printable(part.filename or "upload")[:MAX_NAME]
    return await part.read(), name


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 from its declared length before any of it is read, or once it passes `limit`."""
    # Answering before the first receive() also answers `Expect: 100-continue`: uvicorn sends
    # the 100 only when the app starts reading, so a client told 413 never sends the body.
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        raise _Refusal(413 if declared.isdigit() else 400,
                       f"body of {declared} bytes: the limit is {limit} bytes (--max-upload)")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:  # a chunked body declares no length: cut it off here
                raise _Refusal(413, f"body over {limit} bytes: the limit is {limit} bytes (--max-upload)")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Refusal(400, "the client closed the connection before the body ended") from None
    return b"".join(chunks)


def _limit(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_RESULTS:
        raise UsageError(f"limit={text!r}: expected a whole number from 1 to {MAX_RESULTS}")
    return int(text)

