"""POST /escalate: a valid request becomes one queued ticket (202); anything else a JSON 4xx and no ticket."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType
from typing import Any

import pytest

from chatbot_shared.escalation.desk import DeskNames, TicketDesk
from chatbot_shared.escalation.models import EscalationRequest, TicketReceipt
from local.stand_ins import StandInNames

REQUEST: dict[str, Any] = {
    "sessionId": "us-east-1:2f1d6c1e-session",
    "userQuery": "The VPN drops every five minutes",
    "userEmail": "ada@example.com",
    "userName": "Ada Lovelace",
    "conversationHistory": [
        {"role": "user", "text": "vpn keeps dropping", "timestamp": 1_763_700_000_000},
        {"role": "bot", "text": "Try reconnecting to the VPN.", "timestamp": 1_763_700_001_000},
    ],
}


@pytest.fixture
def escalate(stand_ins: StandInNames) -> ModuleType:
    """The handler module, imported once moto runs (its clients are made on first use and outlive each mock)."""
    from functions.escalate import handler

    return handler


@pytest.fixture
def desk_names(stand_ins: StandInNames) -> DeskNames:
    """The stand-ins' tickets table, queue and idempotency table, for a desk a test builds itself."""
    return DeskNames(
        tickets_table=stand_ins.tickets_table,
        queue_url=stand_ins.escalation_queue_url,
        idempotency_table=stand_ins.idempotency_table,
    )


@pytest.fixture
def tickets(stand_ins: StandInNames, aws) -> Callable[[], list[dict[str, Any]]]:
    return lambda: aws.table_items(stand_ins.tickets_table)


@pytest.fixture
def queued(stand_ins: StandInNames, aws) -> Callable[[], list[dict[str, Any]]]:
    """The bodies of the messages waiting on the escalation queue (left there for the next reader)."""

    def read() -> list[dict[str, Any]]:
        sqs = aws.client("sqs")
        messages = sqs.receive_message(
            QueueUrl=stand_ins.escalation_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    return read


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def test_an_escalation_answers_202_with_a_queued_ticket(escalate, tickets, queued, api_event, lambda_context):
    # GIVEN a complete escalation request from the chat page
    event = api_event("POST", "/escalate", REQUEST)
    # WHEN the handler receives it
    response = escalate.lambda_handler(event, lambda_context)
    # THEN it answers 202 with the id of a ticket that is recorded as queued and waiting on the queue
    assert response["statusCode"] == 202, response["body"]
    answer = body(response)
    assert answer["status"] == "queued"
    [ticket] = tickets()
    assert ticket["ticketId"] == answer["ticketId"]
    assert ticket["status"] == "queued"
    assert (ticket["sessionId"], ticket["userEmail"], ticket["userName"], ticket["userQuery"]) == (
        REQUEST["sessionId"],
        REQUEST["userEmail"],
        REQUEST["userName"],
        REQUEST["userQuery"],
    )
    assert ticket["conversationHistory"] == REQUEST["conversationHistory"]
    assert ticket["createdAt"] == ticket["updatedAt"]
    assert [message["ticketId"] for message in queued()] == [answer["ticketId"]]


def test_a_repeated_submission_gets_the_same_ticket_and_queues_nothing_more(
    escalate, tickets, queued, api_event, lambda_context
):
    # GIVEN an escalation already accepted
    first = body(escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context))
    # WHEN the page submits the same session and question again (a double click, a retry after a timeout)
    again = escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    # THEN the answer names the same ticket, and there is still one ticket and one message
    assert again["statusCode"] == 202
    assert body(again)["ticketId"] == first["ticketId"]
    assert len(tickets()) == 1
    assert len(queued()) == 1


def test_a_different_question_in_the_same_session_opens_a_second_ticket(escalate, tickets, api_event, lambda_context):
    # GIVEN an escalation already accepted
    first = body(escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context))
    # WHEN the same session escalates another question
    other = {**REQUEST, "userQuery": "And my printer is on fire"}
    second = body(escalate.lambda_handler(api_event("POST", "/escalate", other), lambda_context))
    # THEN that is a new ticket
    assert second["ticketId"] != first["ticketId"]
    assert len(tickets()) == 2


def test_history_may_be_left_out(escalate, tickets, api_event, lambda_context):
    # GIVEN a request without conversation history and a turn without a timestamp
    request = {key: value for key, value in REQUEST.items() if key != "conversationHistory"}
    # WHEN it is submitted
    response = escalate.lambda_handler(api_event("POST", "/escalate", request), lambda_context)
    # THEN it is accepted with an empty history
    assert response["statusCode"] == 202, response["body"]
    assert tickets()[0]["conversationHistory"] == []


INVALID_FIELDS = [
    ("sessionId", None, "sessionId", "missing"),
    ("sessionId", "", "sessionId", "empty"),
    ("sessionId", "s\r\n1", "sessionId", "crlf"),
    ("sessionId", "x" * 101, "sessionId", "too-long"),
    ("userQuery", None, "userQuery", "missing"),
    ("userQuery", "", "userQuery", "empty"),
    ("userQuery", "q" * 1025, "userQuery", "over-lex-limit"),
    ("userQuery", False, "userQuery", "boolean"),
    ("userEmail", None, "userEmail", "missing"),
    ("userEmail", "ada at example.com", "userEmail", "no-at"),
    ("userEmail", "ada@example", "userEmail", "no-dot"),
    ("userEmail", "ada@example.com\r\nBcc: all@example.com", "userEmail", "header-injection"),
    ("userEmail", "ada@example.com\n", "userEmail", "trailing-newline"),
    ("userEmail", "<ada@example.com>", "userEmail", "angle-brackets"),
    ("userEmail", "a" * 250 + "@example.com", "userEmail", "too-long"),
    ("userName", None, "userName", "missing"),
    ("userName", "", "userName", "empty"),
    ("userName", "Ada\r\nBcc: all@example.com", "userName", "header-injection"),
    ("userName", "Ada\u2028Lovelace", "userName", "line-separator"),
    ("userName", "Ada\x00", "userName", "nul"),
    ("userName", "n" * 101, "userName", "too-long"),
    ("conversationHistory", "none", "conversationHistory", "string"),
    ("conversationHistory", [{"role": "bot", "text": "ok"}] * 51, "conversationHistory", "too-many-turns"),
    ("conversationHistory", [{"role": "agent", "text": "hi"}], "conversationHistory.0.role", "unknown-role"),
    ("conversationHistory", [{"role": "user", "text": ""}], "conversationHistory.0.text", "empty-text"),
    ("conversationHistory", [{"role": "user", "text": "u" * 1025}], "conversationHistory.0.text", "long-user-text"),
    ("conversationHistory", [{"role": "bot", "text": "b" * 4001}], "conversationHistory.0.text", "long-bot-text"),
    (
        "conversationHistory",
        [{"role": "bot", "text": "hi", "timestamp": "yesterday"}],
        "conversationHistory.0.timestamp",
        "timestamp-string",
    ),
    (
        "conversationHistory",
        [{"role": "bot", "text": "hi", "timestamp": 17}],
        "conversationHistory.0.timestamp",
        "timestamp-1970",
    ),
    (
        "conversationHistory",
        [{"role": "bot", "text": "hi", "extra": 1}],
        "conversationHistory.0.extra",
        "turn-unknown-field",
    ),
    ("priority", "urgent", "priority", "unknown-field"),
]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [(field, value, named) for field, value, named, _ in INVALID_FIELDS],
    ids=[f"{field}-{case}" for field, _, _, case in INVALID_FIELDS],
)
def test_each_invalid_field_is_refused_with_422_naming_it_and_nothing_is_queued(
    escalate, tickets, queued, api_event, lambda_context, field, value, named
):
    # GIVEN an escalation request with one invalid (or missing) field
    request = {**REQUEST, field: value}
    if value is None:
        del request[field]
    # WHEN the handler receives it
    response = escalate.lambda_handler(api_event("POST", "/escalate", request), lambda_context)
    # THEN it answers 422 naming the field and a reason, and no ticket or message exists
    assert response["statusCode"] == 422, response["body"]
    answer = body(response)
    assert named in [error["field"] for error in answer["errors"]], f"{named} must be named: {answer}"
    assert all(error["reason"] for error in answer["errors"])
    assert tickets() == [], "an invalid request must not record a ticket"
    assert queued() == [], "an invalid request must not queue an email"


def test_an_email_with_a_line_break_is_refused_with_a_readable_reason(escalate, api_event, lambda_context):
    # WHEN an address carrying a header injection is submitted
    request = {**REQUEST, "userEmail": "ada@example.com\r\nBcc: all@example.com"}
    answer = body(escalate.lambda_handler(api_event("POST", "/escalate", request), lambda_context))
    # THEN the reason says what an address must look like, not a regular expression
    assert answer["errors"] == [{"field": "userEmail", "reason": "must be an email address such as name@example.com"}]


def test_an_empty_body_is_refused_with_422_naming_the_body(escalate, api_event, lambda_context):
    # WHEN the page posts nothing
    response = escalate.lambda_handler(api_event("POST", "/escalate", None), lambda_context)
    # THEN the answer names the missing body
    assert response["statusCode"] == 422, response["body"]
    assert body(response)["errors"][0]["field"] == "body"


def test_a_queue_failure_answers_503_and_keeps_no_ticket(
    escalate, desk_names, tickets, queued, api_event, lambda_context, monkeypatch
):
    # GIVEN the queue cannot be reached (here: a queue URL that does not exist)
    missing_queue = desk_names.queue_url + "-gone"
    monkeypatch.setattr(escalate, "desk", TicketDesk(replace(desk_names, queue_url=missing_queue)))
    # WHEN an escalation is submitted
    response = escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    # THEN the answer is a retryable 503, and no ticket claims to be queued
    assert response["statusCode"] == 503, response["body"]
    assert "retry" in body(response)["message"].lower()
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]
    assert tickets() == [], "a ticket whose message was never queued must not be left behind"


def test_a_retry_after_a_queue_failure_opens_the_ticket(
    escalate, desk_names, tickets, queued, api_event, lambda_context, monkeypatch
):
    # GIVEN a submission that failed because the queue was unreachable
    monkeypatch.setattr(escalate, "desk", TicketDesk(replace(desk_names, queue_url=desk_names.queue_url + "-gone")))
    escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    # WHEN the queue is back and the page retries the same submission
    monkeypatch.setattr(escalate, "desk", TicketDesk(desk_names))
    response = escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    # THEN the retry is not answered from the failed attempt: a ticket is opened and queued
    assert response["statusCode"] == 202, response["body"]
    assert len(tickets()) == 1
    assert len(queued()) == 1


def test_a_tickets_table_failure_answers_503_and_queues_nothing(
    escalate, desk_names, queued, api_event, lambda_context, monkeypatch
):
    # GIVEN the tickets table cannot be written (here: it does not exist)
    monkeypatch.setattr(escalate, "desk", TicketDesk(replace(desk_names, tickets_table="NoSuchTable")))
    # WHEN an escalation is submitted
    response = escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    # THEN the answer is a retryable 503 and no email is queued for a ticket that does not exist
    assert response["statusCode"] == 503, response["body"]
    assert queued() == []


@pytest.mark.parametrize("event", [{}, {"httpMethod": "POST"}, {"path": "/escalate", "body": 42}], ids=str)
def test_an_event_that_is_not_from_api_gateway_gets_a_json_answer(escalate, lambda_context, event):
    # WHEN the function is invoked with something API Gateway would never send
    response = escalate.lambda_handler(event, lambda_context)
    # THEN it still answers a JSON error instead of raising (which API Gateway would turn into a bare 502); without
    # CloudFront's origin header, that is a 403
    assert response["statusCode"] in (400, 403, 404, 500)
    assert "message" in body(response)


def test_a_twin_submitted_while_the_first_is_being_opened_gets_409(
    escalate, desk_names, tickets, api_event, lambda_context, monkeypatch
):
    # GIVEN a first submission (here from the bot, in another process in real life) held inside the opening of
    # its ticket: its clock waits for a signal
    inside, release = threading.Event(), threading.Event()

    def held_clock() -> float:
        inside.set()
        release.wait(timeout=10)
        return time.time()

    monkeypatch.setattr(escalate, "desk", TicketDesk(desk_names, clock=held_clock))
    first: list[TicketReceipt] = []
    request = EscalationRequest.model_validate(REQUEST)
    worker = threading.Thread(target=lambda: first.append(escalate.desk.open(request, lambda_context)))
    worker.start()
    assert inside.wait(timeout=10), "the first submission never started opening its ticket"
    # WHEN the same submission arrives through the API meanwhile
    twin = escalate.lambda_handler(api_event("POST", "/escalate", REQUEST), lambda_context)
    release.set()
    worker.join(timeout=10)
    # THEN the twin is told to retry shortly, and the first still opens the one ticket
    assert twin["statusCode"] == 409, twin["body"]
    assert twin["multiValueHeaders"]["Retry-After"] == ["5"]
    assert [receipt.status for receipt in first] == ["queued"]
    assert [ticket["ticketId"] for ticket in tickets()] == [first[0].ticket_id]
