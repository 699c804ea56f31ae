"""Natural-language understanding for the local Lex runtime: intents and slot values from `bot/definition.yaml`.

Pure functions over the bot definition: no HTTP, no AWS, no clock. An utterance is classified against every
sample utterance of the locale with rapidfuzz; `{Slot}` references in a sample are aligned word by word with
what the user typed (rapidfuzz's LCS opcodes), the words between the anchors become the slot's value, and the
text is then compared with one placeholder character standing in for each value on both sides, so
"order status for customer 12345" matches "order status for customer {CustomerId}" exactly.

Confidence: rapidfuzz's normalised Indel similarity between two unrelated English sentences sits around
0.30-0.55 (shared short words and letters), so the score is rescaled: `(ratio - 40) / 60`, clipped to [0, 1].
An exact sample scores 1.0; a sentence sharing only filler words with every sample lands under the locale's
threshold (0.40) and goes to FallbackIntent, as Lex would.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

if TYPE_CHECKING:
    from bot.schema import Locale, Slot, SlotType

FALLBACK_INTENT = "FallbackIntent"
RATIO_FLOOR = 40.0  # rapidfuzz ratio below which two sentences share nothing but filler (see module docstring)
SYNONYM_CUTOFF = 80.0  # a misspelt product ("labtops") still resolves; a different word ("mobility") does not
MAX_NAME_WORDS = 3  # "my name is Ana" -> "Ana"; a whole sentence is not a first name
MAX_INTERPRETATIONS = 5  # Lex returns up to five interpretations, FallbackIntent included

_SLOT_MARK = "\x00"  # prefixes a slot reference among a template's tokens; never produced by the tokenizer
_SLOT_REFERENCE = re.compile(r"^\{(\w+)\}$")
_EDGE_PUNCTUATION = "\"'\u201c\u201d\u2018\u2019()[]<>,;:!?.\u2026*"  # quotes (straight and curly), brackets, stops
_CONTRACTIONS = {
    "what's": ("what", "is"),
    "where's": ("where", "is"),
    "who's": ("who", "is"),
    "how's": ("how", "is"),
    "it's": ("it", "is"),
    "that's": ("that", "is"),
    "there's": ("there", "is"),
    "here's": ("here", "is"),
    "let's": ("let", "us"),
    "i'm": ("i", "am"),
    "can't": ("can", "not"),
    "won't": ("will", "not"),
}
_SUFFIXES = (("n't", "not"), ("'re", "are"), ("'ll", "will"), ("'ve", "have"), ("'d", "would"))
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
    )
}
_NAME = re.compile(r"^[^\W\d_](?:[^\W\d_]|['-])*$")
_NAME_INTROS = (
    ("my", "name", "is"),
    ("my", "first", "name", "is"),
    ("the", "name", "is"),
    ("name", "is"),
    ("i", "am"),
    ("this", "is"),
    ("it", "is"),
    ("call", "me"),
)
_ALPHANUMERIC = re.compile(r"^[A-Za-z0-9-]+$")


@dataclass(frozen=True)
class Token:
    """A normalised word and the span of the raw text it came from."""

    word: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words of `text`, case-folded, contractions expanded, edge punctuation dropped, spans kept."""
    tokens: list[Token] = []
    for match in re.finditer(r"\S+", text):
        raw = match.group()
        left = len(raw) - len(raw.lstrip(_EDGE_PUNCTUATION))
        stripped = raw.strip(_EDGE_PUNCTUATION)
        if not stripped:
            continue
        start = match.start() + left
        end = start + len(stripped)
        for word in _normalise_word(stripped):
            tokens.append(Token(word, start, end))
    return tokens


def _normalise_word(raw: str) -> tuple[str, ...]:
    word = raw.casefold().replace("\u2019", "'")  # a curly apostrophe is an apostrophe
    if "@" in word:
        return (word,)
    word = re.sub(r"(?<=\w)[-\u2010](?=\w)", "", word)  # wi-fi -> wifi, e-mail -> email
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word]
    for suffix, expansion in _SUFFIXES:
        if word.endswith(suffix) and len(word) > len(suffix):
            return (word.removesuffix(suffix), expansion)
    return (word.removesuffix("'s"),) if word.endswith("'s") and len(word) > 2 else (word,)


# --- slot values --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotValue:
    """What the user said for a slot (`original`) and what the bot made of it (`interpreted`, `resolved`)."""

    original: str
    interpreted: str
    resolved: tuple[str, ...] = ()

    def to_lex(self) -> dict[str, object]:
        """The slot in Lex V2's shape (`Slot` with a scalar `Value`)."""
        return {
            "shape": "Scalar",
            "value": {
                "originalValue": self.original,
                "interpretedValue": self.interpreted,
                "resolvedValues": list(self.resolved),
            },
        }


def resolve_custom(slot_type: SlotType, text: str) -> str | None:
    """The canonical value of `slot_type` that `text` names: a value, a synonym, a simple plural or a near miss."""
    words = " ".join(token.word for token in tokenize(text))
    if not words:
        return None
    names = {item.value.casefold(): item.value for item in slot_type.values}
    names.update({synonym.casefold(): item.value for item in slot_type.values for synonym in item.synonyms})
    forms = _singulars(words)
    for candidate in forms:
        if candidate in names:
            return names[candidate]
    for candidate in forms:
        best = process.extractOne(candidate, list(names), scorer=fuzz.ratio, score_cutoff=SYNONYM_CUTOFF)
        if best:
            return names[best[0]]
    return None


def _singulars(word: str) -> tuple[str, ...]:
    """`word` and its simple singular forms: laptops -> laptop, batteries -> battery, boxes -> box."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 2:
        forms.append(word[:-1])
    return tuple(forms)


def extract_value(slot: Slot, locale: Locale, text: str) -> SlotValue | None:
    """The value of `slot` in `text` (a span of an utterance, or a whole answer to the slot's prompt), or None."""
    text = text.strip().strip(_EDGE_PUNCTUATION + " ")
    if not text:
        return None
    slot_type = locale.slot_type(slot.type)
    if slot_type is not None:
        return _custom_value(slot_type, text)
    return _builtin_value(slot.type, text)


def _custom_value(slot_type: SlotType, text: str) -> SlotValue | None:
    tokens = tokenize(text)
    if len(tokens) > 1:  # a known value among other words wins: "customer 12345" -> 12345, "your laptops" -> laptop
        for token in tokens:
            canonical = resolve_custom(slot_type, token.word)
            if canonical is not None:
                return _typed_value(slot_type, text[token.start : token.end], canonical)
    canonical = resolve_custom(slot_type, text)
    if slot_type.resolution == "TOP_RESOLUTION":
        return None if canonical is None else SlotValue(text, canonical, (canonical,))
    # ORIGINAL_VALUE: any value is accepted (Lex's "expand values"); what the user said is the value, narrowed
    # to the one word shaped like the sample values when there is exactly one ("customer 99999" -> 99999).
    shaped = [token for token in tokens if _shape(token.word) in {_shape(item.value) for item in slot_type.values}]
    if len(tokens) > 1 and len(shaped) == 1:
        return SlotValue(text[shaped[0].start : shaped[0].end], text[shaped[0].start : shaped[0].end])
    if len(tokens) > 1 and not shaped and canonical is None:
        # Several words and none shaped like a sample ("possessed by ghosts" for a customer id): Lex's value
        # expansion would not take that phrase as the value, so the sample it came from does not match.
        return None
    return SlotValue(text, text, (canonical,) if canonical else ())


def _shape(word: str) -> str:
    """The character classes of a word: "12345" -> "9", "AB-12" -> "a-9", "laptop" -> "a"."""
    return re.sub(r"(.)\1+", r"\1", re.sub(r"[^\W\d_]", "a", re.sub(r"\d", "9", word.casefold())))


def _typed_value(slot_type: SlotType, original: str, canonical: str) -> SlotValue:
    if slot_type.resolution == "TOP_RESOLUTION":
        return SlotValue(original, canonical, (canonical,))
    return SlotValue(original, original, (canonical,))


def _builtin_value(type_name: str, text: str) -> SlotValue | None:
    if type_name == "AMAZON.EmailAddress":
        match = _EMAIL.search(text)
        return SlotValue(match.group(), match.group(), (match.group(),)) if match else None
    if type_name == "AMAZON.Number":
        number = _NUMBER.search(text)
        if number:
            return SlotValue(number.group(), number.group(), (number.group(),))
        spelled = next((token for token in tokenize(text) if token.word in _NUMBER_WORDS), None)
        if spelled is None:
            return None
        return SlotValue(text[spelled.start : spelled.end], _NUMBER_WORDS[spelled.word], (_NUMBER_WORDS[spelled.word],))
    if type_name == "AMAZON.FirstName":
        return _first_name(text)
    if type_name == "AMAZON.AlphaNumeric":
        compact = text.replace(" ", "")
        return SlotValue(text, compact, (compact,)) if _ALPHANUMERIC.match(compact) else None
    raise ValueError(f"built-in slot type {type_name} is not supported by the local runtime")


def _first_name(text: str) -> SlotValue | None:
    tokens = tokenize(text)
    words = tuple(token.word for token in tokens)
    for intro in _NAME_INTROS:
        if words[: len(intro)] == intro:
            tokens = tokens[len(intro) :]
            break
    if not tokens or len(tokens) > MAX_NAME_WORDS:
        return None
    name = text[tokens[0].start : tokens[0].end]
    return SlotValue(name, name, (name,)) if _NAME.match(name) else None


# --- classification -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A sample utterance, tokenised, with `{Slot}` references marked."""

    intent: str
    text: str
    words: tuple[str, ...]

    @property
    def slot_names(self) -> tuple[str, ...]:
        return tuple(word[1:] for word in self.words if word.startswith(_SLOT_MARK))

    def rendered(self, skip: frozenset[str] = frozenset()) -> str:
        """The sample as a string, each slot as its placeholder (or left out when in `skip`)."""
        parts = [_render(word) for word in self.words if not (word.startswith(_SLOT_MARK) and word[1:] in skip)]
        return " ".join(parts)


def _render(word: str) -> str:
    return placeholder(word[1:]) if word.startswith(_SLOT_MARK) else word


def placeholder(slot_name: str) -> str:
    """One private-use character standing for a slot in compared strings: a filled slot matches its reference
    exactly, and a long slot name adds no shared letters to unrelated sentences."""
    return chr(0xE000 + sum(map(ord, slot_name)) % 0x1000)


def compile_template(intent: str, sample: str) -> Template:
    """Tokenise a sample utterance; `{Slot}` becomes a marked token."""
    words: list[str] = []
    for part in sample.split():
        reference = _SLOT_REFERENCE.match(part.strip(_EDGE_PUNCTUATION.replace("{", "").replace("}", "")))
        if reference:
            words.append(_SLOT_MARK + reference.group(1))
        else:
            words.extend(token.word for token in tokenize(part))
    return Template(intent, sample, tuple(words))


@dataclass(frozen=True)
class Match:
    """How well an utterance matches one intent, and the slot values found on the way."""

    intent: str
    score: float  # confidence in [0, 1]
    slots: dict[str, SlotValue] = field(default_factory=dict)
    template: str = ""


def align_slots(template: Template, tokens: list[Token]) -> dict[str, tuple[int, int]]:
    """The token range under each `{Slot}` of `template`: the words between the template words around it."""
    words = [token.word for token in tokens]
    anchors: dict[int, int] = {}  # template index -> token index, for words the two share in order
    for op in LCSseq.opcodes(list(template.words), words):
        if op.tag == "equal":
            for offset in range(op.src_end - op.src_start):
                anchors[op.src_start + offset] = op.dest_start + offset
    spans: dict[str, tuple[int, int]] = {}
    for index, word in enumerate(template.words):
        if not word.startswith(_SLOT_MARK):
            continue
        before = [anchors[i] for i in anchors if i < index]
        after = [anchors[i] for i in anchors if i > index]
        if (index > 0 and not before) or (index < len(template.words) - 1 and not after):
            continue  # the words around the slot are not in the utterance: nothing to align with
        first = max(before) + 1 if before else 0
        last = min(after) if after else len(tokens)
        if first < last and not any(first <= taken < end for taken, end in spans.values()):
            spans[word[1:]] = (first, last)
    return spans


def span_text(tokens: list[Token], text: str, span: tuple[int, int]) -> str:
    """The raw text the tokens `span` came from, as the user typed it."""
    return text[tokens[span[0]].start : tokens[span[1] - 1].end]


class Classifier:
    """Scores an utterance against every sample of a locale and picks the intent, as Lex's NLU would."""

    def __init__(self, locale: Locale) -> None:
        self.locale = locale
        self.threshold = locale.nlu_confidence_threshold
        self.templates = [
            compile_template(intent.name, sample) for intent in locale.intents for sample in intent.utterances
        ]

    def rank(self, text: str) -> list[Match]:
        """Every intent with utterances, best first, each with its best sample's confidence and slot values."""
        tokens = tokenize(text)
        plain = " ".join(token.word for token in tokens)
        best: dict[str, Match] = {}
        for template in self.templates:
            match = self._score(template, tokens, text, plain)
            if match.intent not in best or match.score > best[match.intent].score:
                best[match.intent] = match
        return sorted(best.values(), key=lambda match: match.score, reverse=True)

    def classify(self, text: str) -> tuple[Match, list[Match]]:
        """The chosen match (FallbackIntent below the threshold) and the ranked candidates."""
        ranked = self.rank(text)
        if ranked and ranked[0].score >= self.threshold:
            return ranked[0], ranked
        return Match(FALLBACK_INTENT, 0.0), ranked

    def best_for_intent(self, intent: str, text: str) -> Match | None:
        """The best match of `text` among the samples of one intent (None when it has none)."""
        tokens = tokenize(text)
        plain = " ".join(token.word for token in tokens)
        matches = [self._score(t, tokens, text, plain) for t in self.templates if t.intent == intent]
        return max(matches, key=lambda match: match.score, default=None)

    def _score(self, template: Template, tokens: list[Token], text: str, plain: str) -> Match:
        intent = self.locale.intent(template.intent)
        slots: dict[str, SlotValue] = {}
        substituted = plain
        if template.slot_names:
            spans = align_slots(template, tokens)
            for name, span in spans.items():
                slot = intent.slot(name)
                value = extract_value(slot, self.locale, span_text(tokens, text, span)) if slot else None
                if value is not None:
                    slots[name] = value
            substituted = _substitute(tokens, {name: spans[name] for name in slots})
        missing = frozenset(template.slot_names) - slots.keys()
        ratio = fuzz.ratio(substituted, template.rendered(skip=missing))
        return Match(template.intent, confidence(ratio), slots, template.text)


def _substitute(tokens: list[Token], spans: dict[str, tuple[int, int]]) -> str:
    """The normalised utterance with each filled slot's words replaced by the slot's placeholder."""
    words: list[str] = []
    starts = {span[0]: name for name, span in spans.items()}
    index = 0
    while index < len(tokens):
        if index in starts:
            name = starts[index]
            words.append(placeholder(name))
            index = spans[name][1]
        else:
            words.append(tokens[index].word)
            index += 1
    return " ".join(words)


def confidence(ratio: float) -> float:
    """rapidfuzz's 0-100 ratio as a Lex-like confidence in [0, 1] (see the module docstring), two decimals."""
    return round(min(1.0, max(0.0, (ratio - RATIO_FLOOR) / (100.0 - RATIO_FLOOR))), 2)
