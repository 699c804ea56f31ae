"""What support staff see on the local stack besides the admin page (`/admin/`): the outbox, the emails SES would
have sent.

Data comes from the stand-in itself: what moto's SES backend accepted (`local.moto_server` lists it); the query log
is read on the admin page, signed in, through the real admin API. Pages are plain HTML with every value escaped; an
email's HTML body is shown in a sandboxed iframe (`srcdoc`, no scripts) under a CSP that allows no script at all.
Each page is also available as JSON.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any

import boto3

STAFF_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_STYLE = " ".join(
    [
        "body{font:15px/1.45 system-ui,sans-serif;margin:0;padding:1.5rem;background:#f8fafc;color:#0f172a}",
        "h1{font-size:1.3rem;margin:0 0 .25rem} p.lead{margin:0 0 1.25rem;color:#475569} nav a{margin-right:1rem}",
        "article{background:#fff;border:1px solid #e2e8f0;border-radius:.6rem;padding:1rem;margin:0 0 1rem}",
        "dl{display:grid;grid-template-columns:max-content 1fr;gap:.2rem 1rem;margin:0 0 .75rem}",
        "dt{font-weight:600;color:#475569} dd{margin:0;overflow-wrap:anywhere}",
        "iframe{width:100%;height:22rem;border:1px solid #cbd5e1;border-radius:.4rem;background:#fff}",
        "table{border-collapse:collapse;width:100%;background:#fff} th{background:#f1f5f9} .empty{color:#64748b}",
        "th,td{border:1px solid #e2e8f0;padding:.4rem .5rem;text-align:left;vertical-align:top;overflow-wrap:anywhere}",
    ]
)


@dataclass(frozen=True)
class OutboxEmail:
    """One email SES accepted."""

    message_id: str
    sender: str
    to: list[str]
    cc: list[str]
    reply_to: list[str]
    subject: str
    html: str
    text: str


class ReplyToRecorder:
    """Notes the Reply-To addresses of each SES SendEmail call made through boto3's default session.

    moto's SES keeps no Reply-To for simple sends (SendEmail, SESv2 `Simple` content); the outbox takes them
    from the calls themselves: botocore events on the default session reach every client made from it later.
    The sends happen in the functions' execution environments (processes of their own): each environment
    records its own and drains them into its answers; the stack merges them into its recorder.
    """

    _EVENTS = (("ses", "SendEmail", "ReplyToAddresses"), ("sesv2", "SendEmail", "ReplyToAddresses"))

    def __init__(self) -> None:
        self._by_message_id: dict[str, list[str]] = {}
        self._session: Any = None

    def install(self) -> None:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        self._session = boto3.DEFAULT_SESSION
        for service, operation, _ in self._EVENTS:
            self._session.events.register(f"provide-client-params.{service}.{operation}", self._note_params)
            self._session.events.register(f"after-call.{service}.{operation}", self._note_message_id)

    def uninstall(self) -> None:
        if self._session is not None:
            for service, operation, _ in self._EVENTS:
                self._session.events.unregister(f"provide-client-params.{service}.{operation}", self._note_params)
                self._session.events.unregister(f"after-call.{service}.{operation}", self._note_message_id)

    def reply_to(self, message_id: str) -> list[str]:
        return list(self._by_message_id.get(message_id, []))

    def drain(self) -> dict[str, list[str]]:
        """The addresses noted since the last drain, by message id (a Lambda environment hands them to the stack)."""
        noted, self._by_message_id = self._by_message_id, {}
        return noted

    def merge(self, noted: Mapping[str, list[str]]) -> None:
        """Take addresses noted elsewhere (in a function's execution environment), by message id."""
        self._by_message_id.update({str(key): [str(a) for a in value] for key, value in noted.items()})

    @staticmethod
    def _note_params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["local_reply_to"] = [str(address) for address in params.get("ReplyToAddresses") or []]

    def _note_message_id(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        message_id = parsed.get("MessageId")
        if message_id and context.get("local_reply_to"):
            self._by_message_id[str(message_id)] = context["local_reply_to"]


def outbox(moto_url: str, recorder: ReplyToRecorder | None = None) -> list[OutboxEmail]:
    """Every email the SES stand-in accepted (SES v1 and v2), newest first, from the moto server at `moto_url`."""
    from local.moto_server import SENT_PATH

    with urllib.request.urlopen(moto_url + SENT_PATH, timeout=10) as answer:
        sent = json.loads(answer.read())["messages"]
    return [_email(message, recorder) for message in reversed(sent)]


def _email(message: dict[str, Any], recorder: ReplyToRecorder | None) -> OutboxEmail:
    if message.get("raw") is not None:
        return _raw_email(message["id"], message["source"], message["raw"])
    destinations = message.get("destinations") or {}
    body = str(message.get("body") or "")
    looks_html = "<" in body and ">" in body
    return OutboxEmail(
        message_id=message["id"],
        sender=message["source"],
        to=list(destinations.get("ToAddresses", [])),
        cc=list(destinations.get("CcAddresses", [])),
        reply_to=recorder.reply_to(message["id"]) if recorder else [],  # moto keeps none for simple sends
        subject=str(message.get("subject") or ""),
        html=body if looks_html else "",
        text="" if looks_html else body,
    )


def _raw_email(message_id: str, source: str, raw: str) -> OutboxEmail:
    parsed = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    html_part = parsed.get_body(preferencelist=("html",))
    text_part = parsed.get_body(preferencelist=("plain",))
    return OutboxEmail(
        message_id=message_id,
        sender=str(parsed.get("From", source)),
        to=_addresses(parsed, "To"),
        cc=_addresses(parsed, "Cc"),
        reply_to=_addresses(parsed, "Reply-To"),
        subject=str(parsed.get("Subject", "")),
        html=html_part.get_content() if isinstance(html_part, EmailMessage) else "",
        text=text_part.get_content() if isinstance(text_part, EmailMessage) else "",
    )


def _addresses(message: EmailMessage, header: str) -> list[str]:
    value = message.get(header)
    return [str(address) for address in getattr(value, "addresses", ())] if value else []


# --- pages ----------------------------------------------------------------------------------------------------


def outbox_json(emails: list[OutboxEmail]) -> str:
    return json.dumps({"emails": [asdict(item) for item in emails]}, indent=1)


def outbox_html(emails: list[OutboxEmail]) -> str:
    items = "".join(_email_article(item) for item in emails) or '<p class="empty">No email sent yet.</p>'
    return _page(
        "Outbox",
        "Escalation emails the SES stand-in accepted, newest first. Reload to see new ones.",
        items,
    )


def _email_article(item: OutboxEmail) -> str:
    esc = html.escape
    body = item.html or f"<pre>{esc(item.text)}</pre>"
    fields = [
        ("From", item.sender),
        ("To", ", ".join(item.to)),
        ("Cc", ", ".join(item.cc)),
        ("Reply-To", ", ".join(item.reply_to) or "(not recorded)"),
        ("Subject", item.subject),
        ("Message id", item.message_id),
    ]
    rows = "".join(f"<dt>{esc(name)}</dt><dd>{esc(value)}</dd>" for name, value in fields if value)
    return (
        f'<article aria-label="{esc(item.subject, quote=True)}"><dl>{rows}</dl>'
        f'<iframe sandbox="" referrerpolicy="no-referrer" title="Email body: {esc(item.subject, quote=True)}" '
        f'srcdoc="{esc(body, quote=True)}"></iframe></article>'
    )


def index_html() -> str:
    return _page("Local stack", "Pages for support staff on this machine.", "")


def _page(title: str, lead: str, content: str) -> str:
    esc = html.escape
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)} - support chatbot (local)</title><style>{_STYLE}</style></head><body>"
        '<nav aria-label="Staff pages"><a href="/">Chat</a><a href="/_local/outbox">Outbox</a>'
        '<a href="/admin/">Query log (admin, sign-in)</a></nav>'
        f'<h1>{esc(title)}</h1><p class="lead">{esc(lead)}</p><main>{content}</main></body></html>'
    )
