"""Reading the query log (the `ChatbotUserQueries` table): one session's turns, for the story a handover carries.

The table is keyed by session (`sessionId`) and time (`timestamp`, epoch ms), as `contracts.stack.QUERY_LOG_TABLE`
says, so a session's newest turns are one Query, newest first. The bot's TalkToHuman reads them here rather than
trusting a client for the transcript. `transcript` is pure: it turns rows into the escalation's `Turn`s, oldest
first, keeping the newest that fit a number of turns and of characters, so a long chat never makes an email (or a
ticket item) too large. `has_negative_turn` says whether any turn of a session was one Lex found NEGATIVE: an
escalation from such a conversation is a priority ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from pydantic import ValidationError

from chatbot_shared.escalation.models import Turn
from contracts.query_log import SENTIMENT
from contracts.stack import MAX_HISTORY_TURNS, QUERY_LOG_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

SESSION_KEY = QUERY_LOG_TABLE.hash_key.name
TIME_KEY = QUERY_LOG_TABLE.range_key.name if QUERY_LOG_TABLE.range_key else "timestamp"
TRANSCRIPT_MAX_TURNS = MAX_HISTORY_TURNS  # what an escalation request may carry
TRANSCRIPT_MAX_CHARS = 12_000  # a readable email (and well inside a 400 KB ticket item): the story, not an archive
TRANSCRIPT_MAX_ROWS = TRANSCRIPT_MAX_TURNS // 2  # a row holds two turns: the user's and the bot's
NEGATIVE = "NEGATIVE"  # Lex's sentiment of a frustrated user's text
MAX_SENTIMENT_PAGES = 10  # a session's rows are read 1 MB at a time; ten pages are far more than any chat


logger = Logger(child=True)  # the calling function's Logger formats it


class QueryLogReadError(Exception):
    """The query log could not be read."""


@dataclass(frozen=True)
class LoggedTurn:
    """One row of the query log: what the user asked, when, and what the bot answered."""

    timestamp: int
    user_query: str
    bot_response: str
    intent_name: str | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> LoggedTurn:
        """A row from DynamoDB's attribute-value JSON."""

        def text(name: str) -> str:
            return str(item.get(name, {}).get("S", ""))

        return cls(
            timestamp=int(item[TIME_KEY]["N"]),
            user_query=text("userQuery"),
            bot_response=text("botResponse"),
            intent_name=text("intentName") or None,
        )


class QueryLogReader:
    """The query-log table, read by session; the boto3 client is made on first use (tests may swap the instance).

    `table_name` may be a callable, asked on first use: a handler passes its settings' name, read from its
    environment only when a session is first read.
    """

    def __init__(self, table_name: str | Callable[[], str]) -> None:
        self._table_name = table_name

    @cached_property
    def table_name(self) -> str:
        return self._table_name if isinstance(self._table_name, str) else self._table_name()

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        """Made on first use, so importing the module never creates a client."""
        import boto3

        return boto3.client("dynamodb")

    def session_turns(self, session_id: str, limit: int = TRANSCRIPT_MAX_ROWS) -> list[LoggedTurn]:
        """The newest `limit` rows of `session_id`, oldest first; QueryLogReadError when the table fails."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.dynamodb.query(
                TableName=self.table_name,
                KeyConditionExpression="#session = :session",
                ExpressionAttributeNames={"#session": SESSION_KEY},
                ExpressionAttributeValues={":session": {"S": session_id}},
                ScanIndexForward=False,  # newest first, so `Limit` keeps the newest
                Limit=limit,
            )
        except (BotoCoreError, ClientError) as exc:
            raise QueryLogReadError(str(exc)) from exc
        rows = [LoggedTurn.from_item(dict(item)) for item in answer.get("Items", [])]
        return sorted(rows, key=lambda row: row.timestamp)

    def has_negative_turn(self, session_id: str) -> bool:
        """Whether any turn of `session_id` was NEGATIVE (the whole session, not only the transcript's newest
        turns); QueryLogReadError when the table fails. Only the matching keys are returned, never user text."""
        from botocore.exceptions import BotoCoreError, ClientError

        start: dict[str, Any] | None = None
        for _ in range(MAX_SENTIMENT_PAGES):
            page = {"ExclusiveStartKey": start} if start else {}
            try:
                answer = self.dynamodb.query(
                    TableName=self.table_name,
                    KeyConditionExpression="#session = :session",
                    FilterExpression="#sentiment = :negative",
                    ExpressionAttributeNames={"#session": SESSION_KEY, "#sentiment": SENTIMENT},
                    ExpressionAttributeValues={":session": {"S": session_id}, ":negative": {"S": NEGATIVE}},
                    Select="COUNT",
                    **page,  # type: ignore[arg-type]
                )
            except (BotoCoreError, ClientError) as exc:
                raise QueryLogReadError(str(exc)) from exc
            if answer.get("Count", 0) > 0:
                return True
            start = dict(answer["LastEvaluatedKey"]) if answer.get("LastEvaluatedKey") else None
            if start is None:
                return False
        return False


def conversation_is_negative(reader: QueryLogReader, session_id: str) -> bool:
    """Whether the session had a NEGATIVE turn (its escalation is a priority ticket); False, logged, when the log
    cannot be read: a ticket is never held up by its flag."""
    try:
        return reader.has_negative_turn(session_id)
    except QueryLogReadError:
        logger.exception("could not read the conversation's sentiment; the ticket is not flagged priority")
        return False


def transcript(
    rows: Iterable[LoggedTurn], *, max_turns: int = TRANSCRIPT_MAX_TURNS, max_chars: int = TRANSCRIPT_MAX_CHARS
) -> list[Turn]:
    """The conversation in `rows` as turns, oldest first: the newest turns that fit in `max_turns` and `max_chars`
    (a turn that does not fit ends it, so the story has no holes). A row that is no valid turn is left out."""
    turns: list[Turn] = []
    for row in rows:
        said: tuple[tuple[Literal["user", "bot"], str], ...] = (("user", row.user_query), ("bot", row.bot_response))
        for role, text in said:
            if not text.strip():
                continue
            try:
                turns.append(Turn(role=role, text=text, timestamp=row.timestamp))
            except ValidationError:
                continue  # the writer validated the row; an odd one is skipped rather than losing the ticket
    kept: list[Turn] = []
    chars = 0
    for turn in reversed(turns):
        if len(kept) == max_turns or chars + len(turn.text) > max_chars:
            break
        kept.append(turn)
        chars += len(turn.text)
    return kept[::-1]
