"""The fulfillment Lambda, called with real-shaped Lex V2 events against DynamoDB and SQS in moto."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from moto import mock_aws

from bot.schema import DEFINITION_PATH, load_definition
from chatbot_shared.bot_content import LocaleWording
from chatbot_shared.lex import CodeHookResponse
from chatbot_shared.query_log import QueryLogReader
from contracts.conversation import ORDER_STATUS

EVENTS = Path(__file__).parent / "events"
LexEvent = Callable[..., dict[str, Any]]

LAPTOP_ANSWER = "Our laptops feature high-performance processors and long battery life, starting at $899."


@pytest.fixture
def fulfillment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    """The handler module, imported inside moto with the stand-in tables, queue and catalogue."""
    content = tmp_path / "bot_content.json"
    content.write_text(load_definition().code_hook_content(), encoding="utf-8")
    monkeypatch.setenv("BOT_CONTENT_PATH", str(content))
    with mock_aws():
        from local.stand_ins import provision

        for key, value in provision().environment().items():
            monkeypatch.setenv(key, value)
        from functions.fulfillment import handler

        handler.settings.cache_clear()  # this test's environment, read afresh
        handler.customers = handler.CustomerDirectory()  # a fresh edge per test: no client from another mock
        handler.desk = handler.TicketDesk(lambda: handler.settings().desk)
        handler.query_log = handler.QueryLogReader(lambda: handler.settings().query_log_table)
        handler.bot_content.cache_clear()
        yield handler


@pytest.fixture
def lex_event() -> LexEvent:
    """A recorded Lex V2 event with only the interesting parts replaced."""
    recorded = json.loads((EVENTS / "lex_fulfillment.json").read_text())

    def make(
        intent: str,
        slots: dict[str, str | None] | None = None,
        *,
        source: str = "FulfillmentCodeHook",
        transcript: str = "",
        attributes: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        event = copy.deepcopy(recorded)
        lex_slots = {
            name: None
            if value is None
            else {
                "shape": "Scalar",
                "value": {"originalValue": value, "interpretedValue": value, "resolvedValues": [value]},
            }
            for name, value in (slots or {}).items()
        }
        event["invocationSource"] = source
        event["inputTranscript"] = transcript
        event["sessionState"]["intent"] = {
            "name": intent,
            "slots": lex_slots,
            "state": "InProgress",
            "confirmationState": "None",
        }
        event["sessionState"]["sessionAttributes"] = attributes or {}
        event["interpretations"][0]["intent"] = event["sessionState"]["intent"]
        return event

    return make


def answer(response: dict[str, Any]) -> str:
    """The single text message a response says (and proof that it is a valid Lex response); quick-reply cards
    may come with it (`cards`)."""
    parsed = CodeHookResponse.model_validate(response)
    texts = [message.content for message in parsed.messages if message.content_type == "PlainText"]
    assert len(texts) == 1, f"expected one text message, got {response}"
    assert texts[0] is not None, f"a text message without content: {response}"
    return texts[0]


def cards(response: dict[str, Any]) -> list[dict[str, Any]]:
    """The quick-reply cards of a response, in Lex's JSON (`imageResponseCard`)."""
    return [m["imageResponseCard"] for m in response.get("messages", []) if m["contentType"] == "ImageResponseCard"]


def buttons(card: dict[str, Any]) -> list[tuple[str, str]]:
    return [(button["text"], button["value"]) for button in card["buttons"]]


def words() -> dict[str, str]:
    """The shipped definition's messages (en_US), to compare whole answers with."""
    return dict(load_definition().locales["en_US"].messages)


def recorded_tickets() -> list[dict[str, Any]]:
    """The tickets in the tickets table (what the sender will email), as plain values."""
    deserialize = TypeDeserializer().deserialize
    items = boto3.client("dynamodb").scan(TableName=os.environ["TICKETS_TABLE_NAME"], ConsistentRead=True)["Items"]
    return [{key: deserialize(value) for key, value in item.items()} for item in items]


def log_turns(session_id: str, turns: list[tuple[str, str]], start_ms: int = 1_763_700_000_000) -> None:
    """Rows in the query log for `session_id`, as the store-query function writes them, one second apart."""
    serialize = TypeSerializer().serialize
    for i, (asked, answered) in enumerate(turns):
        row = {"sessionId": session_id, "timestamp": start_ms + 1000 * i, "userQuery": asked, "botResponse": answered}
        boto3.client("dynamodb").put_item(
            TableName=os.environ["QUERY_LOG_TABLE_NAME"], Item={k: serialize(v) for k, v in row.items()}
        )


def test_order_status_answers_with_the_customers_last_order(fulfillment, lex_event, lambda_context):
    # GIVEN sample customer 12345 and an OrderStatus fulfillment event naming them
    event = lex_event("OrderStatus", {"CustomerId": "12345"})
    # WHEN the code hook runs
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN it answers with the order and its status, and closes the intent as fulfilled
    assert answer(response) == "Hi John Smith! Your last order ORD-789 is currently Shipped."
    assert response["sessionState"]["dialogAction"] == {"type": "Close"}
    assert response["sessionState"]["intent"]["state"] == "Fulfilled"


def test_billing_inquiry_answers_with_the_balance_to_the_cent(fulfillment, lex_event, lambda_context):
    response = fulfillment.lambda_handler(lex_event("BillingInquiry", {"CustomerId": "67890"}), lambda_context)
    assert answer(response) == "Hi Jane Doe! Your current account balance is $89.23."


@pytest.mark.parametrize("said", ["laptop", "laptops", "Laptop"])
def test_product_info_answers_from_the_catalogue_in_the_definition(fulfillment, lex_event, lambda_context, said):
    response = fulfillment.lambda_handler(lex_event("ProductInfo", {"ProductName": said}), lambda_context)
    assert answer(response) == LAPTOP_ANSWER, f"{said!r} should find the laptop entry of bot/definition.yaml"


def test_product_info_for_an_unknown_product_points_to_sales(fulfillment, lex_event, lambda_context):
    response = fulfillment.lambda_handler(lex_event("ProductInfo", {"ProductName": "toaster"}), lambda_context)
    assert answer(response) == (
        "I don't have specific information about toaster. "
        "Please contact our sales team for detailed product information."
    )


def test_unknown_customer_is_asked_to_check_the_id(fulfillment, lex_event, lambda_context):
    response = fulfillment.lambda_handler(lex_event("OrderStatus", {"CustomerId": "99999"}), lambda_context)
    assert answer(response) == "I couldn't find a customer with ID 99999. Please check your customer ID."


@pytest.mark.parametrize(
    ("intent", "slot"),
    [("OrderStatus", "CustomerId"), ("BillingInquiry", "CustomerId"), ("ProductInfo", "ProductName")],
)
def test_a_missing_slot_is_asked_for_with_the_definitions_own_prompt(
    fulfillment, lex_event, lambda_context, intent, slot
):
    # GIVEN a fulfillment event with the intent's slot still empty
    response = fulfillment.lambda_handler(lex_event(intent, {slot: None}), lambda_context)
    # THEN the function asks for it in the very words Lex uses for that slot
    prompt = load_definition().locales["en_US"].intent(intent).slot(slot)
    assert prompt is not None, f"{intent} has no slot {slot} in bot/definition.yaml"
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": slot}
    assert answer(response) == prompt.prompt


def test_missing_customer_id_is_elicited(fulfillment, lex_event, lambda_context):
    # GIVEN an OrderStatus event without a customer id
    response = fulfillment.lambda_handler(lex_event("OrderStatus", {"CustomerId": None}), lambda_context)
    # THEN the bot asks for it
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    assert "customer ID" in answer(response)


def test_customer_id_that_is_not_digits_is_elicited_again_with_help(fulfillment, lex_event, lambda_context):
    # GIVEN the dialog code hook sees a customer id with letters in it
    event = lex_event("BillingInquiry", {"CustomerId": "ABC12"}, source="DialogCodeHook")
    # WHEN it validates the slot
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the slot is emptied and asked for again, explaining what an id looks like
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    assert response["sessionState"]["intent"]["slots"]["CustomerId"] is None
    assert "digits only" in answer(response)


def test_valid_customer_id_lets_lex_carry_on(fulfillment, lex_event, lambda_context):
    event = lex_event("OrderStatus", {"CustomerId": "12345"}, source="DialogCodeHook")
    response = fulfillment.lambda_handler(event, lambda_context)
    assert response["sessionState"]["dialogAction"] == {"type": "Delegate"}


def test_missing_table_gets_a_polite_failed_close(fulfillment, lex_event, lambda_context):
    # GIVEN the customer table is gone
    boto3.client("dynamodb").delete_table(TableName=os.environ["CUSTOMERS_TABLE_NAME"])
    # WHEN a customer asks for their order
    response = fulfillment.lambda_handler(lex_event("OrderStatus", {"CustomerId": "12345"}), lambda_context)
    # THEN the intent fails politely instead of raising
    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert answer(response).startswith("Sorry, I encountered an error")


def test_fallback_offers_a_person_and_marks_it_in_the_session(fulfillment, lex_event, lambda_context):
    event = lex_event("FallbackIntent", transcript="my stapler is possessed")
    response = fulfillment.lambda_handler(event, lambda_context)
    attributes = response["sessionState"]["sessionAttributes"]
    assert attributes["escalationOffered"] == "true", "the chat page shows the escalation form on this attribute"
    assert attributes["lastUnansweredQuery"] == "my stapler is possessed"
    assert "talk to a human" in answer(response)


def test_talking_to_a_human_opens_a_ticket_on_the_queue(fulfillment, lex_event, lambda_context):
    # GIVEN the fallback remembered an unanswered question and Lex collected a name and an email
    attributes = {"escalationOffered": "true", "lastUnansweredQuery": "my stapler is possessed"}
    event = lex_event("TalkToHuman", {"UserName": "Ada", "UserEmail": "ada@example.com"}, attributes=attributes)
    # WHEN the code hook fulfills TalkToHuman
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN one ticket is recorded as queued (the tickets table's stream queues it for the sender) and the user is
    # told its reference
    ticket_id = response["sessionState"]["sessionAttributes"]["ticketId"]
    assert ticket_id in answer(response)
    tickets = boto3.client("dynamodb").scan(TableName=os.environ["TICKETS_TABLE_NAME"])["Items"]
    assert [(t["ticketId"]["S"], t["status"]["S"]) for t in tickets] == [(ticket_id, "queued")], tickets


@pytest.mark.parametrize("source", ["DialogCodeHook", "FulfillmentCodeHook"])
@pytest.mark.parametrize(
    ("slots", "asked_again"),
    [
        ({"UserName": "Ada", "UserEmail": "ada at example"}, "UserEmail"),
        ({"UserName": "Ada", "UserEmail": "ada@exa_mple.com"}, "UserEmail"),
        ({"UserName": "Ada", "UserEmail": "a" * 65 + "@example.com"}, "UserEmail"),
        ({"UserName": "Ada\u2028Bcc: x@evil.example", "UserEmail": "ada@example.com"}, "UserName"),
        ({"UserName": "Ad\x85a", "UserEmail": None}, "UserName"),
    ],
    ids=["no-at", "underscore-domain", "long-local-part", "line-separator-in-name", "nel-in-name"],
)
def test_talk_to_human_asks_again_for_what_the_escalation_core_refuses(
    fulfillment, lex_event, lambda_context, source, slots, asked_again
):
    # GIVEN a name or email the escalation core would refuse
    event = lex_event("TalkToHuman", slots, source=source)
    # WHEN the code hook checks the slots (while collecting them, or at fulfillment)
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the bot asks for that slot again instead of failing the conversation
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": asked_again}
    assert response["sessionState"]["intent"]["slots"][asked_again] is None


@pytest.mark.parametrize(
    "event",
    [
        {},
        {"sessionId": "s-1", "invocationSource": "FulfillmentCodeHook"},
        {"sessionId": "s-1", "invocationSource": "FulfillmentCodeHook", "sessionState": {"sessionAttributes": {}}},
        {"sessionId": "s-1", "invocationSource": "Whatever", "sessionState": {"intent": {"name": "OrderStatus"}}},
    ],
    ids=["empty", "no-session-state", "no-intent", "unknown-source"],
)
def test_malformed_event_gets_a_valid_lex_response(fulfillment, lambda_context, event):
    response = fulfillment.lambda_handler(event, lambda_context)
    assert response["sessionState"]["dialogAction"] == {"type": "Close"}
    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert answer(response) == "Sorry, something went wrong on my side. Please try again."


def test_intent_without_a_handler_gets_a_helpful_close(fulfillment, lex_event, lambda_context):
    response = fulfillment.lambda_handler(lex_event("ResetPassword"), lambda_context)
    assert response["sessionState"]["intent"]["state"] == "Fulfilled"
    assert "order status" in answer(response)


def test_support_staff_change_what_the_bot_says_in_the_definition_alone(
    fulfillment, lex_event, lambda_context, tmp_path, monkeypatch
):
    # GIVEN a definition whose fallback offer and order answer support staff reworded, packaged for the function
    data = yaml.safe_load(DEFINITION_PATH.read_text())
    words = data["locales"]["en_US"]["messages"]
    words["fallback_offer"] = 'Shall I find you a person? Say "talk to a human".'
    words["order_status"] = "{name}, order {order_id} is {order_status}."
    reworded = tmp_path / "reworded.yaml"
    reworded.write_text(yaml.safe_dump(data))
    content = tmp_path / "reworded_content.json"
    content.write_text(load_definition(reworded).code_hook_content(), encoding="utf-8")
    monkeypatch.setenv("BOT_CONTENT_PATH", str(content))
    fulfillment.settings.cache_clear()
    fulfillment.bot_content.cache_clear()
    # WHEN the bot falls back, and answers an order question
    offer = fulfillment.lambda_handler(lex_event("FallbackIntent", transcript="my stapler"), lambda_context)
    order = fulfillment.lambda_handler(lex_event("OrderStatus", {"CustomerId": "12345"}), lambda_context)
    # THEN it says the new words, with the customer's values filled in
    assert answer(offer) == 'Shall I find you a person? Say "talk to a human".'
    assert answer(order) == "John Smith, order ORD-789 is Shipped."


def test_an_event_in_a_locale_the_definition_lacks_gets_the_first_locales_words(fulfillment, lex_event, lambda_context):
    event = lex_event("OrderStatus", {"CustomerId": "99999"})
    event["bot"]["localeId"] = "fr_FR"
    response = fulfillment.lambda_handler(event, lambda_context)
    assert answer(response) == "I couldn't find a customer with ID 99999. Please check your customer ID."


def test_a_message_is_filled_in_with_exactly_the_values_the_contract_lists():
    words = LocaleWording(messages={"order_status": "Hi {name}!"})
    assert words.say(ORDER_STATUS, name="Ada", order_id="O-1", order_status="Shipped") == "Hi Ada!"
    with pytest.raises(ValueError, match="order_status fills in"):
        words.say(ORDER_STATUS, name="Ada")


# --- users change their mind: reasons, retries, and words that ask for a person --------------------------------


def test_an_email_address_without_a_domain_is_refused_with_the_reason(fulfillment, lex_event, lambda_context):
    # GIVEN the user typed an address with no top-level domain when asked where to reply
    event = lex_event("TalkToHuman", {"UserName": "Ana", "UserEmail": "ana@example"}, source="DialogCodeHook")
    # WHEN the dialog code hook checks it
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the bot says why, with an example of an address, and asks for it again
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserEmail"}
    assert answer(response).startswith("That doesn't look like an email address (name@example.com).")


def test_a_refused_value_is_asked_again_until_the_slots_retries_then_a_person_is_offered(
    fulfillment, lex_event, lambda_context
):
    # GIVEN the customer id slot allows two retries (the definition's max_retries)
    slot = load_definition().locales["en_US"].intent("BillingInquiry").slot("CustomerId")
    assert slot is not None
    retries = slot.max_retries
    assert retries == 2
    attributes: dict[str, str] = {}
    asked_again = []
    # WHEN the user gives an id with letters three times in a row
    for _ in range(retries + 1):
        event = lex_event("BillingInquiry", {"CustomerId": "ABC12"}, source="DialogCodeHook", attributes=attributes)
        response = fulfillment.lambda_handler(event, lambda_context)
        attributes = response["sessionState"]["sessionAttributes"]
        asked_again.append(response["sessionState"]["dialogAction"]["type"])
    # THEN the first two refusals ask again with the reason, the third gives up and offers a person
    assert asked_again == ["ElicitSlot", "ElicitSlot", "Close"]
    assert response["sessionState"]["intent"]["state"] == "Failed"
    assert answer(response) == words()["retries_exhausted"]
    assert attributes["escalationOffered"] == "true", "the page offers the handover on this attribute"
    assert "refusedSlot" not in attributes, "a later question starts with a clean count"
    assert [buttons(card) for card in cards(response)] == [
        [("Yes, talk to a person", "Talk to a human"), ("No, thanks", "Never mind")]
    ]


def test_an_accepted_value_clears_the_count_of_refusals(fulfillment, lex_event, lambda_context):
    # GIVEN one refused customer id
    refused = fulfillment.lambda_handler(
        lex_event("OrderStatus", {"CustomerId": "ABC12"}, source="DialogCodeHook"), lambda_context
    )
    attributes = refused["sessionState"]["sessionAttributes"]
    assert attributes["refusedSlot"] == "OrderStatus.CustomerId:1"
    # WHEN the next answer is a valid id
    event = lex_event("OrderStatus", {"CustomerId": "12345"}, source="DialogCodeHook", attributes=attributes)
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN Lex carries on and the count is gone
    assert response["sessionState"]["dialogAction"] == {"type": "Delegate"}
    assert "refusedSlot" not in response["sessionState"]["sessionAttributes"]


@pytest.mark.parametrize(
    ("name", "transcript"),
    [
        ("representative", "representative"),
        ("Agent", "Agent"),
        ("operator", "an operator please"),
        ("human", "human"),
        ("a", "a person"),
        ("Agents", "agents!"),
    ],
)
def test_a_word_asking_for_a_person_is_never_taken_as_the_name(
    fulfillment, lex_event, lambda_context, name, transcript
):
    # GIVEN the user answers "What is your first name?" by asking for a person again
    event = lex_event(
        "TalkToHuman", {"UserName": name, "UserEmail": None}, source="DialogCodeHook", transcript=transcript
    )
    # WHEN the dialog code hook checks the name
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the name is emptied and asked for again, saying a person is on the way
    assert response["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserName"}
    assert response["sessionState"]["intent"]["slots"]["UserName"] is None
    assert answer(response) == words()["user_name_is_a_request"]


def test_a_first_name_is_taken(fulfillment, lex_event, lambda_context):
    event = lex_event("TalkToHuman", {"UserName": "Ana"}, source="DialogCodeHook", transcript="My name is Ana")
    response = fulfillment.lambda_handler(event, lambda_context)
    assert response["sessionState"]["dialogAction"] == {"type": "Delegate"}


# --- the handover carries the story -----------------------------------------------------------------------------


def test_the_bot_ticket_carries_the_unanswered_question_and_the_conversation_from_the_query_log(
    fulfillment, lex_event, lambda_context
):
    # GIVEN a conversation the page logged for this session, and a question the fallback could not answer
    event = lex_event(
        "TalkToHuman",
        {"UserName": "Ada", "UserEmail": "ada@example.com"},
        transcript="ada@example.com",
        attributes={"escalationOffered": "true", "lastUnansweredQuery": "my stapler is possessed"},
    )
    log_turns(
        event["sessionId"],
        [("hello", "Hello! I can help with..."), ("my stapler is possessed", "I'm not sure I can help with that yet.")],
    )
    log_turns("someone-else", [("my password is hunter2", "Here is how to reset your password")])
    # WHEN TalkToHuman is fulfilled
    fulfillment.lambda_handler(event, lambda_context)
    # THEN the ticket asks the unanswered question, never the email typed in this turn
    (ticket,) = recorded_tickets()
    assert ticket["userQuery"] == "my stapler is possessed"
    # AND carries this session's conversation from the query log, oldest first, and no other session's
    assert [(turn["role"], turn["text"]) for turn in ticket["conversationHistory"]] == [
        ("user", "hello"),
        ("bot", "Hello! I can help with..."),
        ("user", "my stapler is possessed"),
        ("bot", "I'm not sure I can help with that yet."),
    ]


def test_without_an_unanswered_question_the_ticket_says_the_user_asked_for_a_person(
    fulfillment, lex_event, lambda_context
):
    # GIVEN a user who asked for a person straight away, and typed their email last
    event = lex_event("TalkToHuman", {"UserName": "Ada", "UserEmail": "ada@example.com"}, transcript="ada@example.com")
    # WHEN TalkToHuman is fulfilled
    fulfillment.lambda_handler(event, lambda_context)
    # THEN the question is not the email address
    (ticket,) = recorded_tickets()
    assert ticket["userQuery"] == "The user asked to talk to a person."
    assert ticket["conversationHistory"] == [], "nothing was logged for this session"


def test_a_query_log_that_cannot_be_read_still_opens_the_ticket(fulfillment, lex_event, lambda_context):
    # GIVEN the query log table is unreachable
    fulfillment.query_log = QueryLogReader("NoSuchTable")
    event = lex_event("TalkToHuman", {"UserName": "Ada", "UserEmail": "ada@example.com"})
    # WHEN TalkToHuman is fulfilled
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the ticket is opened all the same, without the conversation
    assert response["sessionState"]["intent"]["state"] == "Fulfilled"
    (ticket,) = recorded_tickets()
    assert ticket["conversationHistory"] == []


def test_the_ticket_confirmation_states_the_reference_the_reply_address_and_when_to_expect_a_reply(
    fulfillment, lex_event, lambda_context
):
    event = lex_event("TalkToHuman", {"UserName": "Ada", "UserEmail": "ada@example.com"})
    response = fulfillment.lambda_handler(event, lambda_context)
    said = answer(response)
    assert response["sessionState"]["sessionAttributes"]["ticketId"] in said
    assert "ada@example.com" in said
    assert "within one business day" in said


def test_a_session_over_its_hourly_ticket_limit_gets_a_polite_answer_and_no_ticket(
    fulfillment, lex_event, lambda_context
):
    # GIVEN a chat session that opened its hourly limit of tickets (3 by default), each for another question
    for question in ("printer", "vpn", "email"):
        attributes = {"lastUnansweredQuery": f"my {question} is broken"}
        opened = lex_event("TalkToHuman", {"UserName": "Ada", "UserEmail": "ada@example.com"}, attributes=attributes)
        fulfillment.lambda_handler(opened, lambda_context)
    assert len(recorded_tickets()) == 3
    # WHEN it asks for a person about a fourth question
    attributes = {"lastUnansweredQuery": "my phone is broken"}
    event = lex_event("TalkToHuman", {"UserName": "Ada", "UserEmail": "ada@example.com"}, attributes=attributes)
    response = fulfillment.lambda_handler(event, lambda_context)
    # THEN the bot says so politely, naming the limit, and no fourth ticket exists
    assert "3 tickets within the hour" in answer(response), answer(response)
    assert "ticketId" not in response["sessionState"]["sessionAttributes"]
    assert len(recorded_tickets()) == 3


# --- quick replies ------------------------------------------------------------------------------------------------


def test_the_fallback_offers_a_person_with_yes_and_no_quick_replies(fulfillment, lex_event, lambda_context):
    response = fulfillment.lambda_handler(lex_event("FallbackIntent", transcript="my stapler"), lambda_context)
    (card,) = cards(response)
    assert card["title"] == "Talk to a person?"
    assert buttons(card) == [("Yes, talk to a person", "Talk to a human"), ("No, thanks", "Never mind")]


def test_asking_for_a_product_offers_the_products_as_quick_replies(fulfillment, lex_event, lambda_context):
    response = fulfillment.lambda_handler(lex_event("ProductInfo", {"ProductName": None}), lambda_context)
    (card,) = cards(response)
    assert buttons(card) == [("Laptop", "laptop"), ("Smartphone", "smartphone"), ("Tablet", "tablet")]
