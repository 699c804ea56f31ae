"""An unmodified boto3 `lexv2-runtime` client holds the bot's conversations against the local stack.

Orders, balances and products answered by the fulfillment Lambda from the customer table, slots elicited over
several turns, escalation, and Lex's errors.

The client parsing every answer with botocore's own service model is the proof of the shapes; the
assertions add the fields a caller relies on.
"""

from __future__ import annotations

import html
import re
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError

from contracts.stack import API_BASE_PATH, MAX_USER_TEXT_CHARS, STORE_QUERY_ROUTE
from tests.local.stack_helpers import Say, fetch, message_cards, message_texts, wait_for_email

if TYPE_CHECKING:
    from mypy_boto3_lexv2_runtime.client import LexRuntimeV2Client

    from local.stack import LocalStack

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


def messages_of(definition) -> dict[str, str]:
    return dict(definition.locales["en_US"].messages)


def test_cancel_while_the_bot_asks_for_a_customer_id_leaves_the_question(say: Say, definition) -> None:
    # GIVEN the bot asks for a customer id
    say("Where is my order")
    # WHEN the user says "never mind"
    answer = say("never mind")
    # THEN the cancel closes the dialog with the definition's answer
    assert message_texts(answer) == [definition.locales["en_US"].intent("CancelIntent").answer]
    assert answer["sessionState"]["dialogAction"]["type"] == "Close"
    # AND the next sentence is a new question again
    assert say("12345")["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_a_different_question_while_the_bot_asks_for_a_customer_id_is_answered(say: Say, definition) -> None:
    say("Where is my order")
    answer = say("tell me about your tablets")
    assert answer["sessionState"]["intent"]["name"] == "ProductInfo"
    assert message_texts(answer) == [definition.products["tablet"]]


def test_an_email_address_without_a_domain_gets_the_reason(say: Say) -> None:
    # GIVEN the bot asks where the team should reply
    say("talk to a human")
    say("My name is Ana")
    # WHEN the user types an address without a top-level domain
    answer = say("ana@example")
    # THEN the bot says what is wrong with it, and asks again
    assert message_texts(answer)[0].startswith("That doesn't look like an email address (name@example.com).")
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserEmail"}


def test_after_the_slots_retries_the_bot_offers_a_person(say: Say, definition) -> None:
    # GIVEN the bot asks for a customer id (two retries in the definition)
    say("Where is my order")
    # WHEN the user gives ids with letters three times
    answers = [say("ABC12") for _ in range(3)]
    # THEN the first two get the reason, the third the offer of a person with yes/no quick replies
    words = messages_of(definition)
    assert [message_texts(answer) for answer in answers[:2]] == [[words["customer_id_refused"]]] * 2
    last = answers[2]
    assert message_texts(last) == [words["retries_exhausted"]]
    assert last["sessionState"]["sessionAttributes"]["escalationOffered"] == "true"
    assert [button["value"] for card in message_cards(last) for button in card["buttons"]] == [
        "Talk to a human",
        "Never mind",
    ]


def test_a_word_asking_for_a_person_is_not_taken_as_the_name(say: Say, definition) -> None:
    # GIVEN the bot asks for a first name
    say("talk to a human")
    # WHEN the user answers "representative"
    answer = say("representative")
    # THEN the bot asks for the name again, saying a person is on the way
    assert message_texts(answer) == [messages_of(definition)["user_name_is_a_request"]]
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserName"}
    # AND a real name is then taken
    assert message_texts(say("Ana")) == ["Which email address should the support team reply to?"]


def test_the_product_question_offers_the_products_as_quick_replies(say: Say) -> None:
    # WHEN the bot asks which product (botocore parses the answer with Lex's own model)
    answer = say("Tell me about")
    # THEN an ImageResponseCard with one button per product follows the prompt
    (card,) = message_cards(answer)
    assert card["title"] == "Our products"
    assert [(button["text"], button["value"]) for button in card["buttons"]] == [
        ("Laptop", "laptop"),
        ("Smartphone", "smartphone"),
        ("Tablet", "tablet"),
    ]


def conversation(lex: LexRuntimeV2Client, local_stack: LocalStack) -> tuple[str, Callable[[str], dict[str, Any]]]:
    """A new conversation: its session id, and a function that sends one user turn and returns Lex's answer."""
    bot = local_stack.info.bot
    session_id = f"story-{uuid.uuid4()}"

    def send(text: str) -> dict[str, Any]:
        return dict(
            lex.recognize_text(
                botId=bot.bot_id, botAliasId=bot.alias_id, localeId="en_US", sessionId=session_id, text=text
            )
        )

    return session_id, send


def log_turn(local_stack: LocalStack, session_id: str, asked: str, answered: str) -> None:
    """Store one turn in the query log through the API, as the page does after each answer."""
    row = {"sessionId": session_id, "timestamp": int(time.time() * 1000), "userQuery": asked, "botResponse": answered}
    status, _, body = fetch(
        local_stack.origin + API_BASE_PATH + STORE_QUERY_ROUTE.path, "POST", row, {"Content-Type": "application/json"}
    )
    assert status == 201, f"store-query answered {status}: {body!r}"
    time.sleep(0.002)  # the next turn gets a later timestamp (the table's sort key)


def test_the_bot_handover_email_carries_the_unanswered_question_and_the_logged_conversation(
    lex: LexRuntimeV2Client, local_stack: LocalStack
) -> None:
    # GIVEN a conversation whose turns the page logged, with a question the bot could not answer
    session_id, send = conversation(lex, local_stack)
    for asked in ("hello", "The purple elephant sings opera at midnight"):
        log_turn(local_stack, session_id, asked, message_texts(send(asked))[0])
    # WHEN the user asks the bot for a person and gives a name and an email
    for asked in ("talk to a human", "My name is Ana"):
        log_turn(local_stack, session_id, asked, message_texts(send(asked))[0])
    answer = send("ana@example.com")
    ticket = answer["sessionState"]["sessionAttributes"]["ticketId"]
    # THEN the team's email asks the unanswered question, not the email address typed last
    email = wait_for_email(local_stack, ticket)
    question = re.search(r"<h3>Question[^<]*</h3>\s*<p[^>]*>(.*?)</p>", email["html"], re.DOTALL)
    assert question is not None, email["html"]
    assert html.unescape(question.group(1)) == "The purple elephant sings opera at midnight"
    # AND it carries the conversation so far, read from the query log, in order
    conversation_html = html.unescape(email["html"].split("<h3>Conversation</h3>", 1)[1])
    said = ["hello", "The purple elephant sings opera at midnight", "talk to a human", "My name is Ana"]
    positions = [conversation_html.find(text) for text in said]
    assert -1 not in positions, f"missing turns in the email's conversation: {conversation_html}"
    assert positions == sorted(positions), "the turns are not in the order they were said"
    assert "I'm not sure I can help with that yet." in conversation_html, "the bot's answers are missing"
