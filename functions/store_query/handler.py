"""`POST /store-query`: store one conversation turn in the query log (the `ChatbotUserQueries` table); `POST /feedback`:
the user's thumbs up or down on one stored turn.

Answers 201 `{"stored": true}` once the row exists: the first write stores it, and a repeat with the same
(sessionId, timestamp) stores nothing new and answers the same (first writer wins; the page may retry freely).
Bad input gets the shared 400/404/413/415/422/500 answers of `chatbot_shared.rest`; nothing is written then.

Decisions: the confidence score is rounded to 4 decimals and stored as a DynamoDB Decimal (a float such as
1e-308 would underflow inside boto3); booleans are refused (strict types). Each row gets `expiresAt` (epoch
seconds) = now + QUERY_LOG_RETENTION_DAYS (default 90) for the table's TTL.

`POST /feedback` updates the rating of an existing row (`rating`, `ratingReason`, `ratedAt` of
`contracts.query_log`) with one conditional UpdateItem: 200 with the rating; 404 naming the turn when no row has that
(sessionId, timestamp), and then nothing is written (a rating never makes a row). A changed vote overwrites the last;
a reason (at most MAX_RATING_REASON_CHARS, one line) goes only with "down", and a vote without one removes any reason
stored before.

Metrics (`contracts.metrics`): each newly stored turn counts Turns = 1 and FallbackTurns, KnowledgeBaseTurns and
NegativeSentimentTurns = 1 or 0, with the session id as a property (conversations are distinct sessions); each vote
that changes a turn's rating counts ThumbsUp or ThumbsDown. Repeats count nothing.

`answerSources` (optional) lists the knowledge-base documents the answer came from (QnAIntent's sources attribute,
at most MAX_ANSWER_SOURCES URIs of at most MAX_SOURCE_URI_CHARS each); it is stored as a string set under
`contracts.query_log.ANSWER_SOURCES`, repeats dropped, and an empty list stores nothing.

Environment (read on first use, all in `Settings`): QUERY_LOG_TABLE_NAME, QUERY_LOG_RETENTION_DAYS (optional,
default 90), ALLOWED_ORIGINS (optional), ORIGIN_SECRETS (the edge's secrets; see `chatbot_shared.rest`).
No `from __future__ import annotations` here: Powertools must see the real body model in the route signature.
"""

import time
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.rest import (
    ERROR_RESPONSES,
    JSON_MEDIA_TYPE,
    ErrorBody,
    FieldError,
    JsonApi,
    error_response,
    parse_allowed_origins,
)
from chatbot_shared.wire import NO_CONTROL_PATTERN, EpochMs, SessionId, wire_title
from contracts import query_log as row
from contracts.knowledge import KNOWLEDGE_INTENT_NAME
from contracts.metrics import CONVERSATION_PROPERTY, RATING_METRICS, TURN_METRICS
from contracts.query_log import ANSWER_SOURCES, DAY
from contracts.stack import (
    ALLOWED_ORIGINS,
    FEEDBACK_ROUTE,
    MAX_BOT_TEXT_CHARS,
    MAX_USER_TEXT_CHARS,
    METRICS_NAMESPACE,
    ORIGIN_SECRETS,
    QUERY_LOG_RETENTION_DAYS,
    QUERY_LOG_TABLE,
    QUERY_LOG_TABLE_NAME,
    STORE_QUERY_ROUTE,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DEFAULT_RETENTION_DAYS = 90
SECONDS_PER_DAY = 86_400
CONFIDENCE_DECIMALS = 4  # Lex reports two decimals; four keep every real score and drop float noise
SESSION_KEY, TIMESTAMP_KEY = (key.name for key in QUERY_LOG_TABLE.keys)
TTL_ATTRIBUTE = QUERY_LOG_TABLE.ttl_attribute
MAX_ANSWER_SOURCES = 5  # QnAIntent cites one or a few documents; more would be a page sending something else
MAX_SOURCE_URI_CHARS = 1100  # s3:// + a bucket name (63) + an S3 key (1,024 bytes at most)
LEX_NAME_PATTERN = r"^[0-9A-Za-z](?:[_-]?[0-9A-Za-z])*[_-]?$"  # Lex V2 intent names: ^([0-9a-zA-Z][_-]?){1,100}$


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT["store_query"]`)."""

    table_name: str
    retention_days: int
    allowed_origins: frozenset[str]
    origin_secrets: tuple[str, ...]

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> "Settings":
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(STORE_QUERY_ROUTE.function, source)
        return cls(
            table_name=env.require(QUERY_LOG_TABLE_NAME),
            retention_days=env.optional_int(QUERY_LOG_RETENTION_DAYS, DEFAULT_RETENTION_DAYS),
            allowed_origins=parse_allowed_origins(env.optional(ALLOWED_ORIGINS)),
            origin_secrets=tuple(env.string_list(ORIGIN_SECRETS)),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


logger = Logger()
metrics = Metrics(namespace=METRICS_NAMESPACE)  # the namespace and names the dashboard and alarms read
api = JsonApi(
    pattern_reasons={LEX_NAME_PATTERN: "must be a Lex intent name: letters, digits, _ and -"},
    allowed_origins=lambda: settings().allowed_origins,
    origin_secrets=lambda: settings().origin_secrets,  # only requests CloudFront forwards are answered
)
app = api.app


class QueryLogEntry(BaseModel):
    """One turn: what the user asked, what the bot answered, and how sure Lex was."""

    model_config = ConfigDict(strict=True, extra="forbid", field_title_generator=wire_title)

    session_id: SessionId = Field(alias="sessionId")
    timestamp: EpochMs = Field(description="When the user asked, in epoch milliseconds")
    user_query: StrictStr = Field(alias="userQuery", min_length=1, max_length=MAX_USER_TEXT_CHARS)
    bot_response: StrictStr = Field(alias="botResponse", max_length=MAX_BOT_TEXT_CHARS)
    confidence_score: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] | None = Field(
        alias="confidenceScore", default=None, description="Lex's NLU confidence in [0, 1], or null when Lex gave none"
    )
    intent_name: StrictStr | None = Field(
        alias="intentName", default=None, min_length=1, max_length=100, pattern=LEX_NAME_PATTERN
    )
    sentiment: Literal["POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED"] | None = None
    answer_sources: (
        list[Annotated[StrictStr, StringConstraints(min_length=1, max_length=MAX_SOURCE_URI_CHARS)]] | None
    ) = Field(
        alias="answerSources",
        default=None,
        max_length=MAX_ANSWER_SOURCES,
        description="The knowledge-base documents the answer came from (URIs), when QnAIntent answered",
    )


class Stored(BaseModel):
    """The answer: the row exists."""

    stored: StrictBool


class QueryLogTable:
    """The query-log table; the boto3 client is created on first use (tests swap `handler.query_log`)."""

    def __init__(self, table_name: str | None = None, retention_days: int | None = None) -> None:
        self._table_name = table_name
        self._retention_days = retention_days

    @property
    def table_name(self) -> str:
        return self._table_name or settings().table_name

    @property
    def retention_days(self) -> int:
        return settings().retention_days if self._retention_days is None else self._retention_days

    @cached_property
    def client(self) -> "DynamoDBClient":
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("dynamodb")

    def store(self, entry: QueryLogEntry, *, now: float) -> bool:
        """Write the row unless one with the same keys exists; True when this call wrote it."""
        item: dict[str, Any] = {
            SESSION_KEY: {"S": entry.session_id},
            TIMESTAMP_KEY: {"N": str(entry.timestamp)},
            "userQuery": {"S": entry.user_query},
            "botResponse": {"S": entry.bot_response},
            DAY: {"S": utc_day(entry.timestamp)},  # the by-day index's partition: staff list turns by day
        }
        if TTL_ATTRIBUTE is not None:  # rows expire by the table's TTL
            item[TTL_ATTRIBUTE] = {"N": str(int(now) + self.retention_days * SECONDS_PER_DAY)}
        if entry.confidence_score is not None:
            item["confidenceScore"] = {"N": str(stored_confidence(entry.confidence_score))}
        if entry.intent_name is not None:
            item["intentName"] = {"S": entry.intent_name}
        if entry.sentiment is not None:
            item["sentiment"] = {"S": entry.sentiment}
        if entry.answer_sources:  # a string set: no repeats, never empty
            item[ANSWER_SOURCES] = {"SS": list(dict.fromkeys(entry.answer_sources))}
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=item,
                ConditionExpression=f"attribute_not_exists({SESSION_KEY})",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def stored_confidence(score: float) -> Decimal:
    """The score as DynamoDB stores it: a Decimal rounded to CONFIDENCE_DECIMALS places."""
    return Decimal(str(round(float(score), CONFIDENCE_DECIMALS))).normalize()


def utc_day(timestamp_ms: int) -> str:
    """The UTC day ("YYYY-MM-DD") of an epoch-ms moment: the partition key of the query log's by-day index."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp_ms // 1000))


query_log = QueryLogTable()


@app.post(
    STORE_QUERY_ROUTE.path,
    status_code=int(HTTPStatus.CREATED),
    summary="Log a conversation turn",
    description="Stores one user query and the bot's answer in the query log (once per sessionId and timestamp).",
    responses={int(HTTPStatus.CREATED): {"description": "The turn is in the query log"}, **ERROR_RESPONSES},
)
def store_query(entry: QueryLogEntry) -> Stored:
    """Store the turn (a repeat is a no-op) and confirm it is stored."""
    if not query_log.store(entry, now=time.time()):
        logger.info("Turn already stored", extra={"timestamp": entry.timestamp})
    else:
        count_turn(entry)
    return Stored(stored=True)


def count_turn(entry: QueryLogEntry) -> None:
    """The turn's metrics: Turns, and 1 or 0 of each kind of turn (`contracts.metrics.TURN_METRICS`)."""
    turns, fallback, knowledge, negative = TURN_METRICS
    kinds = (
        (turns, True),
        (fallback, entry.intent_name == row.FALLBACK_INTENT_NAME),
        (knowledge, entry.intent_name == KNOWLEDGE_INTENT_NAME),
        (negative, entry.sentiment == "NEGATIVE"),
    )
    for metric, counted in kinds:
        metrics.add_metric(name=metric.name, unit=MetricUnit.Count, value=1 if counted else 0)
    metrics.add_metadata(key=CONVERSATION_PROPERTY, value=entry.session_id)


# --- feedback: the user's rating of one stored turn -------------------------------------------------------------


class Feedback(BaseModel):
    """The user's thumbs up or down on one answer, named by its turn's keys."""

    model_config = ConfigDict(strict=True, extra="forbid", field_title_generator=wire_title)

    session_id: SessionId = Field(alias="sessionId", description="The turn's session, as stored by /store-query")
    timestamp: EpochMs = Field(description="The turn's timestamp, as stored by /store-query (epoch milliseconds)")
    rating: Literal["up", "down"] = Field(description="Thumbs up or thumbs down")
    reason: StrictStr | None = Field(
        default=None,
        min_length=1,
        max_length=row.MAX_RATING_REASON_CHARS,
        pattern=NO_CONTROL_PATTERN,
        description="Why the answer did not help: only with a thumbs-down. A vote without one removes any before.",
    )

    @field_validator("reason")
    @classmethod
    def _reason_only_with_thumbs_down(cls, reason: str | None, info: ValidationInfo) -> str | None:
        if reason is not None and info.data.get("rating") == "up":
            raise ValueError("only a thumbs-down carries a reason")
        return reason


class Rated(BaseModel):
    """The answer: the turn's rating as it is now stored."""

    model_config = ConfigDict(field_title_generator=wire_title, serialize_by_alias=True)

    session_id: str = Field(alias="sessionId")
    timestamp: int
    rating: Literal["up", "down"]


class TurnNotFoundError(Exception):
    """No turn has the feedback's keys: nothing was rated."""

    def __init__(self, session_id: str, timestamp: int) -> None:
        self.session_id = session_id
        self.timestamp = timestamp
        super().__init__(f"no turn of session {session_id} at {timestamp}")


def rate_turn(table: QueryLogTable, feedback: Feedback, *, now: float) -> str | None:
    """Store the rating on the existing row; the rating it replaced (None: the first vote). TurnNotFoundError when
    no row has the keys: the update is conditional, so it never makes one."""
    values: dict[str, Any] = {":rating": {"S": feedback.rating}, ":ratedAt": {"N": str(int(now * 1000))}}
    names = {"#key": SESSION_KEY, "#rating": row.RATING, "#ratedAt": row.RATED_AT, "#reason": row.RATING_REASON}
    if feedback.reason is None:
        expression = "SET #rating = :rating, #ratedAt = :ratedAt REMOVE #reason"
    else:
        expression = "SET #rating = :rating, #ratedAt = :ratedAt, #reason = :reason"
        values[":reason"] = {"S": feedback.reason}
    try:
        answer = table.client.update_item(
            TableName=table.table_name,
            Key={SESSION_KEY: {"S": feedback.session_id}, TIMESTAMP_KEY: {"N": str(feedback.timestamp)}},
            UpdateExpression=expression,
            ConditionExpression="attribute_exists(#key)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="UPDATED_OLD",
        )
    except table.client.exceptions.ConditionalCheckFailedException as exc:
        raise TurnNotFoundError(feedback.session_id, feedback.timestamp) from exc
    old = answer.get("Attributes", {}).get(row.RATING, {}).get("S")
    return str(old) if old is not None else None


@app.post(
    FEEDBACK_ROUTE.path,
    status_code=int(HTTPStatus.OK),
    summary="Rate an answer",
    description="Stores the user's thumbs up or down (and, with a thumbs-down, an optional reason) on a turn stored "
    "before by /store-query. A new vote replaces the last; a turn that does not exist is a 404, never a new row.",
    responses={
        int(HTTPStatus.OK): {"description": "The rating is stored on the turn"},
        int(HTTPStatus.NOT_FOUND): {
            "description": "No turn has this sessionId and timestamp; `errors` names the turn",
            "content": {JSON_MEDIA_TYPE: {"model": ErrorBody}},
        },
        **ERROR_RESPONSES,
    },
)
def rate_answer(feedback: Feedback) -> Rated:
    """Store the rating on the turn; count the vote when it changed the rating."""
    before = rate_turn(query_log, feedback, now=time.time())
    if before != feedback.rating:
        metrics.add_metric(name=RATING_METRICS[feedback.rating].name, unit=MetricUnit.Count, value=1)
    logger.info("Turn rated", extra={"timestamp": feedback.timestamp, "rating": feedback.rating, "before": before})
    return Rated(sessionId=feedback.session_id, timestamp=feedback.timestamp, rating=feedback.rating)


@app.exception_handler(TurnNotFoundError)
def turn_not_found(exc: TurnNotFoundError) -> Response:
    """404 naming the turn: a rating needs a stored turn."""
    reason = f"no turn of session {exc.session_id} at timestamp {exc.timestamp} is in the query log"
    return error_response(HTTPStatus.NOT_FOUND, "No such turn", [FieldError(field="timestamp", reason=reason)])


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy entry point."""
    return api.handle(event, context)
