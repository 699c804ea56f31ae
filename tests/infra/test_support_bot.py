"""SupportBot's version of the bot: what reaches the `live` alias is a fingerprint of what the draft bot was sent,
and any change makes a new version before the old one goes (`AWS::Lex::BotVersion` has no update handler)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

import components.support_bot as support_bot
from components.support_bot import locales_fingerprint
from tests.infra.conftest import Mocks, RecordedResource
from tests.infra.resource_graph import run_stack

BOT = "aws-native:lex:Bot"
VERSION = "aws-native:lex:BotVersion"


@pytest.fixture(scope="module")
def dev() -> Mocks:
    return run_stack("dev")


def sent_locales(mocks: Mocks) -> list[dict[str, Any]]:
    """The Bot's locales exactly as the engine received them (wire names, resolved values)."""
    locales: list[dict[str, Any]] = mocks.one(BOT).inputs["botLocales"]
    return locales


def first_slot(locales: list[dict[str, Any]]) -> dict[str, Any]:
    slot: dict[str, Any] = next(slot for intent in locales[0]["intents"] for slot in intent.get("slots", []))
    return slot


def first_intent_with_a_dialog_hook(locales: list[dict[str, Any]]) -> dict[str, Any]:
    intent: dict[str, Any] = next(i for i in locales[0]["intents"] if i.get("dialogCodeHook"))
    return intent


def test_the_version_carries_the_fingerprint_of_the_locales_the_bot_was_sent(dev):
    # GIVEN the dev stack's bot and its version
    version: RecordedResource = dev.one(VERSION)
    # WHEN the locales the engine received for the bot are fingerprinted
    expected = locales_fingerprint(sent_locales(dev))
    # THEN the version's description carries that fingerprint: what is hashed is what is sent, not the YAML
    assert version.inputs["description"] == f"Locales {expected}", version.inputs["description"]


def more_prompt_retries(locales: list[dict[str, Any]]) -> None:
    prompt = first_slot(locales)["valueElicitationSetting"]["promptSpecification"]
    prompt["maxRetries"] += 1


def no_interruptions(locales: list[dict[str, Any]]) -> None:
    first_slot(locales)["valueElicitationSetting"]["promptSpecification"]["allowInterrupt"] = False


def no_dialog_code_hook(locales: list[dict[str, Any]]) -> None:
    del first_intent_with_a_dialog_hook(locales)["dialogCodeHook"]


def another_voice(locales: list[dict[str, Any]]) -> None:
    locales[0]["voiceSettings"]["voiceId"] = "Matthew"


@pytest.mark.parametrize("change", [more_prompt_retries, no_interruptions, no_dialog_code_hook, another_voice])
def test_a_change_in_how_the_definition_is_translated_changes_the_fingerprint(
    dev, change: Callable[[list[dict[str, Any]]], None]
):
    # GIVEN the locales the bot is sent, and the same with one translated detail different (the YAML unchanged)
    sent = sent_locales(dev)
    changed = copy.deepcopy(sent)
    change(changed)
    assert changed != sent, f"{change.__name__} changed nothing"
    # WHEN both are fingerprinted THEN the fingerprints differ, so the change reaches the live alias
    assert locales_fingerprint(changed) != locales_fingerprint(sent), f"{change.__name__}: not versioned"


def test_a_provider_upgrade_changes_the_fingerprint(dev, monkeypatch):
    # GIVEN the locales the bot is sent, fingerprinted with the installed pulumi-aws-native
    sent = sent_locales(dev)
    before = locales_fingerprint(sent)
    # WHEN the provider is another version (it may send the same arguments differently)
    monkeypatch.setattr(support_bot, "AWS_NATIVE_VERSION", "99.0.0")
    # THEN the fingerprint differs, so the upgrade gets a version of its own
    assert locales_fingerprint(sent) != before


def test_the_fingerprint_is_the_same_for_equal_locales_in_any_key_order(dev):
    # GIVEN the locales the bot is sent, and the same with every mapping's keys in reverse order
    sent = sent_locales(dev)

    def reversed_keys(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: reversed_keys(value[key]) for key in reversed(list(value))}
        if isinstance(value, list):
            return [reversed_keys(item) for item in value]
        return value

    # WHEN / THEN they fingerprint alike: an unchanged bot keeps its version
    assert locales_fingerprint(reversed_keys(sent)) == locales_fingerprint(sent)


def test_the_version_is_replaced_on_any_change_new_before_old(dev):
    # GIVEN the bot's version (Lex cannot update one in place, nor delete one the alias points at)
    version = dev.one(VERSION)
    # WHEN / THEN any input change replaces it, and the replacement is made before the old one is deleted
    assert "*" in version.replace_on_changes, f"{version.urn} replaces only on {version.replace_on_changes}"
    assert version.delete_before_replace is False, f"{version.urn} would be deleted while the alias uses it"


def test_the_fingerprint_refuses_a_value_unknown_until_deploy():
    # GIVEN a locale whose value would only be known at deploy time (an Output)
    import pulumi

    # WHEN / THEN it cannot be fingerprinted: the version must be decided when the program runs
    with pytest.raises(TypeError, match="Output"):
        locales_fingerprint([{"localeId": pulumi.Output.from_input("en_US")}])
