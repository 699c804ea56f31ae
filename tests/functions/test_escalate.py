"""POST /escalate: a valid request becomes one queued ticket (202, a readable reference) that its stream carries to
the queue; the same submission again is the same ticket; a changed one a new ticket; limits answer 429; anything
invalid a JSON 4xx and no ticket."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest

from chatbot_shared.escalation.desk import DeskNames, TicketDesk
from chatbot_shared.escalation.models import EscalationRequest, TicketReceipt
from contracts.stack import TICKET_REFERENCE_PATTERN
from local.stand_ins import StandInNames
from tests.functions.escalation_pipeline import TicketPipeline

REQUEST: dict[str, Any] = {
    "sessionId": "us-east-1:2f1d6c1e-session",
    "userQuery": "The VPN drops every five minutes",
    "userEmail": "ada@example.com",
    "userName": "Ada Lovelace",
    "conversationHistory": [
        {"role": "user", "text": "vpn keeps dropping", "timestamp": 1_763_700_000_000},
        {"role": "bot", "text": "Try reconnecting to the VPN.", "timestamp": 1_763_700_001_000},
    ],
    "idempotencyKey": "6f1c1a52-4a3e-4f0e-9d59-0c2b3f1e9a10",
}


@pytest.fixture
def escalate(stand_ins: StandInNames) -> ModuleType:
    """The handler module, imported once moto runs (its clients are made on first use and outlive each mock)."""
    from functions.escalate import handler

    return handler


@pytest.fixture
def desk_names(stand_ins: StandInNames) -> DeskNames:
    """The stand-ins' tickets and counters tables, for a desk a test builds itself."""
    return DeskNames(
        tickets_table=stand_ins.tickets_table,
        limits_table=stand_ins.idempotency_table,
        tickets_per_session_per_hour=stand_ins.tickets_per_session_per_hour,
    )


@pytest.fixture
def tickets(stand_ins: StandInNames, aws) -> Callable[[], list[dict[str, Any]]]:
    return lambda: aws.table_items(stand_ins.tickets_table)


@pytest.fixture
def pipeline(stand_ins: StandInNames) -> TicketPipeline:
    from functions.forward_tickets import handler as forwarder
    from functions.send_escalation import handler as sender

    return TicketPipeline(stand_ins, forwarder, sender)


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


def submit(escalate: ModuleType, api_event, lambda_context, request: dict[str, Any]) -> dict[str, Any]:
    return escalate.lambda_handler(api_event("POST", "/escalate", request), lambda_context)


def test_an_escalation_answers_202_with_a_readable_reference_of_a_queued_ticket(
    escalate, tickets, api_event, lambda_context
):
    # GIVEN a complete escalation request from the chat page
    # WHEN the handler receives it
    response = submit(escalate, api_event, lambda_context, REQUEST)
    # THEN it answers 202 with a short reference, recorded as a queued ticket holding the request
    assert response["statusCode"] == 202, response["body"]
    answer = body(response)
    assert answer["status"] == "queued"
    assert re.fullmatch(TICKET_REFERENCE_PATTERN, answer["ticketId"]), answer
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
    assert ticket["channel"] == "page"


def test_the_tickets_stream_queues_a_new_ticket_once_with_no_user_text(
    escalate, pipeline, aws, api_event, lambda_context
):
    # GIVEN an accepted escalation
    ticket_id = body(submit(escalate, api_event, lambda_context, REQUEST))["ticketId"]
    # WHEN the tickets table's stream is read into the forwarder
    pipeline.forward()
    # THEN exactly one message waits for the sender, and it carries the ticket id and nothing the user typed
    assert pipeline.queued(aws) == [{"ticketId": ticket_id}]


def test_a_repeated_submission_gets_the_same_ticket_and_queues_nothing_more(
    escalate, tickets, pipeline, aws, api_event, lambda_context
):
    # GIVEN an escalation already accepted
    first = body(submit(escalate, api_event, lambda_context, REQUEST))
    # WHEN the page submits the same request again (a retry after a timeout, with the same idempotency key)
    again = submit(escalate, api_event, lambda_context, REQUEST)
    pipeline.forward()
    # THEN the answer names the same ticket, and there is still one ticket and one message
    assert again["statusCode"] == 202
    assert body(again)["ticketId"] == first["ticketId"]
    assert len(tickets()) == 1
    assert len(pipeline.queued(aws)) == 1


def test_a_repeat_of_a_sent_ticket_answers_where_it_stands(escalate, pipeline, api_event, lambda_context):
    # GIVEN an escalation that was emailed already
    first = body(submit(escalate, api_event, lambda_context, REQUEST))
    pipeline.drain()
    # WHEN the same submission arrives again
    again = body(submit(escalate, api_event, lambda_context, REQUEST))
    # THEN it names the same ticket, sent
    assert again == {"ticketId": first["ticketId"], "status": "sent"}


def test_a_different_question_in_the_same_session_opens_a_second_ticket(escalate, tickets, api_event, lambda_context):
    # GIVEN an escalation already accepted
    first = body(submit(escalate, api_event, lambda_context, REQUEST))
    # WHEN the same session escalates another question
    other = {**REQUEST, "userQuery": "And my printer is on fire"}
    second = body(submit(escalate, api_event, lambda_context, other))
    # THEN that is a new ticket
    assert second["ticketId"] != first["ticketId"]
    assert len(tickets()) == 2


def test_a_corrected_email_address_opens_a_new_ticket_with_the_corrected_address(
    escalate, tickets, api_event, lambda_context
):
    # GIVEN an escalation sent with a mistyped address
    mistyped = body(submit(escalate, api_event, lambda_context, {**REQUEST, "userEmail": "ada@exmaple.com"}))
    # WHEN the user corrects it and submits again
    corrected = body(submit(escalate, api_event, lambda_context, REQUEST))
    # THEN the corrected submission is its own ticket, replying to the corrected address
    assert corrected["ticketId"] != mistyped["ticketId"]
    by_id = {ticket["ticketId"]: ticket["userEmail"] for ticket in tickets()}
    assert by_id == {mistyped["ticketId"]: "ada@exmaple.com", corrected["ticketId"]: "ada@example.com"}


def test_the_same_fields_under_a_new_idempotency_key_are_a_new_submission(escalate, tickets, api_event, lambda_context):
    # GIVEN an accepted escalation
    first = body(submit(escalate, api_event, lambda_context, REQUEST))
    # WHEN the page submits the same fields as a new submission (a new key)
    again = body(submit(escalate, api_event, lambda_context, {**REQUEST, "idempotencyKey": "second-submission-01"}))
    # THEN it is a second ticket
    assert again["ticketId"] != first["ticketId"]
    assert len(tickets()) == 2


def test_without_an_idempotency_key_the_fields_alone_identify_the_submission(
    escalate, tickets, api_event, lambda_context
):
    # GIVEN a request without a key (an older page), submitted twice
    request = {key: value for key, value in REQUEST.items() if key != "idempotencyKey"}
    first = body(submit(escalate, api_event, lambda_context, request))
    again = body(submit(escalate, api_event, lambda_context, request))
    # THEN both name one ticket
    assert again["ticketId"] == first["ticketId"]
    assert len(tickets()) == 1


def test_history_may_be_left_out(escalate, tickets, api_event, lambda_context):
    # GIVEN a request without conversation history and a turn without a timestamp
    request = {key: value for key, value in REQUEST.items() if key != "conversationHistory"}
    # WHEN it is submitted
    response = submit(escalate, api_event, lambda_context, request)
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
    ("userQuery", "VPN \ufffe down", "userQuery", "noncharacter-fffe"),
    ("userQuery", "VPN down \uffff", "userQuery", "noncharacter-ffff"),
    ("userQuery", "VPN \x0b down", "userQuery", "vertical-tab"),
    ("userName", "Ada \uffff", "userName", "noncharacter"),
    ("conversationHistory", [{"role": "bot", "text": "ok \ufffe"}], "conversationHistory.0.text", "turn-noncharacter"),
    ("idempotencyKey", "short", "idempotencyKey", "key-too-short"),
    ("idempotencyKey", "k" * 65, "idempotencyKey", "key-too-long"),
    ("idempotencyKey", "not a uuid at all", "idempotencyKey", "key-spaces"),
    ("idempotencyKey", 12345678, "idempotencyKey", "key-number"),
]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [(field, value, named) for field, value, named, _ in INVALID_FIELDS],
    ids=[f"{field}-{case}" for field, _, _, case in INVALID_FIELDS],
)
def test_each_invalid_field_is_refused_with_422_naming_it_and_nothing_is_recorded(
    escalate, tickets, api_event, lambda_context, field, value, named
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


def test_a_character_queues_cannot_carry_is_named_in_the_reason(escalate, api_event, lambda_context):
    # WHEN a question holds U+FFFF, which SQS refuses in a message
    answer = body(submit(escalate, api_event, lambda_context, {**REQUEST, "userQuery": "VPN \uffff"}))
    # THEN the reason names the character and where it is
    [error] = answer["errors"]
    assert error["field"] == "userQuery"
    assert "U+FFFF (at position 4)" in error["reason"], error


def test_a_lone_surrogate_is_refused_and_records_nothing(escalate, tickets, api_event, lambda_context):
    # GIVEN a body whose question holds an escaped lone surrogate (valid JSON text, no valid Unicode)
    raw = json.dumps(REQUEST).replace("every five minutes", "every \\ud800 minutes")
    # WHEN it is submitted
    response = escalate.lambda_handler(api_event("POST", "/escalate", raw), lambda_context)
    # THEN it is a 4xx naming the body, and no ticket exists
    assert response["statusCode"] == 400, response["body"]
    assert body(response)["errors"][0]["field"] == "body"
    assert tickets() == []


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


def test_a_tickets_table_failure_answers_503_saying_nothing_was_kept(
    escalate, desk_names, tickets, api_event, lambda_context, monkeypatch
):
    # GIVEN the tickets table cannot be written (here: it does not exist, so DynamoDB refuses the write)
    monkeypatch.setattr(escalate, "desk", TicketDesk(DeskNames(**{**vars(desk_names), "tickets_table": "NoSuchTable"})))
    # WHEN an escalation is submitted
    response = submit(escalate, api_event, lambda_context, REQUEST)
    # THEN the answer is a retryable 503 that says nothing was kept, and nothing was
    assert response["statusCode"] == 503, response["body"]
    assert "nothing was kept" in body(response)["message"]
    assert response["multiValueHeaders"]["Retry-After"] == ["5"]
    assert tickets() == []


def test_a_retry_after_a_refused_write_opens_the_ticket_once(
    escalate, desk_names, tickets, api_event, lambda_context, monkeypatch
):
    # GIVEN a submission refused because the tickets table could not be written
    monkeypatch.setattr(escalate, "desk", TicketDesk(DeskNames(**{**vars(desk_names), "tickets_table": "NoSuchTable"})))
    submit(escalate, api_event, lambda_context, REQUEST)
    # WHEN the table is back and the page retries the same submission
    monkeypatch.setattr(escalate, "desk", TicketDesk(desk_names))
    response = submit(escalate, api_event, lambda_context, REQUEST)
    # THEN a ticket is opened, once
    assert response["statusCode"] == 202, response["body"]
    assert len(tickets()) == 1


def test_a_queue_outage_does_not_refuse_an_escalation(escalate, tickets, aws, stand_ins, api_event, lambda_context):
    # GIVEN the escalation queue is gone
    aws.client("sqs").delete_queue(QueueUrl=stand_ins.escalation_queue_url)
    # WHEN an escalation is submitted
    response = submit(escalate, api_event, lambda_context, REQUEST)
    # THEN it is accepted and recorded: opening a ticket does not touch the queue (the stream forwards it later)
    assert response["statusCode"] == 202, response["body"]
    assert [ticket["status"] for ticket in tickets()] == ["queued"]


@pytest.mark.parametrize("event", [{}, {"httpMethod": "POST"}, {"path": "/escalate", "body": 42}], ids=str)
def test_an_event_that_is_not_from_api_gateway_gets_a_json_answer(escalate, lambda_context, event):
    # WHEN the function is invoked with something API Gateway would never send
    response = escalate.lambda_handler(event, lambda_context)
    # THEN it still answers a JSON error instead of raising (which API Gateway would turn into a bare 502)
    assert response["statusCode"] in (400, 404, 500)
    assert "message" in body(response)


def test_a_twin_submitted_while_the_first_is_being_opened_gets_the_same_ticket(
    escalate, desk_names, tickets, api_event, lambda_context, monkeypatch
):
    # GIVEN a first submission (here from another process in real life) held inside the opening of its ticket:
    # its clock waits for a signal
    inside, release = threading.Event(), threading.Event()

    def held_clock() -> float:
        if threading.current_thread() is not threading.main_thread():
            inside.set()
            release.wait(timeout=10)
        return time.time()

    monkeypatch.setattr(escalate, "desk", TicketDesk(desk_names, clock=held_clock))
    first: list[TicketReceipt] = []
    request = EscalationRequest.model_validate(REQUEST)
    worker = threading.Thread(target=lambda: first.append(escalate.desk.open(request)))
    worker.start()
    assert inside.wait(timeout=10), "the first submission never started opening its ticket"
    # WHEN the same submission arrives through the API meanwhile
    twin = submit(escalate, api_event, lambda_context, REQUEST)
    release.set()
    worker.join(timeout=10)
    # THEN both name the one ticket
    assert twin["statusCode"] == 202, twin["body"]
    assert [receipt.ticket_id for receipt in first] == [body(twin)["ticketId"]]
    assert [ticket["ticketId"] for ticket in tickets()] == [body(twin)["ticketId"]]


# --- the hourly ticket limit ----------------------------------------------------------------------------------


def questions(count: int, **fields: Any) -> list[dict[str, Any]]:
    """`count` different submissions of REQUEST (another question each), with `fields` replaced."""
    return [{**REQUEST, **fields, "userQuery": f"Question number {n}"} for n in range(count)]


def test_the_ticket_after_the_limit_in_one_session_gets_429_naming_the_limit(
    escalate, tickets, stand_ins, api_event, lambda_context
):
    # GIVEN a session that opened as many tickets as the limit allows this hour (each with another address)
    limit = stand_ins.tickets_per_session_per_hour
    for n, request in enumerate(questions(limit)):
        answered = submit(escalate, api_event, lambda_context, {**request, "userEmail": f"user{n}@example.com"})
        assert answered["statusCode"] == 202, answered["body"]
    # WHEN it asks for one more
    response = submit(escalate, api_event, lambda_context, {**REQUEST, "userEmail": "other@example.com"})
    # THEN it is refused with 429, a Retry-After up to the end of the hour, the field and the limit named
    assert response["statusCode"] == 429, response["body"]
    retry_after = int(response["multiValueHeaders"]["Retry-After"][0])
    assert 1 <= retry_after <= 3600
    answer = body(response)
    assert f"at most {limit} tickets per chat session per hour" in answer["message"]
    [error] = answer["errors"]
    assert error["field"] == "sessionId"
    assert "ticketsPerSessionPerHour" in error["reason"]
    assert (answer["limit"], answer["windowSeconds"]) == (limit, 3600), "the page reads the limit from the body"
    assert len(tickets()) == limit, "the refused escalation records nothing"


def test_one_address_is_limited_across_sessions(escalate, stand_ins, api_event, lambda_context):
    # GIVEN one address that opened the limit's tickets, each from a new session
    limit = stand_ins.tickets_per_session_per_hour
    for n, request in enumerate(questions(limit)):
        assert submit(escalate, api_event, lambda_context, {**request, "sessionId": f"s-{n}"})["statusCode"] == 202
    # WHEN it opens one more from yet another session (an upper-case variant of the address)
    response = submit(
        escalate, api_event, lambda_context, {**REQUEST, "sessionId": "s-new", "userEmail": "ADA@example.com"}
    )
    # THEN the address is what the 429 names
    assert response["statusCode"] == 429, response["body"]
    assert [error["field"] for error in body(response)["errors"]] == ["userEmail"]


def test_a_retry_of_an_accepted_submission_is_answered_even_at_the_limit(
    escalate, stand_ins, api_event, lambda_context
):
    # GIVEN a session at its limit, whose last submission's answer the page never saw
    accepted = [
        body(submit(escalate, api_event, lambda_context, request))
        for request in questions(stand_ins.tickets_per_session_per_hour)
    ]
    # WHEN the page retries that last submission
    retry = submit(escalate, api_event, lambda_context, questions(stand_ins.tickets_per_session_per_hour)[-1])
    # THEN it gets its ticket, not a 429
    assert retry["statusCode"] == 202, retry["body"]
    assert body(retry)["ticketId"] == accepted[-1]["ticketId"]


def test_the_limit_counts_per_clock_hour(escalate, desk_names, stand_ins, api_event, lambda_context, monkeypatch):
    # GIVEN a session that reached its limit at 10:59
    now = [1_763_722_740.0]  # 2025-11-21 10:59:00 UTC
    monkeypatch.setattr(escalate, "desk", TicketDesk(desk_names, clock=lambda: now[0]))
    limit = stand_ins.tickets_per_session_per_hour
    for request in questions(limit + 1)[:limit]:
        submit(escalate, api_event, lambda_context, request)
    refused = submit(escalate, api_event, lambda_context, questions(limit + 1)[-1])
    # WHEN the next hour begins
    now[0] += 61
    allowed = submit(escalate, api_event, lambda_context, questions(limit + 1)[-1])
    # THEN the refusal said to wait until 11:00, and at 11:00 the session may open a ticket again
    assert refused["statusCode"] == 429
    assert refused["multiValueHeaders"]["Retry-After"] == ["60"]
    assert allowed["statusCode"] == 202, allowed["body"]
