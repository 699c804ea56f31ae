"""The stack contract: tables, keys, TTL attributes, function environments, API routes and limits.

A fact two sides of a seam must agree on lives here once: the component that makes a table and the handler
that writes it read the same `TableSchema`; the component that sets a function's environment and the handler
that reads it name the same `FunctionEnvironment`; the API's routes and the page's `/api` base path are the
same strings for API Gateway, CloudFront, the handlers, the local stack and the page's config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

# --- limits ---------------------------------------------------------------------------------------------------

MAX_USER_TEXT_CHARS = 1024  # Lex V2 RecognizeText accepts at most 1,024 characters of text
MAX_BOT_TEXT_CHARS = 4000  # a bot answer may be longer than what a user may type
MAX_HISTORY_TURNS = 50  # turns of conversation an escalation carries (and a ticket keeps: the most recent)
MAX_EMAIL_CHARS = 254  # RFC 5321 path limit
MAX_SESSION_ID_CHARS = 100  # Lex V2 session ids: 2 to 100 characters
SESSION_ID_PATTERN = r"^[A-Za-z0-9._:-]+$"  # Lex V2's sessionId alphabet
MIN_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z: nothing older is a real chat turn
MAX_EPOCH_MS = 4_102_444_800_000  # 2100-01-01T00:00:00Z
ORIGIN_PATTERN = re.compile(r"^https://[a-z0-9.-]+(:[0-9]{1,5})?$")  # an extra origin a stack may allow (CORS)
METRICS_NAMESPACE = "SupportChatbot"  # every function's Powertools metrics; alarms and dashboards read it
DEFAULT_TICKETS_PER_SESSION_PER_HOUR = 3  # tickets one chat session (and one reply address) may open per hour
TICKET_REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's: no 0/O, 1/I/L look-alikes, no U
TICKET_REFERENCE_PATTERN = r"^SUP-[2-9A-HJKMNP-TV-Z]{5}$"  # what users see and quote: `SUP-7KQ2M`

# --- tables ---------------------------------------------------------------------------------------------------

AttributeType = Literal["S", "N", "B"]
StreamViewType = Literal["KEYS_ONLY", "NEW_IMAGE", "OLD_IMAGE", "NEW_AND_OLD_IMAGES"]


@dataclass(frozen=True)
class KeyAttribute:
    """One key attribute of a DynamoDB table: its name and type."""

    name: str
    type: AttributeType


@dataclass(frozen=True)
class TableSchema:
    """What a table's owner creates and its readers and writers rely on: keys, TTL and typed attributes."""

    hash_key: KeyAttribute
    range_key: KeyAttribute | None = None
    ttl_attribute: str | None = None
    """The epoch-seconds attribute DynamoDB's TTL expires rows by; None: rows are kept."""
    number_attributes: tuple[str, ...] = ()
    """Non-key attributes stored as DynamoDB numbers (everything else a writer sends is a string)."""
    stream_view_type: StreamViewType | None = None
    """What the table's DynamoDB stream carries of each change; None: no stream."""

    @property
    def keys(self) -> tuple[KeyAttribute, ...]:
        """The key attributes, hash first."""
        return (self.hash_key,) if self.range_key is None else (self.hash_key, self.range_key)


QUERY_LOG_TABLE = TableSchema(
    hash_key=KeyAttribute("sessionId", "S"),
    range_key=KeyAttribute("timestamp", "N"),
    ttl_attribute="expiresAt",
    number_attributes=("confidenceScore",),
)
"""`ChatbotUserQueries`: one row per conversation turn, keyed by session and epoch-ms timestamp."""
QUERY_LOG_TABLE_PREFIX = "ChatbotUserQueries"

TICKETS_TABLE = TableSchema(
    hash_key=KeyAttribute("ticketId", "S"),
    number_attributes=("createdAt", "updatedAt", "claimedUntil", "sentAt", "transcriptOmitted"),
    stream_view_type="KEYS_ONLY",
)
"""Escalation tickets: the record of what users asked the team. No TTL: they are kept. Its stream (keys only: no
user text leaves the table) carries each new ticket to the forwarder, which queues it for the sender."""

IDEMPOTENCY_TABLE = TableSchema(hash_key=KeyAttribute("id", "S"), ttl_attribute="expiration")
"""Short-lived bookkeeping of ticket openers, expired by TTL: the ticket-limit counters (`id` = `ticket-limit#...`,
`count`, `expiration`). It held Powertools idempotency records before a ticket's own conditional write became
the idempotency record; the name is kept so deployed stacks keep the table."""

CUSTOMERS_TABLE = TableSchema(hash_key=KeyAttribute("CustomerId", "S"), number_attributes=("AccountBalance",))
"""Customers the bot answers about: CustomerId, Name, Email, LastOrderId, LastOrderStatus, AccountBalance."""

# --- the API --------------------------------------------------------------------------------------------------

API_BASE_PATH = "/api"  # where the page reaches the API on its own origin (CloudFront and the local stack)
API_STAGE = "live"


@dataclass(frozen=True)
class Route:
    """One route of the REST API: its path (below the base path), method and the function that answers it."""

    path: str
    method: str
    function: str
    """The folder under `functions/` whose handler serves the route."""


ORIGIN_SECRET_HEADER = "X-Origin-Verify"  # noqa: S105 - a header name; the secret is its value
"""The header CloudFront adds to every request it forwards to the REST API, holding a secret only it and the API know
(`ORIGIN_SECRETS`): the API refuses a request without it, so its own execute-api URL is no way around the edge (WAF,
rate limits). CloudFront overwrites a header of that name sent by a viewer; so does the local stack."""

ESCALATE_ROUTE = Route("/escalate", "POST", "escalate")
STORE_QUERY_ROUTE = Route("/store-query", "POST", "store_query")
FEEDBACK_ROUTE = Route("/feedback", "POST", "store_query")
"""The user's thumbs up/down on one answer: updates the rating of an existing query-log row (the query log's writer
serves it)."""
PUBLIC_ROUTES = (ESCALATE_ROUTE, STORE_QUERY_ROUTE, FEEDBACK_ROUTE)
"""The routes the page calls, with no sign-in."""

ADMIN_BASE_PATH = "/admin"
ADMIN_TURNS_ROUTE = Route("/admin/turns", "GET", "admin_api")
ADMIN_EXPORT_ROUTE = Route("/admin/export", "GET", "admin_api")
ADMIN_CONVERSATION_ROUTE = Route("/admin/conversations/{sessionId}", "GET", "admin_api")
ADMIN_UNANSWERED_ROUTE = Route("/admin/unanswered", "GET", "admin_api")
ADMIN_WORST_RATED_ROUTE = Route("/admin/worst-rated", "GET", "admin_api")
ADMIN_ROUTES = (
    ADMIN_TURNS_ROUTE,
    ADMIN_EXPORT_ROUTE,
    ADMIN_CONVERSATION_ROUTE,
    ADMIN_UNANSWERED_ROUTE,
    ADMIN_WORST_RATED_ROUTE,
)
"""The staff's routes (under `/api/admin/`): only a request signed in to the staff user pool reaches them."""
STAFF_TOKEN_HEADER = "Authorization"  # noqa: S105 - a header name; the token is its value
"""The request header carrying a signed-in staff member's ID token on the admin routes, as `Bearer <JWT>` (the admin
page sends it so; API Gateway's Cognito authorizer takes it with or without the scheme, the local stack's stand-in
with it): the authorizer reads it before any function runs."""

# --- what each function reads from its environment ------------------------------------------------------------


@dataclass(frozen=True)
class EnvVar:
    """An environment variable a function reads: its name and whether the function can run without it."""

    name: str
    required: bool = True


QUERY_LOG_TABLE_NAME = EnvVar("QUERY_LOG_TABLE_NAME")
CONVERSATION_LOG_TABLE_NAME = EnvVar(QUERY_LOG_TABLE_NAME.name, required=False)
"""The query log, for a function that only looks a conversation up in it (the escalate function: a session with a
NEGATIVE turn opens a priority ticket); unset: it flags no ticket priority."""
QUERY_LOG_RETENTION_DAYS = EnvVar("QUERY_LOG_RETENTION_DAYS", required=False)
TICKETS_TABLE_NAME = EnvVar("TICKETS_TABLE_NAME")
IDEMPOTENCY_TABLE_NAME = EnvVar("IDEMPOTENCY_TABLE_NAME")
ESCALATION_QUEUE_URL = EnvVar("ESCALATION_QUEUE_URL")
TICKETS_PER_SESSION_PER_HOUR = EnvVar("TICKETS_PER_SESSION_PER_HOUR")
"""Tickets one chat session, and one reply address, may open per clock hour (a whole number, at least 1)."""
SENDER_ADDRESS = EnvVar("SENDER_ADDRESS")
SES_CONFIGURATION_SET = EnvVar("SES_CONFIGURATION_SET")
"""The SES configuration set escalation emails go through (its events report bounces and complaints)."""
RECIPIENTS = EnvVar("RECIPIENTS")
"""A JSON list of the support team's addresses."""
CUSTOMERS_TABLE_NAME = EnvVar("CUSTOMERS_TABLE_NAME")
ALLOWED_ORIGINS = EnvVar("ALLOWED_ORIGINS", required=False)
"""A JSON list of the extra https origins answered with CORS headers; unset: none."""
ORIGIN_SECRETS = EnvVar("ORIGIN_SECRETS")
"""A JSON list of the values of `ORIGIN_SECRET_HEADER` the API accepts: the one CloudFront sends and the one it sent
before the last rotation (its edges take minutes to change). Required: an API function without it refuses everything."""
KNOWLEDGE_BASE_ID = EnvVar("KNOWLEDGE_BASE_ID")
"""The Amazon Bedrock knowledge base whose documents changed (its 10-character id)."""
KNOWLEDGE_DATA_SOURCE_ID = EnvVar("KNOWLEDGE_DATA_SOURCE_ID")
"""The knowledge base's data source over the documents bucket: the one an ingestion job syncs."""
BOT_CONTENT_PATH = EnvVar("BOT_CONTENT_PATH", required=False)
"""Where the fulfillment function reads `bot_content.json` instead of from its own package (local stack, tests)."""

OPEN_TICKETS = (TICKETS_TABLE_NAME, IDEMPOTENCY_TABLE_NAME, TICKETS_PER_SESSION_PER_HOUR)
"""What a function that opens escalation tickets reads (the escalate function and the bot's code hook). Opening a
ticket is one conditional write to the tickets table; the table's stream queues it, so openers need no queue."""

FUNCTION_ENVIRONMENT: dict[str, tuple[EnvVar, ...]] = {
    "store_query": (QUERY_LOG_TABLE_NAME, QUERY_LOG_RETENTION_DAYS, ALLOWED_ORIGINS, ORIGIN_SECRETS),
    "escalate": (*OPEN_TICKETS, ALLOWED_ORIGINS, ORIGIN_SECRETS, CONVERSATION_LOG_TABLE_NAME),
    "forward_tickets": (ESCALATION_QUEUE_URL,),
    "send_escalation": (TICKETS_TABLE_NAME, ESCALATION_QUEUE_URL, SENDER_ADDRESS, RECIPIENTS, SES_CONFIGURATION_SET),
    "fulfillment": (CUSTOMERS_TABLE_NAME, *OPEN_TICKETS, QUERY_LOG_TABLE_NAME),
    "admin_api": (QUERY_LOG_TABLE_NAME, ALLOWED_ORIGINS, ORIGIN_SECRETS),
    "start_ingestion": (KNOWLEDGE_BASE_ID, KNOWLEDGE_DATA_SOURCE_ID),
}
"""Every function (its folder under `functions/`) and the variables it reads. Components set exactly these."""

CLOUD_ONLY_FUNCTIONS = frozenset({"start_ingestion"})
"""Functions only the cloud runs, so the local stack provides no stand-ins for what they read: `start_ingestion`
syncs the Bedrock knowledge base when its S3 documents change; the local stack indexes `knowledge/` itself."""

LOCAL_ONLY_ENVIRONMENT: dict[str, tuple[EnvVar, ...]] = {"fulfillment": (BOT_CONTENT_PATH,)}
"""Variables a function also reads that only the local stack and tests set: a component never sets these."""


def environment_names(function: str) -> frozenset[str]:
    """The names of the variables `function` reads."""
    return frozenset(var.name for var in FUNCTION_ENVIRONMENT[function])
