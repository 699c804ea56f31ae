"""The staff's admin API (`GET /admin/...`): read, filter, group and export the query log.

Routes (`contracts.stack.ADMIN_ROUTES`; JSON, camelCase):

- `GET /admin/turns?from&to&intent&rating&sentiment&answer&session&limit&cursor` -> `{"turns": [...], "nextCursor"}`,
  newest first, `limit` 1..200 (default 50);
- `GET /admin/export?<the same filters>` -> `text/csv` (RFC 4180, UTF-8 with a byte-order mark, formulas defused);
- `GET /admin/conversations/{sessionId}` -> `{"sessionId", "turns": [...]}`, oldest first;
- `GET /admin/unanswered?from&to&limit` -> `{"questions": [{"text", "count", "examples", "lastAskedAt"}]}`: fallback
  turns grouped by similar text, most asked first;
- `GET /admin/worst-rated?from&to&limit` -> `{"answers": [{"botResponse", "intentName", "down", "up", "examples"}]}`:
  rated answers grouped by their text, most down votes first.

Who may ask: API Gateway's Cognito authorizer answers 401 before this function runs for a request without a valid
staff token; this function also refuses (401) an event without the authorizer's claims, so a route wired without the
authorizer by mistake reads no row. Requests must come through CloudFront (the origin secret, `chatbot_shared.rest`).

How it reads: only Query, never Scan. A time range is read one UTC day at a time through the table's `byDay` index
(hash `day`, range `timestamp`), newest day first; filters are FilterExpressions. Each request does bounded work
(`MAX_QUERY_CALLS` reads); a page that is not full when the bound is reached still carries a cursor, so the caller
goes on where it stopped. The cursor is opaque: the position (day and last key) and a fingerprint of the filters,
signed with a key derived from the origin secret (HMAC-SHA256); a changed or foreign cursor is a 400.

Bad parameters get 400 `{"message": "Invalid request", "errors": [{"field": <parameter>, "reason": ...}]}`.

Environment (`Settings`): QUERY_LOG_TABLE_NAME, ALLOWED_ORIGINS (optional), ORIGIN_SECRETS.
No `from __future__ import annotations` here: Powertools reads the route signatures.
"""

import base64
import binascii
import csv
import hashlib
import hmac
import io
import json
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache, cached_property
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from chatbot_shared.environment import FunctionEnvironment
from chatbot_shared.rest import FieldError, JsonApi, error_response, parse_allowed_origins
from contracts.knowledge import KNOWLEDGE_INTENT_NAME
from contracts.query_log import (
    ANSWER_SOURCES,
    BOT_RESPONSE,
    BY_DAY_INDEX,
    CONFIDENCE_SCORE,
    DAY,
    FALLBACK_INTENT_NAME,
    INTENT_NAME,
    RATING,
    RATING_REASON,
    RATINGS,
    SENTIMENT,
    USER_QUERY,
)
from contracts.stack import (
    ADMIN_CONVERSATION_ROUTE,
    ADMIN_EXPORT_ROUTE,
    ADMIN_TURNS_ROUTE,
    ADMIN_UNANSWERED_ROUTE,
    ADMIN_WORST_RATED_ROUTE,
    ALLOWED_ORIGINS,
    MAX_EPOCH_MS,
    MAX_SESSION_ID_CHARS,
    MIN_EPOCH_MS,
    ORIGIN_SECRETS,
    QUERY_LOG_TABLE,
    QUERY_LOG_TABLE_NAME,
    SESSION_ID_PATTERN,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
DEFAULT_GROUPS = 20
MAX_GROUPS = 100
DEFAULT_RANGE_MS = 7 * 86_400_000  # no `from`: the last week
MAX_RANGE_DAYS = 366  # a wider range is refused: each empty day still costs one read
MAX_QUERY_CALLS = 40  # DynamoDB reads one list page may make; then it answers with what it has and a cursor
READ_PAGE_ITEMS = 500  # items one read evaluates at most (a filter may keep few of them)
MAX_ANALYSED_TURNS = 5_000  # turns the unanswered / worst-rated groupings read at most per request
MAX_ANALYSIS_CALLS = 100
MAX_CONVERSATION_TURNS = 1_000
MAX_EXPORT_ROWS = 5_000
MAX_EXPORT_BYTES = 5_000_000  # under Lambda's 6 MB response limit
MAX_EXPORT_CALLS = 100  # reads one export may make (each evaluates up to READ_PAGE_ITEMS turns)
MAX_EXAMPLES = 3
SIMILARITY_THRESHOLD = 0.6  # token-set Jaccard at or above which two questions are "the same question"
MAX_DISTINCT_QUESTIONS = 500  # distinct normalised questions compared pairwise at most (the most asked)
CURSOR_KEY_LABEL = b"support-chatbot admin cursor v1"
SENTIMENTS = ("POSITIVE", "NEGATIVE", "NEUTRAL", "MIXED")
ANSWER_KINDS = ("fallback", "knowledge", "intent")
LEX_NAME_PATTERN = re.compile(r"^[0-9A-Za-z](?:[_-]?[0-9A-Za-z])*[_-]?$")
SESSION_ID_RE = re.compile(SESSION_ID_PATTERN)
SESSION_KEY, TIMESTAMP_KEY = (key.name for key in QUERY_LOG_TABLE.keys)
CSV_COLUMNS = (
    "time",
    SESSION_KEY,
    USER_QUERY,
    BOT_RESPONSE,
    INTENT_NAME,
    CONFIDENCE_SCORE,
    SENTIMENT,
    RATING,
    RATING_REASON,
    ANSWER_SOURCES,
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula
STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "can",
        "could",
        "do",
        "does",
        "for",
        "how",
        "i",
        "is",
        "it",
        "me",
        "my",
        "of",
        "on",
        "please",
        "the",
        "to",
        "what",
        "when",
        "where",
        "why",
        "with",
        "you",
        "your",
    ]
)


# --- settings -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything this function reads from its environment (`contracts.stack.FUNCTION_ENVIRONMENT["admin_api"]`)."""

    table_name: str
    allowed_origins: frozenset[str]
    origin_secrets: tuple[str, ...]

    @classmethod
    def read(cls, source: Mapping[str, str] | None = None) -> "Settings":
        """Read from `source` (default: the process environment); ConfigurationError names a missing variable."""
        env = FunctionEnvironment(ADMIN_TURNS_ROUTE.function, source)
        return cls(
            table_name=env.require(QUERY_LOG_TABLE_NAME),
            allowed_origins=parse_allowed_origins(env.optional(ALLOWED_ORIGINS)),
            origin_secrets=tuple(env.string_list(ORIGIN_SECRETS)),
        )


@cache
def settings() -> Settings:
    """This function's settings, read on first use."""
    return Settings.read()


# --- the pure core: parameters, cursors, filters, groupings, CSV ------------------------------------------------


class BadParameterError(Exception):
    """A query parameter the API cannot use: which one and why (answered 400)."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter
        self.reason = reason


@dataclass(frozen=True)
class TimeRange:
    """Turns asked from `start` to `end` (epoch ms, both included)."""

    start: int
    end: int

    def days(self) -> list[str]:
        """The UTC days the range touches, newest first."""
        first, last = self.start // 86_400_000, self.end // 86_400_000
        return [utc_day(number * 86_400_000) for number in range(last, first - 1, -1)]


@dataclass(frozen=True)
class TurnFilter:
    """What a listed turn must match (None: anything)."""

    intent: str | None = None
    rating: str | None = None
    sentiment: str | None = None
    answer: str | None = None
    session: str | None = None
    rated_only: bool = False
    """Only turns a user rated (the worst-rated grouping); not a wire filter."""

    def fingerprint(self, window: TimeRange) -> str:
        """A short digest of the filters and range: a cursor is valid only for the listing that made it."""
        parts = [str(window.start), str(window.end), *(value or "" for value in self._values())]
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]

    def _values(self) -> tuple[str | None, ...]:
        return (
            self.intent,
            self.rating,
            self.sentiment,
            self.answer,
            self.session,
            "rated" if self.rated_only else None,
        )


@dataclass(frozen=True)
class Position:
    """Where a listing goes on: the day being read and the last key returned there (None: the day's start)."""

    day: str
    last_key: dict[str, Any] | None = None


@dataclass
class DynamoFilter:
    """A FilterExpression with its names and values (`expression` None: no filter)."""

    expression: str | None = None
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, names: Mapping[str, str], values: Mapping[str, Any] | None = None) -> None:
        self.expression = clause if self.expression is None else f"{self.expression} AND {clause}"
        self.names.update(names)
        self.values.update(values or {})


def utc_day(timestamp_ms: int) -> str:
    """The UTC day ("YYYY-MM-DD") of an epoch-ms moment, as the writer files turns under it."""
    return time.strftime("%Y-%m-%d", time.gmtime(timestamp_ms // 1000))


def parse_time_range(params: Mapping[str, str], *, now_ms: int) -> TimeRange:
    """`from` and `to` (epoch ms); `to` defaults to now and `from` to a week before `to`."""
    end = _epoch_ms(params, "to", default=min(now_ms, MAX_EPOCH_MS))
    start = _epoch_ms(params, "from", default=max(end - DEFAULT_RANGE_MS, MIN_EPOCH_MS))
    if start > end:
        raise BadParameterError("from", "must not be after `to`")
    if (end - start) // 86_400_000 >= MAX_RANGE_DAYS:
        raise BadParameterError("from", f"the range may span at most {MAX_RANGE_DAYS} days")
    return TimeRange(start, end)


def parse_filter(params: Mapping[str, str]) -> TurnFilter:
    """The list filters: intent, rating, sentiment, answer kind, session (empty values mean no filter)."""
    intent = _text(params, "intent")
    if intent is not None and (len(intent) > 100 or not LEX_NAME_PATTERN.match(intent)):
        raise BadParameterError("intent", "must be a Lex intent name: letters, digits, _ and -")
    rating = _choice(params, "rating", RATINGS)
    sentiment = _choice(params, "sentiment", SENTIMENTS, upper=True)
    answer = _choice(params, "answer", ANSWER_KINDS)
    session = _text(params, "session")
    if session is not None:
        check_session_id(session, "session")
    return TurnFilter(intent=intent, rating=rating, sentiment=sentiment, answer=answer, session=session)


def parse_limit(params: Mapping[str, str], default: int, maximum: int) -> int:
    """`limit`: a whole number from 1 to `maximum`."""
    raw = _text(params, "limit")
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise BadParameterError("limit", f"must be a whole number from 1 to {maximum}")
    return int(raw)


def check_session_id(value: str, parameter: str) -> str:
    """`value` if it is a Lex session id; else BadParameterError naming `parameter`."""
    if not 1 <= len(value) <= MAX_SESSION_ID_CHARS or not SESSION_ID_RE.match(value):
        raise BadParameterError(parameter, "must be a session id: letters, digits, '.', '_', ':' and '-'")
    return value


def filter_expression(turn_filter: TurnFilter) -> DynamoFilter:
    """The DynamoDB FilterExpression selecting the turns `turn_filter` keeps."""
    found = DynamoFilter()
    if turn_filter.intent is not None:
        found.add("#intent = :intent", {"#intent": INTENT_NAME}, {":intent": {"S": turn_filter.intent}})
    if turn_filter.rating is not None:
        found.add("#rating = :rating", {"#rating": RATING}, {":rating": {"S": turn_filter.rating}})
    if turn_filter.sentiment is not None:
        found.add("#sentiment = :sentiment", {"#sentiment": SENTIMENT}, {":sentiment": {"S": turn_filter.sentiment}})
    if turn_filter.session is not None:
        found.add("#session = :session", {"#session": SESSION_KEY}, {":session": {"S": turn_filter.session}})
    if turn_filter.answer is not None:
        found.add(*_answer_clause(turn_filter.answer))
    if turn_filter.rated_only:
        found.add("attribute_exists(#rating)", {"#rating": RATING})
    return found


def _answer_clause(kind: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    """Fallback: FallbackIntent answered. Knowledge: a document answered (QnAIntent, or sources recorded).
    Intent: one of the bot's own intents answered (neither of those)."""
    names = {"#intent": INTENT_NAME, "#sources": ANSWER_SOURCES}
    values = {":fallback": {"S": FALLBACK_INTENT_NAME}, ":knowledge": {"S": KNOWLEDGE_INTENT_NAME}}
    if kind == "fallback":
        return "#intent = :fallback", {"#intent": INTENT_NAME}, {":fallback": values[":fallback"]}
    if kind == "knowledge":
        return "(#intent = :knowledge OR attribute_exists(#sources))", names, {":knowledge": values[":knowledge"]}
    clause = "attribute_exists(#intent) AND #intent <> :fallback AND #intent <> :knowledge"
    return f"({clause} AND attribute_not_exists(#sources))", names, values


class CursorSigner:
    """Seals a listing's position into an opaque cursor and opens it again, refusing one that was changed.

    The key is derived from the origin secrets (HMAC of a fixed label), so no other setting is needed; a cursor
    sealed before a rotation still opens while the previous secret is accepted.
    """

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        self._secrets = secrets

    def _keys(self) -> list[bytes]:
        return [hmac.new(s.encode(), CURSOR_KEY_LABEL, hashlib.sha256).digest() for s in self._secrets() if s]

    def seal(self, position: Position, fingerprint: str) -> str:
        payload = json.dumps({"d": position.day, "k": position.last_key, "f": fingerprint}, separators=(",", ":"))
        body = _b64(payload.encode())
        return f"{body}.{_b64(hmac.new(self._keys()[0], body.encode(), hashlib.sha256).digest()[:18])}"

    def open(self, cursor: str, fingerprint: str) -> Position:
        """The position in `cursor`; BadParameterError("cursor") when it was changed, is foreign or malformed, or
        was made for other filters."""
        body, _, signature = cursor.partition(".")
        try:
            sent = _unb64(signature)
            payload = json.loads(_unb64(body))
        except (ValueError, binascii.Error):
            raise BadParameterError("cursor", "is not a cursor this API gave") from None
        valid = any(
            hmac.compare_digest(sent, hmac.new(key, body.encode(), hashlib.sha256).digest()[:18])
            for key in self._keys()
        )
        if not valid or not isinstance(payload, dict):
            raise BadParameterError("cursor", "is not a cursor this API gave (or it was changed)")
        if payload.get("f") != fingerprint:
            raise BadParameterError("cursor", "belongs to another listing: keep the filters and range it came with")
        return Position(day=str(payload["d"]), last_key=payload.get("k"))


def turn_view(item: Mapping[str, Any]) -> dict[str, Any]:
    """A query-log row (DynamoDB's typed JSON) as the wire's turn."""
    plain = {key: _plain(value) for key, value in item.items()}
    sources = plain.get(ANSWER_SOURCES)
    return {
        "sessionId": plain.get(SESSION_KEY),
        "timestamp": plain.get(TIMESTAMP_KEY),
        "userQuery": plain.get(USER_QUERY, ""),
        "botResponse": plain.get(BOT_RESPONSE, ""),
        "intentName": plain.get(INTENT_NAME),
        "confidenceScore": plain.get(CONFIDENCE_SCORE),
        "sentiment": plain.get(SENTIMENT),
        "rating": plain.get(RATING),
        "ratingReason": plain.get(RATING_REASON),
        "answerSources": sorted(sources) if isinstance(sources, (set, list)) else [],
    }


def normalised_question(text: str) -> str:
    """Case, accents, punctuation and spacing folded away: "Where's my  ORDER?" -> "where s my order"."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    letters = "".join(ch if ch.isalnum() else " " for ch in folded if not unicodedata.combining(ch))
    return " ".join(letters.split())


def content_tokens(normalised: str) -> frozenset[str]:
    """The words that carry meaning (no stopwords; a plural's trailing s dropped)."""
    words = [word[:-1] if len(word) > 3 and word.endswith("s") else word for word in normalised.split()]
    kept = frozenset(word for word in words if word not in STOPWORDS)
    return kept or frozenset(words)


def similar(a: frozenset[str], b: frozenset[str]) -> bool:
    """Token-set similarity: Jaccard at or above SIMILARITY_THRESHOLD, or one question's words all in the other's."""
    if not a or not b:
        return a == b
    shared = len(a & b)
    return shared / len(a | b) >= SIMILARITY_THRESHOLD or (shared == min(len(a), len(b)) and shared >= 2)


def group_unanswered(turns: Iterable[Mapping[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Fallback turns (wire turns) grouped by similar text, most asked first (ties: most recently asked)."""
    by_text: dict[str, dict[str, Any]] = {}
    for turn in turns:
        text = str(turn.get("userQuery") or "")
        key = normalised_question(text)
        if not key:
            continue
        entry = by_text.setdefault(key, {"count": 0, "last": 0, "texts": {}})
        entry["count"] += 1
        entry["last"] = max(entry["last"], int(turn.get("timestamp") or 0))
        entry["texts"][text] = entry["texts"].get(text, 0) + 1
    distinct = sorted(by_text.items(), key=lambda kv: (-kv[1]["count"], -kv[1]["last"]))[:MAX_DISTINCT_QUESTIONS]
    groups: list[tuple[frozenset[str], dict[str, Any]]] = []
    for key, entry in distinct:
        tokens = content_tokens(key)
        home = next((group for anchor, group in groups if similar(anchor, tokens)), None)
        if home is None:
            groups.append((tokens, {"count": 0, "last": 0, "texts": {}}))
            home = groups[-1][1]
        home["count"] += entry["count"]
        home["last"] = max(home["last"], entry["last"])
        for text, count in entry["texts"].items():
            home["texts"][text] = home["texts"].get(text, 0) + count
    questions = []
    for _, group in groups:
        texts = sorted(group["texts"].items(), key=lambda kv: -kv[1])
        questions.append(
            {
                "text": texts[0][0],
                "count": group["count"],
                "examples": [text for text, _ in texts[:MAX_EXAMPLES]],
                "lastAskedAt": group["last"],
            }
        )
    questions.sort(key=lambda q: (-q["count"], -q["lastAskedAt"]))
    return questions[:limit]


def group_worst_rated(turns: Iterable[Mapping[str, Any]], limit: int) -> list[dict[str, Any]]:
    """Rated answers (wire turns) grouped by answer text and intent; those with a down vote, most down votes first
    (ties: the larger share of down votes)."""
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for turn in turns:
        rating = turn.get("rating")
        if rating not in RATINGS:
            continue
        answer = " ".join(str(turn.get("botResponse") or "").split())
        intent = str(turn.get("intentName") or "")
        group = groups.setdefault(
            (answer, intent),
            {"botResponse": answer, "intentName": turn.get("intentName"), "down": 0, "up": 0, "examples": []},
        )
        group[str(rating)] += 1
        if rating == "down" and len(group["examples"]) < MAX_EXAMPLES:
            group["examples"].append(
                {
                    "userQuery": turn.get("userQuery"),
                    "ratingReason": turn.get("ratingReason"),
                    "sessionId": turn.get("sessionId"),
                    "timestamp": turn.get("timestamp"),
                }
            )
    worst = [group for group in groups.values() if group["down"] > 0]
    worst.sort(key=lambda g: (-g["down"], -g["down"] / (g["down"] + g["up"])))
    return worst[:limit]


def defused(cell: str) -> str:
    """A cell a spreadsheet shows as text: one that could start a formula gets a leading apostrophe."""
    return "'" + cell if cell.startswith(FORMULA_PREFIXES) else cell


def csv_row(turn: Mapping[str, Any]) -> list[str]:
    """One wire turn as CSV cells (CSV_COLUMNS), every cell defused."""
    timestamp = turn.get("timestamp")
    when = ""
    if isinstance(timestamp, int):
        when = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(timestamp // 1000)) + f".{timestamp % 1000:03d}Z"
    values = [
        when,
        turn.get("sessionId"),
        turn.get("userQuery"),
        turn.get("botResponse"),
        turn.get("intentName"),
        turn.get("confidenceScore"),
        turn.get("sentiment"),
        turn.get("rating"),
        turn.get("ratingReason"),
        " ".join(turn.get("answerSources") or []),
    ]
    return [defused("" if value is None else str(value)) for value in values]


def csv_document(turns: Iterable[Mapping[str, Any]], max_bytes: int = MAX_EXPORT_BYTES) -> tuple[str, bool]:
    """The CSV text (RFC 4180: CRLF, fields quoted when needed, quotes doubled; a byte-order mark so spreadsheets
    read UTF-8) and whether rows were left out to stay under `max_bytes`."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    out.write("\ufeff")
    writer.writerow(CSV_COLUMNS)
    size = len(out.getvalue().encode())
    for turn in turns:
        line = io.StringIO()
        csv.writer(line, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow(csv_row(turn))
        encoded = len(line.getvalue().encode())
        if size + encoded > max_bytes:
            return out.getvalue(), True
        out.write(line.getvalue())
        size += encoded
    return out.getvalue(), False


# --- the AWS edge -------------------------------------------------------------------------------------------------


@dataclass
class Listing:
    """One page of a listing: the rows (DynamoDB's typed JSON) and where the next page starts (None: no more)."""

    items: list[dict[str, Any]]
    next_position: Position | None
    reads: int = 0
    """DynamoDB reads it took."""


class QueryLogReader:
    """Reads the query log with Query only (tests swap `handler.reader`); the client is made on first use."""

    def __init__(self, table_name: str | None = None) -> None:
        self._table_name = table_name

    @property
    def table_name(self) -> str:
        return self._table_name or settings().table_name

    @cached_property
    def client(self) -> "DynamoDBClient":
        import boto3

        return boto3.client("dynamodb")

    def list_turns(
        self,
        window: TimeRange,
        turn_filter: TurnFilter,
        limit: int,
        start: Position | None = None,
        max_calls: int = MAX_QUERY_CALLS,
    ) -> Listing:
        """Up to `limit` matching turns, newest first, from `start` on; stops after `max_calls` reads."""
        days = window.days()
        position = start or Position(days[0])
        if position.day not in days:
            raise BadParameterError("cursor", "points outside the range")
        found: list[dict[str, Any]] = []
        calls = 0
        base = filter_expression(turn_filter)
        for day in days[days.index(position.day) :]:
            exclusive = position.last_key if day == position.day else None
            while True:
                if calls >= max_calls:
                    return Listing(found, Position(day, exclusive), calls)
                calls += 1
                # Unfiltered, a read needs no more items than the page lacks; filtered, it reads a full page.
                wanted = READ_PAGE_ITEMS if base.expression else min(READ_PAGE_ITEMS, limit - len(found))
                page = self._query_day(day, window, base, exclusive, wanted)
                for index, item in enumerate(page["Items"]):
                    found.append(item)
                    if len(found) == limit:
                        more = index + 1 < len(page["Items"]) or "LastEvaluatedKey" in page
                        if more:
                            return Listing(found, Position(day, _index_key(item)), calls)
                        return Listing(found, self._after(days, day), calls)
                exclusive = page.get("LastEvaluatedKey")
                if exclusive is None:
                    break
        return Listing(found, None, calls)

    @staticmethod
    def _after(days: Sequence[str], day: str) -> Position | None:
        later = days.index(day) + 1
        return Position(days[later]) if later < len(days) else None

    def _query_day(
        self,
        day: str,
        window: TimeRange,
        base: DynamoFilter,
        exclusive: Mapping[str, Any] | None,
        read_limit: int,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "IndexName": BY_DAY_INDEX,
            "KeyConditionExpression": "#day = :day AND #ts BETWEEN :start AND :end",
            "ExpressionAttributeNames": {"#day": DAY, "#ts": TIMESTAMP_KEY, **base.names},
            "ExpressionAttributeValues": {
                ":day": {"S": day},
                ":start": {"N": str(window.start)},
                ":end": {"N": str(window.end)},
                **base.values,
            },
            "ScanIndexForward": False,
            "Limit": read_limit,
        }
        if base.expression is not None:
            request["FilterExpression"] = base.expression
        if exclusive:
            request["ExclusiveStartKey"] = dict(exclusive)
        return dict(self.client.query(**request))

    def all_turns(self, window: TimeRange, turn_filter: TurnFilter, max_turns: int, max_calls: int) -> Iterator[Any]:
        """Every matching turn in the range, newest first, up to `max_turns` turns and `max_calls` reads."""
        position: Position | None = None
        seen = 0
        calls_left = max_calls
        while calls_left > 0:
            listing = self.list_turns(window, turn_filter, max_turns - seen, position, max_calls=calls_left)
            calls_left -= max(1, listing.reads)
            seen += len(listing.items)
            yield from listing.items
            if listing.next_position is None or seen >= max_turns:
                return
            position = listing.next_position

    def conversation(self, session_id: str) -> list[dict[str, Any]]:
        """The session's turns, oldest first (a Query on the table's hash key), at most MAX_CONVERSATION_TURNS."""
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#session = :session",
            "ExpressionAttributeNames": {"#session": SESSION_KEY},
            "ExpressionAttributeValues": {":session": {"S": session_id}},
            "ScanIndexForward": True,
        }
        while len(items) < MAX_CONVERSATION_TURNS:
            page = self.client.query(**request, Limit=MAX_CONVERSATION_TURNS - len(items))
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items


reader = QueryLogReader()
cursors = CursorSigner(lambda: settings().origin_secrets)


# --- routes -------------------------------------------------------------------------------------------------------

logger = Logger()
api = JsonApi(
    allowed_origins=lambda: settings().allowed_origins,
    origin_secrets=lambda: settings().origin_secrets,  # only requests CloudFront forwards are answered
)
app = api.app


def staff_claims(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The claims API Gateway's Cognito authorizer put in the event, or None when there are none (no authorizer ran
    or it let nothing through): a staff token always has a subject."""
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    claims = authorizer.get("claims") if isinstance(authorizer, Mapping) else None
    if isinstance(claims, str):  # some integrations pass the claims as a JSON string
        try:
            claims = json.loads(claims)
        except ValueError:
            return None
    if not isinstance(claims, Mapping) or not isinstance(claims.get("sub"), str) or not claims["sub"]:
        return None
    return dict(claims)


def require_staff(current: Any, next_middleware: NextMiddleware) -> Response:
    """Every route: no claims of a signed-in staff member, no answer (401) and no read."""
    if staff_claims(current.current_event.raw_event) is None:
        logger.warning("Refused an admin request without staff claims")
        reason = "sign in as staff: API Gateway's authorizer passed no claims"
        return error_response(
            HTTPStatus.UNAUTHORIZED, "Unauthorized", [FieldError(field="Authorization", reason=reason)]
        )
    return next_middleware(current)


app.use(middlewares=[require_staff])


@app.exception_handler(BadParameterError)
def _bad_parameter(exc: BadParameterError) -> Response:
    logger.info("Bad parameter", extra={"parameter": exc.parameter, "reason": exc.reason})
    return error_response(
        HTTPStatus.BAD_REQUEST, "Invalid request", [FieldError(field=exc.parameter, reason=exc.reason)]
    )


def _params() -> dict[str, str]:
    return dict(app.current_event.query_string_parameters or {})


def _now_ms() -> int:
    return int(time.time() * 1000)


@app.get(ADMIN_TURNS_ROUTE.path, summary="List turns", description="Turns in a time range, newest first, filtered.")
def list_turns() -> dict[str, Any]:
    """One page of turns and the cursor of the next (null: no more)."""
    params = _params()
    window = parse_time_range(params, now_ms=_now_ms())
    turn_filter = parse_filter(params)
    limit = parse_limit(params, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)
    fingerprint = turn_filter.fingerprint(window)
    raw_cursor = _text(params, "cursor")
    start = cursors.open(raw_cursor, fingerprint) if raw_cursor else None
    listing = reader.list_turns(window, turn_filter, limit, start)
    next_cursor = cursors.seal(listing.next_position, fingerprint) if listing.next_position else None
    return {"turns": [turn_view(item) for item in listing.items], "nextCursor": next_cursor}


@app.get(ADMIN_EXPORT_ROUTE.path, summary="Export turns as CSV", description="The filtered turns as a CSV file.")
def export_turns() -> Response[str]:
    """The filtered turns (at most MAX_EXPORT_ROWS, newest first) as a CSV download."""
    params = _params()
    window = parse_time_range(params, now_ms=_now_ms())
    turn_filter = parse_filter(params)
    turns = (
        turn_view(item) for item in reader.all_turns(window, turn_filter, MAX_EXPORT_ROWS, max_calls=MAX_EXPORT_CALLS)
    )
    text, truncated = csv_document(turns)
    name = f"query-log-{utc_day(window.start)}-to-{utc_day(window.end)}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"}
    if truncated:
        headers["X-Export-Truncated"] = "true"
    return Response(status_code=200, content_type="text/csv; charset=utf-8", body=text, headers=headers)


@app.get(
    ADMIN_CONVERSATION_ROUTE.path.replace("{sessionId}", "<sessionId>"),
    summary="One conversation",
    description="Every turn of one chat session, oldest first.",
)
def conversation(sessionId: str) -> dict[str, Any]:  # noqa: N803 - the route's wire name
    """The whole conversation of one session."""
    session_id = check_session_id(sessionId, "sessionId")
    return {"sessionId": session_id, "turns": [turn_view(item) for item in reader.conversation(session_id)]}


@app.get(ADMIN_UNANSWERED_ROUTE.path, summary="Top unanswered questions", description="Fallback turns, grouped.")
def unanswered() -> dict[str, Any]:
    """The questions the bot could not answer in the range, grouped by similar text, most asked first."""
    params = _params()
    window = parse_time_range(params, now_ms=_now_ms())
    limit = parse_limit(params, DEFAULT_GROUPS, MAX_GROUPS)
    fallback = TurnFilter(answer="fallback")
    turns = (turn_view(item) for item in reader.all_turns(window, fallback, MAX_ANALYSED_TURNS, MAX_ANALYSIS_CALLS))
    return {"questions": group_unanswered(turns, limit)}


@app.get(ADMIN_WORST_RATED_ROUTE.path, summary="Worst-rated answers", description="Down-voted answers, grouped.")
def worst_rated() -> dict[str, Any]:
    """The answers users voted down most in the range, with their up votes for scale."""
    params = _params()
    window = parse_time_range(params, now_ms=_now_ms())
    limit = parse_limit(params, DEFAULT_GROUPS, MAX_GROUPS)
    rated_only = TurnFilter(rated_only=True)
    rated = (turn_view(item) for item in reader.all_turns(window, rated_only, MAX_ANALYSED_TURNS, MAX_ANALYSIS_CALLS))
    return {"answers": group_worst_rated(rated, limit)}


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """API Gateway proxy entry point."""
    return api.handle(event, context)


# --- small helpers ------------------------------------------------------------------------------------------------


def _text(params: Mapping[str, str], name: str) -> str | None:
    value = params.get(name)
    return value.strip() or None if isinstance(value, str) else None


def _choice(params: Mapping[str, str], name: str, choices: Sequence[str], *, upper: bool = False) -> str | None:
    value = _text(params, name)
    if value is None:
        return None
    value = value.upper() if upper else value.lower()
    if value not in choices:
        raise BadParameterError(name, f"must be one of {', '.join(choices)}")
    return value


def _epoch_ms(params: Mapping[str, str], name: str, default: int) -> int:
    raw = _text(params, name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not MIN_EPOCH_MS <= int(raw) <= MAX_EPOCH_MS:
        raise BadParameterError(name, f"must be epoch milliseconds from {MIN_EPOCH_MS} to {MAX_EPOCH_MS}")
    return int(raw)


def _index_key(item: Mapping[str, Any]) -> dict[str, Any]:
    """The by-day index's ExclusiveStartKey for `item`: the index keys and the table keys."""
    return {name: item[name] for name in (DAY, TIMESTAMP_KEY, SESSION_KEY)}


def _plain(value: Mapping[str, Any]) -> Any:
    (kind, raw), *_ = value.items()
    if kind == "N":
        number = Decimal(raw)
        return int(number) if number == number.to_integral_value() else float(number)
    if kind in ("SS", "NS"):
        return sorted(raw)
    if kind == "BOOL":
        return bool(raw)
    if kind == "NULL":
        return None
    return raw


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not text or not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
