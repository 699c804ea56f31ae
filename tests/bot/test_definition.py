"""The bot definition: the shipped file is valid, and broken ones fail with file, path and reason."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.schema import DEFINITION_PATH, DefinitionError, load_definition


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


def test_shipped_definition_has_the_seed_locale_settings():
    definition = load_definition()
    locale = definition.locales["en_US"]
    assert locale.nlu_confidence_threshold == 0.40
    assert locale.voice == "Joanna"
    assert definition.bot.idle_session_ttl_seconds == 600
    assert definition.bot.child_directed is False


def test_shipped_definition_holds_both_seeds_intents():
    names = {i.name for i in load_definition().locales["en_US"].intents}
    expected = {
        "OrderStatus",
        "BillingInquiry",
        "ProductInfo",
        "ResetPassword",
        "NetworkTroubleshooting",
        "ThankYouIntent",
        "TalkToHuman",
        "FallbackIntent",
    }
    assert expected <= names, f"missing intents: {expected - names}"


def test_seed_slot_types_keep_their_resolution_strategies():
    locale = load_definition().locales["en_US"]
    customer_ids, products = locale.slot_type("CustomerId"), locale.slot_type("ProductName")
    assert customer_ids is not None, "slot type CustomerId is missing"
    assert products is not None, "slot type ProductName is missing"
    assert customer_ids.resolution == "ORIGINAL_VALUE"
    assert products.resolution == "TOP_RESOLUTION"
    assert products.resolve("notebook") == "laptop"
    assert products.resolve("iPad") == "tablet"


def test_it_how_tos_are_numbered_steps_in_the_definition():
    locale = load_definition().locales["en_US"]
    for name in ("ResetPassword", "NetworkTroubleshooting"):
        answer = locale.intent(name).answer or ""
        steps = [line for line in answer.splitlines() if line[:1].isdigit()]
        assert [s.split(".")[0] for s in steps[:2]] == ["1", "2"], f"{name} should answer in numbered steps"


def test_seed_utterances_are_all_present():
    locale = load_definition().locales["en_US"]
    seed = {
        "OrderStatus": ["What is my order status", "Where is my order", "Track my order {CustomerId}"],
        "BillingInquiry": ["How much do I owe", "Account balance for customer {CustomerId}"],
        "ProductInfo": ["Tell me about {ProductName}", "Details about your {ProductName}"],
    }
    for name, utterances in seed.items():
        missing = set(utterances) - set(locale.intent(name).utterances)
        assert not missing, f"{name} lost seed utterances: {missing}"


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
