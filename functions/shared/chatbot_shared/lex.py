"""Typed model of the Amazon Lex V2 code-hook event and response (Powertools has none).

Shapes follow the Lex V2 developer guide, "Interpreting the input event format" and "Response format".
Unknown fields are kept (`extra="allow"`) so a new Lex field never breaks a handler, and every
response built here round-trips to the exact JSON Lex expects (camelCase, no nulls where Lex refuses them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

InvocationSource = Literal["DialogCodeHook", "FulfillmentCodeHook"]
IntentState = Literal["Failed", "Fulfilled", "FulfillmentInProgress", "InProgress", "ReadyForFulfillment", "Waiting"]
DialogActionType = Literal["Close", "ConfirmIntent", "Delegate", "ElicitIntent", "ElicitSlot"]


class LexModel(BaseModel):
    """Base for Lex shapes: camelCase on the wire, snake_case in Python, unknown fields kept."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def to_lex(self) -> dict[str, Any]:
        """The JSON-ready dict Lex expects: camelCase keys, unset optional fields left out."""
        return self.model_dump(by_alias=True, exclude_none=True)


class SlotValue(LexModel):
    """What the user said for a slot and what Lex made of it."""

    original_value: str | None = None
    interpreted_value: str | None = None
    resolved_values: list[str] = Field(default_factory=list)


class Slot(LexModel):
    """A filled slot (Lex sends `null` for an empty one)."""

    shape: Literal["Scalar", "List", "Composite"] = "Scalar"
    value: SlotValue | None = None


class Intent(LexModel):
    """The intent Lex is working on, with its slots."""

    name: str
    slots: dict[str, Slot | None] = Field(default_factory=dict)
    state: IntentState | None = None
    confirmation_state: Literal["Confirmed", "Denied", "None"] | None = None

    def slot_text(self, name: str) -> str | None:
        """The interpreted value of slot `name` (falling back to what the user said), or None when empty."""
        slot = self.slots.get(name)
        if slot is None or slot.value is None:
            return None
        text = slot.value.interpreted_value or slot.value.original_value
        return text.strip() if text and text.strip() else None


class DialogAction(LexModel):
    """What Lex should do next."""

    type: DialogActionType
    slot_to_elicit: str | None = None


class SessionState(LexModel):
    """The conversation's state: the intent, its dialog action and the session attributes."""

    intent: Intent | None = None
    dialog_action: DialogAction | None = None
    session_attributes: dict[str, str] = Field(default_factory=dict)
    active_contexts: list[dict[str, Any]] | None = None
    originating_request_id: str | None = None


class BotInfo(LexModel):
    """Which bot, alias and locale sent the event."""

    id: str = ""
    name: str = ""
    alias_id: str = ""
    alias_name: str = ""
    locale_id: str = "en_US"
    version: str = ""


class Interpretation(LexModel):
    """One of the intents Lex considered, with its NLU confidence."""

    intent: Intent
    nlu_confidence: float | None = None
    sentiment_response: dict[str, Any] | None = None
    interpretation_source: str | None = None


class Button(LexModel):
    """A quick reply of a response card: the text it shows and the value it sends as the user's answer."""

    text: str
    value: str


class ImageResponseCard(LexModel):
    """Quick replies Lex shows as buttons (the chat page renders them; text-only clients ignore them)."""

    title: str
    subtitle: str | None = None
    image_url: str | None = None
    buttons: list[Button] = Field(default_factory=list)


class Message(LexModel):
    """A message the bot says: text (`content`), or a card of quick replies (`image_response_card`)."""

    content_type: Literal["PlainText", "SSML", "CustomPayload", "ImageResponseCard"] = "PlainText"
    content: str | None = None
    image_response_card: ImageResponseCard | None = None

    @classmethod
    def card(cls, card: ImageResponseCard | dict[str, Any]) -> Message:
        """A message showing `card` (a model, or Lex's camelCase JSON of one)."""
        shown = card if isinstance(card, ImageResponseCard) else ImageResponseCard.model_validate(card)
        return cls(content_type="ImageResponseCard", image_response_card=shown)


class CodeHookEvent(LexModel):
    """The event Lex V2 sends to a dialog or fulfillment code hook."""

    message_version: str = "1.0"
    invocation_source: InvocationSource
    input_mode: Literal["DTMF", "Speech", "Text"] = "Text"
    response_content_type: str = "text/plain; charset=utf-8"
    session_id: str
    input_transcript: str = ""
    bot: BotInfo = Field(default_factory=BotInfo)
    interpretations: list[Interpretation] = Field(default_factory=list)
    proposed_next_state: dict[str, Any] | None = None
    request_attributes: dict[str, str] | None = None
    session_state: SessionState
    transcriptions: list[dict[str, Any]] | None = None

    @property
    def intent(self) -> Intent:
        """The intent being handled (Lex always sends one to a code hook)."""
        if self.session_state.intent is None:
            raise ValueError("sessionState.intent is missing")
        return self.session_state.intent


class CodeHookResponse(LexModel):
    """What a code hook answers: the next session state and the messages to say."""

    session_state: SessionState
    messages: list[Message] = Field(default_factory=list)
    request_attributes: dict[str, str] | None = None


def _said(message: str, card: ImageResponseCard | dict[str, Any] | None) -> list[Message]:
    """`message` as text, followed by `card`'s quick replies when there is one."""
    return [Message(content=message)] + ([Message.card(card)] if card is not None else [])


def close(
    intent: Intent,
    state: Literal["Fulfilled", "Failed"],
    message: str,
    attributes: dict[str, str],
    *,
    card: ImageResponseCard | dict[str, Any] | None = None,
) -> CodeHookResponse:
    """End the intent with `state` and say `message` (with `card`'s quick replies)."""
    closed = intent.model_copy(update={"state": state})
    return CodeHookResponse(
        session_state=SessionState(
            intent=closed, dialog_action=DialogAction(type="Close"), session_attributes=attributes
        ),
        messages=_said(message, card),
    )


def elicit_slot(
    intent: Intent,
    slot_name: str,
    message: str,
    attributes: dict[str, str],
    *,
    card: ImageResponseCard | dict[str, Any] | None = None,
) -> CodeHookResponse:
    """Ask for slot `slot_name` again, saying `message` (with `card`'s quick replies); the slot is emptied so Lex
    fills it afresh."""
    slots = {**intent.slots, slot_name: None}
    asking = intent.model_copy(update={"slots": slots, "state": "InProgress"})
    return CodeHookResponse(
        session_state=SessionState(
            intent=asking,
            dialog_action=DialogAction(type="ElicitSlot", slot_to_elicit=slot_name),
            session_attributes=attributes,
        ),
        messages=_said(message, card),
    )


def delegate(intent: Intent, attributes: dict[str, str]) -> CodeHookResponse:
    """Let Lex carry on with the dialog as configured (next slot prompt, or fulfillment)."""
    return CodeHookResponse(
        session_state=SessionState(
            intent=intent, dialog_action=DialogAction(type="Delegate"), session_attributes=attributes
        )
    )


def elicit_intent(message: str, attributes: dict[str, str]) -> CodeHookResponse:
    """Ask the user what they want, with no intent in progress."""
    return CodeHookResponse(
        session_state=SessionState(dialog_action=DialogAction(type="ElicitIntent"), session_attributes=attributes),
        messages=[Message(content=message)],
    )
