"""The escalation sender: for each queued ticket, email the support team through SES v2, then mark it `sent`.

Delivery is at least once, so a ticket already `sent` is skipped (no second email). An SES error (throttling,
an unverified sender, an outage) fails only that record: it is reported in `batchItemFailures`, SQS delivers it
again, and after the queue's maxReceiveCount it moves to the DLQ, where an alarm calls a human. A message whose
ticket is missing fails the same way (it is never dropped silently). If marking `sent` fails after SES accepted
the mail, the record fails too and the team may get the email twice: a duplicate is preferred to a lost ticket.

Environment (read on first use, all in `Settings`): TICKETS_TABLE_NAME, SENDER_ADDRESS (a verified SES identity),
RECIPIENTS (a JSON list of addresses).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.escalation.desk import DeskNames, TicketDesk
from chatbot_shared.escalation.mail import EscalationEmail, render_email
from chatbot_shared.escalation.models import Ticket
from contracts.stack import METRICS_NAMESPACE, RECIPIENTS, SENDER_ADDRESS

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sesv2.client import SESV2Client

FUNCTION = "send_escalation"


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT[FUNCTION]`)."""

    desk: DeskNames
    sender_address: str
    recipients: tuple[str, ...]

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> Settings:
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(FUNCTION, source)
        return cls(
            desk=DeskNames.to_send_tickets(env),
            sender_address=env.require(SENDER_ADDRESS),
            recipients=tuple(env.string_list(RECIPIENTS)),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)  # the namespace alarms and dashboards read
# A batch whose every record failed is reported like any partial failure (all ids listed) rather than raised:
# SQS retries the same records either way, and the answer stays one shape.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


class TicketMessage(BaseModel):
    """The queue message: the ticket's id (the rest of the body is informative; the table is the truth)."""

    model_config = ConfigDict(extra="ignore")

    ticket_id: StrictStr = Field(alias="ticketId")


class TicketMissingError(Exception):
    """A message names a ticket the table does not hold."""


class Mailer:
    """SES v2 with the team's addresses; the client is created on first use (tests swap `handler.mailer`)."""

    def __init__(self, sender_address: str | None = None, recipients: list[str] | None = None) -> None:
        self._sender_address = sender_address
        self._recipients = recipients

    @property
    def sender_address(self) -> str:
        return self._sender_address or settings().sender_address

    @property
    def recipients(self) -> list[str]:
        return list(settings().recipients) if self._recipients is None else self._recipients

    @cached_property
    def client(self) -> SESV2Client:
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("sesv2")

    def send(self, email: EscalationEmail, *, reply_to: str) -> str:
        """Send `email` to the team with the user's address as Reply-To; the SES message id."""
        answer = self.client.send_email(
            FromEmailAddress=self.sender_address,
            Destination={"ToAddresses": self.recipients},
            ReplyToAddresses=[reply_to],
            Content={
                "Simple": {
                    "Subject": {"Data": email.subject, "Charset": "UTF-8"},
                    "Body": {
                        "Html": {"Data": email.html, "Charset": "UTF-8"},
                        "Text": {"Data": email.text, "Charset": "UTF-8"},
                    },
                }
            },
        )
        return answer["MessageId"]


mailer = Mailer()
desk = TicketDesk(lambda: settings().desk)


def send_ticket(ticket: Ticket) -> None:
    """Email one queued ticket and mark it sent."""
    message_id = mailer.send(render_email(ticket), reply_to=ticket.request.user_email)
    metrics.add_metric(name="EscalationEmailSent", unit=MetricUnit.Count, value=1)
    if desk.mark_sent(ticket.ticket_id):
        logger.info("Ticket sent", extra={"ticket_id": ticket.ticket_id, "ses_message_id": message_id})
    else:
        logger.warning("Ticket was marked sent by another delivery", extra={"ticket_id": ticket.ticket_id})


def record_handler(record: SQSRecord) -> None:
    """Send the ticket a message names, unless it was sent already; raise to have SQS deliver it again."""
    logger.set_correlation_id(None)  # nothing from the previous record
    ticket_id = TicketMessage.model_validate_json(record.body).ticket_id
    logger.set_correlation_id(ticket_id)  # every line about this record carries its ticket id
    ticket = desk.load(ticket_id)
    if ticket is None:
        raise TicketMissingError(f"ticket {ticket_id} is not in the tickets table")
    if ticket.status == "sent":
        logger.info("Ticket already sent; skipping the repeat delivery")
        return
    send_ticket(ticket)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS event source entry point: one email per record; failed records are listed for retry."""
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    # Sends that will be retried (and, after the last attempt, dead-lettered): the rate to watch when SES degrades.
    metrics.add_metric(name="EscalationSendFailed", unit=MetricUnit.Count, value=failed)
    return response
