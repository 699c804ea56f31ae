"""The custom metrics: each one's name and dimensions, written once for the functions that emit them and for the
dashboard and alarms that read them.

Every function records its metrics with Powertools Metrics (CloudWatch embedded metric format) in the namespace
`contracts.stack.METRICS_NAMESPACE`. Powertools adds one dimension to each: `service`, the function's
`POWERTOOLS_SERVICE_NAME`, which every deployed function gets set to its folder under `functions/` (the component
`python_function` does so). So a metric is its name plus the function that emits it; a dashboard or alarm that
names another dimension, or none, reads a metric nobody writes. Tests capture the functions' real EMF output and
compare it with these.
"""

from __future__ import annotations

from dataclasses import dataclass

SERVICE_DIMENSION = "service"
"""The dimension Powertools Metrics adds to every metric: the emitting function's service name."""


@dataclass(frozen=True)
class FunctionMetric:
    """A count one function emits: its metric name and the function (its folder under `functions/`)."""

    name: str
    function: str
    description: str

    @property
    def dimensions(self) -> dict[str, str]:
        """The metric's dimensions exactly as the function's EMF output carries them."""
        return {SERVICE_DIMENSION: self.function}


# --- conversation turns: the store-query function counts each turn it stores (a repeat counts nothing) ---------

TURNS = FunctionMetric("Turns", "store_query", "Conversation turns stored in the query log")
FALLBACK_TURNS = FunctionMetric("FallbackTurns", "store_query", "Turns the bot answered with its fallback")
KNOWLEDGE_BASE_TURNS = FunctionMetric(
    "KnowledgeBaseTurns", "store_query", "Turns answered from the knowledge base (QnAIntent)"
)
NEGATIVE_SENTIMENT_TURNS = FunctionMetric(
    "NegativeSentimentTurns", "store_query", "Turns whose user text Lex found NEGATIVE"
)
TURN_METRICS = (TURNS, FALLBACK_TURNS, KNOWLEDGE_BASE_TURNS, NEGATIVE_SENTIMENT_TURNS)
"""What each newly stored turn emits: TURNS = 1 and each of the others 1 or 0, so every period that has turns has a
value of each (a rate never divides by a missing numerator)."""
CONVERSATION_PROPERTY = "sessionId"
"""A property (not a dimension: one per chat would be a metric per chat) of the TURNS record, so a Logs Insights
query over the store-query function's log counts conversations as distinct sessions."""

# --- feedback: the store-query function's feedback route, once per vote that changed the rating ---------------

THUMBS_UP = FunctionMetric("ThumbsUp", "store_query", "Answers rated thumbs-up (a vote changed to up counts again)")
THUMBS_DOWN = FunctionMetric(
    "ThumbsDown", "store_query", "Answers rated thumbs-down (a vote changed to down counts again)"
)
RATING_METRICS = {"up": THUMBS_UP, "down": THUMBS_DOWN}

# --- escalations: emitted before issue 12 by the functions below; named here so readers use the same strings ----

ESCALATIONS_FROM_PAGE = FunctionMetric("EscalationAccepted", "escalate", "Escalations the page's form opened (202)")
ESCALATIONS_FROM_BOT = FunctionMetric("TicketOpenedByBot", "fulfillment", "Tickets the bot's TalkToHuman opened")
PRIORITY_ESCALATIONS_FROM_PAGE = FunctionMetric(
    "PriorityEscalationAccepted", "escalate", "Escalations from the page flagged priority (a negative conversation)"
)
PRIORITY_ESCALATIONS_FROM_BOT = FunctionMetric(
    "PriorityTicketOpenedByBot", "fulfillment", "Tickets the bot opened flagged priority (a negative conversation)"
)
ESCALATIONS_SENT = FunctionMetric("EscalationEmailSent", "send_escalation", "Escalation emails SES accepted")
ESCALATION_SEND_FAILURES = FunctionMetric(
    "EscalationSendFailed", "send_escalation", "Escalation messages whose send failed (retried from the queue)"
)

ALL_METRICS = (
    *TURN_METRICS,
    THUMBS_UP,
    THUMBS_DOWN,
    ESCALATIONS_FROM_PAGE,
    ESCALATIONS_FROM_BOT,
    PRIORITY_ESCALATIONS_FROM_PAGE,
    PRIORITY_ESCALATIONS_FROM_BOT,
    ESCALATIONS_SENT,
    ESCALATION_SEND_FAILURES,
)
"""Every custom metric the dashboard or an alarm reads."""
