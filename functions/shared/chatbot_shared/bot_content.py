"""The words the fulfillment function says, as data: `bot_content.json`, written from `bot/definition.yaml`.

`BotDefinition.code_hook_content()` (bot/schema.py) writes the file into the function's package after checking
every template against `contracts.conversation`; this module reads it and fills the templates in. Its shape:
`{"products": {name: answer}, "default_locale": locale_id, "locales": {locale_id: {"messages": {name: template},
"cards": {name: card}, "slot_prompts": {intent: {slot: prompt}}, "slot_cards": {intent: {slot: card}},
"slot_retries": {intent: {slot: max_retries}}, "handover_words": [word]}}}`, a card in Lex's `imageResponseCard`
JSON.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from chatbot_shared.lex import ImageResponseCard
from contracts.conversation import CodeHookCard, CodeHookMessage

DEFAULT_SLOT_RETRIES = 2  # the definition's default `max_retries`, for a slot bot_content.json does not list


class _Content(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocaleWording(_Content):
    """What the function says in one locale: its messages and the slot prompts of the definition."""

    messages: dict[str, str]
    cards: dict[str, ImageResponseCard] = Field(default_factory=dict)
    slot_prompts: dict[str, dict[str, str]] = Field(default_factory=dict)
    slot_cards: dict[str, dict[str, ImageResponseCard]] = Field(default_factory=dict)
    slot_retries: dict[str, dict[str, int]] = Field(default_factory=dict)
    handover_words: frozenset[str] = frozenset()

    def say(self, message: CodeHookMessage, **values: str) -> str:
        """`message` in this locale's words, its placeholders filled in with `values` (exactly those it lists)."""
        if set(values) != message.placeholders:
            raise ValueError(f"{message.name} fills in {sorted(message.placeholders)}, not {sorted(values)}")
        return self.messages[message.name].format_map(values)

    def card(self, card: CodeHookCard) -> ImageResponseCard | None:
        """The quick replies of `card` in this locale, or None when the content has none (older content)."""
        return self.cards.get(card.name)

    def slot_prompt(self, intent: str, slot: str) -> str:
        """The prompt the definition gives slot `slot` of `intent`: the function asks with the same words as Lex."""
        return self.slot_prompts[intent][slot]

    def slot_card(self, intent: str, slot: str) -> ImageResponseCard | None:
        """The quick replies the definition offers with slot `slot` of `intent`, or None."""
        return self.slot_cards.get(intent, {}).get(slot)

    def max_retries(self, intent: str, slot: str) -> int:
        """How many refused values of the slot the bot asks again after, before it gives up (the slot's
        `max_retries`)."""
        return self.slot_retries.get(intent, {}).get(slot, DEFAULT_SLOT_RETRIES)


class BotContent(_Content):
    """Everything in `bot_content.json`."""

    products: dict[str, str] = Field(default_factory=dict)
    locales: dict[str, LocaleWording] = Field(min_length=1)
    default_locale: str
    """The definition's first locale: the words for an event without a locale the definition has."""

    @model_validator(mode="after")
    def _default_locale_is_worded(self) -> BotContent:
        if self.default_locale not in self.locales:
            raise ValueError(f"default_locale {self.default_locale!r} is not one of the locales")
        return self

    def wording(self, locale_id: str | None = None) -> LocaleWording:
        """The words of `locale_id`, or of the default locale for None or a locale the definition does not have."""
        return self.locales.get(locale_id or self.default_locale) or self.locales[self.default_locale]


def load_bot_content(path: Path) -> BotContent:
    """Read and check `bot_content.json`."""
    return BotContent.model_validate_json(path.read_bytes())
