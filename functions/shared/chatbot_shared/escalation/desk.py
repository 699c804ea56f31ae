"""The ticket desk: the one place that talks to DynamoDB and SQS about escalation tickets.

Decisions:
- Never half-written: the ticket is recorded (status `queued`), then its id is queued. When queueing fails the
  ticket is deleted again (conditionally, while still `queued`) and `TicketNotQueuedError` says "retry"
  (the API answers 503). If that delete fails too, an error naming the ticket is logged for an operator.
- Idempotent: `open` runs at most once per (sessionId, userQuery) within `IDEMPOTENCY_EXPIRY_SECONDS`
  (Powertools idempotency on the idempotency table, key prefix `escalation.open_ticket` shared by every function
  that opens tickets); a repeat answers the first ticket id, and a repeat arriving while the first is still
  running gets `EscalationInProgressError` (409).
- The desk reads no environment: each function makes its own desk from its settings (`DeskNames.to_open_tickets`
  or `DeskNames.to_send_tickets`), and boto3 clients are made on first use, so importing makes none.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from chatbot_shared.environment import ConfigurationError, FunctionEnvironment
from chatbot_shared.escalation.models import EscalationRequest, Ticket, TicketReceipt, new_ticket
from contracts.stack import ESCALATION_QUEUE_URL, IDEMPOTENCY_TABLE_NAME, TICKETS_TABLE, TICKETS_TABLE_NAME, EnvVar

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

logger = Logger(child=True)  # the calling function's Logger (same service) formats it, with its correlation id

TICKET_KEY = TICKETS_TABLE.hash_key.name
IDEMPOTENCY_EXPIRY_SECONDS = 3600  # a double click or a retried request within the hour opens no second ticket


class EscalationError(Exception):
    """An escalation could not be opened now; the caller may retry."""


class TicketNotQueuedError(EscalationError):
    """The ticket could not be recorded or queued; nothing was kept, so a retry is safe."""


class EscalationInProgressError(EscalationError):
    """The same escalation is being opened right now by another request."""


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
    }
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
    """The `Ticket` a tickets-table item holds."""
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
    )


@dataclass(frozen=True)
class DeskNames:
    """Where tickets live: the tickets table and, for a function that opens tickets, the queue and idempotency table."""

    tickets_table: str
    queue_url: str | None = None
    idempotency_table: str | None = None

    @classmethod
    def to_open_tickets(cls, env: FunctionEnvironment) -> DeskNames:
        """What a function that opens tickets reads (`contracts.stack.OPEN_TICKETS`)."""
        return cls(
            tickets_table=env.require(TICKETS_TABLE_NAME),
            queue_url=env.require(ESCALATION_QUEUE_URL),
            idempotency_table=env.require(IDEMPOTENCY_TABLE_NAME),
        )

    @classmethod
    def to_send_tickets(cls, env: FunctionEnvironment) -> DeskNames:
        """What the sender reads: only the tickets table (it loads tickets and marks them sent)."""
        return cls(tickets_table=env.require(TICKETS_TABLE_NAME))


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
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._names = names
        self._clock = clock
        self._new_id = new_id
        self._open_once_idempotent: Callable[..., TicketReceipt] | None = None
        self._idempotency_config: Any = None

    # -- clients and names

    @cached_property
    def names(self) -> DeskNames:
        """The table and queue names, resolved on first use."""
        return self._names if isinstance(self._names, DeskNames) else self._names()

    @property
    def tickets_table(self) -> str:
        return self.names.tickets_table

    @property
    def queue_url(self) -> str:
        return _opener_name(self.names.queue_url, ESCALATION_QUEUE_URL)

    @property
    def idempotency_table(self) -> str:
        return _opener_name(self.names.idempotency_table, IDEMPOTENCY_TABLE_NAME)

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

    def open(self, request: EscalationRequest, lambda_context: LambdaContext | None = None) -> TicketReceipt:
        """Record and queue a ticket for `request`, once per (sessionId, userQuery) within the expiry."""
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
        )

        open_once = self._idempotent()
        if lambda_context is not None:
            self._idempotency_config.register_lambda_context(lambda_context)
        try:
            return open_once(request=request)
        except IdempotencyAlreadyInProgressError as exc:
            raise EscalationInProgressError("this escalation is already being opened") from exc
        except IdempotencyPersistenceLayerError as exc:
            logger.exception("Idempotency store failed")
            raise TicketNotQueuedError("the escalation could not be recorded") from exc

    def _idempotent(self) -> Callable[..., TicketReceipt]:
        if self._open_once_idempotent is None:
            from aws_lambda_powertools.utilities.idempotency import (
                DynamoDBPersistenceLayer,
                IdempotencyConfig,
                idempotent_function,
            )
            from aws_lambda_powertools.utilities.idempotency.serialization.pydantic import PydanticSerializer

            self._idempotency_config = IdempotencyConfig(
                event_key_jmespath="[sessionId, userQuery]",
                raise_on_no_idempotency_key=True,
                expires_after_seconds=IDEMPOTENCY_EXPIRY_SECONDS,
            )
            persistence = DynamoDBPersistenceLayer(table_name=self.idempotency_table, boto3_client=self.dynamodb)
            self._open_once_idempotent = idempotent_function(
                data_keyword_argument="request",
                persistence_store=persistence,
                config=self._idempotency_config,
                output_serializer=PydanticSerializer(model=TicketReceipt),
                key_prefix="escalation.open_ticket",  # shared by every function that opens tickets
            )(self._open_once)
        return self._open_once_idempotent

    def _open_once(self, *, request: EscalationRequest) -> TicketReceipt:
        from botocore.exceptions import BotoCoreError, ClientError

        ticket = new_ticket(request, now=self._clock(), ticket_id=self._new_id())
        try:
            self.record(ticket)
        except (BotoCoreError, ClientError) as exc:
            logger.exception("Could not record ticket %s", ticket.ticket_id)
            raise TicketNotQueuedError("the escalation could not be recorded") from exc
        try:
            self.enqueue(ticket)
        except (BotoCoreError, ClientError) as exc:
            logger.exception("Could not queue ticket %s; withdrawing it", ticket.ticket_id)
            self.withdraw(ticket.ticket_id)
            raise TicketNotQueuedError("the escalation could not be queued") from exc
        logger.info("Ticket %s queued", ticket.ticket_id)
        return TicketReceipt(ticketId=ticket.ticket_id, status="queued")

    def record(self, ticket: Ticket) -> None:
        """Write a new ticket (never overwrites one with the same id)."""
        from boto3.dynamodb.types import TypeSerializer

        self.dynamodb.put_item(
            TableName=self.tickets_table,
            Item=ticket_item(ticket, serialize=TypeSerializer().serialize),
            ConditionExpression=f"attribute_not_exists({TICKET_KEY})",
        )

    def enqueue(self, ticket: Ticket) -> None:
        """Queue the ticket for the sender: its id plus the request it carries."""
        body = {"ticketId": ticket.ticket_id, "request": ticket.request.model_dump(mode="json")}
        self.sqs.send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body, ensure_ascii=False))

    def withdraw(self, ticket_id: str) -> None:
        """Delete a ticket that could not be queued, so no `queued` ticket exists without its message."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.dynamodb.delete_item(
                TableName=self.tickets_table,
                Key={TICKET_KEY: {"S": ticket_id}},
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={":queued": {"S": "queued"}},
            )
        except (BotoCoreError, ClientError):
            logger.exception("ORPHANED TICKET %s: recorded as queued but never queued; delete it", ticket_id)

    # -- the sender's side

    def load(self, ticket_id: str) -> Ticket | None:
        """The ticket, read consistently, or None when there is none."""
        from boto3.dynamodb.types import TypeDeserializer

        answer = self.dynamodb.get_item(
            TableName=self.tickets_table, Key={TICKET_KEY: {"S": ticket_id}}, ConsistentRead=True
        )
        item = answer.get("Item")
        return None if item is None else ticket_from_item(dict(item), deserialize=TypeDeserializer().deserialize)

    def mark_sent(self, ticket_id: str) -> bool:
        """Mark a queued ticket `sent`; False when it was not `queued` any more (another delivery sent it)."""
        now_ms = int(self._clock() * 1000)
        try:
            self.dynamodb.update_item(
                TableName=self.tickets_table,
                Key={TICKET_KEY: {"S": ticket_id}},
                UpdateExpression="SET #status = :sent, updatedAt = :now",
                ConditionExpression="#status = :queued",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":sent": {"S": "sent"},
                    ":queued": {"S": "queued"},
                    ":now": {"N": str(now_ms)},
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _opener_name(name: str | None, var: EnvVar) -> str:
    if name is None:
        raise ConfigurationError(f"this ticket desk cannot open tickets: it was given no {var.name}")
    return name
