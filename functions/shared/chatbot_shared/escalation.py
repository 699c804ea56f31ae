"""Escalation to a human: the request, the ticket, the email, and the one AWS edge that records and queues tickets.

Used by `POST /escalate` (functions/escalate) and by the fulfillment Lambda's TalkToHuman intent, which calls
`open_ticket` directly (no HTTP call to our own API), and by the queue consumer (functions/send_escalation).

Decisions:
- Wire names are camelCase (`sessionId`, `conversationHistory`), also in Python constructors
  (`EscalationRequest(sessionId=..., userQuery=..., userEmail=..., userName=...)`); attributes are snake_case.
  Models are strict (no `false` read as `0`) and refuse unknown fields.
- The email address is checked with a pattern (no `email-validator`: it is not in the Powertools layer) and,
  like the name, can never carry CR/LF or other control characters: nothing the user typed reaches a mail
  header except the address, and only as Reply-To. The subject carries the ticket id and fixed text only.
- The pure core (`new_ticket`, `render_email`) takes time and ids as arguments; `TicketDesk` is the only
  place that talks to DynamoDB and SQS, with clients made on first use (tests swap `escalation.desk`).
- Never half-written: the ticket is recorded (status `queued`), then its id is queued. When queueing fails the
  ticket is deleted again (conditionally, while still `queued`) and `TicketNotQueuedError` says "retry"
  (the API answers 503). If that delete fails too, an error naming the ticket is logged for an operator.
- Idempotent: `open_ticket` runs at most once per (sessionId, userQuery) within `IDEMPOTENCY_EXPIRY_SECONDS`
  (Powertools idempotency on the idempotency table); a repeat answers the first ticket id, and a repeat
  arriving while the first is still running gets `EscalationInProgressError` (409).

Environment: TICKETS_TABLE_NAME, ESCALATION_QUEUE_URL, IDEMPOTENCY_TABLE_NAME (each read on first use).
"""

import html
import json
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationInfo, field_validator
from pydantic.fields import ComputedFieldInfo, FieldInfo

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

logger = Logger(child=True)  # the calling function's Logger (same service) formats it, with its correlation id

MAX_QUERY_CHARS = 1024  # Lex accepts at most 1,024 characters of text input
MAX_TURN_CHARS = 4000  # a bot answer can be longer than a user's input
MAX_HISTORY_TURNS = 50
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
MIN_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: nothing older is a real chat turn
MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
IDEMPOTENCY_EXPIRY_SECONDS = 3600  # a double click or a retried request within the hour opens no second ticket
SESSION_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"
# WHATWG's valid-email pattern, with at least one dot in the domain; anchors are end-of-text in pydantic's regex
# engine, and the character classes exclude CR, LF and every other control character.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# No C0/C1 control characters (CR, LF, TAB, NUL, NEL...) and no Unicode line or paragraph separators.
NO_CONTROL_PATTERN = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029]+$"
# What a 422 says when a value does not match one of these patterns (instead of the pattern itself).
PATTERN_REASONS = {
    SESSION_ID_PATTERN: "may contain only letters, digits, '.', '_', ':' and '-'",
    EMAIL_PATTERN: "must be an email address such as name@example.com",
    NO_CONTROL_PATTERN: "must not contain line breaks or other control characters",
}

TicketStatus = Literal["queued", "sent"]


def wire_title(name: str, field: FieldInfo | ComputedFieldInfo) -> str:
    """A field's title in JSON Schema and OpenAPI: its wire name (`sessionId`, not `Sessionid`)."""
    return field.alias or name


class WireModel(BaseModel):
    """camelCase on the wire (and in constructors: each field names its alias), snake_case attributes in Python,
    strict types, unknown fields refused."""

    model_config = ConfigDict(
        strict=True, extra="forbid", serialize_by_alias=True, frozen=True, field_title_generator=wire_title
    )


class Turn(WireModel):
    """One message of the conversation before the escalation."""

    role: Literal["user", "bot"] = Field(description="Who said it")
    text: StrictStr = Field(min_length=1, max_length=MAX_TURN_CHARS, description="What was said (user: ≤1024)")
    timestamp: Annotated[StrictInt, Field(ge=MIN_EPOCH_MS, le=MAX_EPOCH_MS)] | None = Field(
        default=None, description="When, in epoch milliseconds"
    )

    @field_validator("text")
    @classmethod
    def _user_text_fits_lex(cls, text: str, info: ValidationInfo) -> str:
        if info.data.get("role") == "user" and len(text) > MAX_QUERY_CHARS:
            raise ValueError(f"a user's message has at most {MAX_QUERY_CHARS} characters")
        return text


class EscalationRequest(WireModel):
    """What the page (or the bot) sends to reach a human."""

    session_id: StrictStr = Field(
        alias="sessionId",
        min_length=1,
        max_length=100,
        pattern=SESSION_ID_PATTERN,
        description="The chat's Lex session id",
    )
    user_query: StrictStr = Field(
        alias="userQuery", min_length=1, max_length=MAX_QUERY_CHARS, description="What the user needs"
    )
    user_email: StrictStr = Field(
        alias="userEmail",
        min_length=3,
        max_length=MAX_EMAIL_CHARS,
        pattern=EMAIL_PATTERN,
        description="Where support replies",
    )
    user_name: StrictStr = Field(
        alias="userName",
        min_length=1,
        max_length=100,
        pattern=NO_CONTROL_PATTERN,
        description="How support addresses the user",
    )
    conversation_history: list[Turn] = Field(
        alias="conversationHistory",
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="The chat so far, oldest first",
    )


class TicketReceipt(WireModel):
    """What the caller learns: the ticket id and where it stands."""

    ticket_id: StrictStr = Field(alias="ticketId")
    status: TicketStatus


class Ticket(BaseModel):
    """An escalation as recorded in the tickets table."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    status: TicketStatus
    created_at: int  # epoch ms
    updated_at: int  # epoch ms
    request: EscalationRequest


class EscalationEmail(BaseModel):
    """The email the support team receives."""

    model_config = ConfigDict(frozen=True)

    subject: str
    html: str
    text: str


class EscalationError(Exception):
    """An escalation could not be opened now; the caller may retry."""


class TicketNotQueuedError(EscalationError):
    """The ticket could not be recorded or queued; nothing was kept, so a retry is safe."""


class EscalationInProgressError(EscalationError):
    """The same escalation is being opened right now by another request."""


class ConfigurationError(Exception):
    """A required environment variable is missing."""


# ---------------------------------------------------------------------------------------------------- pure core


def new_ticket(request: EscalationRequest, *, now: float, ticket_id: str) -> Ticket:
    """A queued ticket for `request`, opened at `now` (epoch seconds)."""
    now_ms = int(now * 1000)
    return Ticket(ticket_id=ticket_id, status="queued", created_at=now_ms, updated_at=now_ms, request=request)


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "time unknown"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def render_email(ticket: Ticket) -> EscalationEmail:
    """The support team's email for `ticket`: every user-supplied value escaped in HTML; subject without user text."""
    request = ticket.request
    esc = html.escape  # escapes &, <, >, " and '
    who = {"user": "User", "bot": "Bot"}
    rows = "\n".join(
        f'<tr><td style="padding:4px 8px;vertical-align:top"><strong>{who[turn.role]}</strong></td>'
        f'<td style="padding:4px 8px;vertical-align:top;color:#555">{esc(_when(turn.timestamp))}</td>'
        f'<td style="padding:4px 8px;white-space:pre-wrap">{esc(turn.text)}</td></tr>'
        for turn in request.conversation_history
    )
    history_html = (
        f'<table style="border-collapse:collapse">\n{rows}\n</table>' if rows else "<p>(no conversation recorded)</p>"
    )
    body_html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Escalation {esc(ticket.ticket_id)}</title></head>
<body style="font-family:sans-serif">
<h2>A user asked for human support</h2>
<p><strong>Ticket:</strong> {esc(ticket.ticket_id)}<br>
<strong>Opened:</strong> {esc(_when(ticket.created_at))}<br>
<strong>Session:</strong> {esc(request.session_id)}<br>
<strong>Name:</strong> {esc(request.user_name)}<br>
<strong>Email:</strong> {esc(request.user_email)} (reply to this message to answer)</p>
<h3>Question</h3>
<p style="white-space:pre-wrap">{esc(request.user_query)}</p>
<h3>Conversation</h3>
{history_html}
</body></html>
"""
    history_text = "\n".join(
        f"[{_when(turn.timestamp)}] {who[turn.role]}: {turn.text}" for turn in request.conversation_history
    )
    body_text = (
        f"A user asked for human support.\n\n"
        f"Ticket: {ticket.ticket_id}\nOpened: {_when(ticket.created_at)}\nSession: {request.session_id}\n"
        f"Name: {request.user_name}\nEmail: {request.user_email} (reply to this message to answer)\n\n"
        f"Question:\n{request.user_query}\n\nConversation:\n{history_text or '(no conversation recorded)'}\n"
    )
    subject = f"Chatbot escalation {ticket.ticket_id}: a user needs human support"
    return EscalationEmail(subject=subject, html=body_html, text=body_text)


def ticket_item(ticket: Ticket, *, serialize: Callable[[Any], Any]) -> dict[str, Any]:
    """The tickets-table item for `ticket` (attribute values serialized by `serialize`)."""
    request = ticket.request
    plain: dict[str, Any] = {
        "ticketId": ticket.ticket_id,
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
        ticket_id=plain["ticketId"],
        status=plain["status"],
        created_at=plain["createdAt"],
        updated_at=plain["updatedAt"],
        request=request,
    )


# ---------------------------------------------------------------------------------------------------- AWS edge


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ConfigurationError(f"environment variable {name} is not set")
    return value


class TicketDesk:
    """Records tickets in DynamoDB and queues them on SQS; boto3 clients are created on first use.

    Names left out are read from the environment on first use (TICKETS_TABLE_NAME, ESCALATION_QUEUE_URL,
    IDEMPOTENCY_TABLE_NAME), so a function only needs the variables of the operations it calls.
    """

    def __init__(
        self,
        *,
        tickets_table: str | None = None,
        queue_url: str | None = None,
        idempotency_table: str | None = None,
        clock: Callable[[], float] = time.time,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self._tickets_table = tickets_table
        self._queue_url = queue_url
        self._idempotency_table = idempotency_table
        self._clock = clock
        self._new_id = new_id
        self._open_once_idempotent: Callable[..., TicketReceipt] | None = None
        self._idempotency_config: Any = None

    # -- clients and names

    @property
    def tickets_table(self) -> str:
        return self._tickets_table or _env("TICKETS_TABLE_NAME")

    @property
    def queue_url(self) -> str:
        return self._queue_url or _env("ESCALATION_QUEUE_URL")

    @property
    def idempotency_table(self) -> str:
        return self._idempotency_table or _env("IDEMPOTENCY_TABLE_NAME")

    @cached_property
    def dynamodb(self) -> "DynamoDBClient":
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("dynamodb")

    @cached_property
    def sqs(self) -> "SQSClient":
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("sqs")

    # -- opening a ticket

    def open(self, request: EscalationRequest, lambda_context: "LambdaContext | None" = None) -> TicketReceipt:
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
            ConditionExpression="attribute_not_exists(ticketId)",
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
                Key={"ticketId": {"S": ticket_id}},
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
            TableName=self.tickets_table, Key={"ticketId": {"S": ticket_id}}, ConsistentRead=True
        )
        item = answer.get("Item")
        return None if item is None else ticket_from_item(dict(item), deserialize=TypeDeserializer().deserialize)

    def mark_sent(self, ticket_id: str) -> bool:
        """Mark a queued ticket `sent`; False when it was not `queued` any more (another delivery sent it)."""
        now_ms = int(self._clock() * 1000)
        try:
            self.dynamodb.update_item(
                TableName=self.tickets_table,
                Key={"ticketId": {"S": ticket_id}},
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


desk = TicketDesk()


def open_ticket(request: EscalationRequest, lambda_context: "LambdaContext | None" = None) -> TicketReceipt:
    """Open (or find again) the ticket for `request` and queue its email.

    Raises `TicketNotQueuedError` (retry later; nothing kept) or `EscalationInProgressError` (a twin is running).
    """
    return desk.open(request, lambda_context)
