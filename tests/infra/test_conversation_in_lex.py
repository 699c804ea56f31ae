"""The conversation as Lex gets it (issue 10): built-in cancel and start over, quick replies on a slot prompt, and
the query log the fulfillment function reads for a handover's story."""

from __future__ import annotations

from typing import Any

import pytest

from tests.infra.conftest import Mocks
from tests.infra.resource_graph import REPO, run_stack

FUNCTION = "aws:lambda/function:Function"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TABLE = "aws:dynamodb/table:Table"


@pytest.fixture(scope="module")
def dev() -> Mocks:
    if not (REPO / "site" / "dist" / "index.html").exists():
        pytest.fail("the site is not built: run `make site`")
    return run_stack("dev")


def lex_intents(mocks: Mocks) -> dict[str, dict[str, Any]]:
    bot = mocks.one("aws-native:lex:Bot")
    return {intent["name"]: intent for intent in bot.inputs["botLocales"][0]["intents"]}


@pytest.mark.parametrize(
    ("name", "parent"),
    [
        ("CancelIntent", "AMAZON.CancelIntent"),
        ("StartOverIntent", "AMAZON.StartOverIntent"),
        ("FallbackIntent", "AMAZON.FallbackIntent"),
    ],
)
def test_an_intent_on_a_built_in_gets_its_parent_and_no_utterances(dev, name, parent):
    intent = lex_intents(dev)[name]
    assert intent["parentIntentSignature"] == parent
    assert "sampleUtterances" not in intent, f"Lex takes no utterances for {parent}: {intent.get('sampleUtterances')}"


def test_cancel_closes_with_the_definitions_answer(dev):
    closing = lex_intents(dev)["CancelIntent"]["intentClosingSetting"]["closingResponse"]
    [group] = closing["messageGroupsList"]
    assert group["message"]["plainTextMessage"]["value"] == "Okay, I've dropped that. What else can I help you with?"


def test_the_product_prompt_offers_the_products_as_a_response_card(dev):
    # GIVEN ProductInfo's ProductName slot, which offers quick replies in the definition
    [slot] = lex_intents(dev)["ProductInfo"]["slots"]
    groups = slot["valueElicitationSetting"]["promptSpecification"]["messageGroupsList"]
    # THEN its prompt is the text, then an ImageResponseCard with one button per product
    assert [sorted(group["message"]) for group in groups] == [["plainTextMessage"], ["imageResponseCard"]]
    card = groups[1]["message"]["imageResponseCard"]
    assert card["title"] == "Our products"
    assert [(b["text"], b["value"]) for b in card["buttons"]] == [
        ("Laptop", "laptop"),
        ("Smartphone", "smartphone"),
        ("Tablet", "tablet"),
    ]


def test_a_slot_without_quick_replies_says_its_prompt_alone(dev):
    [slot] = lex_intents(dev)["OrderStatus"]["slots"]
    groups = slot["valueElicitationSetting"]["promptSpecification"]["messageGroupsList"]
    assert [sorted(group["message"]) for group in groups] == [["plainTextMessage"]]


def test_the_fulfillment_function_reads_the_query_log_by_query_and_get_only(dev):
    # GIVEN the query log table and the fulfillment function
    table = dev.one(TABLE, "query-log-table")
    function = dev.one(FUNCTION, "chatbot-fulfillment-function")
    # THEN the function is told the table's name
    assert function.inputs["environment"]["variables"]["QUERY_LOG_TABLE_NAME"] == table.outputs["name"]
    # AND QueryLog, the table's owner, lets its role GetItem and Query that table, nothing more
    policy = dev.one(ROLE_POLICY, "query-log-fulfillment-read-data")
    role = dev.named("chatbot-fulfillment-role")
    assert policy.inputs["role"] == role.id, f"{policy.urn} is not on the fulfillment role"
    assert policy.statements() == [
        {"Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:Query"], "Resource": [table.outputs["arn"]]}
    ]
