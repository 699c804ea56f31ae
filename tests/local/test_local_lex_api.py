"""An unmodified boto3 `lexv2-runtime` client holds the bot's conversations against the local stack.

Orders, balances and products answered by the fulfillment Lambda from the customer table, slots elicited over
several turns, escalation, and Lex's errors.

The client parsing every answer with botocore's own service model is the proof of the shapes; the
assertions add the fields a caller relies on.
"""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError

from contracts.stack import MAX_USER_TEXT_CHARS
from tests.local.stack_helpers import Say, message_texts, wait_for_email

pytestmark = pytest.mark.local_stack


def test_order_status_with_customer_id_answers_from_the_customer_table(say: Say) -> None:
    # GIVEN the sample customer 12345 (John Smith, last order ORD-789, Shipped)
    # WHEN the user asks for the order status with the id in the sentence
    answer = say("What is my order status for customer 12345?")
    # THEN the fulfillment Lambda answers from the table and Lex closes the intent
    assert message_texts(answer) == ["Hi John Smith! Your last order ORD-789 is currently Shipped."]
    state = answer["sessionState"]
    assert state["dialogAction"]["type"] == "Close"
    assert state["intent"]["name"] == "OrderStatus"
    assert state["intent"]["state"] == "Fulfilled"
    assert state["intent"]["slots"]["CustomerId"]["value"]["interpretedValue"] == "12345"


def test_balance_question_answers_with_the_balance_to_the_cent(say: Say) -> None:
    # GIVEN the sample customer 67890 (Jane Doe, balance 89.23)
    # WHEN the user asks for the balance
    answer = say("Check my account balance for customer 67890")
    # THEN the answer names her and the balance
    assert message_texts(answer) == ["Hi Jane Doe! Your current account balance is $89.23."]
    assert answer["sessionState"]["intent"]["name"] == "BillingInquiry"


def test_product_question_in_the_plural_gets_the_catalogue_answer(say: Say) -> None:
    # WHEN the user asks about "laptops" (the slot value is "laptop")
    answer = say("Tell me about your laptops")
    # THEN the catalogue's laptop answer comes back, and the slot resolved to the canonical value
    assert message_texts(answer) == [
        "Our laptops feature high-performance processors and long battery life, starting at $899."
    ]
    value = answer["sessionState"]["intent"]["slots"]["ProductName"]["value"]
    assert value == {"originalValue": "laptops", "interpretedValue": "laptop", "resolvedValues": ["laptop"]}


def test_order_question_without_id_asks_for_it_then_answers(say: Say) -> None:
    # GIVEN the user asks about an order without a customer id
    first = say("Where is my order")
    # THEN the bot elicits the CustomerId slot with the definition's prompt
    assert message_texts(first) == ["Could you please provide your customer ID?"]
    assert first["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    assert first["sessionState"]["intent"]["state"] == "InProgress"
    # WHEN the user answers with the id alone
    second = say("12345")
    # THEN the order answer comes back
    assert message_texts(second) == ["Hi John Smith! Your last order ORD-789 is currently Shipped."]
    assert second["sessionState"]["intent"]["state"] == "Fulfilled"


def test_nonsense_goes_to_fallback_which_offers_a_person(say: Say) -> None:
    # WHEN the user says something no sample resembles
    answer = say("The purple elephant sings opera at midnight")
    # THEN FallbackIntent is chosen, listed without a confidence like Lex does, and a person is offered
    assert answer["sessionState"]["intent"]["name"] == "FallbackIntent"
    assert answer["sessionState"]["sessionAttributes"]["escalationOffered"] == "true"
    assert "person" in message_texts(answer)[0]
    first = answer["interpretations"][0]
    assert first["intent"]["name"] == "FallbackIntent"
    assert "nluConfidence" not in first, "Lex gives FallbackIntent no confidence score"


def test_thanks_get_the_definition_answer(say: Say, definition) -> None:
    # WHEN the user says thank you
    answer = say("thank you")
    # THEN the ThankYouIntent's static answer closes the turn, with a confident interpretation
    assert message_texts(answer) == [definition.locales["en_US"].intent("ThankYouIntent").answer]
    top = answer["interpretations"][0]
    assert top["intent"]["name"] == "ThankYouIntent"
    assert 0.4 <= top["nluConfidence"]["score"] <= 1.0


def test_session_attributes_carry_over_between_turns(say: Say) -> None:
    # GIVEN a fallback turn that set escalationOffered
    say("The purple elephant sings opera at midnight")
    # WHEN the next turn sends no session state
    answer = say("thank you")
    # THEN the session still has the attribute
    assert answer["sessionState"]["sessionAttributes"].get("escalationOffered") == "true"


def test_get_and_delete_session(lex, local_stack) -> None:
    # GIVEN a conversation waiting for a customer id
    session_id = "get-delete-session"
    bot = local_stack.info.bot
    ids = {"botId": bot.bot_id, "botAliasId": bot.alias_id, "localeId": "en_US", "sessionId": session_id}
    lex.recognize_text(**ids, text="Where is my order")
    # WHEN the client reads the session
    session = lex.get_session(**ids)
    # THEN it shows the slot being elicited
    assert session["sessionState"]["dialogAction"]["slotToElicit"] == "CustomerId"
    # WHEN the client deletes it
    deleted = lex.delete_session(**ids)
    # THEN the ids come back and the next turn starts a new conversation
    assert deleted["sessionId"] == session_id
    with pytest.raises(ClientError) as error:
        lex.get_session(**ids)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_text_over_lex_limit_is_refused_like_lex(lex, local_stack) -> None:
    bot = local_stack.info.bot
    # WHEN the text is one character over Lex's limit
    with pytest.raises(ClientError) as error:
        lex.recognize_text(
            botId=bot.bot_id,
            botAliasId=bot.alias_id,
            localeId="en_US",
            sessionId="s-long",
            text="a" * (MAX_USER_TEXT_CHARS + 1),
        )
    # THEN Lex's ValidationException (400) comes back and names the field
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "text" in error.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("field", "value"), [("botId", "OTHERBOTID"), ("botAliasId", "TSTALIASID"), ("localeId", "fr_FR")]
)
def test_unknown_bot_alias_or_locale_is_not_found(lex, local_stack, field: str, value: str) -> None:
    bot = local_stack.info.bot
    ids = {"botId": bot.bot_id, "botAliasId": bot.alias_id, "localeId": "en_US", "sessionId": "s-404", field: value}
    # WHEN the client names a bot, alias or locale the local stack does not have
    with pytest.raises(ClientError) as error:
        lex.recognize_text(**ids, text="hello")
    # THEN Lex's ResourceNotFoundException (404) comes back
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_any_sigv4_signature_is_accepted(local_stack) -> None:
    # GIVEN a client signing with credentials nobody issued
    client = boto3.client(
        "lexv2-runtime",
        endpoint_url=local_stack.origin,
        region_name="us-east-1",
        aws_access_key_id="AKIAWHATEVER",
        aws_secret_access_key="not-a-real-secret",
    )
    bot = local_stack.info.bot
    # WHEN it talks to the bot
    answer = client.recognize_text(
        botId=bot.bot_id, botAliasId=bot.alias_id, localeId="en_US", sessionId="s-sig", text="hi"
    )
    # THEN the local runtime answers (signatures are not verified locally)
    assert answer["sessionState"]["intent"]["name"] == "Welcome"


def test_talk_to_human_collects_name_and_email_then_the_team_gets_the_email(say: Say, local_stack) -> None:
    # GIVEN a question the bot could not answer
    say("The purple elephant sings opera at midnight")
    # WHEN the user asks for a person and gives a name and an email when asked
    assert message_texts(say("talk to a human")) == ["Sure, I'll get a person to help. What is your first name?"]
    assert message_texts(say("My name is Ana")) == ["Which email address should the support team reply to?"]
    answer = say("it's ana@example.com")
    # THEN the fulfillment opens a ticket and says its id
    ticket = answer["sessionState"]["sessionAttributes"]["ticketId"]
    assert ticket in message_texts(answer)[0]
    # AND the queue loop has the sender email the team about the unanswered question, Reply-To the user
    email = wait_for_email(local_stack, ticket)
    assert email["reply_to"] == ["ana@example.com"]
    assert "The purple elephant sings opera at midnight" in email["html"]
