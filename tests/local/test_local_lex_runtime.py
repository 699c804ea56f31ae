"""The local Lex runtime's dialog, with a small code hook standing in for the fulfillment Lambda.

The hook here is a test double of the *Lambda* (an external dependency of the runtime); it records the
events it receives so the tests can check them against Lex V2's event format.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.schema import BotDefinition
from contracts.stack import MAX_SESSION_ID_CHARS
from local.lex_runtime import LexDependencyFailedError, LexRuntime, LexValidationError

BOT = ("LOCALBOTID", "LOCALALIAS", "en_US")


class Hook:
    """A code hook that delegates dialog turns and closes fulfillment with a fixed message."""

    def __init__(self, dialog: dict[str, Any] | None = None) -> None:
        self.events: list[dict[str, Any]] = []
        self.dialog = dialog  # a canned answer for DialogCodeHook, or None to delegate

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        state = event["sessionState"]
        if event["invocationSource"] == "DialogCodeHook":
            return self.dialog or {"sessionState": {**state, "dialogAction": {"type": "Delegate"}}}
        intent = {**state["intent"], "state": "Fulfilled"}
        return {
            "sessionState": {**state, "intent": intent, "dialogAction": {"type": "Close"}},
            "messages": [{"contentType": "PlainText", "content": f"done {intent['name']}"}],
        }


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def hook() -> Hook:
    return Hook()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def runtime(definition: BotDefinition, hook: Hook, clock: Clock) -> LexRuntime:
    return LexRuntime(definition, hook, clock=clock)


def say(runtime: LexRuntime, text: str, session: str = "s-1", **body: Any) -> dict[str, Any]:
    return runtime.recognize_text(*BOT, session, {"text": text, **body})


def texts(answer: dict[str, Any]) -> list[str]:
    """The text messages of an answer (quick-reply cards have no `content`)."""
    return [message["content"] for message in answer.get("messages", []) if "content" in message]


def test_dialog_hook_gets_a_lex_v2_event_for_a_recognised_intent(runtime, hook) -> None:
    # WHEN the user names an intent with a dialog code hook and fills its slot in the sentence
    say(runtime, "Track my order 12345")
    # THEN the hook first receives a DialogCodeHook event shaped like Lex V2's
    event = hook.events[0]
    assert event["invocationSource"] == "DialogCodeHook"
    assert event["messageVersion"] == "1.0"
    assert event["inputMode"] == "Text"
    assert event["inputTranscript"] == "Track my order 12345"
    assert event["sessionId"] == "s-1"
    assert event["bot"] == {
        "id": "LOCALBOTID",
        "name": "SupportChatbot",
        "aliasId": "LOCALALIAS",
        "aliasName": "live",
        "localeId": "en_US",
        "version": "1",
    }
    intent = event["sessionState"]["intent"]
    assert intent["name"] == "OrderStatus"
    assert intent["slots"]["CustomerId"]["value"]["interpretedValue"] == "12345"
    assert event["interpretations"][0]["nluConfidence"] == 1.0, "the event carries the score as a bare number"


def test_fulfillment_hook_runs_once_every_required_slot_is_filled(runtime, hook) -> None:
    answer = say(runtime, "Track my order 12345")
    # THEN DialogCodeHook (delegated) is followed by FulfillmentCodeHook, whose message is the answer
    assert [event["invocationSource"] for event in hook.events] == ["DialogCodeHook", "FulfillmentCodeHook"]
    assert hook.events[1]["sessionState"]["intent"]["state"] == "ReadyForFulfillment"
    assert texts(answer) == ["done OrderStatus"]
    assert answer["sessionState"]["intent"]["state"] == "Fulfilled"


def test_missing_slot_is_elicited_with_the_definition_prompt_and_proposed_to_the_hook(runtime, hook) -> None:
    answer = say(runtime, "Where is my order")
    assert texts(answer) == ["Could you please provide your customer ID?"]
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    assert hook.events[0]["proposedNextState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}


def test_unfilled_answer_reprompts_up_to_max_retries_then_hands_over_to_the_fallback(definition) -> None:
    # GIVEN ProductName (TOP_RESOLUTION, max_retries 2) being elicited
    hook = Hook()
    runtime = LexRuntime(definition, hook)
    prompt = definition.locales["en_US"].intent("ProductInfo").slot("ProductName").prompt
    first = say(runtime, "Tell me about")
    assert texts(first) == [prompt]
    # WHEN the user twice answers with no product
    retries = [say(runtime, "hmm, bicycles maybe"), say(runtime, "something else")]
    # THEN the bot re-prompts each time
    assert [texts(answer) for answer in retries] == [[prompt], [prompt]]
    # WHEN the third answer fails too
    last = say(runtime, "maybe a toaster")
    # THEN, as Lex V2 does after a slot's retries, the FallbackIntent takes over (its hook offers a person)
    assert (hook.events[-1]["invocationSource"], hook.events[-1]["sessionState"]["intent"]["name"]) == (
        "FulfillmentCodeHook",
        "FallbackIntent",
    )
    assert last["sessionState"]["intent"]["name"] == "FallbackIntent"
    assert texts(last) == ["done FallbackIntent"]
    # AND the product question is left: nothing is being asked any more
    assert last["sessionState"]["dialogAction"] == {"type": "Close"}


def test_an_answer_that_fills_the_slot_continues_to_fulfillment(runtime) -> None:
    say(runtime, "Tell me about")
    answer = say(runtime, "tablets please")
    assert texts(answer) == ["done ProductInfo"]
    assert answer["sessionState"]["intent"]["slots"]["ProductName"]["value"]["interpretedValue"] == "tablet"


def test_a_clear_new_intent_while_a_slot_is_elicited_changes_the_subject(runtime) -> None:
    say(runtime, "Tell me about")
    answer = say(runtime, "Where is my order")
    assert answer["sessionState"]["intent"]["name"] == "OrderStatus"


def test_dialog_hook_elicit_slot_is_honoured_with_its_own_message(definition) -> None:
    # GIVEN a hook that re-asks for the customer id with its own wording
    hook = Hook(
        dialog={
            "sessionState": {
                "intent": {"name": "OrderStatus", "slots": {"CustomerId": None}, "state": "InProgress"},
                "dialogAction": {"type": "ElicitSlot", "slotToElicit": "CustomerId"},
                "sessionAttributes": {"checked": "yes"},
            },
            "messages": [{"contentType": "PlainText", "content": "Digits only, please."}],
        }
    )
    answer = say(LexRuntime(definition, hook), "My customer ID is abc")
    # THEN the runtime says the hook's message, elicits the slot, and keeps the hook's attributes
    assert texts(answer) == ["Digits only, please."]
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    assert answer["sessionState"]["sessionAttributes"] == {"checked": "yes"}


def test_malformed_hook_response_is_a_dependency_failure_and_keeps_the_session(definition) -> None:
    # GIVEN a hook whose fulfillment answer has no sessionState, and a conversation waiting for a customer id
    delegating = Hook()

    def malformed_fulfillment(event: dict[str, Any]) -> dict[str, Any]:
        return delegating(event) if event["invocationSource"] == "DialogCodeHook" else {"messages": []}

    runtime = LexRuntime(definition, malformed_fulfillment)
    say(runtime, "Where is my order")
    # WHEN the answer makes the runtime call fulfillment
    with pytest.raises(LexDependencyFailedError) as error:
        say(runtime, "12345")
    # THEN Lex's 424 DependencyFailedException names the problem
    assert error.value.status == 424
    assert "sessionState" in error.value.message
    # AND the session is as it was before the failed turn: still waiting for the customer id
    session = runtime.get_session(*BOT, "s-1")
    assert session["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}


def test_raising_hook_is_a_dependency_failure(definition) -> None:
    def broken(event: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("boom")

    with pytest.raises(LexDependencyFailedError):
        say(LexRuntime(definition, broken), "Track my order 12345")


def test_static_answer_intent_closes_without_calling_the_hook(runtime, hook, definition) -> None:
    answer = say(runtime, "Thanks a lot!")
    assert texts(answer) == [definition.locales["en_US"].intent("ThankYouIntent").answer]
    assert answer["sessionState"]["intent"]["state"] == "Fulfilled"
    assert hook.events == []


def test_fallback_is_fulfilled_by_the_hook(runtime, hook) -> None:
    answer = say(runtime, "The purple elephant sings opera at midnight")
    assert [(e["invocationSource"], e["sessionState"]["intent"]["name"]) for e in hook.events] == [
        ("FulfillmentCodeHook", "FallbackIntent")
    ]
    assert texts(answer) == ["done FallbackIntent"]


def test_request_session_attributes_replace_the_sessions(runtime) -> None:
    say(runtime, "hello", sessionState={"sessionAttributes": {"a": "1", "b": "2"}})
    answer = say(runtime, "hello", sessionState={"sessionAttributes": {"c": "3"}})
    assert answer["sessionState"]["sessionAttributes"] == {"c": "3"}


def test_session_attributes_that_are_not_strings_are_refused(runtime) -> None:
    with pytest.raises(LexValidationError, match="sessionAttributes"):
        say(runtime, "hello", sessionState={"sessionAttributes": {"a": 1}})


def test_an_idle_session_expires_after_the_bots_ttl(runtime, clock, definition) -> None:
    # GIVEN a conversation waiting for a customer id
    say(runtime, "Where is my order")
    # WHEN the user comes back after the idle TTL
    clock.now += definition.bot.idle_session_ttl_seconds + 1
    answer = say(runtime, "12345")
    # THEN the session started afresh: "12345" alone is no intent
    assert answer["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_a_session_within_the_ttl_continues(runtime, clock, definition) -> None:
    say(runtime, "Where is my order")
    clock.now += definition.bot.idle_session_ttl_seconds - 1
    assert texts(say(runtime, "12345")) == ["done OrderStatus"]


def test_sessions_do_not_share_state(runtime) -> None:
    say(runtime, "Where is my order", session="s-a")
    answer = say(runtime, "12345", session="s-b")
    assert answer["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_delete_session_forgets_the_conversation(runtime) -> None:
    say(runtime, "Where is my order")
    runtime.delete_session(*BOT, "s-1")
    assert say(runtime, "12345")["sessionState"]["intent"]["name"] == "FallbackIntent"


@pytest.mark.parametrize(
    "session_id", ["x", "has space", "a" * (MAX_SESSION_ID_CHARS + 1), "semi;colon", "new-line-at-the-end\n"]
)
def test_session_ids_outside_lex_pattern_are_refused(runtime, session_id) -> None:
    with pytest.raises(LexValidationError, match="sessionId"):
        say(runtime, "hello", session=session_id)


@pytest.mark.parametrize("session_id", ["ab", "a" * MAX_SESSION_ID_CHARS, "us-east-1:0f.9_A"])
def test_session_ids_of_lex_pattern_and_length_are_accepted(runtime, session_id) -> None:
    answer = say(runtime, "hello", session=session_id)
    assert answer["sessionId"] == session_id


@pytest.mark.parametrize("body", [{"text": ""}, {"text": 42}, {}, ["hello"]])
def test_requests_without_text_are_refused(runtime, body) -> None:
    with pytest.raises(LexValidationError):
        runtime.recognize_text(*BOT, "s-1", body)


class ConfirmingHook(Hook):
    """Asks to confirm once, then closes with the confirmation state it was given."""

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        self.events.append(event)
        intent = event["sessionState"]["intent"]
        if intent["confirmationState"] == "None":
            return {
                "sessionState": {"intent": intent, "dialogAction": {"type": "ConfirmIntent"}},
                "messages": [{"contentType": "PlainText", "content": "Check order 12345?"}],
            }
        closed = {**intent, "state": "Fulfilled"}
        return {
            "sessionState": {"intent": closed, "dialogAction": {"type": "Close"}},
            "messages": [{"contentType": "PlainText", "content": f"confirmation: {intent['confirmationState']}"}],
        }


@pytest.mark.parametrize(("reply", "state"), [("yes please", "Confirmed"), ("no", "Denied")])
def test_confirm_intent_asks_and_passes_the_users_answer_to_the_hook(definition, reply, state) -> None:
    runtime = LexRuntime(definition, ConfirmingHook())
    asked = say(runtime, "Track my order 12345")
    assert texts(asked) == ["Check order 12345?"]
    assert asked["sessionState"]["dialogAction"] == {"type": "ConfirmIntent"}
    assert texts(say(runtime, reply)) == [f"confirmation: {state}"]


def test_elicit_intent_from_the_hook_ends_the_intent_and_asks_what_next(definition) -> None:
    hook = Hook(
        dialog={
            "sessionState": {"dialogAction": {"type": "ElicitIntent"}},
            "messages": [{"contentType": "PlainText", "content": "What else?"}],
        }
    )
    runtime = LexRuntime(definition, hook)
    answer = say(runtime, "Where is my order")
    assert texts(answer) == ["What else?"]
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitIntent"}
    assert "intent" not in answer["sessionState"]


# --- users change their mind ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("said", "intent"),
    [
        ("cancel", "CancelIntent"),
        ("never mind", "CancelIntent"),
        ("forget it", "CancelIntent"),
        ("start over", "StartOverIntent"),
    ],
)
def test_cancel_or_start_over_while_a_slot_is_asked_leaves_the_question(runtime, hook, definition, said, intent):
    # GIVEN the bot asks for a customer id
    asked = say(runtime, "Where is my order")
    assert asked["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    events_before = len(hook.events)
    # WHEN the user changes their mind
    answer = say(runtime, said)
    # THEN the built-in intent closes the dialog with the definition's answer, and nothing took the words as an id
    assert answer["sessionState"]["intent"]["name"] == intent
    assert answer["sessionState"]["dialogAction"] == {"type": "Close"}
    assert texts(answer) == [definition.locales["en_US"].intent(intent).answer]
    assert len(hook.events) == events_before, "the order's code hook saw the words as a customer id"
    # AND the next sentence is a new question, not an answer to the old one
    assert say(runtime, "12345")["sessionState"]["intent"]["name"] == "FallbackIntent"


def test_a_clearly_different_question_while_a_slot_is_asked_switches_intent(runtime, definition) -> None:
    # GIVEN the bot asks for a customer id
    say(runtime, "Where is my order")
    # WHEN the user asks something else entirely
    answer = say(runtime, "tell me about your tablets")
    # THEN that question is answered, as Lex switches intents, instead of taking it as the id
    assert answer["sessionState"]["intent"]["name"] == "ProductInfo"
    assert answer["sessionState"]["intent"]["slots"]["ProductName"]["value"]["interpretedValue"] == "tablet"
    assert texts(answer) == ["done ProductInfo"]


@pytest.mark.parametrize("said", ["representative", "agent", "operator", "a person", "human"])
def test_asking_for_a_person_while_a_customer_id_is_asked_starts_the_handover(runtime, said) -> None:
    say(runtime, "Where is my order")
    answer = say(runtime, said)
    assert answer["sessionState"]["intent"]["name"] == "TalkToHuman"
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserName"}


def test_a_value_for_the_slot_is_taken_even_when_it_resembles_another_intent_weakly(runtime, hook) -> None:
    # GIVEN the bot asks for a product
    say(runtime, "Tell me about")
    # WHEN the answer names a product
    answer = say(runtime, "the laptop please")
    # THEN it fills the slot
    assert answer["sessionState"]["intent"]["name"] == "ProductInfo"
    assert answer["sessionState"]["intent"]["slots"]["ProductName"]["value"]["interpretedValue"] == "laptop"


@pytest.mark.parametrize("name", ["Star", "Mindy", "Nevin", "Forrest"])
def test_a_first_name_that_resembles_cancel_or_start_over_is_taken_as_the_name(runtime, hook, name) -> None:
    # GIVEN the bot asks for a first name
    say(runtime, "talk to a human")
    # WHEN the user gives a name that looks a little like "never mind" or "start over"
    answer = say(runtime, name)
    # THEN it is the name, and the bot asks for the email next
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserEmail"}
    assert hook.events[-1]["sessionState"]["intent"]["slots"]["UserName"]["value"]["originalValue"] == name


@pytest.mark.parametrize("said", ["cancel", "never mind", "start over"])
def test_cancel_while_a_name_is_asked_is_not_taken_as_the_name(runtime, said) -> None:
    say(runtime, "talk to a human")
    answer = say(runtime, said)
    assert answer["sessionState"]["intent"]["name"] in {"CancelIntent", "StartOverIntent"}
    assert answer["sessionState"]["dialogAction"] == {"type": "Close"}


def test_an_address_without_a_domain_reaches_the_code_hook_to_be_judged(runtime, hook) -> None:
    # GIVEN the bot asks where to reply
    say(runtime, "talk to a human")
    asked = say(runtime, "Ana")
    assert asked["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "UserEmail"}
    # WHEN the user types an address with no top-level domain
    say(runtime, "ana@example.")
    # THEN the code hook gets it as the email slot (as Lex's AMAZON.EmailAddress takes username@domain), to say why not
    slot = hook.events[-1]["sessionState"]["intent"]["slots"]["UserEmail"]
    assert slot["value"]["originalValue"] == "ana@example"


# --- quick replies ----------------------------------------------------------------------------------------------


def test_a_slot_with_quick_replies_offers_them_after_its_prompt(runtime, definition) -> None:
    answer = say(runtime, "Tell me about")
    prompt = definition.locales["en_US"].intent("ProductInfo").slot("ProductName").prompt
    assert answer["messages"] == [
        {"contentType": "PlainText", "content": prompt},
        {
            "contentType": "ImageResponseCard",
            "imageResponseCard": {
                "title": "Our products",
                "buttons": [
                    {"text": "Laptop", "value": "laptop"},
                    {"text": "Smartphone", "value": "smartphone"},
                    {"text": "Tablet", "value": "tablet"},
                ],
            },
        },
    ]


def test_a_slot_without_quick_replies_says_its_prompt_alone(runtime) -> None:
    answer = say(runtime, "Where is my order")
    assert [message["contentType"] for message in answer["messages"]] == ["PlainText"]


def test_quick_replies_from_the_code_hook_are_passed_on(definition) -> None:
    # GIVEN a hook that answers the fallback with a yes/no card
    card = {"title": "Talk to a person?", "buttons": [{"text": "Yes", "value": "Talk to a human"}]}

    def offering(event: dict[str, Any]) -> dict[str, Any]:
        state = event["sessionState"]
        return {
            "sessionState": {
                **state,
                "intent": {**state["intent"], "state": "Fulfilled"},
                "dialogAction": {"type": "Close"},
            },
            "messages": [
                {"contentType": "PlainText", "content": "Want a person?"},
                {"contentType": "ImageResponseCard", "imageResponseCard": card},
            ],
        }

    # WHEN the user says something the bot does not understand
    answer = say(LexRuntime(definition, offering), "The purple elephant sings opera at midnight")
    # THEN the card comes through as Lex would send it
    assert answer["messages"][1] == {"contentType": "ImageResponseCard", "imageResponseCard": card}
