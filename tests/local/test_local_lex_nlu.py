"""The local runtime's understanding: intents from the sample utterances and paraphrases of them, slot values
anywhere in a sentence, slot-type resolution, and the model of meaning behind it."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import numpy
import pytest

from bench.nlu import Accuracy, Miss, Paraphrase, ParaphraseFileError, load_paraphrases, measure
from bot.schema import BotDefinition
from local.lex_nlu import (
    FALLBACK_INTENT,
    Classifier,
    LanguageModel,
    LanguageModelError,
    SlotValue,
    extract_value,
    language_model,
    resolve_custom,
)


@pytest.fixture(scope="module")
def classifier(definition: BotDefinition) -> Classifier:
    return Classifier(definition.locales["en_US"])


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Where is my order?", "OrderStatus"),
        ("where's my order", "OrderStatus"),
        ("Check my balance", "BillingInquiry"),
        ("WHAT PRODUCTS DO YOU SELL??", "ProductInfo"),
        ("Let's start over!", "StartOverIntent"),
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


# --- paraphrases: lines that are not samples (bench/paraphrases.yaml, also measured by `make bench`) -----------

INTENT_ACCURACY_BAR = 0.95
SLOT_ACCURACY_BAR = 0.90


@pytest.fixture(scope="module")
def paraphrases(definition: BotDefinition) -> list[Paraphrase]:
    return load_paraphrases(definition.locales["en_US"])


@pytest.fixture(scope="module")
def accuracy(classifier: Classifier, paraphrases: list[Paraphrase]) -> Accuracy:
    return measure(classifier, paraphrases)


def _listed(misses: list[Miss]) -> str:
    return "\n".join(f"  {miss}" for miss in misses) or "  (none)"


def test_the_paraphrase_set_covers_every_intent_and_out_of_scope_lines(definition, paraphrases) -> None:
    # GIVEN the paraphrase set the NLU is measured on
    intents = {line.intent for line in paraphrases}
    # THEN it is large enough, speaks of every intent, and has lines that must fall back
    assert len(paraphrases) >= 80
    assert intents >= {intent.name for intent in definition.locales["en_US"].intents}
    assert sum(line.intent == FALLBACK_INTENT for line in paraphrases) >= 10


def test_a_paraphrase_copied_from_the_definition_is_refused(definition, tmp_path) -> None:
    # GIVEN a paraphrase file with a line that is a sample utterance, in other case and punctuation
    path = tmp_path / "paraphrases.yaml"
    path.write_text("intents:\n  OrderStatus:\n    - where is my ORDER?\n", encoding="utf-8")
    # WHEN it is loaded THEN it is refused: such a line measures nothing
    with pytest.raises(ParaphraseFileError, match="sample utterance"):
        load_paraphrases(definition.locales["en_US"], path)


def test_paraphrases_get_their_intent(accuracy) -> None:
    # WHEN every paraphrase is classified THEN at least 95 % get their intent (out-of-scope lines included)
    assert accuracy.intent_accuracy >= INTENT_ACCURACY_BAR, (
        f"intent accuracy {accuracy.intent_accuracy:.1%} < {INTENT_ACCURACY_BAR:.0%}; misses (expected -> got):\n"
        + _listed(accuracy.intent_misses)
    )


def test_slot_values_of_paraphrases_are_found(accuracy) -> None:
    # WHEN every paraphrase is classified THEN at least 90 % of the slot values are right (and few spurious)
    assert accuracy.slot_accuracy >= SLOT_ACCURACY_BAR, (
        f"slot accuracy {accuracy.slot_accuracy:.1%} < {SLOT_ACCURACY_BAR:.0%}; misses (expected -> got):\n"
        + _listed(accuracy.slot_misses)
    )


def test_every_out_of_scope_line_falls_back(accuracy) -> None:
    # WHEN the out-of-scope lines are classified THEN each goes to FallbackIntent
    wrongly_understood = [miss for miss in accuracy.intent_misses if miss.expected == FALLBACK_INTENT]
    assert not wrongly_understood, "out-of-scope lines taken for an intent:\n" + _listed(wrongly_understood)


# --- understanding beyond the samples --------------------------------------------------------------------------


def test_a_slot_value_is_found_anywhere_in_the_sentence(classifier) -> None:
    # WHEN the customer id comes first and the request after it, as no sample has it
    chosen, _ = classifier.classify("my customer number is 12345 and I want my order")
    # THEN the intent and the value are both understood
    assert chosen.intent == "OrderStatus"
    assert chosen.slots["CustomerId"] == SlotValue("12345", "12345", ("12345",))


def test_digits_said_one_by_one_are_a_customer_id(classifier) -> None:
    chosen, _ = classifier.classify("balance for customer six seven eight nine zero please")
    assert chosen.intent == "BillingInquiry"
    assert chosen.slots["CustomerId"] == SlotValue("six seven eight nine zero", "67890", ("67890",))


def test_a_count_in_words_is_not_a_customer_id(classifier) -> None:
    # GIVEN a sentence with one number word, which is a count, not an id said digit by digit
    chosen, _ = classifier.classify("I ordered one laptop, where is my order")
    # THEN no customer id is made of it
    assert chosen.intent == "OrderStatus"
    assert "CustomerId" not in chosen.slots


def test_digits_said_one_by_one_answer_the_customer_id_prompt(definition) -> None:
    locale = definition.locales["en_US"]
    value = extract_value(locale.intent("OrderStatus").slot("CustomerId"), locale, "one two three four five")
    assert value == SlotValue("one two three four five", "12345", ("12345",))


@pytest.mark.parametrize(
    ("text", "original", "canonical"),
    [
        ("the mobile phones you sell", "mobile phones", "smartphone"),
        ("I'd like information on your notebooks", "notebooks", "laptop"),
        ("how much does an ipad cost", "ipad", "tablet"),
        ("are your labtops any good", "labtops", "laptop"),
    ],
)
def test_products_are_understood_by_synonym_plural_or_typo_in_free_text(classifier, text, original, canonical) -> None:
    # WHEN a product is named in a sentence unlike any sample, by a synonym, a plural or a typo
    chosen, _ = classifier.classify(text)
    # THEN ProductInfo is chosen and the slot resolves to the canonical value, keeping the user's words
    assert chosen.intent == "ProductInfo"
    assert chosen.slots["ProductName"] == SlotValue(original, canonical, (canonical,))


def test_a_short_common_word_is_not_taken_for_a_misspelt_product(classifier) -> None:
    # "table" is one letter from "tablet", but a real word: no product, and not a product question
    chosen, ranked = classifier.classify("can you book a table for two")
    assert chosen.intent == FALLBACK_INTENT
    assert all("ProductName" not in match.slots for match in ranked)


@pytest.mark.parametrize(("text", "intent"), [("ty", "ThankYouIntent"), ("thx", "ThankYouIntent")])
def test_chat_shorthand_is_understood(classifier, text, intent) -> None:
    chosen, _ = classifier.classify(text)
    assert chosen.intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("what's my current balance", "BillingInquiry"),
        ("I'd like to know the status of my order", "OrderStatus"),
        ("can I speak with a human", "TalkToHuman"),
        ("wher is my ordr", "OrderStatus"),  # typos: the letters still match
    ],
)
def test_a_paraphrase_gets_its_intent_with_less_than_full_confidence(classifier, text, intent) -> None:
    # WHEN the user says what a sample says, in other words
    chosen, _ = classifier.classify(text)
    # THEN the intent is chosen above the threshold, but only an exact or template match scores 1.0
    assert chosen.intent == intent
    assert classifier.threshold <= chosen.score < 1.0


def test_a_template_with_its_slot_left_out_is_an_exact_match(classifier) -> None:
    # "Tell me about" is "Tell me about {ProductName}" without a product: the bot will ask for one
    chosen, _ = classifier.classify("Tell me about")
    assert (chosen.intent, chosen.score, chosen.slots) == ("ProductInfo", 1.0, {})


def test_an_open_value_where_a_sample_has_its_slot_is_kept_as_said(classifier) -> None:
    # GIVEN CustomerId is ORIGINAL_VALUE: Lex takes whatever stands where the sample has {CustomerId}
    chosen, _ = classifier.classify("My customer ID is abc")
    # THEN the value is what the user said (the code hook validates it)
    assert chosen.intent == "OrderStatus"
    assert chosen.slots["CustomerId"] == SlotValue("abc", "abc", ())


def test_a_bare_number_alone_is_no_intent(classifier) -> None:
    # A customer id out of the blue says nothing about what the user wants (the runtime uses it when it asked)
    chosen, _ = classifier.classify("12345")
    assert chosen.intent == FALLBACK_INTENT


# --- the model -----------------------------------------------------------------------------------------------


def test_sentence_vectors_are_wordllamas_own() -> None:
    # GIVEN wordllama's own loader and embedder (what the runtime reads directly from the same files)
    wordllama = importlib.import_module("wordllama")
    theirs = wordllama.WordLlama.load(cache_dir=Path(str(wordllama.__file__)).parent, disable_download=True)
    texts = ["I forgot my password", "the mobile phones you sell", "thank you"]
    # WHEN both turn the same sentences into vectors THEN the vectors are the same
    ours = language_model.get().matrix(texts)
    assert numpy.allclose(ours, theirs.embed(texts, norm=True), atol=1e-5)


def test_a_missing_model_is_a_clear_error_naming_the_fix(monkeypatch) -> None:
    # GIVEN a Python environment without wordllama
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    # WHEN the model's files are looked for THEN the error says how to install it
    with pytest.raises(LanguageModelError, match=r"pip install -r requirements-dev\.txt"):
        LanguageModel.files()
