"""The bot definition: the shipped file is valid, and broken ones fail with file, path and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.schema import DEFINITION_PATH, DefinitionError, load_definition
from contracts.conversation import CODE_HOOK_MESSAGES
from local.knowledge import DEFAULT_FOLDER as KNOWLEDGE
from local.knowledge import read_blocks


@pytest.fixture
def shipped() -> dict[str, Any]:
    """The shipped definition as plain data, to break on purpose."""
    return yaml.safe_load(DEFINITION_PATH.read_text())


def write(tmp_path: Path, data: dict[str, Any]) -> Path:
    path = tmp_path / "definition.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def intent(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(i for i in data["locales"]["en_US"]["intents"] if i["name"] == name)


def test_shipped_definition_has_the_locale_and_session_settings():
    definition = load_definition()
    locale = definition.locales["en_US"]
    assert locale.nlu_confidence_threshold == 0.40
    assert locale.voice == "Joanna"
    assert definition.bot.idle_session_ttl_seconds == 600
    assert definition.bot.child_directed is False


def test_shipped_definition_holds_the_customer_service_and_conversation_intents():
    names = {i.name for i in load_definition().locales["en_US"].intents}
    expected = {
        "OrderStatus",
        "BillingInquiry",
        "ProductInfo",
        "ThankYouIntent",
        "TalkToHuman",
        "FallbackIntent",
    }
    assert expected <= names, f"missing intents: {expected - names}"


def test_it_how_tos_are_knowledge_guides_not_intents():
    # GIVEN the shipped definition and the shipped knowledge folder
    names = {i.name for i in load_definition().locales["en_US"].intents}
    # THEN the password and Wi-Fi how-tos are documents the knowledge base answers from, not intents
    assert not names & {"ResetPassword", "NetworkTroubleshooting"}, "IT how-tos belong in knowledge/, not intents"
    for guide in ("reset-your-password.md", "fix-wifi-and-network-problems.html"):
        assert (KNOWLEDGE / guide).is_file(), f"knowledge/{guide} is missing"


def test_slot_types_keep_their_resolution_strategies():
    locale = load_definition().locales["en_US"]
    customer_ids, products = locale.slot_type("CustomerId"), locale.slot_type("ProductName")
    assert customer_ids is not None, "slot type CustomerId is missing"
    assert products is not None, "slot type ProductName is missing"
    assert customer_ids.resolution == "ORIGINAL_VALUE"
    assert products.resolution == "TOP_RESOLUTION"
    assert products.resolve("notebook") == "laptop"
    assert products.resolve("iPad") == "tablet"


def test_it_how_tos_are_numbered_steps_in_the_knowledge_guides():
    for guide in ("reset-your-password.md", "fix-wifi-and-network-problems.html"):
        blocks = read_blocks(KNOWLEDGE / guide)
        steps = [block for block in blocks if block.kind == "item" and block.ordered]
        assert len(steps) >= 3, f"knowledge/{guide} should give its how-to as numbered steps"


def test_the_core_utterances_are_all_present():
    locale = load_definition().locales["en_US"]
    core = {
        "OrderStatus": ["What is my order status", "Where is my order", "Track my order {CustomerId}"],
        "BillingInquiry": ["How much do I owe", "Account balance for customer {CustomerId}"],
        "ProductInfo": ["Tell me about {ProductName}", "Details about your {ProductName}"],
    }
    for name, utterances in core.items():
        missing = set(utterances) - set(locale.intent(name).utterances)
        assert not missing, f"{name} lost core utterances: {missing}"


def test_broken_slot_reference_fails_with_its_path(tmp_path, shipped):
    # GIVEN an utterance that refers to a slot the intent does not have
    intent(shipped, "OrderStatus")["utterances"].append("Where is order {OrderNumber}")
    # WHEN the definition is loaded
    with pytest.raises(DefinitionError) as error:
        load_definition(write(tmp_path, shipped))
    # THEN the error names the file, the path inside it, and the reason
    message = str(error.value)
    assert str(tmp_path / "definition.yaml") in message
    assert "locales.en_US" in message, message
    assert "intents[0] (OrderStatus).utterances[" in message, message
    assert "{OrderNumber} is not a slot of OrderStatus" in message


def test_unknown_slot_type_fails_with_its_path(tmp_path, shipped):
    intent(shipped, "ProductInfo")["slots"][0]["type"] = "Gadget"
    with pytest.raises(
        DefinitionError, match=r"intents\[2\] \(ProductInfo\)\.slots\[0\]\.type: unknown slot type 'Gadget'"
    ):
        load_definition(write(tmp_path, shipped))


def test_intent_without_an_answer_or_code_hook_is_refused(tmp_path, shipped):
    del intent(shipped, "ThankYouIntent")["answer"]
    with pytest.raises(DefinitionError, match="the bot would say nothing"):
        load_definition(write(tmp_path, shipped))


def test_missing_fallback_intent_is_refused(tmp_path, shipped):
    shipped["locales"]["en_US"]["intents"] = [
        i for i in shipped["locales"]["en_US"]["intents"] if i["name"] != "FallbackIntent"
    ]
    with pytest.raises(DefinitionError, match=r"FallbackIntent with parent AMAZON\.FallbackIntent"):
        load_definition(write(tmp_path, shipped))


def test_product_without_a_catalogue_entry_is_refused(tmp_path, shipped):
    del shipped["products"]["tablet"]
    with pytest.raises(DefinitionError, match="no entry in `products`: tablet"):
        load_definition(write(tmp_path, shipped))


def test_unknown_key_is_refused_not_ignored(tmp_path, shipped):
    intent(shipped, "ThankYouIntent")["answr"] = "typo"
    with pytest.raises(DefinitionError, match="answr"):
        load_definition(write(tmp_path, shipped))


def test_threshold_outside_zero_to_one_is_refused(tmp_path, shipped):
    shipped["locales"]["en_US"]["nlu_confidence_threshold"] = 1.5
    with pytest.raises(DefinitionError, match="nlu_confidence_threshold"):
        load_definition(write(tmp_path, shipped))


def test_unreadable_yaml_names_the_file(tmp_path):
    path = tmp_path / "definition.yaml"
    path.write_text("bot: [unclosed")
    with pytest.raises(DefinitionError, match="cannot read the bot definition"):
        load_definition(path)


def messages(data: dict[str, Any]) -> dict[str, str]:
    return data["locales"]["en_US"]["messages"]


def test_the_shipped_definition_words_every_message_of_the_fulfillment_function():
    worded, said = set(load_definition().locales["en_US"].messages), set(CODE_HOOK_MESSAGES)
    assert worded == said, f"missing {said - worded}, unknown {worded - said}"


def test_a_missing_message_is_refused_with_file_path_and_when_it_is_said(tmp_path, shipped):
    # GIVEN a definition whose locale no longer words the fallback's offer of a person
    del messages(shipped)["fallback_offer"]
    # WHEN it is loaded
    with pytest.raises(DefinitionError) as error:
        load_definition(write(tmp_path, shipped))
    # THEN the error names the file, the locale's messages, the message and when the bot says it
    message = str(error.value)
    assert str(tmp_path / "definition.yaml") in message
    assert "locales.en_US: messages: fallback_offer is missing" in message, message
    assert "FallbackIntent" in message, message


def test_an_unknown_message_name_is_refused(tmp_path, shipped):
    messages(shipped)["fallback_ofer"] = "Want a person?"
    with pytest.raises(DefinitionError, match=r"locales\.en_US: messages\.fallback_ofer: unknown message"):
        load_definition(write(tmp_path, shipped))


def test_a_placeholder_the_function_does_not_fill_in_is_refused_and_the_ones_it_does_are_listed(tmp_path, shipped):
    # GIVEN an order answer that mentions a value the function does not supply for it
    messages(shipped)["order_status"] = "Hi {name}! Order {order_id} for {customer_id} is {order_status}."
    # WHEN it is loaded
    with pytest.raises(DefinitionError) as error:
        load_definition(write(tmp_path, shipped))
    # THEN the error names the message, the placeholder and what the message may use instead
    assert (
        "locales.en_US: messages.order_status: {customer_id} is not filled in by the fulfillment function "
        "(this message may use: {name}, {order_id}, {order_status})"
    ) in str(error.value)


def test_a_message_without_placeholders_may_use_none(tmp_path, shipped):
    messages(shipped)["ticket_failed"] = "Sorry {name}, try again."
    with pytest.raises(DefinitionError, match=r"messages\.ticket_failed: \{name\} is not filled in .*may use: none"):
        load_definition(write(tmp_path, shipped))


@pytest.mark.parametrize("placeholder", ["{name.__class__}", "{name!r}", "{name:>20}", "{}", "{0}"])
def test_a_placeholder_that_is_not_a_plain_name_is_refused(tmp_path, shipped, placeholder):
    messages(shipped)["balance"] = f"Hi {placeholder}! Your balance is ${{balance}}."
    with pytest.raises(DefinitionError, match=r"messages\.balance: .* is not a plain placeholder such as \{name\}"):
        load_definition(write(tmp_path, shipped))


def test_an_unbalanced_brace_is_refused_with_how_to_write_a_literal_one(tmp_path, shipped):
    messages(shipped)["balance"] = "Hi {name! Your balance is ${balance}."
    with pytest.raises(DefinitionError, match=r"messages\.balance: .*write \{\{ or \}\} for a literal brace"):
        load_definition(write(tmp_path, shipped))


def test_a_doubled_brace_is_a_literal_brace(tmp_path, shipped):
    messages(shipped)["unknown_intent"] = "I answer {{orders}}, {{billing}} and {{products}}."
    assert load_definition(write(tmp_path, shipped)).locales["en_US"].messages["unknown_intent"].startswith("I answer")


def test_the_code_hook_content_carries_each_locales_messages_and_slot_prompts():
    # GIVEN the shipped definition
    definition = load_definition()
    locale = definition.locales["en_US"]
    # WHEN the fulfillment function's content is written from it
    content = json.loads(definition.code_hook_content())
    # THEN it holds the catalogue, the first locale, the locale's messages, and the prompt of every slot by intent
    assert content["products"] == dict(definition.products)
    assert content["default_locale"] == next(iter(definition.locales)) == "en_US"
    assert content["locales"]["en_US"]["messages"] == dict(locale.messages)
    prompts = content["locales"]["en_US"]["slot_prompts"]
    assert prompts["BillingInquiry"]["CustomerId"] == locale.intent("BillingInquiry").slots[0].prompt
    assert set(prompts) == {intent.name for intent in locale.intents if intent.slots}


# --- users can change their mind --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "parent", "said"),
    [
        ("CancelIntent", "AMAZON.CancelIntent", ["Cancel", "Never mind", "Forget it"]),
        ("StartOverIntent", "AMAZON.StartOverIntent", ["Start over", "Restart"]),
    ],
)
def test_cancel_and_start_over_are_built_on_lex_built_ins_and_close_with_an_answer(name, parent, said):
    leaving = load_definition().locales["en_US"].intent(name)
    assert leaving.parent == parent
    assert leaving.leaves_the_dialog
    assert set(said) <= set(leaving.utterances), f"{name} lacks the built-in's common utterances locally"
    assert leaving.answer, f"{name} needs a closing answer"


def test_the_handover_words_start_the_handover_and_are_never_a_name():
    locale = load_definition().locales["en_US"]
    asked = {"representative", "agent", "operator", "person", "human"}
    assert asked <= set(locale.handover_words)
    samples = {utterance.casefold() for utterance in locale.intent("TalkToHuman").utterances}
    assert {"representative", "agent", "operator", "a person", "human"} <= samples


def test_no_message_speaks_of_a_form_below():
    locale = load_definition().locales["en_US"]
    said = [*locale.messages.values(), *(intent.answer or "" for intent in locale.intents)]
    assert not [text for text in said if "form below" in text]


def test_an_unknown_parent_intent_is_refused_naming_the_supported_ones(tmp_path, shipped):
    intent(shipped, "CancelIntent")["parent"] = "AMAZON.HelpIntent"
    with pytest.raises(DefinitionError, match=r"unknown parent intent 'AMAZON\.HelpIntent'; supported: .*CancelIntent"):
        load_definition(write(tmp_path, shipped))


def test_a_fallback_with_utterances_is_refused(tmp_path, shipped):
    intent(shipped, "FallbackIntent")["utterances"] = ["huh"]
    with pytest.raises(DefinitionError, match=r"Lex takes no utterances for AMAZON\.FallbackIntent"):
        load_definition(write(tmp_path, shipped))


def test_a_built_in_intent_with_slots_is_refused(tmp_path, shipped):
    intent(shipped, "CancelIntent")["slots"] = [{"name": "Why", "type": "AMAZON.FirstName", "prompt": "Why?"}]
    with pytest.raises(DefinitionError, match="Lex allows no slots on a built-in intent"):
        load_definition(write(tmp_path, shipped))


def test_a_cancel_without_utterances_is_refused_as_the_local_stack_could_not_recognise_it(tmp_path, shipped):
    intent(shipped, "CancelIntent")["utterances"] = []
    with pytest.raises(DefinitionError, match="needs at least one utterance"):
        load_definition(write(tmp_path, shipped))


# --- quick replies ----------------------------------------------------------------------------------------------


def test_a_slot_card_without_buttons_offers_its_slot_types_values():
    locale = load_definition().locales["en_US"]
    slot = locale.intent("ProductInfo").slot("ProductName")
    assert slot is not None
    card = locale.slot_card(slot)
    assert card is not None, "ProductName offers quick replies"
    assert [(button.text, button.value) for button in card.buttons] == [
        ("Laptop", "laptop"),
        ("Smartphone", "smartphone"),
        ("Tablet", "tablet"),
    ]


def test_a_slot_card_on_a_built_in_type_must_name_its_buttons(tmp_path, shipped):
    intent(shipped, "TalkToHuman")["slots"][0]["response_card"] = {"title": "Your name"}
    with pytest.raises(DefinitionError, match=r"slots\[0\]\.response_card: AMAZON\.FirstName is a built-in type"):
        load_definition(write(tmp_path, shipped))


def test_a_slot_card_derived_from_more_values_than_a_card_holds_is_refused(tmp_path, shipped):
    products = next(t for t in shipped["locales"]["en_US"]["slot_types"] if t["name"] == "ProductName")
    for extra in ("router", "printer", "monitor"):
        products["values"].append({"value": extra})
        shipped["products"][extra] = f"Our {extra}s."
    with pytest.raises(DefinitionError, match="ProductName has 6 values and a card offers at most 5"):
        load_definition(write(tmp_path, shipped))


def test_a_card_with_six_buttons_is_refused(tmp_path, shipped):
    shipped["locales"]["en_US"]["cards"]["handover_offer"]["buttons"] *= 3
    with pytest.raises(DefinitionError, match=r"cards\.handover_offer\.buttons"):
        load_definition(write(tmp_path, shipped))


def test_a_button_longer_than_lex_allows_is_refused(tmp_path, shipped):
    shipped["locales"]["en_US"]["cards"]["handover_offer"]["buttons"][0]["text"] = "y" * 51
    with pytest.raises(DefinitionError, match="at most 50 characters"):
        load_definition(write(tmp_path, shipped))


def test_a_missing_card_of_the_fulfillment_function_is_refused(tmp_path, shipped):
    del shipped["locales"]["en_US"]["cards"]["handover_offer"]
    with pytest.raises(DefinitionError, match="cards: handover_offer is missing"):
        load_definition(write(tmp_path, shipped))


def test_the_code_hook_content_carries_cards_retries_and_handover_words():
    definition = load_definition()
    locale = definition.locales["en_US"]
    content = json.loads(definition.code_hook_content())["locales"]["en_US"]
    assert content["cards"]["handover_offer"]["title"] == locale.cards["handover_offer"].title
    assert [b["value"] for b in content["slot_cards"]["ProductInfo"]["ProductName"]["buttons"]] == [
        "laptop",
        "smartphone",
        "tablet",
    ]
    assert content["slot_retries"]["TalkToHuman"] == {"UserName": 2, "UserEmail": 2}
    assert content["handover_words"] == list(locale.handover_words)


def test_the_welcome_suggestions_are_the_intents_then_the_knowledge_questions(tmp_path, shipped):
    # GIVEN a definition with one intent suggestion and two knowledge suggestions
    locale = shipped["locales"]["en_US"]
    locale["knowledge_suggestions"] = ["How do I set up the VPN?", "I forgot my password"]
    suggestions = load_definition(write(tmp_path, shipped)).locales["en_US"].suggestions()
    # THEN the page offers the intents' first, in definition order, then the knowledge questions
    intents = [item["suggestion"] for item in locale["intents"] if item.get("suggestion")]
    assert suggestions == [*intents, "How do I set up the VPN?", "I forgot my password"]
