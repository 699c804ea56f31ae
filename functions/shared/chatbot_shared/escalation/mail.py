"""The email the support team receives for a ticket: pure rendering, no AWS.

Every user-supplied value is escaped in the HTML part; the subject carries the ticket id and fixed text only,
so nothing the user typed reaches a mail header (the sender adds the user's address only as Reply-To). A priority
ticket (its conversation had a turn Lex found negative) starts the subject with PRIORITY_PREFIX, so the team's mail
rules and eyes find it first, and says why in the body.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from chatbot_shared.escalation.models import Ticket

SPEAKERS = {"user": "User", "bot": "Bot"}
PRIORITY_PREFIX = "[Priority] "
PRIORITY_NOTE = "Priority: the user sounded frustrated (a message in the conversation read as negative)."
CHANNELS = {"page": "the chat page's form", "bot": "the chat (the bot's handover)"}


class EscalationEmail(BaseModel):
    """The email the support team receives."""

    model_config = ConfigDict(frozen=True)

    subject: str
    html: str
    text: str


def render_email(ticket: Ticket) -> EscalationEmail:
    """The support team's email for `ticket`: every user-supplied value escaped in HTML; subject without user text."""
    subject = f"Chatbot escalation {ticket.ticket_id}: a user needs human support"
    if ticket.priority:
        subject = PRIORITY_PREFIX + subject
    return EscalationEmail(subject=subject, html=_html_body(ticket), text=_text_body(ticket))


def _when(epoch_ms: int | None) -> str:
    if epoch_ms is None:
        return "time unknown"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _html_body(ticket: Ticket) -> str:
    request = ticket.request
    esc = html.escape  # escapes &, <, >, " and '
    rows = "\n".join(
        f'<tr><td style="padding:4px 8px;vertical-align:top"><strong>{SPEAKERS[turn.role]}</strong></td>'
        f'<td style="padding:4px 8px;vertical-align:top;color:#555">{esc(_when(turn.timestamp))}</td>'
        f'<td style="padding:4px 8px;white-space:pre-wrap">{esc(turn.text)}</td></tr>'
        for turn in request.conversation_history
    )
    history_html = (
        f'<table style="border-collapse:collapse">\n{rows}\n</table>' if rows else "<p>(no conversation recorded)</p>"
    )
    if ticket.transcript_omitted:
        history_html = f"<p>({_omitted(ticket)})</p>\n{history_html}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Escalation {esc(ticket.ticket_id)}</title></head>
<body style="font-family:sans-serif">
<h2>A user asked for human support</h2>
{_priority_html(ticket)}<p><strong>Ticket:</strong> {esc(ticket.ticket_id)}<br>
<strong>Opened:</strong> {esc(_when(ticket.created_at))} from {esc(CHANNELS[ticket.channel])}<br>
<strong>Session:</strong> {esc(request.session_id)}<br>
<strong>Name:</strong> {esc(request.user_name)}<br>
<strong>Email:</strong> {esc(request.user_email)} (reply to this message to answer)</p>
<h3>{esc(_question_heading(ticket))}</h3>
<p style="white-space:pre-wrap">{esc(request.user_query)}</p>
<h3>Conversation</h3>
{history_html}
</body></html>
"""


def _text_body(ticket: Ticket) -> str:
    request = ticket.request
    history_text = "\n".join(
        f"[{_when(turn.timestamp)}] {SPEAKERS[turn.role]}: {turn.text}" for turn in request.conversation_history
    )
    if ticket.transcript_omitted:
        history_text = f"({_omitted(ticket)})\n{history_text}"
    return (
        f"A user asked for human support.\n\n{PRIORITY_NOTE + chr(10) * 2 if ticket.priority else ''}"
        f"Ticket: {ticket.ticket_id}\nOpened: {_when(ticket.created_at)} from {CHANNELS[ticket.channel]}\n"
        f"Session: {request.session_id}\n"
        f"Name: {request.user_name}\nEmail: {request.user_email} (reply to this message to answer)\n\n"
        f"{_question_heading(ticket)}:\n{request.user_query}\n\n"
        f"Conversation:\n{history_text or '(no conversation recorded)'}\n"
    )


def _priority_html(ticket: Ticket) -> str:
    return f"<p><strong>{html.escape(PRIORITY_NOTE)}</strong></p>\n" if ticket.priority else ""


def _question_heading(ticket: Ticket) -> str:
    return "Question the bot could not answer" if ticket.channel == "bot" else "Question"


def _omitted(ticket: Ticket) -> str:
    count = ticket.transcript_omitted
    return f"{count} earlier message{'s' if count != 1 else ''} not included"
