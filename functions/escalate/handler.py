"""`POST /escalate`: record an escalation ticket, queue its email, answer 202 with the ticket id.

Answers: 202 `{"ticketId": "...", "status": "queued"}` (the same ticket again for a repeated submission);
409 `{"message": ...}` while the same submission is still being opened; 503 `{"message": ..., "errors": []}`
with `Retry-After` when the ticket could not be recorded or queued (nothing was kept: retrying is safe);
and the shared 400/404/413/415/422/500 answers of `chatbot_shared.rest`.

Environment (read on first use, all in `Settings`): the ticket desk's names, ALLOWED_ORIGINS and ORIGIN_SECRETS (the
edge's secrets; see `chatbot_shared.rest`).
No `from __future__ import annotations` here: Powertools must see the real body model in the route signature.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.escalation.desk import DeskNames, EscalationInProgressError, TicketDesk, TicketNotQueuedError
from chatbot_shared.escalation.models import PATTERN_REASONS, EscalationRequest, TicketReceipt
from chatbot_shared.rest import (
    ERROR_RESPONSES,
    JSON_MEDIA_TYPE,
    ErrorBody,
    JsonApi,
    error_response,
    parse_allowed_origins,
)
from contracts.stack import ALLOWED_ORIGINS, ESCALATE_ROUTE, METRICS_NAMESPACE, ORIGIN_SECRETS

RETRY_AFTER_SECONDS = "5"


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT["escalate"]`)."""

    desk: DeskNames
    allowed_origins: frozenset[str]
    origin_secrets: tuple[str, ...]

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> "Settings":
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(ESCALATE_ROUTE.function, source)
        return cls(
            desk=DeskNames.to_open_tickets(env),
            allowed_origins=parse_allowed_origins(env.optional(ALLOWED_ORIGINS)),
            origin_secrets=tuple(env.string_list(ORIGIN_SECRETS)),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)  # the namespace alarms and dashboards read
desk = TicketDesk(lambda: settings().desk)  # tests swap it
api = JsonApi(
    pattern_reasons=PATTERN_REASONS,
    allowed_origins=lambda: settings().allowed_origins,
    origin_secrets=lambda: settings().origin_secrets,  # only requests CloudFront forwards are answered
)
app = api.app


@app.post(
    ESCALATE_ROUTE.path,
    status_code=int(HTTPStatus.ACCEPTED),
    summary="Ask for a human",
    description="Records an escalation ticket and queues the email to the support team.",
    responses={
        int(HTTPStatus.ACCEPTED): {"description": "The ticket was recorded and its email queued"},
        **ERROR_RESPONSES,
        int(HTTPStatus.CONFLICT): {
            "description": "The same submission is being processed right now; retry shortly",
            "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}},
        },
        int(HTTPStatus.SERVICE_UNAVAILABLE): {
            "description": "The ticket could not be queued; nothing was kept, retry later",
            "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}},
        },
    },
)
def escalate(request: EscalationRequest) -> TicketReceipt:
    """Open (or find again) the ticket for this request."""
    return desk.open(request, app.lambda_context)


@app.exception_handler(TicketNotQueuedError)
def ticket_not_queued(_exc: TicketNotQueuedError) -> Response:
    """503 with Retry-After: nothing was kept, so retrying is safe."""
    message = "The escalation could not be queued; nothing was kept. Please retry shortly."
    return error_response(HTTPStatus.SERVICE_UNAVAILABLE, message, headers={"Retry-After": RETRY_AFTER_SECONDS})


@app.exception_handler(EscalationInProgressError)
def escalation_in_progress(_exc: EscalationInProgressError) -> Response:
    """409 with Retry-After: the same submission is being opened right now."""
    message = "The same escalation is being processed. Please retry shortly."
    return error_response(HTTPStatus.CONFLICT, message, headers={"Retry-After": RETRY_AFTER_SECONDS})


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy entry point; counts accepted and refused escalations."""
    response = api.handle(event, context)
    accepted = response["statusCode"] == HTTPStatus.ACCEPTED
    metrics.add_metric(name="EscalationAccepted" if accepted else "EscalationRefused", unit=MetricUnit.Count, value=1)
    return response
