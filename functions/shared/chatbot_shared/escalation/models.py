"""The escalation's data: what the page (or the bot) sends, what it gets back, and the ticket that is kept.

Decisions:
- Models are strict (no `false` read as `0`) and refuse unknown fields; wire names are camelCase
  (`EscalationRequest(sessionId=..., userQuery=..., userEmail=..., userName=...)`), attributes snake_case.
- The email address is checked with a pattern (no `email-validator`: it is not in the Powertools layer) and,
  like the name, can never carry CR/LF or other control characters: nothing the user typed reaches a mail
  header except the address, and only as Reply-To.
- Every free text is refused (422 naming the field) when it holds a character that queues and mail cannot carry:
  SQS accepts only #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF, and a lone surrogate is not
  even UTF-8. (The queue message carries only the ticket id anyway.)
- A submission is identified by everything in it (`submission_fingerprint`): the same request again is the same
  ticket, a changed one (a corrected address, another question) a new ticket. The page adds an `idempotencyKey`
  per submission it means, and retries with the same one.
- The reference users see is the ticket id: `SUP-` and five characters of an alphabet without look-alikes,
  derived from the fingerprint (`ticket_reference`), so a retry of one submission finds its own ticket.
- A ticket keeps at most `MAX_HISTORY_TURNS` turns and `MAX_TRANSCRIPT_CHARS` characters of conversation, the
  most recent (`cap_transcript`).
- A ticket from a conversation with a turn Lex found NEGATIVE is flagged `priority` (the query log's `sentiment`);
  the flag is the opener's finding, not part of the submission, so it is no part of the fingerprint.
- `new_ticket` is pure: time and ids are arguments.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationInfo, field_validator

from chatbot_shared.wire import NO_CONTROL_PATTERN, EpochMs, SessionId, WireInt, WireModel
from contracts.stack import (
    MAX_BOT_TEXT_CHARS,
    MAX_EMAIL_CHARS,
    MAX_EPOCH_MS,
    MAX_HISTORY_TURNS,
    MAX_USER_TEXT_CHARS,
    MIN_EPOCH_MS,
    TICKET_REFERENCE_ALPHABET,
)

MAX_NAME_CHARS = 100
MAX_TRANSCRIPT_CHARS = 12_000  # a readable email; 50 turns of 4-byte characters would not fit a 400 KB item
REFERENCE_PREFIX = "SUP-"
REFERENCE_LENGTH = 5  # 30**5 = 24.3 million references; a taken one moves the ticket to the next candidate
# WHATWG's valid-email pattern, with at least one dot in the domain; anchors are end-of-text in pydantic's regex
# engine, and the character classes exclude CR, LF and every other control character.
EMAIL_PATTERN = (
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}"
    r"@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)
IDEMPOTENCY_KEY_PATTERN = r"^[A-Za-z0-9_-]+$"
# What a 422 says when a value does not match this module's own patterns (the common ones are in `wire`).
PATTERN_REASONS = {
    EMAIL_PATTERN: "must be an email address such as name@example.com",
    IDEMPOTENCY_KEY_PATTERN: "may contain only letters, digits, '-' and '_' (a UUID, for example)",
}
# Everything SQS refuses in a message (and that mail cannot carry either): the complement of what it accepts.
UNSENDABLE = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

TicketStatus = Literal["queued", "sending", "sent"]
Channel = Literal["page", "bot"]
"""Where a ticket was opened: the page's form (`POST /escalate`) or the bot's own TalkToHuman dialogue."""


def sendable(text: str) -> str:
    """`text`, unless it holds a character queues and mail cannot carry (ValueError naming it and where)."""
    found = UNSENDABLE.search(text)
    if found is not None:
        raise ValueError(
            f"must not contain U+{ord(found.group()):04X} (at position {found.start()}): "
            "a character email and queues cannot carry"
        )
    return text


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
        return sendable(text)

    @classmethod
    def from_log(cls, role: Literal["user", "bot"], text: str, timestamp: int | None = None) -> Turn | None:
        """A turn from a stored record (the query log), made to fit: text cut to the role's limit, characters
        mail cannot carry replaced by U+FFFD, an implausible timestamp dropped; None when there is no text."""
        clean = UNSENDABLE.sub("\ufffd", text).strip()
        if not clean:
            return None
        limit = MAX_USER_TEXT_CHARS if role == "user" else MAX_BOT_TEXT_CHARS
        clipped = clean if len(clean) <= limit else clean[: limit - 1] + "…"
        when = timestamp if isinstance(timestamp, int) and MIN_EPOCH_MS <= timestamp <= MAX_EPOCH_MS else None
        return cls(role=role, text=clipped, timestamp=when)


class EscalationRequest(WireModel):
    """What the page (or the bot) sends to reach a human."""

    session_id: SessionId = Field(alias="sessionId", description="The chat's Lex session id")
    user_query: StrictStr = Field(
        alias="userQuery",
        min_length=1,
        max_length=MAX_USER_TEXT_CHARS,
        description="What the user needs: the question the bot could not answer",
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
    omitted_turns: WireInt = Field(
        alias="omittedTurns",
        default=0,
        ge=0,
        le=100_000,
        description="Earlier turns of the chat left out of conversationHistory (the ticket's email says so)",
    )
    idempotency_key: StrictStr | None = Field(
        alias="idempotencyKey",
        default=None,
        min_length=8,
        max_length=64,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description="Made by the client once per submission it means (a UUID) and sent again with every retry of "
        "that submission: the same key and fields answer the same ticket. Without it, the fields alone decide.",
    )

    @field_validator("user_query", "user_name")
    @classmethod
    def _sendable(cls, text: str) -> str:
        return sendable(text)


class TicketReceipt(WireModel):
    """What the caller learns: the ticket's reference and where it stands."""

    ticket_id: StrictStr = Field(alias="ticketId", description="The reference users quote, e.g. SUP-7KQ2M")
    status: TicketStatus


class Ticket(BaseModel):
    """An escalation as recorded in the tickets table."""

    model_config = ConfigDict(frozen=True)

    ticket_id: str
    status: TicketStatus
    created_at: int  # epoch ms
    updated_at: int  # epoch ms
    request: EscalationRequest
    """What was submitted, with the conversation capped (`cap_transcript`)."""
    channel: Channel = "page"
    fingerprint: str = ""
    """`submission_fingerprint` of what was submitted (tickets older than fingerprints have none)."""
    transcript_omitted: int = 0
    """Earlier turns of the conversation left out (by the sender of the request, and by the cap)."""
    ses_message_id: str | None = None
    """SES's id for the email, once it was sent: bounce and complaint events name it."""
    priority: bool = False
    """The conversation had a turn Lex found NEGATIVE: a frustrated user, answered first ("[Priority]" in the
    email's subject)."""


@dataclass(frozen=True)
class Transcript:
    """The conversation a ticket keeps: the most recent turns that fit, and how many earlier ones were left out."""

    turns: tuple[Turn, ...]
    omitted: int


def cap_transcript(
    turns: Sequence[Turn], *, max_turns: int = MAX_HISTORY_TURNS, max_chars: int = MAX_TRANSCRIPT_CHARS
) -> Transcript:
    """The most recent turns, oldest first, of at most `max_turns` turns and `max_chars` characters of text.

    Whole turns only: a turn is at most `MAX_BOT_TEXT_CHARS` long, so with the default budget the last three
    always fit. Use it on a conversation read from the query log before building an `EscalationRequest`."""
    kept: list[Turn] = []
    used = 0
    for turn in reversed(turns):
        if len(kept) == max_turns or used + len(turn.text) > max_chars:
            break
        kept.append(turn)
        used += len(turn.text)
    kept.reverse()
    return Transcript(turns=tuple(kept), omitted=len(turns) - len(kept))


def bot_escalation(
    *,
    session_id: str,
    unanswered_question: str,
    user_email: str,
    user_name: str,
    turns: Sequence[Turn] = (),
    idempotency_key: str | None = None,
) -> EscalationRequest:
    """The request the bot's TalkToHuman dialogue opens a ticket with: the question the bot could not answer (cut
    to Lex's limit) and the conversation so far (capped, the left-out turns counted). A ValidationError names a
    refused field."""
    transcript = cap_transcript(turns)
    return EscalationRequest(
        sessionId=session_id,
        userQuery=unanswered_question.strip()[:MAX_USER_TEXT_CHARS],
        userEmail=user_email,
        userName=user_name,
        conversationHistory=list(transcript.turns),
        omittedTurns=transcript.omitted,
        idempotencyKey=idempotency_key,
    )


def submission_fingerprint(request: EscalationRequest, channel: Channel) -> str:
    """What identifies one submission: a SHA-256 over every field of `request` (and where it came from)."""
    canonical = json.dumps(
        request.model_dump(mode="json", exclude_none=True), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(f"{channel}\n{canonical}".encode()).hexdigest()


def ticket_reference(fingerprint: str, attempt: int) -> str:
    """The `attempt`-th candidate reference (`SUP-7KQ2M`) for a submission: the same fingerprint always gives the
    same candidates, so a retry finds the ticket its first attempt opened."""
    number = int.from_bytes(hashlib.sha256(f"{fingerprint}:{attempt}".encode()).digest()[:8], "big")
    characters = []
    for _ in range(REFERENCE_LENGTH):
        number, digit = divmod(number, len(TICKET_REFERENCE_ALPHABET))
        characters.append(TICKET_REFERENCE_ALPHABET[digit])
    return REFERENCE_PREFIX + "".join(characters)


def new_ticket(
    request: EscalationRequest,
    *,
    now: float,
    ticket_id: str,
    channel: Channel = "page",
    fingerprint: str = "",
    priority: bool = False,
) -> Ticket:
    """A queued ticket for `request`, opened at `now` (epoch seconds), its conversation capped; `priority` when its
    conversation had a negative turn."""
    now_ms = int(now * 1000)
    transcript = cap_transcript(request.conversation_history)
    kept = request.model_copy(update={"conversation_history": list(transcript.turns), "omitted_turns": 0})
    return Ticket(
        ticket_id=ticket_id,
        status="queued",
        created_at=now_ms,
        updated_at=now_ms,
        request=kept,
        channel=channel,
        fingerprint=fingerprint,
        transcript_omitted=request.omitted_turns + transcript.omitted,
        priority=priority,
    )
