"""The FastAPI application: `create_app()` with a lifespan that loads the model and the store."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, NamedTuple

from fastapi import APIRouter, Depends, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from classifier.api.auth import PERMISSION_NAMES, PERMISSIONS, KeyRing, Role, dev_keys, parse_keys
from classifier.api.batching import MicroBatcher
from classifier.api.metrics import Metrics
from classifier.model import ModelLoadError, TicketClassifier
from classifier.schemas import (
    Category,
    MissingCode,
    Prediction,
    Priority,
    Ticket,
    valid_ticket_id,
)
from classifier.settings import REPORT_HTML, REPORT_JSON, Settings, get_settings
from classifier.signals import SecretSpan, redact
from classifier.sla import first_response_deadline
from classifier.store import (
    ConcurrentDuplicate,
    IdempotencyConflict,
    LabelConflict,
    LogRow,
    NotFound,
    Store,
    as_utc,
)
from classifier.text import MAX_SUBJECT_CHARS, RAW_FACTOR, without_surrogates

log = logging.getLogger("classifier.api")


# ---------------------------------------------------------------- errors


class ApiError(Exception):
    """An error with the one JSON shape: {"error": {"code", "message", "field"}}."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None):
        self.status, self.code, self.message, self.field = status, code, message, field


class ErrorBody(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_response(status: int, code: str, message: str, field: str | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "field": field}}
    return JSONResponse(body, status_code=status)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or None


def _responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    text = {
        400: "Malformed request",
        401: "Missing or unknown API key",
        403: "Role not allowed",
        404: "Unknown ticket, or no report yet",
        409: "Conflict",
        413: "Request too large",
        415: "Content type is not JSON",
        422: "Invalid field",
        503: "Store unavailable",
    }
    return {s: {"model": ErrorResponse, "description": text[s]} for s in statuses}


# ---------------------------------------------------------------- request and response models


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # any JSON per entry: one that is no ticket gets an error entry at its position
    tickets: list[Any] = Field(max_length=1000)


class BatchError(BaseModel):
    error: ErrorBody


class BatchResponse(BaseModel):
    predictions: list[Prediction | BatchError]


class CorrectionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket_id: str = Field(min_length=1, max_length=200)
    category: Category | None = None
    priority: Priority | None = None
    missing_info: list[MissingCode] | None = None
    multi_issue: StrictBool | None = None  # true or false, not "yes"
    contains_password: StrictBool | None = None
    note: str | None = Field(default=None, max_length=2000)

    def changes(self) -> dict[str, Any]:
        fields = ("category", "priority", "missing_info", "multi_issue", "contains_password")
        changes = {f: getattr(self, f) for f in fields if getattr(self, f) is not None}
        if "missing_info" in changes:
            changes["missing_info"] = sorted(set(changes["missing_info"]))
        return changes


class CorrectionResponse(BaseModel):
    id: int
    ticket_id: str
    author: str
    created_at: datetime
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None


class StoredTicket(BaseModel):
    ticket_id: str
    subject: str | None
    body: str | None
    erased: bool
    prediction: dict[str, Any]
    corrections: list[CorrectionResponse]
    current: dict[str, Any]


class ModelInfo(BaseModel):
    version: str
    trained_at: str | None
    metrics: dict[str, Any]
    thresholds: dict[str, Any]


class Health(BaseModel):
    status: Literal["ok"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    model: bool
    store: bool


# ---------------------------------------------------------------- app state and dependencies


class State:
    """What the lifespan loads once: the model (swappable under a lock), the store, the keys."""

    def __init__(self, settings: Settings, model: TicketClassifier, store: Store, keys: KeyRing):
        self.settings = settings
        self.model = model
        self.store = store
        self.keys = keys
        self.metrics = Metrics()
        self.reload_lock = threading.Lock()
        # single tickets (POST /v1/predict) are predicted and logged in micro-batches
        self.batcher: MicroBatcher[Ticket, Predicted] = MicroBatcher(
            self.predict_micro_batch, max_batch=settings.micro_batch
        )

    def predict_micro_batch(self, tickets: list[Ticket]) -> list[Predicted]:
        self.metrics.micro_batch.observe(len(tickets))
        return predict_and_log(self, tickets)


def load_keys(settings: Settings) -> KeyRing:
    keys = []
    if settings.api_keys:
        keys += parse_keys(settings.api_keys, "CLASSIFIER_API_KEYS")
    if settings.api_keys_file and settings.api_keys_file.exists():
        keys += parse_keys(
            settings.api_keys_file.read_text(encoding="utf-8"), str(settings.api_keys_file)
        )
    if not keys and settings.dev:
        path = settings.api_keys_file or settings.data_dir / "dev-keys.txt"
        keys = dev_keys(path)
        log.warning("development run: API keys in %s", path)
    if not keys:
        raise RuntimeError(
            "no API keys configured: set CLASSIFIER_API_KEYS (role:key,...) or "
            "CLASSIFIER_API_KEYS_FILE, or start a development run (CLASSIFIER_DEV=1)"
        )
    return KeyRing(keys)


async def get_state(request: Request) -> State:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request
    return request.app.state.classifier


AppState = Annotated[State, Depends(get_state)]


def require(permission: str) -> Callable[..., Awaitable[Role]]:
    async def check(state: AppState, authorization: Annotated[str | None, Header()] = None) -> Role:
        return authorize(state, authorization, permission)

    return check


def authorize(state: State, authorization: str | None, permission: str) -> Role:
    """The role of the request's API key, if that role has the permission (else 401 or 403)."""
    scheme, _, presented = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not presented:
        raise ApiError(401, "unauthorized", "send an API key as 'Authorization: Bearer <key>'")
    role = state.keys.role_of(presented.strip())
    if role is None:
        raise ApiError(401, "unauthorized", "unknown API key")
    if role not in PERMISSIONS[permission]:
        raise ApiError(
            403,
            "forbidden",
            f"the {role} role may not {PERMISSION_NAMES.get(permission, permission)}",
        )
    return role


class PredictRoute(APIRoute):
    """POST /v1/predict, the hot path, without FastAPI's per-request dependency solving for
    the common request: a JSON ticket that validates, with a key that may predict. Any other
    request (no or a wrong key, another content type, a body that is not valid JSON or not a
    valid ticket) goes through FastAPI's own handler, so that its answer is FastAPI's.

    The OpenAPI schema still comes from the declared endpoint (body, header, responses)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        standard = super().get_route_handler()
        overrides = self.dependency_overrides_provider

        async def handler(request: Request) -> Response:
            if getattr(overrides, "dependency_overrides", None):
                return await standard(request)  # a test swapped a dependency
            headers = request.headers
            content_type = headers.get("content-type", "")
            if content_type.split(";")[0].strip().lower() == "application/json":
                state = request.app.state.classifier
                try:
                    role = authorize(state, headers.get("authorization"), "predict")
                    # JSON mode: what it accepts, json.loads and the model accept alike
                    ticket = Ticket.model_validate_json(await request.body())
                except StarletteHTTPException:
                    raise  # the body is past the limit: 413
                except Exception:  # no or a wrong key, not a ticket, the client went away
                    pass
                else:
                    return await predict(ticket, state, role)
            return await standard(request)

        return handler


# ---------------------------------------------------------------- size, content type, metrics

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class Gate:
    """ASGI middleware, one per app for every request: 415 for a non-JSON body, 413 past the
    byte limit (before any parsing); then the request count and latency per route in /metrics
    and one log line each (method, route, status, time; never a body).

    Plain ASGI, one layer: a BaseHTTPMiddleware (what `@app.middleware("http")` makes) costs a
    task and a stream per request, and each extra layer a call and a send wrapper."""

    def __init__(self, app: Any, settings: Settings):
        self.app = app
        self.settings = settings

    def limit_for(self, path: str) -> int:
        if path.endswith("/batch"):
            return self.settings.max_batch_bytes
        if path == "/v1/predict":
            return self.settings.max_ticket_bytes
        return 64 * 1024

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status, started = 500, False

        async def observing_send(message: dict[str, Any]) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status, started = message["status"], True
            await send(message)

        try:
            if scope["method"] in _WITH_BODY:
                await self._limited(scope, receive, observing_send)
            else:
                await self.app(scope, receive, observing_send)
        except Exception as exc:
            # a bug: answered in the one error shape, and logged by its type alone (a message
            # may quote a ticket; Starlette's own handler would log it, traceback and all)
            log.error("unexpected error: %s", type(exc).__name__)
            if not started:
                await error_response(500, "internal", "an unexpected error; it was logged")(
                    scope, receive, send
                )
        finally:
            seconds = time.perf_counter() - start
            path = getattr(scope.get("route"), "path", "unmatched")
            state = getattr(scope["app"].state, "classifier", None) if "app" in scope else None
            if state is not None:
                state.metrics.observe(scope["method"], path, status, seconds)
            log.info("%s %s %s %.1fms", scope["method"], path, status, seconds * 1000)

    async def _limited(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        content_type, length = b"", None
        for name, value in scope["headers"]:  # the last of a repeated header counts
            name = name.lower()
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
        limit = self.limit_for(scope["path"])
        if length and length.isdigit() and int(length) > limit:
            return await error_response(413, "too_large", f"the body is over {limit} bytes")(
                scope, receive, send
            )
        if length not in (None, b"0") and (
            content_type.split(b";")[0].strip().lower() != b"application/json"
        ):
            return await error_response(
                415, "unsupported_media_type", "send the body as application/json"
            )(scope, receive, send)
        received = 0

        async def counting_receive() -> dict[str, Any]:
            # a chunked body, or one longer than it said, is cut off at the limit too
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > limit:
                raise _TooLarge(limit)
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge as exc:
            await error_response(413, "too_large", exc.detail)(scope, receive, send)


class _TooLarge(StarletteHTTPException):
    """Raised while the body is read: an HTTPException, so that FastAPI lets it through (any
    other exception there becomes a 400 "error parsing the body") and it is answered 413."""

    def __init__(self, limit: int):
        super().__init__(413, f"the body is over {limit} bytes")


# ---------------------------------------------------------------- helpers


def storable(text: str) -> str:
    """Text every store takes: NUL (PostgreSQL refuses it in text) replaced by U+FFFD, lone
    surrogates (no UTF-8 for SQLite) by '?', as the classifier's cleaning replaces them."""
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text if text.isascii() else without_surrogates(text)


def stored_ticket(ticket: Ticket, prediction: Prediction, max_chars: int) -> dict[str, Any]:
    """The ticket as it may be stored: the scanned prefix only, every secret replaced."""
    spans: dict[str, list[SecretSpan]] = {"subject": [], "body": []}
    for s in prediction.secret_spans:
        spans[s.field].append(SecretSpan(s.start, s.end, s.kind))
    return {
        "ticket_id": prediction.id,
        "subject": storable(redact(ticket.subject[:MAX_SUBJECT_CHARS], spans["subject"])),
        "body": storable(redact(ticket.body[: RAW_FACTOR * max_chars], spans["body"])),
        # stored in UTC: SQLite keeps no offset
        "received_at": ticket.received_at.astimezone(UTC) if ticket.received_at else None,
        "channel": ticket.channel,
        "plan": ticket.plan,
    }


class Predicted(NamedTuple):
    prediction: Prediction
    json: str  # serialized once: the answer and the prediction log's row


# errors of one row's data (a duplicate, a value the database refuses), not of the store
_ROW_ERRORS = (IntegrityError, DataError, ValueError)


def predict_and_log(state: State, tickets: list[Ticket]) -> list[Predicted]:
    model = state.model
    now = datetime.now(UTC)  # a ticket without received_at was received now, by this service
    tickets = [t if t.received_at else t.model_copy(update={"received_at": now}) for t in tickets]
    predicted = [Predicted(p, p.model_dump_json()) for p in model.predict(tickets)]
    for p, _ in predicted:
        state.metrics.count_prediction(p)
    rows = [
        LogRow(stored_ticket(t, p, model.analyzer.max_chars), p.model_version, text)
        for t, (p, text) in zip(tickets, predicted, strict=True)
    ]
    try:
        state.store.log_serialized(rows)
    except Exception as exc:  # the predictions are still returned; the failure is counted
        if len(rows) == 1 or not isinstance(exc, _ROW_ERRORS):
            # a store that is down or locked fails every row alike: no retry on the predict path
            state.metrics.store_failures.inc(len(rows))
            log.error("prediction log write failed: %s", type(exc).__name__)
        else:  # one row the store refuses must not cost the others theirs
            log.error(
                "prediction log write of %d failed (%s); one by one", len(rows), type(exc).__name__
            )
            for row in rows:
                try:
                    state.store.log_serialized([row])
                except Exception as one:
                    state.metrics.store_failures.inc()
                    log.error("prediction log write failed: %s", type(one).__name__)
    return predicted


def model_info(model: TicketClassifier) -> ModelInfo:
    meta = model.metadata
    return ModelInfo(
        version=model.version,
        trained_at=meta.get("trained_at"),
        metrics=meta.get("metrics", {}),
        thresholds={**meta.get("thresholds", {}), "urgent_in_use": model.urgent_threshold},
    )


# ---------------------------------------------------------------- routes

router = APIRouter()


async def predict(
    ticket: Ticket, state: AppState, _: Annotated[Role, Depends(require("predict"))]
) -> Response:
    """Classify one ticket; the redacted ticket and the prediction go to the prediction log."""
    _check_not_empty(ticket)
    return _json((await state.batcher.submit(ticket)).json)


router.add_api_route(
    "/v1/predict",
    predict,
    methods=["POST"],
    route_class_override=PredictRoute,
    response_model=Prediction,
    tags=["predict"],
    responses=_responses(400, 401, 403, 413, 415, 422),
)


@router.post(
    "/v1/predict/batch",
    response_model=BatchResponse,
    tags=["predict"],
    responses=_responses(400, 401, 403, 413, 415, 422),
)
def predict_batch(
    batch: BatchRequest, state: AppState, _: Annotated[Role, Depends(require("predict"))]
) -> Response:
    """Classify up to 1,000 tickets; a bad ticket gets an error entry at its position."""
    results: list[str | None] = [None] * len(batch.tickets)  # each entry's JSON
    good: list[tuple[int, Ticket]] = []
    for index, raw in enumerate(batch.tickets):
        try:
            ticket = Ticket.model_validate(raw)
            _check_not_empty(ticket)
            _check_size(ticket, state.settings.max_ticket_bytes)
            good.append((index, ticket))
        except ValidationError as exc:
            err = exc.errors()[0]
            results[index] = BatchError(
                error=ErrorBody(
                    code="invalid",
                    message=err["msg"],
                    field=f"tickets.{index}.{_field_of(err['loc']) or ''}".rstrip("."),
                )
            ).model_dump_json()
        except ApiError as exc:
            results[index] = BatchError(
                error=ErrorBody(
                    code=exc.code, message=exc.message, field=f"tickets.{index}.{exc.field}"
                )
            ).model_dump_json()
    for (index, _ticket), predicted in zip(
        good, predict_and_log(state, [t for _, t in good]), strict=True
    ):
        results[index] = predicted.json
    items = ",".join(r for r in results if r is not None)
    return _json(f'{{"predictions":[{items}]}}')


def _json(body: str) -> Response:
    """An already serialized, already typed body: FastAPI need not validate it again against
    the response model (which stays declared for the OpenAPI schema)."""
    return Response(content=body, media_type="application/json")


def _known_id(ticket_id: str) -> None:
    """404 for an id no ticket can have (a NUL in it, which PostgreSQL cannot even compare)."""
    if not valid_ticket_id(ticket_id):
        raise ApiError(404, "not_found", "no ticket with such an id", "ticket_id")


def _check_size(ticket: Ticket, limit: int) -> None:
    """A ticket in a batch is held to a single ticket's limit (its text, UTF-8)."""
    chars = len(ticket.subject) + len(ticket.body)
    utf8 = "utf-8", "surrogatepass"  # a lone surrogate is counted, not refused
    if (
        chars * 4 > limit
        and len(ticket.subject.encode(*utf8)) + len(ticket.body.encode(*utf8)) > limit
    ):
        raise ApiError(413, "too_large", f"the ticket's text is over {limit} bytes", "body")


def _check_not_empty(ticket: Ticket) -> None:
    if not ticket.subject.strip() and not ticket.body.strip():
        raise ApiError(422, "invalid", "subject and body are both empty", "body")


@router.get(
    "/v1/predictions/{ticket_id}",
    response_model=StoredTicket,
    tags=["predictions"],
    responses=_responses(401, 403, 404),
)
def get_prediction(
    ticket_id: str, state: AppState, _: Annotated[Role, Depends(require("read"))]
) -> StoredTicket:
    """The stored prediction of a ticket, its corrections and its current labels."""
    _known_id(ticket_id)
    try:
        stored = state.store.ticket(ticket_id)
    except NotFound:
        raise ApiError(404, "not_found", f"no ticket {ticket_id!r}", "ticket_id") from None
    current = stored["current"]
    if stored["received_at"] is not None and current.get("priority"):
        # the deadline follows the current (possibly corrected) priority
        current["respond_by"] = first_response_deadline(
            as_utc(stored["received_at"]), current["priority"], stored["plan"]
        ).isoformat()
    return StoredTicket.model_validate(
        {k: v for k, v in stored.items() if k not in ("received_at", "plan")}
    )


@router.post(
    "/v1/corrections",
    response_model=CorrectionResponse,
    status_code=201,
    tags=["corrections"],
    responses=_responses(400, 401, 403, 404, 409, 413, 415, 422, 503),
)
def post_correction(
    correction: CorrectionRequest,
    state: AppState,
    role: Annotated[Role, Depends(require("correct"))],
    response: Response,
    idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
) -> CorrectionResponse:
    """Correct a ticket's labels (append-only; the latest correction wins)."""
    changes = correction.changes()
    if not changes:
        raise ApiError(422, "invalid", "name at least one label to correct", "category")
    _known_id(correction.ticket_id)
    # a note is free text: a secret in it is stored redacted, like a ticket's
    note = storable(redact(correction.note)) if correction.note else correction.note
    try:
        stored = state.store.correct(correction.ticket_id, role, changes, note, idempotency_key)
    except LabelConflict as exc:
        raise ApiError(422, "invalid", str(exc), exc.field) from None
    except NotFound:
        raise ApiError(
            404, "not_found", f"no ticket {correction.ticket_id!r}", "ticket_id"
        ) from None
    except ConcurrentDuplicate:
        raise ApiError(
            409,
            "concurrent_duplicate",
            "a request with this Idempotency-Key is being handled; retry it",
            "Idempotency-Key",
        ) from None
    except IdempotencyConflict:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was used with another payload",
            "Idempotency-Key",
        ) from None
    except Exception as exc:
        log.error("correction write failed: %s", type(exc).__name__)
        raise ApiError(
            503,
            "store_unavailable",
            "the correction could not be stored; nothing was written, retry later",
        ) from None
    if stored.replayed:
        response.status_code = 200
    else:
        state.metrics.corrections.inc()
    return CorrectionResponse(**{k: v for k, v in stored.__dict__.items() if k != "replayed"})


@router.get(
    "/v1/corrections",
    tags=["corrections"],
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "one corrected ticket per line",
        },
        **_responses(401, 403, 422),
    },
)
def export_corrections(
    state: AppState,
    _: Annotated[Role, Depends(require("export"))],
    since: Annotated[datetime | None, Query(description="ISO 8601 date-time")] = None,
) -> StreamingResponse:
    """Corrected tickets (redacted text and current labels) as JSON Lines, for retraining."""
    if since is not None:
        try:  # compared in UTC, as the store keeps its times
            since = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
        except OverflowError:
            raise ApiError(422, "invalid", "since is out of range", "since") from None
    records = list(state.store.export_corrections(since))
    lines = (json.dumps(r, default=str, ensure_ascii=False) + "\n" for r in records)
    return StreamingResponse(lines, media_type="application/x-ndjson")


@router.delete(
    "/v1/tickets/{ticket_id}",
    status_code=204,
    tags=["predictions"],
    responses=_responses(401, 403, 404),
)
def erase_ticket(
    ticket_id: str, state: AppState, _: Annotated[Role, Depends(require("admin"))]
) -> Response:
    """Erase a ticket's text and personal data (GDPR); its label statistics are kept."""
    _known_id(ticket_id)
    try:
        state.store.erase(ticket_id)
    except NotFound:
        raise ApiError(404, "not_found", f"no ticket {ticket_id!r}", "ticket_id") from None
    return Response(status_code=204)


@router.get("/v1/model", response_model=ModelInfo, tags=["model"], responses=_responses(401, 403))
def get_model(state: AppState, _: Annotated[Role, Depends(require("model"))]) -> ModelInfo:
    """The serving model: version, training date, metrics and thresholds."""
    return model_info(state.model)


@router.post(
    "/v1/admin/reload",
    response_model=ModelInfo,
    tags=["model"],
    responses=_responses(401, 403, 409),
)
def reload_model(state: AppState, _: Annotated[Role, Depends(require("admin"))]) -> ModelInfo:
    """Load the model folder again and swap it in; a bad artifact is refused, the old one stays."""
    settings = state.settings
    with state.reload_lock:
        try:
            model = settings.load_model()
            info = model_info(model)  # before the swap: a model it cannot describe is refused
        except (ModelLoadError, ValidationError) as exc:
            raise ApiError(409, "model_refused", str(exc)) from None
        state.model = model  # one reference swap: requests in flight keep the old model
        state.metrics.set_model(model.version)
    return info


def _latest_report(state: State, name: str) -> bytes:
    path = state.settings.report_dir / name
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ApiError(
            404,
            "no_report",
            "no accuracy report has been written yet: run `ticket-classifier report` "
            "(it writes to CLASSIFIER_REPORTS_DIR, by default the reports folder of the data dir)",
        ) from None


@router.get(
    "/v1/reports/accuracy",
    tags=["reports"],
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}}, "description": "the latest report's figures"},
        **_responses(401, 403, 404),
    },
)
def accuracy_report(state: AppState, _: Annotated[Role, Depends(require("reports"))]) -> Response:
    """The latest accuracy report as JSON: offline (test split) and live (corrections)."""
    return Response(_latest_report(state, REPORT_JSON), media_type="application/json")


@router.get(
    "/reports",
    tags=["reports"],
    responses={
        200: {"content": {"text/html": {}}, "description": "the latest report as a page"},
        **_responses(401, 403, 404),
    },
)
def accuracy_report_page(
    state: AppState, _: Annotated[Role, Depends(require("reports"))]
) -> HTMLResponse:
    """The latest accuracy report as one self-contained HTML page (plots embedded)."""
    return HTMLResponse(_latest_report(state, REPORT_HTML))


@router.get("/healthz", response_model=Health, tags=["ops"])
def healthz() -> Health:
    """The process is alive."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Readiness,
    tags=["ops"],
    responses={503: {"model": Readiness, "description": "not ready"}},
)
def readyz(state: AppState) -> JSONResponse:
    """The model is loaded and the store answers."""
    try:
        store_ok = state.store.ping()
    except Exception:
        store_ok = False
    ready = Readiness(status="ready" if store_ok else "not ready", model=True, store=store_ok)
    return JSONResponse(ready.model_dump(), status_code=200 if store_ok else 503)


@router.get("/metrics", response_class=PlainTextResponse, tags=["ops"])
def metrics(state: AppState) -> PlainTextResponse:
    """Prometheus metrics: requests, latency, predictions per label, corrections, model."""
    body, content_type = state.metrics.render()
    return PlainTextResponse(body, media_type=content_type)


# ---------------------------------------------------------------- the app


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        keys = load_keys(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        model = settings.load_model()
        # The first deadline loads the holidays registry and this year's holidays (60-300 ms):
        # paid at start, not by the first ticket the service is sent.
        model.intake.respond_by(datetime.now(UTC), "P4", None)
        store = Store.open(settings.store_url, settings.database_schema)
        state = State(settings, model, store, keys)
        state.metrics.set_model(model.version)
        app.state.classifier = state
        yield
        state.batcher.close()
        store.close()

    app = FastAPI(
        title="ticket-classifier",
        version="1",
        summary="Triage of hosting support tickets: priority, category, missing information.",
        lifespan=lifespan,
    )
    app.include_router(router)
    app.add_middleware(Gate, settings=settings)

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.field)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0]
        if err.get("type") == "json_invalid":
            return error_response(400, "malformed_json", "the body is not valid JSON")
        if err.get("type") == "missing" and tuple(err.get("loc", ())) == ("body",):
            return error_response(422, "invalid", "the request needs a JSON body")
        return error_response(422, "invalid", err.get("msg", "invalid"), _field_of(err["loc"]))

    @app.exception_handler(SQLAlchemyError)
    async def store_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        log.error("store error: %s", type(exc).__name__)  # the type only: it may quote a ticket
        return error_response(503, "store_unavailable", "the store failed; retry later")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:  # FastAPI could not read the body: not JSON in UTF-8
            return error_response(400, "malformed_json", "the body is not valid JSON (UTF-8)")
        codes = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}
        return error_response(exc.status_code, codes.get(exc.status_code, "error"), str(exc.detail))

    return app
