"""The escalation core without AWS: the request model's limits, what identifies a submission, the reference users
see, the capped transcript, and the email built from a ticket."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chatbot_shared.escalation.mail import render_email
from chatbot_shared.escalation.models import (
    MAX_TRANSCRIPT_CHARS,
    UNSENDABLE,
    EscalationRequest,
    Turn,
    bot_escalation,
    cap_transcript,
    new_ticket,
    submission_fingerprint,
    ticket_reference,
)
from contracts.stack import MAX_HISTORY_TURNS, TICKET_REFERENCE_PATTERN

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
    assert set(built.model_dump()) == {
        "sessionId",
        "userQuery",
        "userEmail",
        "userName",
        "conversationHistory",
        "omittedTurns",
        "idempotencyKey",
    }


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


printable = st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=200).filter(
    lambda s: UNSENDABLE.search(s) is None
)


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


# --- what identifies a submission, and the reference users see ------------------------------------------------


def test_a_reference_is_short_readable_and_the_same_for_the_same_submission():
    # GIVEN one submission's fingerprint
    fingerprint = submission_fingerprint(request(), "page")
    # WHEN its candidate references are made twice
    first = [ticket_reference(fingerprint, attempt) for attempt in range(5)]
    again = [ticket_reference(fingerprint, attempt) for attempt in range(5)]
    # THEN each is SUP- and five characters without look-alikes, the same each time, and the candidates differ
    assert all(re.fullmatch(TICKET_REFERENCE_PATTERN, reference) for reference in first), first
    assert first == again
    assert len(set(first)) == 5


@pytest.mark.parametrize(
    "change",
    [
        {"userEmail": "ada@example.org"},
        {"userName": "Ada L."},
        {"userQuery": "VPN is down again"},
        {"conversationHistory": [{"role": "user", "text": "hi"}]},
        {"idempotencyKey": "a-new-submission-key"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_any_changed_field_is_another_submission(change):
    assert submission_fingerprint(request(**change), "page") != submission_fingerprint(request(), "page")


def test_the_same_request_from_the_bot_is_another_submission_than_from_the_page():
    assert submission_fingerprint(request(), "bot") != submission_fingerprint(request(), "page")


def test_a_turn_without_a_timestamp_and_one_with_none_are_the_same_submission():
    turn = {"role": "bot", "text": "Hi!"}
    assert submission_fingerprint(request(conversationHistory=[turn]), "page") == submission_fingerprint(
        request(conversationHistory=[{**turn, "timestamp": None}]), "page"
    )


# --- the transcript a ticket keeps ----------------------------------------------------------------------------


def turns(count: int, text: str = "x") -> list[Turn]:
    return [Turn(role="user" if n % 2 == 0 else "bot", text=f"{text}{n}") for n in range(count)]


def test_a_short_conversation_is_kept_whole():
    conversation = turns(4)
    assert cap_transcript(conversation) == cap_transcript(conversation)
    assert cap_transcript(conversation).turns == tuple(conversation)
    assert cap_transcript(conversation).omitted == 0


def test_a_long_conversation_keeps_the_most_recent_turns_that_fit_the_character_budget():
    # GIVEN 10 bot answers of 4,000 characters each (40,000 characters)
    conversation = [Turn(role="bot", text=str(n) * 4000) for n in range(10)]
    # WHEN it is capped
    capped = cap_transcript(conversation)
    # THEN the last three fit the budget, oldest first, and seven are counted as left out
    assert [turn.text[0] for turn in capped.turns] == ["7", "8", "9"]
    assert sum(len(turn.text) for turn in capped.turns) <= MAX_TRANSCRIPT_CHARS
    assert capped.omitted == 7


def test_a_conversation_of_many_turns_keeps_the_last_fifty():
    capped = cap_transcript(turns(80))
    assert len(capped.turns) == MAX_HISTORY_TURNS
    assert capped.turns[-1].text == "x79"
    assert capped.omitted == 30


def test_a_ticket_keeps_the_capped_conversation_and_its_email_says_what_was_left_out():
    # GIVEN a bot-route request whose conversation is longer than a ticket keeps
    conversation = [Turn(role="bot", text=str(n % 10) * 4000) for n in range(5)]
    made = bot_escalation(
        session_id="s-1", unanswered_question="VPN?", user_email="ada@example.com", user_name="Ada", turns=conversation
    )
    # WHEN a ticket is opened for it and emailed
    ticket = new_ticket(made, now=NOW, ticket_id="SUP-ABCDE", channel="bot")
    email = render_email(ticket)
    # THEN the email shows the last three turns and says two earlier ones are not included
    assert len(ticket.request.conversation_history) == 3
    assert ticket.transcript_omitted == 2
    assert "(2 earlier messages not included)\n" in email.text


def test_turns_the_page_left_out_and_turns_the_cap_left_out_are_counted_together():
    # GIVEN a page request that left 4 turns out and sends 5 long ones (the cap keeps 3)
    conversation = [{"role": "bot", "text": str(n) * 4000} for n in range(5)]
    made = request(conversationHistory=conversation, omittedTurns=4)
    # WHEN a ticket is opened for it
    ticket = new_ticket(made, now=NOW, ticket_id="T-1")
    # THEN 6 earlier turns are counted as left out
    assert ticket.transcript_omitted == 6
    assert "(6 earlier messages not included)" in render_email(ticket).html


def test_a_bot_ticket_carries_the_unanswered_question_under_its_own_heading():
    # GIVEN the bot's request for a person after a question it could not answer
    made = bot_escalation(
        session_id="s-1",
        unanswered_question="  my stapler is possessed  ",
        user_email="ada@example.com",
        user_name="Ada",
    )
    # WHEN its ticket is emailed
    email = render_email(new_ticket(made, now=NOW, ticket_id="SUP-ABCDE", channel="bot"))
    # THEN the team reads the question the bot could not answer, and where the ticket came from
    assert "Question the bot could not answer:\nmy stapler is possessed\n" in email.text
    assert "from the chat (the bot's handover)" in email.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  hello  ", "hello"),
        ("bad \uffff char", "bad \ufffd char"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
        ("u" * 2000, "u" * 1023 + "…"),
    ],
    ids=["trimmed", "noncharacter", "surrogate", "too-long"],
)
def test_a_turn_from_the_log_is_made_to_fit(text, expected):
    turn = Turn.from_log("user", text, 1_763_700_000_000)
    assert turn is not None
    assert turn.text == expected


def test_a_turn_from_the_log_drops_an_implausible_timestamp_and_empty_text():
    assert Turn.from_log("bot", "ok", 17) == Turn(role="bot", text="ok")
    assert Turn.from_log("bot", "   ") is None
