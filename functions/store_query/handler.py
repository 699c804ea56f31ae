"""`POST /store-query`: store one conversation turn in the query log (the `ChatbotUserQueries` table).

Answers 201 `{"stored": true}` once the row exists: the first write stores it, and a repeat with the same
(sessionId, timestamp) stores nothing new and answers the same (first writer wins; the page may retry freely).
Bad input gets the shared 400/404/413/415/422/500 answers of `chatbot_shared.rest`; nothing is written then.

Decisions: the confidence score is rounded to 4 decimals and stored as a DynamoDB Decimal (a float such as
1e-308 would underflow inside boto3); booleans are refused (strict types). Each row gets `expiresAt` (epoch
seconds) = now + QUERY_LOG_RETENTION_DAYS (default 90) for the table's TTL.

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

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, StringConstraints

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.rest import ERROR_RESPONSES, JsonApi, parse_allowed_origins
from chatbot_shared.wire import EpochMs, SessionId, wire_title
from contracts.query_log import ANSWER_SOURCES
from contracts.stack import (
    ALLOWED_ORIGINS,
    MAX_BOT_TEXT_CHARS,
    MAX_USER_TEXT_CHARS,
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
    return Stored(stored=True)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy entry point."""
    return api.handle(event, context)
