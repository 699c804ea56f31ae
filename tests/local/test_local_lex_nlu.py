"""The local runtime's understanding: intents from the sample utterances, slot values, slot-type resolution."""

from __future__ import annotations

import pytest

from bot.schema import BotDefinition
from local.lex_nlu import FALLBACK_INTENT, Classifier, extract_value, resolve_custom


@pytest.fixture(scope="module")
def classifier(definition: BotDefinition) -> Classifier:
    return Classifier(definition.locales["en_US"])


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Where is my order?", "OrderStatus"),
        ("where's my order", "OrderStatus"),
        ("Check my balance", "BillingInquiry"),
        ("I FORGOT MY PASSWORD!!", "ResetPassword"),
        ("My Wi-Fi is not working", "NetworkTroubleshooting"),
        ("Thanks!", "ThankYouIntent"),
        ("hello", "Welcome"),
        ("Connect me to an agent", "TalkToHuman"),
    ],
)
def test_sample_utterances_in_other_case_and_punctuation_get_their_intent(classifier, text, intent) -> None:
    # WHEN a user types a sample with different case, punctuation, contractions or hyphens
    chosen, _ = classifier.classify(text)
    # THEN its intent is chosen with full confidence
    assert (chosen.intent, chosen.score) == (intent, 1.0)


@pytest.mark.parametrize(
    "text",
    [
        "The purple elephant sings opera at midnight",
        "asdkjh qwe zxc",
        "What's the weather like in Paris?",
        "Can you book me a flight to London",
        "why is the sky blue",
        "my stapler is possessed by ghosts",  # shares "my ... is" with "My customer ID is {CustomerId}"
        "the coffee machine is broken",
    ],
)
def test_sentences_unlike_any_sample_fall_under_the_threshold(classifier, text) -> None:
    # WHEN the user says something no sample resembles
    chosen, ranked = classifier.classify(text)
    # THEN FallbackIntent is chosen and every candidate scored under the locale's threshold
    assert chosen.intent == FALLBACK_INTENT
    assert all(match.score < classifier.threshold for match in ranked), [(m.intent, m.score) for m in ranked[:3]]


def test_a_near_sample_scores_between_the_threshold_and_one(classifier) -> None:
    # WHEN the user says part of a sample
    chosen, _ = classifier.classify("my order")
    # THEN the intent is still chosen, with less than full confidence
    assert chosen.intent == "OrderStatus"
    assert classifier.threshold <= chosen.score < 1.0


def test_ranked_candidates_are_sorted_by_confidence_within_zero_and_one(classifier) -> None:
    _, ranked = classifier.classify("Check my account balance for customer 67890")
    scores = [match.score for match in ranked]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= score <= 1.0 for score in scores)


def test_slot_value_is_aligned_from_the_template_around_it(classifier) -> None:
    # WHEN the user's sentence matches "What is my order status for customer {CustomerId}"
    chosen, _ = classifier.classify("What is my order status for customer 12345?")
    # THEN the words where {CustomerId} stands become the slot's value, without the punctuation
    value = chosen.slots["CustomerId"]
    assert (value.original, value.interpreted, value.resolved) == ("12345", "12345", ("12345",))


def test_original_value_type_keeps_an_unlisted_value_as_said(classifier) -> None:
    # GIVEN CustomerId is ORIGINAL_VALUE and 99999 is not among its sample values
    chosen, _ = classifier.classify("Order status for customer 99999")
    # THEN the value is what the user said (Lex's "expand values"), with no resolution
    value = chosen.slots["CustomerId"]
    assert (value.original, value.interpreted, value.resolved) == ("99999", "99999", ())


@pytest.mark.parametrize(
    ("said", "canonical"),
    [
        ("laptops", "laptop"),
        ("phones", "smartphone"),
        ("Notebook", "laptop"),
        ("ipads", "tablet"),
        ("labtop", "laptop"),
    ],
)
def test_top_resolution_maps_synonyms_plurals_and_near_misses_to_the_value(definition, said, canonical) -> None:
    product = definition.locales["en_US"].slot_type("ProductName")
    # WHEN a synonym, a plural or a small typo of a product is resolved
    # THEN it maps to the canonical value
    assert resolve_custom(product, said) == canonical


def test_top_resolution_refuses_a_word_that_is_no_product(definition) -> None:
    product = definition.locales["en_US"].slot_type("ProductName")
    assert resolve_custom(product, "bicycle") is None


def test_top_resolution_slot_in_a_sentence_keeps_the_users_word_as_original(classifier) -> None:
    chosen, _ = classifier.classify("Do you sell phones?")
    value = chosen.slots["ProductName"]
    assert (value.original, value.interpreted, value.resolved) == ("phones", "smartphone", ("smartphone",))


@pytest.mark.parametrize(
    ("slot", "answer", "expected"),
    [
        ("UserEmail", "you can reach me at Ana.Lopez@example.com, thanks", "Ana.Lopez@example.com"),
        ("UserName", "My name is Zoë", "Zoë"),
        ("UserName", "Ana", "Ana"),
    ],
)
def test_builtin_types_pick_their_value_out_of_an_answer(definition, slot, answer, expected) -> None:
    locale = definition.locales["en_US"]
    value = extract_value(locale.intent("TalkToHuman").slot(slot), locale, answer)
    assert value is not None
    assert value.interpreted == expected


@pytest.mark.parametrize(("slot", "answer"), [("UserEmail", "my email is secret"), ("UserName", "I don't want to say")])
def test_builtin_types_refuse_an_answer_without_a_value(definition, slot, answer) -> None:
    locale = definition.locales["en_US"]
    assert extract_value(locale.intent("TalkToHuman").slot(slot), locale, answer) is None
