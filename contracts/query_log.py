"""The query log's row: the attribute names every writer and reader of a turn shares.

Writers: the store-query function (a turn), the feedback route (its rating). Readers: the fulfillment function (the
conversation in a ticket), the admin API and the local staff pages. The keys and TTL are in `contracts.stack`
(QUERY_LOG_TABLE).
"""

from __future__ import annotations

from typing import Final, Literal

USER_QUERY: Final = "userQuery"
BOT_RESPONSE: Final = "botResponse"
CONFIDENCE_SCORE: Final = "confidenceScore"
INTENT_NAME: Final = "intentName"
SENTIMENT: Final = "sentiment"
"""Lex's sentiment of the user's text (POSITIVE, NEGATIVE, NEUTRAL, MIXED) when the locale analyses it."""
ANSWER_SOURCES: Final = "answerSources"
"""The knowledge-base document URIs the answer came from (a string set); absent when no document answered."""
RATING: Final = "rating"
"""The user's rating of the answer: one of RATINGS; absent until the user rates it."""
RATING_REASON: Final = "ratingReason"
RATED_AT: Final = "ratedAt"
"""When the user last rated the answer, in epoch milliseconds."""

Rating = Literal["up", "down"]
RATINGS: Final[tuple[Rating, ...]] = ("up", "down")
MAX_RATING_REASON_CHARS: Final = 200
FALLBACK_INTENT_NAME: Final = "FallbackIntent"

DAY: Final = "day"
"""The UTC day of the turn ("YYYY-MM-DD"), written with every row: the partition key of BY_DAY_INDEX."""
BY_DAY_INDEX: Final = "byDay"
"""The query log's global secondary index (hash DAY, range the table's timestamp, all attributes projected): staff
list turns by time range one day-partition at a time, never by scanning the table."""
