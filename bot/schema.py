"""The schema of the bot definition: intents, utterances, slots, slot types, prompts, answers, messages and cards.

`bot/definition.yaml` is the single source of the conversation. ChatbotBot translates it to Lex V2;
the local stack interprets it. Everything a reader can get wrong is checked here, and an error names
the file, the path inside it and the reason.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from string import Formatter
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from contracts.conversation import CODE_HOOK_CARDS, CODE_HOOK_MESSAGES

DEFINITION_PATH = Path(__file__).with_name("definition.yaml")

# Lex V2 naming rules (CreateIntent / CreateSlot / CreateSlotType): letters, digits, single _ or - between.
LexName = Annotated[str, StringConstraints(pattern=r"^([0-9a-zA-Z][_-]?)+$", max_length=100)]
# Lex limits a sample utterance to 500 characters and a message to 1,000.
Utterance = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
Message = Annotated[str, StringConstraints(min_length=1, max_length=1000, strip_whitespace=True)]

SLOT_REFERENCE = re.compile(r"\{([^{}]*)\}")
FALLBACK_PARENT = "AMAZON.FallbackIntent"
FALLBACK_INTENT = "FallbackIntent"
CANCEL_PARENT = "AMAZON.CancelIntent"
START_OVER_PARENT = "AMAZON.StartOverIntent"
LEAVING_PARENTS = frozenset({CANCEL_PARENT, START_OVER_PARENT})
"""Built-in intents that leave whatever the bot is asking ("cancel", "start over"), even in the middle of a slot."""
BUILTIN_PARENTS = frozenset({FALLBACK_PARENT, *LEAVING_PARENTS})
"""The Lex V2 built-in intents an intent may be built on (`parentIntentSignature`)."""
# Lex V2 ImageResponseCard limits (RecognizeText's response model): a title of 250 characters, at most 5 buttons,
# each with a text and a value of 50 characters.
MAX_CARD_TITLE_CHARS = 250
MAX_CARD_BUTTONS = 5
MAX_BUTTON_CHARS = 50
# Built-in slot types the bot may use; the local stack knows how to extract each of them.
BUILTIN_SLOT_TYPES = frozenset({"AMAZON.Number", "AMAZON.EmailAddress", "AMAZON.FirstName", "AMAZON.AlphaNumeric"})


class DefinitionError(ValueError):
    """The bot definition is invalid; the message names the file, the path inside it and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SlotTypeValue(_Strict):
    """One value of a custom slot type and the words that mean the same."""

    value: Annotated[str, StringConstraints(min_length=1, max_length=140)]
    synonyms: tuple[Annotated[str, StringConstraints(min_length=1, max_length=140)], ...] = ()


class SlotType(_Strict):
    """A custom slot type. `ORIGINAL_VALUE` keeps what the user said; `TOP_RESOLUTION` maps synonyms to a value."""

    name: LexName
    description: str = ""
    resolution: Literal["ORIGINAL_VALUE", "TOP_RESOLUTION"]
    values: tuple[SlotTypeValue, ...] = Field(min_length=1)

    def resolve(self, text: str) -> str | None:
        """The canonical value for `text` (a value or one of its synonyms, any case), or None."""
        wanted = text.strip().casefold()
        for item in self.values:
            if wanted == item.value.casefold() or wanted in (s.casefold() for s in item.synonyms):
                return item.value
        return None


ButtonText = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BUTTON_CHARS, strip_whitespace=True)]


class Button(_Strict):
    """A quick reply: what the button shows, and the text it sends as the user's answer."""

    text: ButtonText
    value: ButtonText


class ResponseCard(_Strict):
    """Quick replies offered with a message (Lex's ImageResponseCard): a short title and up to five buttons."""

    title: Annotated[str, StringConstraints(min_length=1, max_length=MAX_CARD_TITLE_CHARS, strip_whitespace=True)]
    buttons: tuple[Button, ...] = Field(default=(), max_length=MAX_CARD_BUTTONS)

    def to_lex(self) -> dict[str, object]:
        """The card as Lex V2's `imageResponseCard` (camelCase JSON)."""
        return {"title": self.title, "buttons": [{"text": b.text, "value": b.value} for b in self.buttons]}


class Slot(_Strict):
    """A slot of an intent: the value the bot asks for, with its prompt, retries and quick replies."""

    name: LexName
    type: str
    description: str = ""
    required: bool = True
    prompt: Message
    max_retries: int = Field(default=2, ge=0, le=5)
    """Lex asks again this many times (and the code hook accepts as many refused values) before it gives up."""
    response_card: ResponseCard | None = None
    """Buttons offered with the prompt. Without `buttons`, one per value of the slot's custom type."""


class Intent(_Strict):
    """An intent: what a user may want, how they say it, and how the bot answers.

    An intent answers either from the definition (`answer`) or from the fulfillment Lambda
    (`fulfillment_code_hook`); `dialog_code_hook` lets the Lambda validate slots as they arrive.
    """

    name: LexName
    description: str = ""
    parent: str | None = None
    utterances: tuple[Utterance, ...] = ()
    slots: tuple[Slot, ...] = ()
    answer: Message | None = None
    suggestion: Annotated[str, StringConstraints(min_length=1, max_length=80)] | None = None
    """A question the chat page offers as a button on its welcome message."""
    fulfillment_code_hook: bool = False
    dialog_code_hook: bool = False

    @model_validator(mode="after")
    def _answers_one_way(self) -> Intent:
        if self.answer is None and not self.fulfillment_code_hook:
            raise ValueError("needs an `answer` or `fulfillment_code_hook: true`, or the bot would say nothing")
        if self.answer is not None and self.fulfillment_code_hook:
            raise ValueError("has both an `answer` and `fulfillment_code_hook: true`; keep one")
        if self.parent != FALLBACK_PARENT and not self.utterances:
            raise ValueError("needs at least one utterance")
        if self.parent is not None and self.slots:
            raise ValueError(f"is built on {self.parent}, and Lex allows no slots on a built-in intent")
        return self

    @property
    def leaves_the_dialog(self) -> bool:
        """A built-in "cancel" or "start over": it ends whatever the bot was asking, even in the middle of a slot."""
        return self.parent in LEAVING_PARENTS

    def slot(self, name: str) -> Slot | None:
        """The slot called `name`, or None."""
        return next((slot for slot in self.slots if slot.name == name), None)


class Locale(_Strict):
    """One locale of the bot: its NLU threshold, voice, slot types, intents and the fulfillment function's words."""

    description: str = ""
    nlu_confidence_threshold: float = Field(ge=0, le=1)
    voice: str = "Joanna"
    slot_types: tuple[SlotType, ...] = ()
    intents: tuple[Intent, ...] = Field(min_length=1)
    messages: dict[str, Message] = Field(default_factory=dict)
    """What the fulfillment function says, by name: every message `contracts.conversation` lists, as a template."""
    cards: dict[str, ResponseCard] = Field(default_factory=dict)
    """The quick replies the fulfillment function offers, by name: every card `contracts.conversation` lists."""
    handover_words: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z]+$")], ...] = ()
    """Words that ask for a person ("agent", "representative"): never taken as the user's name."""
    knowledge_suggestions: tuple[Annotated[str, StringConstraints(min_length=1, max_length=120)], ...] = ()
    """Questions the knowledge base answers, offered on the welcome message after the intents' suggestions (a guide
    in `knowledge/` has no definition entry of its own to carry one)."""

    @model_validator(mode="after")
    def _references_resolve(self) -> Locale:
        for error in _reference_errors(self):
            raise ValueError(error)
        return self

    def intent(self, name: str) -> Intent:
        """The intent called `name`; KeyError if there is none."""
        for intent in self.intents:
            if intent.name == name:
                return intent
        raise KeyError(name)

    def suggestions(self) -> list[str]:
        """The questions the chat page offers on its welcome message, in definition order."""
        return [*(intent.suggestion for intent in self.intents if intent.suggestion), *self.knowledge_suggestions]

    def slot_type(self, name: str) -> SlotType | None:
        """The custom slot type called `name`, or None for a built-in type."""
        return next((slot_type for slot_type in self.slot_types if slot_type.name == name), None)

    def slot_card(self, slot: Slot) -> ResponseCard | None:
        """The quick replies offered with `slot`'s prompt, its buttons filled in from its custom type's values when
        the definition names none; None when the slot offers none."""
        card = slot.response_card
        if card is None or card.buttons:
            return card
        slot_type = self.slot_type(slot.type)
        values = slot_type.values if slot_type is not None else ()
        buttons = tuple(Button(text=item.value[:1].upper() + item.value[1:], value=item.value) for item in values)
        return card.model_copy(update={"buttons": buttons})


class BotSettings(_Strict):
    """Bot-wide settings."""

    name: LexName
    description: str = ""
    idle_session_ttl_seconds: int = Field(ge=60, le=86_400)  # Lex's own bounds
    child_directed: bool


class BotDefinition(_Strict):
    """The whole conversation: bot settings, locales, and the product catalogue the answers draw on."""

    bot: BotSettings
    locales: dict[Annotated[str, StringConstraints(pattern=r"^[a-z]{2}_[A-Z]{2}$")], Locale] = Field(min_length=1)
    products: dict[str, Message] = Field(default_factory=dict)

    def code_hook_content(self) -> str:
        """The data the fulfillment Lambda reads at run time (`bot_content.json` in its package): the product
        catalogue, the first locale (the words for an event in a locale the bot lacks) and, per locale, the messages
        and cards it says, the slot prompts (with their cards) it asks again with, each slot's retries, and the words
        that ask for a person."""
        locales = {locale_id: _code_hook_locale(locale) for locale_id, locale in self.locales.items()}
        content = {"products": dict(self.products), "default_locale": next(iter(self.locales)), "locales": locales}
        return json.dumps(content, sort_keys=True, indent=1)

    @model_validator(mode="after")
    def _catalogue_covers_products(self) -> BotDefinition:
        for locale_id, locale in self.locales.items():
            product_type = locale.slot_type("ProductName")
            if product_type is None:
                continue
            missing = [value.value for value in product_type.values if value.value not in self.products]
            if missing:
                raise ValueError(
                    f"locales.{locale_id}: slot type ProductName has values with no entry in `products`: "
                    + ", ".join(missing)
                )
        return self


def _code_hook_locale(locale: Locale) -> dict[str, object]:
    """One locale's part of `bot_content.json`."""
    slotted = [intent for intent in locale.intents if intent.slots]
    return {
        "messages": dict(locale.messages),
        "cards": {name: card.to_lex() for name, card in locale.cards.items()},
        "slot_prompts": {intent.name: {slot.name: slot.prompt for slot in intent.slots} for intent in slotted},
        "slot_cards": {
            intent.name: {slot.name: card.to_lex() for slot in intent.slots if (card := locale.slot_card(slot))}
            for intent in slotted
            if any(slot.response_card for slot in intent.slots)
        },
        "slot_retries": {intent.name: {slot.name: slot.max_retries for slot in intent.slots} for intent in slotted},
        "handover_words": list(locale.handover_words),
    }


def _reference_errors(locale: Locale) -> Iterator[str]:
    """Every broken reference inside a locale, as 'path: reason'."""
    yield from _duplicates("slot_types", [slot_type.name for slot_type in locale.slot_types])
    yield from _duplicates("intents", [intent.name for intent in locale.intents])
    custom_types = {slot_type.name for slot_type in locale.slot_types}
    fallbacks = [intent for intent in locale.intents if intent.parent == FALLBACK_PARENT]
    if [intent.name for intent in fallbacks] != [FALLBACK_INTENT]:
        yield f"intents: exactly one intent named {FALLBACK_INTENT} with parent {FALLBACK_PARENT} is required"
    for i, intent in enumerate(locale.intents):
        path = f"intents[{i}] ({intent.name})"
        if intent.parent is not None and intent.parent not in BUILTIN_PARENTS:
            supported = ", ".join(sorted(BUILTIN_PARENTS))
            yield f"{path}.parent: unknown parent intent {intent.parent!r}; supported: {supported}"
        if intent.parent == FALLBACK_PARENT and intent.utterances:
            yield f"{path}.utterances: Lex takes no utterances for {FALLBACK_PARENT}: it is what nothing else matches"
        yield from _duplicates(f"{path}.slots", [slot.name for slot in intent.slots])
        for j, slot in enumerate(intent.slots):
            if slot.type not in custom_types and slot.type not in BUILTIN_SLOT_TYPES:
                known = ", ".join(sorted(custom_types | BUILTIN_SLOT_TYPES))
                yield f"{path}.slots[{j}].type: unknown slot type {slot.type!r} (known: {known})"
            yield from (f"{path}.slots[{j}].response_card: {reason}" for reason in _slot_card_errors(locale, slot))
        slot_names = {slot.name for slot in intent.slots}
        for j, utterance in enumerate(intent.utterances):
            for reference in SLOT_REFERENCE.findall(utterance):
                if reference not in slot_names:
                    yield f"{path}.utterances[{j}]: {{{reference}}} is not a slot of {intent.name}"
    yield from _message_errors(locale.messages)
    yield from _card_errors(locale.cards)


def _slot_card_errors(locale: Locale, slot: Slot) -> Iterator[str]:
    """What is wrong with the quick replies of `slot`: buttons derived from a type that has none, or too many."""
    if slot.response_card is None or slot.response_card.buttons:
        return
    slot_type = locale.slot_type(slot.type)
    if slot_type is None:
        yield f"{slot.type} is a built-in type with no values to offer: name the `buttons`"
    elif len(slot_type.values) > MAX_CARD_BUTTONS:
        yield (
            f"{slot.type} has {len(slot_type.values)} values and a card offers at most {MAX_CARD_BUTTONS}: "
            "name the `buttons`"
        )
    else:
        long = [item.value for item in slot_type.values if len(item.value) > MAX_BUTTON_CHARS]
        if long:
            yield f"values longer than {MAX_BUTTON_CHARS} characters cannot be buttons: {', '.join(long)}"


def _card_errors(cards: Mapping[str, ResponseCard]) -> Iterator[str]:
    """Every card the fulfillment function lacks or does not know, or that offers no button, as 'path: reason'."""
    for name, shown in CODE_HOOK_CARDS.items():
        if name not in cards:
            yield f"cards: {name} is missing (the fulfillment function shows it {shown.shown_when})"
    for name, card in cards.items():
        if name not in CODE_HOOK_CARDS:
            yield f"cards.{name}: unknown card; the fulfillment function shows only these: {', '.join(CODE_HOOK_CARDS)}"
        elif not card.buttons:
            yield f"cards.{name}: offers no button"


def _message_errors(messages: Mapping[str, str]) -> Iterator[str]:
    """Every message the fulfillment function lacks, does not know, or cannot fill in, as 'path: reason'."""
    for name, said in CODE_HOOK_MESSAGES.items():
        if name not in messages:
            yield f"messages: {name} is missing (the fulfillment function says it when {said.said_when})"
    for name, template in messages.items():
        message = CODE_HOOK_MESSAGES.get(name)
        if message is None:
            known = ", ".join(CODE_HOOK_MESSAGES)
            yield f"messages.{name}: unknown message; the fulfillment function says only these: {known}"
            continue
        yield from (f"messages.{name}: {reason}" for reason in _template_errors(template, message.placeholders))


def _template_errors(template: str, placeholders: frozenset[str]) -> Iterator[str]:
    """What is wrong with the `{placeholders}` of `template`, given the ones the function fills in."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        yield f"{exc} (write {{{{ or }}}} for a literal brace)"
        return
    offered = ", ".join(f"{{{name}}}" for name in sorted(placeholders)) or "none"
    for _, name, spec, conversion in parsed:
        if name is None:  # literal text after the last placeholder
            continue
        written = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if not name.isidentifier() or spec or conversion:
            yield f"{written} is not a plain placeholder such as {{name}} (this message may use: {offered})"
        elif name not in placeholders:
            yield f"{written} is not filled in by the fulfillment function (this message may use: {offered})"


def _duplicates(path: str, names: list[str]) -> Iterator[str]:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            yield f"{path}: {name!r} appears twice"
        seen.add(name)


def load_definition(path: Path = DEFINITION_PATH) -> BotDefinition:
    """Read and validate a bot definition; DefinitionError names the file, the path inside it and the reason."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DefinitionError(f"{path}: cannot read the bot definition: {exc}") from exc
    try:
        return BotDefinition.model_validate(raw)
    except ValidationError as exc:
        raise DefinitionError(f"{path}: invalid bot definition:\n" + _describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        reason = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"  {where}: {reason}" if where else f"  {reason}")
    return "\n".join(lines)
