"""RecognizeText bodies are checked as Lex checks them: anything malformed is a 400 ValidationException naming
the member, never a crash (the HTTP tests check the status and header; these check what is refused and why)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.lex_requests import MAX_ATTRIBUTES_BYTES, recognize_text_body
from local.lex_runtime import LexValidationError


def body(**fields: Any) -> bytes:
    return json.dumps({"text": "hello", **fields}).encode()


def refusal(raw: bytes) -> str:
    """The ValidationException's message for `raw` (the test fails if it is accepted)."""
    with pytest.raises(LexValidationError) as error:
        recognize_text_body(raw)
    assert error.value.error_type == "ValidationException"
    assert error.value.status == 400
    return error.value.message


def test_a_full_body_as_boto3_sends_it_is_accepted() -> None:
    # GIVEN every member a client may send, well formed
    sent = {
        "text": "Where is my order",
        "sessionState": {
            "sessionAttributes": {"escalationOffered": "true", "empty": ""},
            "dialogAction": {"type": "ElicitSlot", "slotToElicit": "CustomerId"},
            "intent": {
                "name": "OrderStatus",
                "state": "InProgress",
                "confirmationState": "None",
                "slots": {"CustomerId": None, "Other": {"value": {"interpretedValue": "1", "originalValue": "one"}}},
            },
            "activeContexts": [],
        },
        "requestAttributes": {"channel": "web"},
        "somethingNewInTheApi": {"any": ["shape"]},
    }
    # WHEN it is checked THEN it comes back as sent (unknown members are ignored, as AWS ignores them)
    assert recognize_text_body(json.dumps(sent).encode()) == sent


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinities_are_refused(constant: str) -> None:
    message = refusal(b'{"text": "hi", "sessionState": {"sessionAttributes": {}}, "x": ' + constant.encode() + b"}")
    assert "not valid JSON" in message
    assert constant in message


def test_a_number_beyond_a_double_is_refused() -> None:
    assert "too large" in refusal(b'{"text": "hi", "x": 1e999}')


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b'{"text": "hi \\ud800 there"}', "'text'"),
        (b'{"text": "hi", "sessionState": {"sessionAttributes": {"k": "\\udfff"}}}', "sessionAttributes.k"),
        (b'{"text": "hi", "requestAttributes": {"\\ud83d": "v"}}', "requestAttributes.key"),
    ],
)
def test_a_lone_surrogate_is_refused_naming_where_it_is(raw: bytes, where: str) -> None:
    message = refusal(raw)
    assert where in message
    assert "surrogate" in message


def test_a_surrogate_pair_is_one_character_and_accepted() -> None:
    assert recognize_text_body(b'{"text": "thanks \\ud83d\\ude00"}')["text"] == "thanks \U0001f600"


def test_bytes_that_are_not_utf8_are_refused() -> None:
    assert "UTF-8" in refusal(b'{"text": "caf\xe9"}')


def test_json_nested_beyond_reason_is_refused_not_a_crash() -> None:
    assert "nested too deeply" in refusal(b'{"text": "hi", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}")


@pytest.mark.parametrize(
    ("state", "member", "constraint"),
    [
        ("not an object", "sessionState", "must be an object"),
        ({"sessionAttributes": ["a", "b"]}, "sessionState.sessionAttributes", "must be an object"),
        ({"sessionAttributes": {"count": 3}}, "sessionState.sessionAttributes.count", "must be a string"),
        ({"sessionAttributes": {"": "v"}}, "sessionState.sessionAttributes.key", "greater than or equal to 1"),
        ({"sessionAttributes": {"k": None}}, "sessionState.sessionAttributes.k", "must not be null"),
        ({"dialogAction": {"type": "Dance"}}, "sessionState.dialogAction.type", "enum value set"),
        ({"dialogAction": {}}, "sessionState.dialogAction.type", "must not be null"),
        ({"dialogAction": {"type": "ElicitSlot", "slotToElicit": ""}}, "sessionState.dialogAction.slotToElicit", "1"),
        ({"intent": {"slots": {}}}, "sessionState.intent.name", "must not be null"),
        ({"intent": {"name": "OrderStatus", "state": "Sleeping"}}, "sessionState.intent.state", "enum value set"),
        ({"intent": {"name": "OrderStatus", "slots": {"Id": {"value": {}}}}}, "interpretedValue", "must not be null"),
        ({"intent": {"name": "OrderStatus", "slots": "all of them"}}, "sessionState.intent.slots", "must be an object"),
        ({"activeContexts": [{"name": "ctx"}]}, "sessionState.activeContexts.1.timeToLive", "must not be null"),
    ],
)
def test_a_malformed_session_state_is_refused_naming_the_member(state: Any, member: str, constraint: str) -> None:
    message = refusal(body(sessionState=state))
    assert member in message, message
    assert constraint in message, message


def test_session_and_request_attributes_over_lex_s_limit_are_refused() -> None:
    # GIVEN attributes that together pass Lex's 12 KB by a little
    half = "x" * (MAX_ATTRIBUTES_BYTES // 2)
    raw = body(sessionState={"sessionAttributes": {"a": half}}, requestAttributes={"b": half})
    # THEN the request is refused and says the limit
    assert str(MAX_ATTRIBUTES_BYTES) in refusal(raw)


def test_attributes_at_lex_s_limit_are_accepted() -> None:
    value = "x" * (MAX_ATTRIBUTES_BYTES - 1)
    assert recognize_text_body(body(sessionState={"sessionAttributes": {"a": value}}))


def test_text_is_measured_in_utf16_code_units_as_lex_counts_it() -> None:
    # GIVEN 600 emoji: 600 characters, but 1,200 UTF-16 code units (Lex's unit), over its 1,024
    message = refusal(json.dumps({"text": "\U0001f600" * 600}).encode())
    assert "'text'" in message
    assert "1024" in message


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"null", b"{not json"])
def test_a_body_that_is_not_a_json_object_is_refused(raw: bytes) -> None:
    assert "JSON" in refusal(raw)


def test_several_violations_are_counted_and_listed() -> None:
    message = refusal(json.dumps({"sessionState": {"dialogAction": {"type": "Dance"}}}).encode())
    assert message.startswith("2 validation errors detected: ")
    assert "'text'" in message
    assert "sessionState.dialogAction.type" in message
