"""The escalation core without AWS: the request model's limits and the email built from a ticket."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chatbot_shared.escalation.mail import render_email
from chatbot_shared.escalation.models import EscalationRequest, Turn, new_ticket

NOW = 1_763_700_000.5  # 2025-11-21 04:40:00.5 UTC


def request(**overrides) -> EscalationRequest:
    fields = {
        "sessionId": "s-1",
        "userQuery": "VPN is down",
        "userEmail": "ada@example.com",
        "userName": "Ada",
        "conversationHistory": [],
    }
    return EscalationRequest.model_validate({**fields, **overrides})


def test_a_new_ticket_is_queued_and_stamped_in_epoch_milliseconds():
    # WHEN a ticket is opened at a known time with a known id
    ticket = new_ticket(request(), now=NOW, ticket_id="T-1")
    # THEN it is queued, carries the request, and both stamps are that time in ms
    assert (ticket.ticket_id, ticket.status, ticket.created_at, ticket.updated_at) == (
        "T-1",
        "queued",
        1_763_700_000_500,
        1_763_700_000_500,
    )
    assert ticket.request == request()


def test_python_callers_use_the_wire_names_and_read_snake_case_attributes():
    # GIVEN the fulfillment Lambda building a request in Python
    built = EscalationRequest(sessionId="s-1", userQuery="VPN is down", userEmail="ada@example.com", userName="Ada")
    # THEN it is the same request as the wire form, with snake_case attributes, serialized back to camelCase
    assert built == request()
    assert built.session_id == "s-1"
    assert set(built.model_dump()) == {"sessionId", "userQuery", "userEmail", "userName", "conversationHistory"}


def test_snake_case_names_are_not_accepted_on_the_wire():
    with pytest.raises(ValidationError, match="sessionId"):
        EscalationRequest.model_validate({**request().model_dump(), "session_id": "s-2", "sessionId": None})


def test_a_bot_turn_may_be_longer_than_a_user_turn():
    # A bot answer of 4,000 characters is fine; a user's message is capped at Lex's 1,024
    assert Turn(role="bot", text="b" * 4000).text == "b" * 4000
    with pytest.raises(ValidationError, match="at most 1024 characters"):
        Turn(role="user", text="u" * 1025)


@pytest.mark.parametrize("value", [False, 0, None, ["ada@example.com"]])
def test_strict_types_refuse_values_that_are_not_strings(value):
    with pytest.raises(ValidationError):
        request(userEmail=value)


def test_the_email_shows_each_user_value_as_text():
    # GIVEN a ticket whose every free-text field carries markup and quotes
    evil = "<b onclick=\"x()\">'&'</b>"
    ticket = new_ticket(
        request(
            userQuery=evil,
            userName=evil,
            userEmail="o'brien&co@example.com",
            conversationHistory=[{"role": "user", "text": evil, "timestamp": 1_763_700_000_000}],
        ),
        now=NOW,
        ticket_id="T-1",
    )
    # WHEN the email is rendered
    email = render_email(ticket)
    # THEN the HTML holds every value escaped and none raw, and the text part holds them verbatim
    escaped = "&lt;b onclick=&quot;x()&quot;&gt;&#x27;&amp;&#x27;&lt;/b&gt;"
    assert email.html.count(escaped) == 3, "query, name and history turn"
    assert evil not in email.html
    assert "o&#x27;brien&amp;co@example.com" in email.html
    assert email.text.count(evil) == 3


def test_a_turn_without_a_timestamp_says_so():
    ticket = new_ticket(request(conversationHistory=[{"role": "bot", "text": "Hi!"}]), now=NOW, ticket_id="T-1")
    assert "[time unknown] Bot: Hi!" in render_email(ticket).text


printable = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200)


def tags(markup: str) -> list[str]:
    return re.findall(r"<[^>]*>", markup)


@settings(max_examples=150, deadline=None)
@given(query=printable, name=printable.filter(lambda s: not re.search(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]", s)))
def test_no_user_text_reaches_the_subject_and_no_markup_reaches_the_html(query, name):
    # GIVEN any question and any acceptable name
    ticket = new_ticket(request(userQuery=query, userName=name), now=NOW, ticket_id="T-42")
    # WHEN the email is rendered
    email = render_email(ticket)
    # THEN the subject is the fixed text around the ticket id, each value is in the HTML escaped,
    # and the HTML has exactly the tags of a harmless request: user text added none
    assert email.subject == "Chatbot escalation T-42: a user needs human support"
    assert html.escape(query) in email.html
    assert html.escape(name) in email.html
    harmless = render_email(new_ticket(request(userQuery="q", userName="n"), now=NOW, ticket_id="T-42"))
    assert tags(email.html) == tags(harmless.html)
