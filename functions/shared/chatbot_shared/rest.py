"""One factory for the REST API resolvers, so `POST /escalate` and `POST /store-query` behave identically.

Every answer is JSON, and every bad request gets a 4xx naming the field and the reason:

- 400 `{"message": "Request body is not valid JSON", "errors": [{"field": "body", "reason": ...}]}`
- 404 `{"message": "Not found"}` for a route the function does not serve
- 413 `{"message": "Request body too large", "errors": [{"field": "body", ...}]}` above 64 KiB
- 415 `{"message": "Unsupported media type", "errors": [{"field": "Content-Type", ...}]}` for a body that is
  not declared `application/json`
- 422 `{"message": "Invalid request", "errors": [{"field": "conversationHistory.0.text", "reason": ...}]}`
- 500 `{"message": "Internal error"}` for anything unexpected (logged with the stack trace, never returned).

CORS: the chat page calls the API on its own origin (CloudFront serves `/api/*`), so it needs none. Extra
origins a stack allows (`allowedOrigins`, passed as the JSON list `ALLOWED_ORIGINS` that each API function reads
into its settings and hands to `JsonApi`) get
`Access-Control-Allow-Origin` echoed on every answer, errors included, with `Vary: Origin`; any other
origin gets no CORS header at all. API Gateway answers the preflight (OPTIONS) itself.

Decisions: the media type, size and JSON checks run in `JsonApi.handle` *before* Powertools sees the event,
because Powertools parses the body itself and crashes on `multipart/form-data` without a boundary; a body
Python's `json` would accept but JSON forbids (`NaN`, `Infinity`) is refused with 400 too. Domain errors
(e.g. 503 when a ticket could not be queued) are registered by each function with `JsonApi.app.exception_handler`.
"""

import base64
import binascii
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, Field

from chatbot_shared.wire import PATTERN_REASONS

MAX_BODY_BYTES = 64 * 1024  # far above any valid request (50 turns of chat); keeps parsing cheap
JSON_MEDIA_TYPE = "application/json"

logger = Logger(child=True)


class FieldError(BaseModel):
    """One thing wrong with a request: where (a dotted path into the JSON body) and why."""

    field: str = Field(description="Dotted path of the offending value, e.g. `conversationHistory.0.text`")
    reason: str = Field(description="Why the value was refused")


class ErrorBody(BaseModel):
    """The JSON body of every error answer."""

    message: str
    errors: list[FieldError] = Field(default_factory=list)


# What every route documents besides its success, so the OpenAPI description lists every answer it can give.
ERROR_RESPONSES: dict[int, Any] = {
    int(status): {"description": description, "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}}}
    for status, description in (
        (HTTPStatus.BAD_REQUEST, "The body is not valid JSON"),
        (HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "The body is larger than 64 KiB"),
        (HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "The body is not declared as application/json"),
        (HTTPStatus.UNPROCESSABLE_ENTITY, "A field is missing or invalid; `errors` names each field and reason"),
        (HTTPStatus.INTERNAL_SERVER_ERROR, "Unexpected failure (details are logged, never returned)"),
    )
}


def error_response(
    status: int, message: str, errors: Sequence[FieldError] = (), headers: Mapping[str, str] | None = None
) -> Response:
    """A JSON error answer in the one shape every route uses."""
    body = ErrorBody(message=message, errors=list(errors)).model_dump_json()
    return Response(
        status_code=int(status), content_type=content_types.APPLICATION_JSON, body=body, headers=dict(headers or {})
    )


def dotted_field(loc: Sequence[int | str]) -> str:
    """`("body", "conversationHistory", 0, "text")` -> `conversationHistory.0.text` (the body prefix dropped)."""
    parts = [str(part) for part in loc]
    if len(parts) > 1 and parts[0] == "body":
        parts = parts[1:]
    # Powertools names a body model parameter in the location when the whole body is missing or not an object.
    return ".".join(parts) or "body"


def field_errors(errors: Sequence[Mapping[str, Any]], pattern_reasons: Mapping[str, str]) -> list[FieldError]:
    """pydantic's errors as (field, reason) pairs; a pattern mismatch says what the pattern means."""
    found = []
    for error in errors:
        reason = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "string_pattern_mismatch":
            pattern = str((error.get("ctx") or {}).get("pattern", ""))
            reason = pattern_reasons.get(pattern, "is not in the expected format")
        found.append(FieldError(field=dotted_field(error.get("loc", ())), reason=reason))
    return found


class JsonApi:
    """An `APIGatewayRestResolver` with validation, JSON-only input and the project's error answers.

    Register routes on `.app` (`@api.app.post(...)`); call `.handle(event, context)` from `lambda_handler`.
    `pattern_reasons` maps a field pattern to the reason a 422 gives when a value does not match it, beyond the
    common ones of `chatbot_shared.wire` (session id, no control characters), which every API knows.
    `allowed_origins` are the extra origins answered with CORS, or a callable asked at each request (a handler
    passes its settings', so the environment is read on first use and not at import).
    """

    def __init__(
        self,
        pattern_reasons: Mapping[str, str] | None = None,
        allowed_origins: Iterable[str] | Callable[[], Iterable[str]] = (),
    ) -> None:
        self.pattern_reasons = {**PATTERN_REASONS, **(pattern_reasons or {})}
        self._allowed_origins = allowed_origins
        self.app = APIGatewayRestResolver(enable_validation=True)
        self.app.exception_handler(RequestValidationError)(self._invalid_request)
        self.app.exception_handler(RequestUnsupportedContentType)(self._unsupported_content_type)
        self.app.not_found()(self._not_found)
        self.app.exception_handler(Exception)(self._unexpected)

    @property
    def allowed_origins(self) -> frozenset[str]:
        """The extra origins answered with CORS headers; a callable (a handler's settings) is asked at each use."""
        origins = self._allowed_origins
        return frozenset(origins() if callable(origins) else origins)

    def handle(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Answer the event; an allowed extra origin gets its CORS header on every answer."""
        response = self._answer(event, context)
        origin = _header(event, "origin")
        if origin is not None and origin in self._allowed_origins_or_none():
            cors = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
            if response.get("multiValueHeaders"):
                response["multiValueHeaders"].update({key: [value] for key, value in cors.items()})
            else:
                response["headers"] = {**(response.get("headers") or {}), **cors}
        return response

    def _allowed_origins_or_none(self) -> frozenset[str]:
        try:
            return self.allowed_origins
        except Exception:  # a misconfigured function still answers (its route reports the failure)
            logger.exception("Could not read the allowed origins")
            return frozenset()

    def _answer(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        """Refuse a body that is not JSON (or too large) with a 4xx, then let Powertools route and validate."""
        try:
            event, refusal = _screen_body(event)
        except Exception:  # the event itself is malformed: never let that become a 502
            logger.exception("Malformed proxy event")
            refusal = error_response(HTTPStatus.BAD_REQUEST, "Malformed request")
        if refusal is not None:
            return _raw(refusal)
        try:
            return self.app.resolve(event, context)
        except Exception:  # a failure outside any route (an event API Gateway would never send)
            logger.exception("Could not resolve the event")
            return _raw(error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error"))

    def _invalid_request(self, exc: RequestValidationError) -> Response:
        errors = field_errors(exc.errors(), self.pattern_reasons)
        logger.info("Invalid request", extra={"errors": [error.model_dump() for error in errors]})
        return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, "Invalid request", errors)

    @staticmethod
    def _unsupported_content_type(_exc: Exception) -> Response:
        return _unsupported("another media type")  # the screen refuses these first; this is the safety net

    @staticmethod
    def _not_found(_exc: Exception) -> Response:
        return error_response(HTTPStatus.NOT_FOUND, "Not found")

    @staticmethod
    def _unexpected(_exc: Exception) -> Response:
        logger.exception("Unexpected failure")
        return error_response(HTTPStatus.INTERNAL_SERVER_ERROR, "Internal error")


def parse_allowed_origins(raw: str | None) -> frozenset[str]:
    """The extra origins in the JSON list `ALLOWED_ORIGINS`; none when unset. A malformed value is logged, not fatal."""
    if not raw:
        return frozenset()
    try:
        origins = json.loads(raw)
    except json.JSONDecodeError:
        logger.error("ALLOWED_ORIGINS is not a JSON list; no extra origin is allowed", extra={"value": raw[:200]})
        return frozenset()
    return (
        frozenset(origin for origin in origins if isinstance(origin, str)) if isinstance(origins, list) else frozenset()
    )


def _raw(response: Response) -> dict[str, Any]:
    """The proxy answer for a refusal made before Powertools saw the event."""
    headers = {key: str(value) for key, value in response.headers.items()} if response.headers else {}
    return {
        "statusCode": int(response.status_code),
        "headers": {"Content-Type": content_types.APPLICATION_JSON, **headers},
        "multiValueHeaders": {},
        "body": response.body,
        "isBase64Encoded": False,
    }


def _header(event: Mapping[str, Any], name: str) -> str | None:
    for source in (
        event.get("headers") or {},
        {k: (v or [None])[-1] for k, v in (event.get("multiValueHeaders") or {}).items()},
    ):
        for key, value in source.items():
            if isinstance(key, str) and key.lower() == name.lower() and isinstance(value, str):
                return value
    return None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _screen_body(event: Mapping[str, Any]) -> tuple[Mapping[str, Any], Response | None]:
    """The event with a decoded body, or the refusal for a body that is not a small JSON document."""
    media_type = (_header(event, "content-type") or "").split(";", 1)[0].strip().lower()
    raw = event.get("body")
    if raw is None or raw == "":
        if media_type and media_type != JSON_MEDIA_TYPE:
            return event, _unsupported(media_type)
        return event, None  # no body: Powertools answers 422 "body: Field required" on routes that need one
    if not isinstance(raw, str):
        return event, error_response(HTTPStatus.BAD_REQUEST, "Malformed request")
    data = raw.encode("utf-8", errors="surrogatepass")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return event, _body_error(HTTPStatus.BAD_REQUEST, "Request body is not valid JSON", "not valid base64")
    if len(data) > MAX_BODY_BYTES:
        reason = f"larger than {MAX_BODY_BYTES} bytes"
        return event, _body_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request body too large", reason)
    if media_type != JSON_MEDIA_TYPE:
        return event, _unsupported(media_type)
    try:
        text = data.decode("utf-8")
        document = json.loads(text, parse_constant=_refuse_constant)
        # An escaped lone surrogate ("\\ud800") parses, but no UTF-8 store or mail can hold it.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return event, _body_error(HTTPStatus.BAD_REQUEST, "Request body is not valid JSON", str(exc)[:200])
    return {**event, "body": text, "isBase64Encoded": False}, None


def _unsupported(media_type: str) -> Response:
    reason = f"must be {JSON_MEDIA_TYPE}, got {media_type or 'nothing'}"
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", [FieldError(field="Content-Type", reason=reason)]
    )


def _body_error(status: int, message: str, reason: str) -> Response:
    return error_response(status, message, [FieldError(field="body", reason=reason)])
