"""`POST /escalate`: record an escalation ticket (its stream queues the email), answer 202 with its reference.

Answers: 202 `{"ticketId": "SUP-7KQ2M", "status": "queued"}` (the same ticket again, with where it stands, for a
repeated submission: same `idempotencyKey` and fields); 429 with `Retry-After` when the chat session or the reply
address opened its tickets for this hour (`errors` names `sessionId` or `userEmail` and the limit); 409 with
`Retry-After` while a twin of the same submission is being written; 503 with `Retry-After` when the ticket could
not be recorded (the message says whether nothing was kept, or whether it may have been: a retry of the same
submission is safe either way); and the shared 400/404/413/415/422/500 answers of `chatbot_shared.rest`.

A session whose query log has a turn Lex found NEGATIVE opens a priority ticket ("[Priority]" in the team's email);
without QUERY_LOG_TABLE_NAME, or when the log cannot be read, the ticket opens unflagged.

Environment (read on first use, all in `Settings`): the ticket desk's names, ALLOWED_ORIGINS, ORIGIN_SECRETS (the
edge's secrets; see `chatbot_shared.rest`) and QUERY_LOG_TABLE_NAME (optional: the priority flag).
No `from __future__ import annotations` here: Powertools must see the real body model in the route signature.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.escalation.desk import (
    DeskNames,
    EscalationInProgressError,
    TicketDesk,
    TicketLimitReachedError,
    TicketNotRecordedError,
    TicketUnconfirmedError,
)
from chatbot_shared.escalation.models import PATTERN_REASONS, EscalationRequest, TicketReceipt
from chatbot_shared.query_log import QueryLogReader, conversation_is_negative
from chatbot_shared.rest import (
    ERROR_RESPONSES,
    JSON_MEDIA_TYPE,
    ErrorBody,
    FieldError,
    JsonApi,
    error_response,
    parse_allowed_origins,
)
from contracts.metrics import ESCALATIONS_FROM_PAGE, PRIORITY_ESCALATIONS_FROM_PAGE
from contracts.stack import (
    ALLOWED_ORIGINS,
    CONVERSATION_LOG_TABLE_NAME,
    ESCALATE_ROUTE,
    METRICS_NAMESPACE,
    ORIGIN_SECRETS,
)

TICKET_LIMIT_WINDOW_SECONDS = 3600  # the limit counts tickets per clock hour

RETRY_AFTER_SECONDS = "5"


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT["escalate"]`)."""

    desk: DeskNames
    allowed_origins: frozenset[str]
    origin_secrets: tuple[str, ...]
    query_log_table: str | None = None
    """Where the conversation's sentiment is looked up; None: no ticket is flagged priority."""

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> "Settings":
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(ESCALATE_ROUTE.function, source)
        return cls(
            desk=DeskNames.to_open_tickets(env),
            allowed_origins=parse_allowed_origins(env.optional(ALLOWED_ORIGINS)),
            origin_secrets=tuple(env.string_list(ORIGIN_SECRETS)),
            query_log_table=env.optional(CONVERSATION_LOG_TABLE_NAME),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)  # the namespace alarms and dashboards read
desk = TicketDesk(lambda: settings().desk)  # tests swap it
query_log = QueryLogReader(lambda: settings().query_log_table or "")  # asked only when a table is set
api = JsonApi(
    pattern_reasons=PATTERN_REASONS,
    allowed_origins=lambda: settings().allowed_origins,
    origin_secrets=lambda: settings().origin_secrets,  # only requests CloudFront forwards are answered
)
app = api.app


class TicketLimitBody(ErrorBody):
    """The 429 of the ticket limit: the error body plus the limit and its window, so a client can say so and
    knows a retry cannot lift it (API Gateway's own throttling 429 has neither)."""

    limit: int = Field(description="Tickets one chat session (or reply address) may open per window")
    window_seconds: int = Field(alias="windowSeconds", description="The window the limit counts over, in seconds")


@app.post(
    ESCALATE_ROUTE.path,
    status_code=int(HTTPStatus.ACCEPTED),
    summary="Ask for a human",
    description="Records an escalation ticket; the support team's email is queued from the ticket. Send an "
    "`idempotencyKey` (a UUID made once per submission) and retry a 409, 503 or network failure with the same body: "
    "a retry never opens a second ticket.",
    responses={
        int(HTTPStatus.ACCEPTED): {"description": "The ticket is recorded (its email follows from the queue)"},
        **ERROR_RESPONSES,
        int(HTTPStatus.CONFLICT): {
            "description": "The same submission is being recorded right now; retry after `Retry-After` seconds",
            "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}},
        },
        int(HTTPStatus.TOO_MANY_REQUESTS): {
            "description": "The chat session or the reply address opened its tickets for this hour; `errors` names "
            "the field, `limit` and `windowSeconds` the limit, `Retry-After` says when the hour turns. Do not retry "
            "before.",
            "content": {JSON_MEDIA_TYPE: {"model": TicketLimitBody}},
        },
        int(HTTPStatus.SERVICE_UNAVAILABLE): {
            "description": "The ticket could not be recorded (or confirmed); retry the same submission after "
            "`Retry-After` seconds",
            "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}},
        },
    },
)
def escalate(request: EscalationRequest) -> TicketReceipt:
    """Open (or find again) the ticket for this submission; a priority ticket when the conversation was negative."""
    priority = settings().query_log_table is not None and conversation_is_negative(query_log, request.session_id)
    receipt = desk.open(request, channel="page", priority=priority)
    if priority:
        metrics.add_metric(name=PRIORITY_ESCALATIONS_FROM_PAGE.name, unit=MetricUnit.Count, value=1)
    return receipt


@app.exception_handler(TicketNotRecordedError)
def ticket_not_recorded(_exc: TicketNotRecordedError) -> Response:
    """503 with Retry-After: DynamoDB refused the ticket, nothing was kept, so retrying is safe."""
    message = "The escalation could not be recorded; nothing was kept. Please retry shortly."
    return error_response(HTTPStatus.SERVICE_UNAVAILABLE, message, headers={"Retry-After": RETRY_AFTER_SECONDS})


@app.exception_handler(TicketUnconfirmedError)
def ticket_unconfirmed(_exc: TicketUnconfirmedError) -> Response:
    """503 with Retry-After: the ticket may or may not exist; the same submission again settles it, once."""
    message = (
        "The escalation may not have been recorded. Please retry shortly: "
        "retrying the same request never opens a second ticket."
    )
    return error_response(HTTPStatus.SERVICE_UNAVAILABLE, message, headers={"Retry-After": RETRY_AFTER_SECONDS})


@app.exception_handler(EscalationInProgressError)
def escalation_in_progress(_exc: EscalationInProgressError) -> Response:
    """409 with Retry-After: the same submission is being recorded right now."""
    message = "The same escalation is being processed. Please retry shortly."
    return error_response(HTTPStatus.CONFLICT, message, headers={"Retry-After": RETRY_AFTER_SECONDS})


@app.exception_handler(TicketLimitReachedError)
def ticket_limit_reached(exc: TicketLimitReachedError) -> Response:
    """429 naming the limit and the field it counts by, with Retry-After: when the hour turns."""
    metrics.add_metric(name="TicketLimitReached", unit=MetricUnit.Count, value=1)
    field, who = ("sessionId", "chat session") if exc.scope == "session" else ("userEmail", "email address")
    minutes = max(1, round(exc.retry_after_seconds / 60))
    reason = (
        f"at most {exc.limit} tickets per {who} per hour (ticketsPerSessionPerHour); "
        f"try again in about {minutes} minute{'s' if minutes != 1 else ''}"
    )
    body = TicketLimitBody(
        message=f"Ticket limit reached: at most {exc.limit} tickets per {who} per hour.",
        errors=[FieldError(field=field, reason=reason)],
        limit=exc.limit,
        windowSeconds=TICKET_LIMIT_WINDOW_SECONDS,
    )
    return Response(
        status_code=int(HTTPStatus.TOO_MANY_REQUESTS),
        content_type=content_types.APPLICATION_JSON,
        body=body.model_dump_json(by_alias=True),
        headers={"Retry-After": str(exc.retry_after_seconds)},
    )


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy entry point; counts accepted and refused escalations."""
    response = api.handle(event, context)
    accepted = response["statusCode"] == HTTPStatus.ACCEPTED
    refused = "EscalationRefused"
    metrics.add_metric(name=ESCALATIONS_FROM_PAGE.name if accepted else refused, unit=MetricUnit.Count, value=1)
    return response
