"""The escalation's data: what the page (or the bot) sends, what it gets back, and the ticket that is kept.

Decisions:
- Models are strict (no `false` read as `0`) and refuse unknown fields; wire names are camelCase
  (`EscalationRequest(sessionId=..., userQuery=..., userEmail=..., userName=...)`), attributes snake_case.
- The email address is checked with a pattern (no `email-validator`: it is not in the Powertools layer) and,
  like the name, can never carry CR/LF or other control characters: nothing the user typed reaches a mail
  header except the address, and only as Reply-To.
- `new_ticket` is pure: time and ids are arguments.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationInfo, field_validator

from chatbot_shared.wire import NO_CONTROL_PATTERN, EpochMs, SessionId, WireModel
from contracts.stack import MAX_BOT_TEXT_CHARS, MAX_EMAIL_CHARS, MAX_HISTORY_TURNS, MAX_USER_TEXT_CHARS

MAX_NAME_CHARS = 100
# WHATWG's valid-email pattern, with at least one dot in the domain; anchors are end-of-text in pydantic's regex
# engine, and the character classes exclude CR, LF and every other control character.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
# What a 422 says when a value does not match this module's own patterns (the common ones are in `wire`).
PATTERN_REASONS = {EMAIL_PATTERN: "must be an email address such as name@example.com"}

TicketStatus = Literal["queued", "sent"]


class Turn(WireModel):
    """One message of the conversation before the escalation."""

    role: Literal["user", "bot"] = Field(description="Who said it")
    text: StrictStr = Field(
        min_length=1, max_length=MAX_BOT_TEXT_CHARS, description=f"What was said (user: ≤{MAX_USER_TEXT_CHARS})"
    )
    timestamp: EpochMs | None = Field(default=None, description="When, in epoch milliseconds")

    @field_validator("text")
    @classmethod
    def _user_text_fits_lex(cls, text: str, info: ValidationInfo) -> str:
        if info.data.get("role") == "user" and len(text) > MAX_USER_TEXT_CHARS:
            raise ValueError(f"a user's message has at most {MAX_USER_TEXT_CHARS} characters")
        return text


class EscalationRequest(WireModel):
    """What the page (or the bot) sends to reach a human."""

    session_id: SessionId = Field(alias="sessionId", description="The chat's Lex session id")
    user_query: StrictStr = Field(
        alias="userQuery", min_length=1, max_length=MAX_USER_TEXT_CHARS, description="What the user needs"
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
        max_length=MAX_NAME_CHARS,
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


def new_ticket(request: EscalationRequest, *, now: float, ticket_id: str) -> Ticket:
    """A queued ticket for `request`, opened at `now` (epoch seconds)."""
    now_ms = int(now * 1000)
    return Ticket(ticket_id=ticket_id, status="queued", created_at=now_ms, updated_at=now_ms, request=request)
