"""A conversation with a turn Lex found NEGATIVE makes its escalation a priority ticket: flagged on the ticket, and
"[Priority]" in the team's email subject, from the page's form and from the bot's TalkToHuman alike."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from boto3.dynamodb.types import TypeSerializer

from bot.schema import load_definition
from contracts.query_log import SENTIMENT
from local.stand_ins import StandInNames
from tests.functions.escalation_pipeline import TicketPipeline

SESSION = "us-east-1:2f1d6c1e-session"
REQUEST: dict[str, Any] = {
    "sessionId": SESSION,
    "userQuery": "The VPN drops every five minutes",
    "userEmail": "ada@example.com",
    "userName": "Ada Lovelace",
}
EVENTS = Path(__file__).parent / "events"


@pytest.fixture
def log_turn(stand_ins: StandInNames) -> Callable[..., None]:
    """`log_turn(session, timestamp, sentiment)`: a query-log row as the store-query function writes it."""

    def write(session_id: str, timestamp: int, sentiment: str | None) -> None:
        row: dict[str, Any] = {
            "sessionId": session_id,
            "timestamp": timestamp,
            "userQuery": "this is useless",
            "botResponse": "Sorry, I did not get that.",
        }
        if sentiment is not None:
            row[SENTIMENT] = sentiment
        serialize = TypeSerializer().serialize
        boto3.client("dynamodb", region_name=stand_ins.region).put_item(
            TableName=stand_ins.query_log_table, Item={key: serialize(value) for key, value in row.items()}
        )

    return write


@pytest.fixture
def escalate(stand_ins: StandInNames) -> ModuleType:
    from functions.escalate import handler

    handler.settings.cache_clear()  # this test's environment, QUERY_LOG_TABLE_NAME included
    return handler


@pytest.fixture
def pipeline(stand_ins: StandInNames) -> TicketPipeline:
    from functions.forward_tickets import handler as forwarder
    from functions.send_escalation import handler as sender

    return TicketPipeline(stand_ins, forwarder, sender)


@pytest.fixture
def tickets(stand_ins: StandInNames, aws) -> Callable[[], list[dict[str, Any]]]:
    return lambda: aws.table_items(stand_ins.tickets_table)


def escalate_from_page(escalate: ModuleType, api_event, lambda_context) -> dict[str, Any]:
    response = escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    assert response["statusCode"] == 202, response["body"]
    return json.loads(response["body"])


def test_an_escalation_from_a_negative_conversation_is_a_priority_ticket_and_email(
    escalate, log_turn, tickets, pipeline, api_event, lambda_context
):
    # GIVEN a session whose first turn Lex found NEGATIVE, and a later neutral one
    log_turn(SESSION, 1_763_700_000_000, "NEGATIVE")
    log_turn(SESSION, 1_763_700_060_000, "NEUTRAL")
    # WHEN the page escalates it and the ticket is sent
    receipt = escalate_from_page(escalate, api_event, lambda_context)
    pipeline.drain()
    # THEN the ticket is flagged priority and the email subject starts with [Priority]
    [ticket] = tickets()
    assert ticket["priority"] is True, ticket
    [mail] = pipeline.sent_mail()
    assert mail.subject == f"[Priority] Chatbot escalation {receipt['ticketId']}: a user needs human support"


@pytest.mark.parametrize(
    "sentiments", [[], [None], ["NEUTRAL", "POSITIVE", "MIXED"]], ids=["no-turns", "unknown", "calm"]
)
def test_an_escalation_without_a_negative_turn_is_an_ordinary_ticket(
    escalate, log_turn, tickets, pipeline, api_event, lambda_context, sentiments
):
    # GIVEN a session without any NEGATIVE turn, and another session's NEGATIVE turn
    for i, sentiment in enumerate(sentiments):
        log_turn(SESSION, 1_763_700_000_000 + i, sentiment)
    log_turn("someone-else", 1_763_700_000_000, "NEGATIVE")
    # WHEN the page escalates it and the ticket is sent
    receipt = escalate_from_page(escalate, api_event, lambda_context)
    pipeline.drain()
    # THEN the ticket carries no flag and the subject is the ordinary one
    [ticket] = tickets()
    assert "priority" not in ticket, ticket
    [mail] = pipeline.sent_mail()
    assert mail.subject == f"Chatbot escalation {receipt['ticketId']}: a user needs human support"


def test_a_query_log_that_cannot_be_read_still_opens_the_ticket_unflagged(
    escalate, tickets, api_event, lambda_context, monkeypatch
):
    # GIVEN the query log cannot be read (its table is missing)
    monkeypatch.setattr(escalate, "query_log", escalate.QueryLogReader("NoSuchTable"))
    # WHEN the page escalates
    escalate_from_page(escalate, api_event, lambda_context)
    # THEN the ticket opens anyway, without the flag
    [ticket] = tickets()
    assert "priority" not in ticket


@pytest.fixture
def fulfillment(tmp_path: Path, stand_ins: StandInNames, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The code hook, with this test's stand-ins and the shipped bot content."""
    content = tmp_path / "bot_content.json"
    content.write_text(load_definition().code_hook_content(), encoding="utf-8")
    monkeypatch.setenv("BOT_CONTENT_PATH", str(content))
    from functions.fulfillment import handler

    handler.settings.cache_clear()
    handler.desk = handler.TicketDesk(lambda: handler.settings().desk)
    handler.query_log = handler.QueryLogReader(lambda: handler.settings().query_log_table)
    handler.bot_content.cache_clear()
    return handler


def talk_to_human_event(session_id: str) -> dict[str, Any]:
    """A recorded Lex event fulfilling TalkToHuman with a name and an email."""
    event = copy.deepcopy(json.loads((EVENTS / "lex_fulfillment.json").read_text()))
    slot = lambda value: {  # noqa: E731 - Lex's slot shape, twice
        "shape": "Scalar",
        "value": {"originalValue": value, "interpretedValue": value, "resolvedValues": [value]},
    }
    event["sessionId"] = session_id
    event["invocationSource"] = "FulfillmentCodeHook"
    event["inputTranscript"] = "ada@example.com"
    event["sessionState"]["intent"] = {
        "name": "TalkToHuman",
        "slots": {"UserName": slot("Ada"), "UserEmail": slot("ada@example.com")},
        "state": "InProgress",
        "confirmationState": "None",
    }
    event["sessionState"]["sessionAttributes"] = {"escalationOffered": "true", "lastUnansweredQuery": "it broke"}
    event["interpretations"][0]["intent"] = event["sessionState"]["intent"]
    return event


@pytest.mark.parametrize(("sentiment", "flagged"), [("NEGATIVE", True), ("NEUTRAL", False)])
def test_the_bots_ticket_is_priority_exactly_when_the_conversation_was_negative(
    fulfillment, log_turn, tickets, lambda_context, sentiment, flagged
):
    # GIVEN a logged turn of the session with this sentiment
    event = talk_to_human_event(SESSION)
    log_turn(SESSION, 1_763_700_000_000, sentiment)
    # WHEN the bot's TalkToHuman opens a ticket
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the ticket is flagged priority only after a negative turn
    assert "ticketId" in response["sessionState"]["sessionAttributes"], response
    [ticket] = tickets()
    assert ticket.get("priority", False) is flagged, ticket


def test_the_priority_email_says_why_in_its_body():
    # GIVEN a priority ticket
    from chatbot_shared.escalation.mail import PRIORITY_NOTE, render_email
    from chatbot_shared.escalation.models import EscalationRequest, new_ticket

    request = EscalationRequest.model_validate(REQUEST)
    ticket = new_ticket(request, now=1_763_700_000, ticket_id="SUP-7KQ2M", priority=True)
    # WHEN its email is rendered
    email = render_email(ticket)
    # THEN both parts say why it is priority, and the subject still holds no user text
    assert PRIORITY_NOTE in email.text
    assert "Priority: the user sounded frustrated" in email.html
    assert email.subject == "[Priority] Chatbot escalation SUP-7KQ2M: a user needs human support"
