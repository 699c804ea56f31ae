"""The escalation sender: for each queued ticket, email the support team through SES v2, at most once.

For each message (a ticket id; at least once, maybe twice):
1. load the ticket; one already `sent` is skipped (no second email); a missing one fails the record;
2. claim it (`queued` -> `sending`, with a token and a lease as long as this invocation can run);
3. send the email through the stack's SES configuration set (bounces and complaints raise alarms), tagged with
   the ticket id;
4. mark it `sent` with SES's message id, so a bounce names the ticket.

Failures: SES refusing the send (an error answer, throttling, never connecting) gives the claim back and fails the
record: SQS delivers it again, and after the queue's maxReceiveCount it moves to the DLQ, whose alarm calls a human.
If marking `sent` fails after SES accepted, a follow-up message (`{"ticketId", "sesMessageId"}`) asks a later
delivery to mark it, and the record succeeds: no second email. If even that fails, or the invocation died between
claim and mark (a timeout), the claim outlives its lease: a later delivery finds it `unconfirmed` and fails the
record into the DLQ rather than risk a second email. Runbook for such a ticket: look for its reference in the
team's mailbox; if the email is not there, set the ticket's `status` back to `queued` and redrive the DLQ.
An SES answer that is lost (a read timeout after the request went out) is treated the same way: SES may have
sent it. For that reason the SES client does not retry by itself; only throttling is retried, here.

Environment (read on first use, all in `Settings`): TICKETS_TABLE_NAME, ESCALATION_QUEUE_URL, SENDER_ADDRESS (a
verified SES identity), RECIPIENTS (a JSON list of addresses), SES_CONFIGURATION_SET.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.escalation.desk import DeskNames, TicketDesk, claim_lease_seconds, new_claim_token
from chatbot_shared.escalation.mail import EscalationEmail, render_email
from chatbot_shared.escalation.models import Ticket
from contracts.stack import METRICS_NAMESPACE, RECIPIENTS, SENDER_ADDRESS, SES_CONFIGURATION_SET

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sesv2.client import SESV2Client

FUNCTION = "send_escalation"
THROTTLED_CODES = frozenset({"TooManyRequestsException", "Throttling", "ThrottlingException"})
THROTTLE_RETRIES = 3  # SES sandbox allows 1 mail/s: a throttled send waits and tries again
THROTTLE_BACKOFF_SECONDS = 1.0
EMAIL_TAG = "ticketId"  # SES events (bounce, complaint) carry it: the ticket a bounce is about


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT[FUNCTION]`)."""

    desk: DeskNames
    sender_address: str
    recipients: tuple[str, ...]
    configuration_set: str

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> Settings:
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(FUNCTION, source)
        return cls(
            desk=DeskNames.to_send_tickets(env),
            sender_address=env.require(SENDER_ADDRESS),
            recipients=tuple(env.string_list(RECIPIENTS)),
            configuration_set=env.require(SES_CONFIGURATION_SET),
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
    """The queue message: the ticket's id, and SES's message id when SES accepted its email already."""

    model_config = ConfigDict(extra="ignore")

    ticket_id: StrictStr = Field(alias="ticketId")
    ses_message_id: StrictStr | None = Field(alias="sesMessageId", default=None)


class TicketMissingError(Exception):
    """A message names a ticket the table does not hold."""


class SendInProgressError(Exception):
    """Another delivery of the same ticket is sending it right now; this one is tried again later."""


class SendUnconfirmedError(Exception):
    """An earlier attempt claimed the ticket and stopped before marking it sent: it may have emailed the team, so
    it is not sent again. The record fails into the DLQ, whose alarm asks a human to check (see the runbook)."""


class SesRefusedError(Exception):
    """SES answered that it did not send the email (or was never reached): nothing was sent."""


class Mailer:
    """SES v2 with the team's addresses; the client is created on first use (tests swap `handler.mailer`)."""

    def __init__(
        self,
        sender_address: str | None = None,
        recipients: list[str] | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._sender_address = sender_address
        self._recipients = recipients
        self._sleep = sleep

    @property
    def sender_address(self) -> str:
        return self._sender_address or settings().sender_address

    @property
    def recipients(self) -> list[str]:
        return list(settings().recipients) if self._recipients is None else self._recipients

    @cached_property
    def client(self) -> SESV2Client:
        """Made on first use, so importing the module never creates a client. No SDK retries: SendEmail is not
        idempotent, and a retry after a lost answer could send the email twice."""
        import boto3
        from botocore.config import Config

        return boto3.client("sesv2", config=Config(retries={"total_max_attempts": 1}))

    def send(self, email: EscalationEmail, *, reply_to: str, ticket_id: str) -> str:
        """Send `email` to the team with the user's address as Reply-To; SES's message id.

        SesRefusedError when SES said no (or could not be reached): nothing was sent. Any other exception means
        the answer was lost, and SES may have sent it."""
        from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

        for attempt in range(THROTTLE_RETRIES + 1):
            try:
                return self._send_once(email, reply_to=reply_to, ticket_id=ticket_id)
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code in THROTTLED_CODES and attempt < THROTTLE_RETRIES:
                    self._sleep(THROTTLE_BACKOFF_SECONDS * 2**attempt)
                    continue
                raise SesRefusedError(f"SES refused the email: {code}") from exc
            except (EndpointConnectionError, ConnectTimeoutError) as exc:
                raise SesRefusedError("SES could not be reached") from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _send_once(self, email: EscalationEmail, *, reply_to: str, ticket_id: str) -> str:
        answer = self.client.send_email(
            FromEmailAddress=self.sender_address,
            Destination={"ToAddresses": self.recipients},
            ReplyToAddresses=[reply_to],
            ConfigurationSetName=settings().configuration_set,
            EmailTags=[{"Name": EMAIL_TAG, "Value": ticket_id}],
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


def send_ticket(ticket: Ticket, lambda_context: LambdaContext | None) -> None:
    """Claim one queued ticket, email it, and mark it sent (or leave word that SES accepted it)."""
    token = new_claim_token()
    claimed = desk.claim(ticket.ticket_id, token=token, lease_seconds=claim_lease_seconds(lambda_context))
    if claimed == "sent":
        logger.info("Ticket was sent by another delivery meanwhile")
        return
    if claimed == "missing":
        raise TicketMissingError(f"ticket {ticket.ticket_id} is not in the tickets table")
    if claimed == "in_progress":
        raise SendInProgressError(f"ticket {ticket.ticket_id} is being sent by another delivery")
    if claimed == "unconfirmed":
        metrics.add_metric(name="EscalationSendUnconfirmed", unit=MetricUnit.Count, value=1)
        logger.error("Ticket may have been emailed by an attempt that stopped: not sending it again (runbook above)")
        raise SendUnconfirmedError(f"ticket {ticket.ticket_id}: an earlier attempt may have sent it")
    try:
        message_id = mailer.send(render_email(ticket), reply_to=ticket.request.user_email, ticket_id=ticket.ticket_id)
    except SesRefusedError:
        desk.release(ticket.ticket_id, token=token)
        raise
    metrics.add_metric(name="EscalationEmailSent", unit=MetricUnit.Count, value=1)
    logger.info("SES accepted the email", extra={"ses_message_id": message_id})
    _mark_sent(ticket.ticket_id, message_id)


def _mark_sent(ticket_id: str, message_id: str) -> None:
    """Mark the ticket sent; when that fails, queue a follow-up that will (raising only if both fail)."""
    try:
        desk.mark_sent(ticket_id, message_id)
    except Exception:
        logger.exception("Could not mark the ticket sent; queueing a follow-up to mark it")
        desk.enqueue(ticket_id, ses_message_id=message_id)


def record_handler(record: SQSRecord, lambda_context: LambdaContext | None = None) -> None:
    """Send the ticket a message names, unless it was sent already; raise to have SQS deliver it again."""
    logger.set_correlation_id(None)  # nothing from the previous record
    message = TicketMessage.model_validate_json(record.body)
    logger.set_correlation_id(message.ticket_id)  # every line about this record carries its ticket id
    ticket = desk.load(message.ticket_id)
    if ticket is None:
        raise TicketMissingError(f"ticket {message.ticket_id} is not in the tickets table")
    if ticket.status == "sent":
        logger.info("Ticket already sent; skipping the repeat delivery")
        return
    if message.ses_message_id is not None:  # a follow-up: SES accepted it, only the mark is missing
        desk.mark_sent(message.ticket_id, message.ses_message_id)
        logger.info("Ticket marked sent from a follow-up", extra={"ses_message_id": message.ses_message_id})
        return
    send_ticket(ticket, lambda_context)


@metrics.log_metrics
@logger.inject_lambda_context(clear_state=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """SQS event source entry point: one email per record; failed records are listed for retry."""
    response = process_partial_response(
        event=event,
        record_handler=record_handler,  # given the context too: it names a `lambda_context` parameter
        processor=processor,
        context=context,
    )
    failed = len(response.get("batchItemFailures", []))
    # Sends that will be retried (and, after the last attempt, dead-lettered): the rate to watch when SES degrades.
    metrics.add_metric(name="EscalationSendFailed", unit=MetricUnit.Count, value=failed)
    return response
