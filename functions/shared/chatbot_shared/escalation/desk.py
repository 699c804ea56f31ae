"""The ticket desk: the one place that talks to DynamoDB and SQS about escalation tickets.

Opening a ticket is one durable step: a single DynamoDB transaction writes the ticket (status `queued`) and counts
it against the hourly limits of its chat session and its reply address. Nothing else happens in the request: the
tickets table's stream carries each new ticket to the forwarder (functions/forward_tickets), which queues it for
the sender. So a ticket is never half-opened, never withdrawn, and never waits without a message.

Decisions:
- Idempotent by construction: the ticket's id is derived from the submission (`submission_fingerprint`, then
  `ticket_reference`), and the write is conditional. The same submission again finds its own ticket (same
  fingerprint: the same receipt, nothing counted twice); a changed one is a new ticket. A reference taken by
  another submission moves to the next candidate. No separate idempotency record can disagree with the ticket.
- Truthful failures: `TicketNotRecordedError` only when DynamoDB said the write did not happen (nothing was kept);
  `TicketUnconfirmedError` when the answer was lost and a read-back could not settle it (the ticket may exist; a
  retry of the same submission is safe either way); `TicketLimitReachedError` when a limit refused it.
- The sender claims a ticket (`queued` -> `sending`, with a token and a lease as long as its invocation can run)
  before it calls SES, and marks it `sent` with SES's message id after. A claim whose lease ran out means an earlier
  attempt stopped somewhere around SES: it may have sent the email, so the desk reports it instead of sending twice.
- The desk reads no environment: each function makes its own desk from its settings (`DeskNames.to_open_tickets`,
  `to_forward_tickets`, `to_send_tickets`), and boto3 clients are made on first use, so importing makes none.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger

from chatbot_shared.environment import ConfigurationError, FunctionEnvironment
from chatbot_shared.escalation.models import (
    Channel,
    EscalationRequest,
    Ticket,
    TicketReceipt,
    new_ticket,
    submission_fingerprint,
    ticket_reference,
)
from contracts.stack import (
    DEFAULT_TICKETS_PER_SESSION_PER_HOUR,
    ESCALATION_QUEUE_URL,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TABLE_NAME,
    TICKETS_PER_SESSION_PER_HOUR,
    TICKETS_TABLE,
    TICKETS_TABLE_NAME,
    EnvVar,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

logger = Logger(child=True)  # the calling function's Logger (same service) formats it, with its correlation id

TICKET_KEY = TICKETS_TABLE.hash_key.name
COUNTER_KEY = IDEMPOTENCY_TABLE.hash_key.name
COUNTER_EXPIRY = IDEMPOTENCY_TABLE.ttl_attribute or "expiration"
LIMIT_WINDOW_SECONDS = 3600  # limits count per clock hour
MAX_REFERENCE_ATTEMPTS = 10  # candidate references tried before giving up (each taken with p = tickets / 24.3 M)
MAX_CONFLICT_RETRIES = 3  # a transaction cancelled by a concurrent one (a twin submission) is tried again
CONFLICT_BACKOFF_SECONDS = 0.05
CLAIM_MARGIN_SECONDS = 30  # a claim outlives its invocation by this much
# DynamoDB errors that say the request was refused before anything was written.
REFUSED_CODES = frozenset(
    {
        "AccessDeniedException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ResourceNotFoundException",
        "ThrottlingException",
        "UnrecognizedClientException",
        "ValidationException",
    }
)

LimitScope = Literal["session", "email"]
ClaimOutcome = Literal["claimed", "sent", "in_progress", "unconfirmed", "missing"]
"""What `TicketDesk.claim` found: claimed for this sender; already `sent`; claimed by another sender whose lease
holds; claimed by an attempt whose lease ran out (it may have sent the email); no such ticket."""


class EscalationError(Exception):
    """An escalation could not be opened now."""


class TicketNotRecordedError(EscalationError):
    """DynamoDB refused the ticket: nothing was kept, so a retry is safe."""


class TicketUnconfirmedError(EscalationError):
    """The write's answer was lost and a read-back could not settle it: the ticket may exist. A retry of the same
    submission is safe (it finds the ticket, or opens it once)."""


class EscalationInProgressError(EscalationError):
    """The same submission is being opened right now by another request; retry shortly."""


class TicketLimitReachedError(EscalationError):
    """The chat session (or the reply address) opened its `limit` tickets this hour.

    `scope` says which ("session" or "email"); `retry_after_seconds` is when the hour turns. The API answers 429;
    the bot turns it into a polite answer in the chat."""

    def __init__(self, limit: int, retry_after_seconds: int, scope: LimitScope) -> None:
        self.limit = limit
        self.retry_after_seconds = retry_after_seconds
        self.scope = scope
        who = "chat session" if scope == "session" else "email address"
        super().__init__(f"at most {limit} tickets per {who} per hour; try again in {retry_after_seconds} s")


def ticket_item(ticket: Ticket, *, serialize: Callable[[Any], Any]) -> dict[str, Any]:
    """The tickets-table item for `ticket` (attribute values serialized by `serialize`)."""
    request = ticket.request
    plain: dict[str, Any] = {
        TICKET_KEY: ticket.ticket_id,
        "sessionId": request.session_id,
        "status": ticket.status,
        "createdAt": ticket.created_at,
        "updatedAt": ticket.updated_at,
        "userEmail": request.user_email,
        "userName": request.user_name,
        "userQuery": request.user_query,
        "conversationHistory": [turn.model_dump(exclude_none=True) for turn in request.conversation_history],
        "channel": ticket.channel,
        "fingerprint": ticket.fingerprint,
        "transcriptOmitted": ticket.transcript_omitted,
    }
    if ticket.ses_message_id is not None:
        plain["sesMessageId"] = ticket.ses_message_id
    if ticket.priority:  # absent on ordinary tickets, as on every ticket from before the flag
        plain["priority"] = True
    return {key: serialize(value) for key, value in plain.items()}


def _plain(value: Any) -> Any:
    """DynamoDB's Decimals back to ints, recursively."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value


def ticket_from_item(item: dict[str, Any], *, deserialize: Callable[[Any], Any]) -> Ticket:
    """The `Ticket` a tickets-table item holds (tickets from before fingerprints and channels read as page tickets)."""
    plain = {key: _plain(deserialize(value)) for key, value in item.items()}
    request = EscalationRequest.model_validate(
        {key: plain[key] for key in ("sessionId", "userQuery", "userEmail", "userName", "conversationHistory")}
    )
    return Ticket(
        ticket_id=plain[TICKET_KEY],
        status=plain["status"],
        created_at=plain["createdAt"],
        updated_at=plain["updatedAt"],
        request=request,
        channel=plain.get("channel", "page"),
        fingerprint=plain.get("fingerprint", ""),
        transcript_omitted=plain.get("transcriptOmitted", 0),
        ses_message_id=plain.get("sesMessageId"),
        priority=plain.get("priority") is True,
    )


@dataclass(frozen=True)
class DeskNames:
    """What a desk works with: the tickets table, the counters table and the hourly limit (to open tickets), the
    queue (to forward them, and for the sender's follow-ups). Each function's desk is given what it uses."""

    tickets_table: str | None = None
    queue_url: str | None = None
    limits_table: str | None = None
    """The table of short-lived counters (`contracts.stack.IDEMPOTENCY_TABLE`)."""
    tickets_per_session_per_hour: int = DEFAULT_TICKETS_PER_SESSION_PER_HOUR

    @classmethod
    def to_open_tickets(cls, env: FunctionEnvironment) -> DeskNames:
        """What a function that opens tickets reads (`contracts.stack.OPEN_TICKETS`)."""
        return cls(
            tickets_table=env.require(TICKETS_TABLE_NAME),
            limits_table=env.require(IDEMPOTENCY_TABLE_NAME),
            tickets_per_session_per_hour=_positive_int(env.require(TICKETS_PER_SESSION_PER_HOUR)),
        )

    @classmethod
    def to_forward_tickets(cls, env: FunctionEnvironment) -> DeskNames:
        """What the forwarder reads: only the queue."""
        return cls(queue_url=env.require(ESCALATION_QUEUE_URL))

    @classmethod
    def to_send_tickets(cls, env: FunctionEnvironment) -> DeskNames:
        """What the sender reads: the tickets table (load, claim, mark sent) and the queue (a follow-up that marks
        a ticket sent when marking it right after SES accepted failed)."""
        return cls(tickets_table=env.require(TICKETS_TABLE_NAME), queue_url=env.require(ESCALATION_QUEUE_URL))


def _positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise ConfigurationError(
            f"environment variable {TICKETS_PER_SESSION_PER_HOUR.name} must be a whole number of at least 1, "
            f"got {value!r} (stack setting ticketsPerSessionPerHour)"
        )
    return number


@dataclass(frozen=True)
class _Written:
    """How a ticket write ended: this ticket recorded, or the same submission's ticket found (with its status)."""

    ticket_id: str
    status: Any


class TicketDesk:
    """Records tickets in DynamoDB and queues them on SQS; boto3 clients are created on first use.

    `names` may be a callable, asked on first use: a handler passes its settings' names, read from its environment
    only when a ticket is first handled (tests pass `DeskNames` directly).
    """

    def __init__(
        self,
        names: DeskNames | Callable[[], DeskNames],
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._names = names
        self._clock = clock
        self._sleep = sleep

    # -- clients and names

    @cached_property
    def names(self) -> DeskNames:
        """The table and queue names, resolved on first use."""
        return self._names if isinstance(self._names, DeskNames) else self._names()

    @property
    def tickets_table(self) -> str:
        return _given(self.names.tickets_table, TICKETS_TABLE_NAME)

    @property
    def queue_url(self) -> str:
        return _given(self.names.queue_url, ESCALATION_QUEUE_URL)

    @property
    def limits_table(self) -> str:
        return _given(self.names.limits_table, IDEMPOTENCY_TABLE_NAME)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("dynamodb")

    @cached_property
    def sqs(self) -> SQSClient:
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("sqs")

    # -- opening a ticket

    def open(
        self,
        request: EscalationRequest,
        lambda_context: LambdaContext | None = None,
        *,
        channel: Channel = "page",
        priority: bool = False,
    ) -> TicketReceipt:
        """Record a queued ticket for `request` (its stream queues it), or answer the ticket this same submission
        opened before. `channel`: "bot" for the bot's TalkToHuman dialogue. `priority`: the conversation had a
        negative turn (`conversation_is_negative`). `lambda_context` is accepted for callers that pass it; opening
        needs none.

        Raises TicketLimitReachedError, TicketNotRecordedError, TicketUnconfirmedError or
        EscalationInProgressError (all EscalationError)."""
        del lambda_context  # no in-progress record to expire: the ticket's own write is the idempotency record
        fingerprint = submission_fingerprint(request, channel)
        for attempt in range(MAX_REFERENCE_ATTEMPTS):
            ticket = new_ticket(
                request,
                now=self._clock(),
                ticket_id=ticket_reference(fingerprint, attempt),
                channel=channel,
                fingerprint=fingerprint,
                priority=priority,
            )
            written = self._write_counted(ticket)
            if written is not None:
                return TicketReceipt(ticketId=written.ticket_id, status=written.status)
            logger.info("Reference %s is taken by another ticket; trying the next one", ticket.ticket_id)
        logger.error("No free ticket reference in %d candidates", MAX_REFERENCE_ATTEMPTS)
        raise TicketNotRecordedError("no free ticket reference")

    def _write_counted(self, ticket: Ticket) -> _Written | None:
        """Write `ticket` and count it, in one transaction; None when its reference belongs to another ticket."""
        from botocore.exceptions import BotoCoreError, ClientError, ConnectTimeoutError, EndpointConnectionError

        for conflict in range(MAX_CONFLICT_RETRIES + 1):
            try:
                self.dynamodb.transact_write_items(TransactItems=self._ticket_transaction(ticket))
            except ClientError as exc:
                code = exc.response.get("Error", {}).get("Code", "")
                if code == "TransactionCanceledException":
                    outcome = self._cancelled(ticket, exc.response.get("CancellationReasons", []))
                    if outcome != "conflict":
                        return outcome
                    if conflict < MAX_CONFLICT_RETRIES:
                        self._sleep(CONFLICT_BACKOFF_SECONDS * 2**conflict)
                    continue
                if code == "TransactionInProgressException":
                    raise EscalationInProgressError("this escalation is being opened") from exc
                if code in REFUSED_CODES:
                    logger.exception("DynamoDB refused ticket %s", ticket.ticket_id)
                    raise TicketNotRecordedError("the escalation could not be recorded") from exc
                return self._read_back(ticket, exc)
            except (EndpointConnectionError, ConnectTimeoutError) as exc:  # never connected: nothing was sent
                logger.exception("DynamoDB unreachable for ticket %s", ticket.ticket_id)
                raise TicketNotRecordedError("the escalation could not be recorded") from exc
            except BotoCoreError as exc:  # sent, answer lost (a read timeout, a dropped connection)
                return self._read_back(ticket, exc)
            logger.info(
                "Ticket %s recorded", ticket.ticket_id, extra={"channel": ticket.channel, "priority": ticket.priority}
            )
            return _Written(ticket.ticket_id, ticket.status)
        raise EscalationInProgressError("this escalation is being opened")

    def _ticket_transaction(self, ticket: Ticket) -> list[Any]:
        """Put the ticket unless its id exists; add one to each hourly counter unless it is at the limit."""
        from boto3.dynamodb.types import TypeSerializer

        now = self._clock()
        window = int(now // LIMIT_WINDOW_SECONDS)
        limit = self.names.tickets_per_session_per_hour
        request = ticket.request
        email_digest = hashlib.sha256(request.user_email.lower().encode()).hexdigest()[:32]  # no address at rest
        counters = [f"session#{request.session_id}", f"email#{email_digest}"]
        put = {
            "Put": {
                "TableName": self.tickets_table,
                "Item": ticket_item(ticket, serialize=TypeSerializer().serialize),
                "ConditionExpression": f"attribute_not_exists({TICKET_KEY})",
                "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
            }
        }
        updates = [
            {
                "Update": {
                    "TableName": self.limits_table,
                    "Key": {COUNTER_KEY: {"S": f"ticket-limit#{counter}#{window}"}},
                    "UpdateExpression": "ADD #count :one SET #expiration = :expiration",
                    "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                    "ExpressionAttributeNames": {"#count": "count", "#expiration": COUNTER_EXPIRY},
                    "ExpressionAttributeValues": {
                        ":one": {"N": "1"},
                        ":limit": {"N": str(limit)},
                        # kept one window longer than it counts; TTL removes it later
                        ":expiration": {"N": str((window + 2) * LIMIT_WINDOW_SECONDS)},
                    },
                }
            }
            for counter in counters
        ]
        return [put, *updates]

    def _cancelled(self, ticket: Ticket, reasons: list[Any]) -> _Written | Literal["conflict"] | None:
        """Read a cancelled transaction's reasons (in the order of `_ticket_transaction`: ticket, session, email)."""
        codes = [reason.get("Code", "None") for reason in reasons] + ["None"] * 3
        if codes[0] == "ConditionalCheckFailed":
            existing = reasons[0].get("Item") or {}
            if existing.get("fingerprint", {}).get("S") == ticket.fingerprint:
                logger.info("The same submission opened ticket %s before", ticket.ticket_id)
                return _Written(ticket.ticket_id, existing.get("status", {}).get("S", "queued"))
            return None  # the reference belongs to another submission
        scopes: tuple[tuple[str, LimitScope], ...] = ((codes[1], "session"), (codes[2], "email"))
        for code, scope in scopes:
            if code == "ConditionalCheckFailed":
                raise self._limit_reached(scope)
        if "TransactionConflict" in codes:
            return "conflict"
        logger.error("Ticket %s not recorded: transaction cancelled (%s)", ticket.ticket_id, ", ".join(codes[:3]))
        raise TicketNotRecordedError("the escalation could not be recorded")

    def _limit_reached(self, scope: LimitScope) -> TicketLimitReachedError:
        now = self._clock()
        window_end = (int(now // LIMIT_WINDOW_SECONDS) + 1) * LIMIT_WINDOW_SECONDS
        limit = self.names.tickets_per_session_per_hour
        logger.info("Ticket limit reached", extra={"scope": scope, "limit": limit})
        return TicketLimitReachedError(limit, max(1, math.ceil(window_end - now)), scope)

    def _read_back(self, ticket: Ticket, cause: Exception) -> _Written | None:
        """After a write whose answer was lost: the ticket if it is there, None if another submission holds the
        reference; TicketUnconfirmedError when the read cannot tell."""
        logger.warning("Answer to ticket %s's write was lost (%s); reading it back", ticket.ticket_id, cause)
        try:
            existing = self.load(ticket.ticket_id)
        except Exception as exc:
            logger.exception("Could not read ticket %s back", ticket.ticket_id)
            raise TicketUnconfirmedError("the escalation may not have been recorded") from exc
        if existing is None:
            raise TicketUnconfirmedError("the escalation may not have been recorded") from cause
        if existing.fingerprint != ticket.fingerprint:
            return None
        return _Written(existing.ticket_id, existing.status)

    # -- the forwarder's and the sender's side

    def enqueue(self, ticket_id: str, *, ses_message_id: str | None = None) -> None:
        """Queue a ticket for the sender: its id only (the table is the truth; no user text travels). With
        `ses_message_id`: a follow-up saying SES accepted the email, so the sender only marks it sent."""
        body: dict[str, str] = {"ticketId": ticket_id}
        if ses_message_id is not None:
            body["sesMessageId"] = ses_message_id
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))

    def load(self, ticket_id: str) -> Ticket | None:
        """The ticket, read consistently, or None when there is none."""
        from boto3.dynamodb.types import TypeDeserializer

        answer = self.dynamodb.get_item(
            TableName=self.tickets_table, Key={TICKET_KEY: {"S": ticket_id}}, ConsistentRead=True
        )
        item = answer.get("Item")
        return None if item is None else ticket_from_item(dict(item), deserialize=TypeDeserializer().deserialize)

    def claim(self, ticket_id: str, *, token: str, lease_seconds: float) -> ClaimOutcome:
        """Claim a queued ticket for sending (`sending`, until `lease_seconds` from now, by `token`). A repeat of
        the same claim (an SDK retry), or a claim whose answer was lost, finds its own token: claimed."""
        from botocore.exceptions import BotoCoreError, ClientError

        now = self._clock()
        try:
            self.dynamodb.update_item(
                TableName=self.tickets_table,
                Key={TICKET_KEY: {"S": ticket_id}},
                UpdateExpression="SET #status = :sending, claimToken = :token, claimedUntil = :until, updatedAt = :now",
                ConditionExpression=f"attribute_exists({TICKET_KEY}) AND (#status = :queued OR claimToken = :token)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sending": {"S": "sending"},
                    ":queued": {"S": "queued"},
                    ":token": {"S": token},
                    ":until": {"N": str(int((now + lease_seconds) * 1000))},
                    ":now": {"N": str(int(now * 1000))},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return self._claim_refused(ticket_id, token, now)
        except (BotoCoreError, ClientError):
            if self._claim_refused(ticket_id, token, now) == "claimed":  # the write happened; its answer was lost
                return "claimed"
            raise
        return "claimed"

    def _claim_refused(self, ticket_id: str, token: str, now: float) -> ClaimOutcome:
        answer = self.dynamodb.get_item(
            TableName=self.tickets_table, Key={TICKET_KEY: {"S": ticket_id}}, ConsistentRead=True
        )
        item = answer.get("Item")
        if item is None:
            return "missing"
        if item["status"]["S"] == "sent":
            return "sent"
        if item["status"]["S"] == "sending" and item.get("claimToken", {}).get("S") == token:
            return "claimed"
        claimed_until = int(item.get("claimedUntil", {}).get("N", "0"))
        return "in_progress" if claimed_until > now * 1000 else "unconfirmed"

    def release(self, ticket_id: str, *, token: str) -> None:
        """Give a claimed ticket back to the queue (SES refused it: nothing was sent). Best effort: a claim that
        stays is reported as unconfirmed later, never sent twice."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.dynamodb.update_item(
                TableName=self.tickets_table,
                Key={TICKET_KEY: {"S": ticket_id}},
                UpdateExpression="SET #status = :queued, updatedAt = :now REMOVE claimToken, claimedUntil",
                ConditionExpression="#status = :sending AND claimToken = :token",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":queued": {"S": "queued"},
                    ":sending": {"S": "sending"},
                    ":token": {"S": token},
                    ":now": {"N": str(int(self._clock() * 1000))},
                },
            )
        except (BotoCoreError, ClientError):
            logger.exception("Could not give ticket %s back after a refused send", ticket_id)

    def mark_sent(self, ticket_id: str, ses_message_id: str) -> bool:
        """Mark a ticket `sent` with SES's message id (how a bounce is traced to it); False when it was `sent`
        already."""
        now_ms = str(int(self._clock() * 1000))
        try:
            self.dynamodb.update_item(
                TableName=self.tickets_table,
                Key={TICKET_KEY: {"S": ticket_id}},
                UpdateExpression="SET #status = :sent, sesMessageId = :message, sentAt = :now, updatedAt = :now "
                "REMOVE claimToken, claimedUntil",
                ConditionExpression="#status IN (:queued, :sending)",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sent": {"S": "sent"},
                    ":queued": {"S": "queued"},
                    ":sending": {"S": "sending"},
                    ":message": {"S": ses_message_id},
                    ":now": {"N": now_ms},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def new_claim_token() -> str:
    """A claim token: unique per send attempt."""
    return uuid.uuid4().hex


def claim_lease_seconds(lambda_context: LambdaContext | None, default: float = 60.0) -> float:
    """How long a claim holds: as long as the invocation can still run, plus a margin."""
    remaining = lambda_context.get_remaining_time_in_millis() / 1000 if lambda_context is not None else default
    return remaining + CLAIM_MARGIN_SECONDS


def _given(name: str | None, var: EnvVar) -> str:
    if name is None:
        raise ConfigurationError(f"this ticket desk was given no {var.name}: its function does not use it")
    return name
