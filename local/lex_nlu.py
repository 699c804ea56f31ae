"""Natural-language understanding for the local Lex runtime: intents and slot values from `bot/definition.yaml`.

No HTTP, no AWS, no clock. An utterance is understood in three steps, as Lex's NLU would:

1. Slot values are found wherever they stand in the sentence: a value or synonym of a custom slot type (plurals
   and small typos included), a number shaped like the type's sample values (digits or spelled out, "one two
   three"), and, when a sample names the slot ("My customer ID is {CustomerId}"), whatever the user said where
   the sample has its `{Slot}` (the words between the anchors, aligned with rapidfuzz's LCS opcodes).
2. Exact and slot-template matches score 1.0: "order status for customer 12345" is the sample "Order status
   for customer {CustomerId}" once its value is found.
3. Otherwise a model of meaning scores every intent: wordllama's 256-dimension English embeddings (shipped in
   its wheel, loaded once per process, see `LanguageModel`) compare the sentence with each sample, with slot
   values written the same way on both sides (a product as "product name", an open value such as a customer
   id left out: its digits say nothing about the intent). An intent's similarity blends its nearest sample
   and the centroid of its samples; a sample naming a slot the sentence has no value for counts less ("tell
   me a joke" is not "tell me about {ProductName}"). String similarity still catches typos ("wher is my ordr").

Confidence: on bench/paraphrases.yaml, the blended similarity of every out-of-scope line stays under 0.29 (most
under 0.23) while 115 of its 118 paraphrases score above it (`make bench` prints the confusion list). It is mapped
piecewise-linearly onto [0, 1] so that `SEMANTIC_AT_THRESHOLD` (0.29) lands exactly on the locale's confidence
threshold: out-of-scope sentences score under it and go to FallbackIntent, as in Lex. Only an exact or template
match reaches 1.0.
"""

from __future__ import annotations

import functools
import importlib.util
import itertools
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from rapidfuzz import fuzz, process
from rapidfuzz.distance import LCSseq

if TYPE_CHECKING:
    import numpy as np
    from tokenizers import Tokenizer

    from bot.schema import Intent, Locale, Slot, SlotType

FALLBACK_INTENT = "FallbackIntent"
SYNONYM_CUTOFF = 80.0  # a misspelt product ("labtops") still resolves; a different word ("mobility") does not
MIN_FUZZY_LETTERS = 6  # in free text, only longer words may be typos of a value: "table" is not a "tablet"
MIN_SPOKEN_DIGITS = 3  # "one two three" is a number said digit by digit; "one two" is more likely a count
MAX_NAME_WORDS = 3  # "my name is Ana" -> "Ana"; a whole sentence is not a first name
MAX_INTERPRETATIONS = 5  # Lex returns up to five interpretations, FallbackIntent included

# Calibration of the model of meaning (see the module docstring; measured with `make bench`).
NEAREST_WEIGHT = 0.4  # intent similarity = 0.4 x nearest sample + 0.6 x centroid of the intent's samples
MISSING_SLOT_DISCOUNT = 0.6  # a sample naming a slot the sentence has no value for counts 60 %
SEMANTIC_AT_THRESHOLD = 0.29  # this similarity scores exactly the locale's threshold
SEMANTIC_SURE = 0.75  # this similarity and above: a paraphrase beyond doubt
# Typos: rapidfuzz's ratio (0-100) between the sentence and the nearest sample, mapped the same way.
LEXICAL_FLOOR = 60.0  # unrelated English sentences share this much by letters alone
LEXICAL_AT_THRESHOLD = 82.0  # "tell me a joke" vs "tell me about {ProductName}" is 74; "wher is my ordr" 94
NEAR_EXACT = 0.95  # the most a sentence that is no sample can score: 1.0 is for exact and template matches

# wordllama's default English model ("l2_supercat", 256 dimensions), as its wheel ships it.
WEIGHTS_FILE = "l2_supercat_256.safetensors"
WEIGHTS_TENSOR = "embedding.weight"
TOKENIZER_FILE = "l2_supercat_tokenizer_config.json"
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
    "whats": ("what", "is"),
}
# Chat shorthand, spelled out like contractions so that samples and the model see words.
_SHORTHAND = {
    "ty": ("thank", "you"),
    "thx": ("thanks",),
    "thnx": ("thanks",),
    "pls": ("please",),
    "plz": ("please",),
    "u": ("you",),
    "ur": ("your",),
}
_SUFFIXES = (("n't", "not"), ("'re", "are"), ("'ll", "will"), ("'ve", "have"), ("'d", "would"))
_WORD = re.compile(r"\S+")
_INNER_HYPHEN = re.compile(r"(?<=\w)[-\u2010](?=\w)")
_DIGIT = re.compile(r"\d")
_LETTER = re.compile(r"[^\W\d_]")
_REPEATS = re.compile(r"(.)\1+")
_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_DIGITS = re.compile(r"^\d+$")
_NUMBER_WORDS = {
    word: str(value)
    for value, word in enumerate(
        ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
    )
}
_DIGIT_WORDS = {word: digit for word, digit in _NUMBER_WORDS.items() if len(digit) == 1}
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
log = logging.getLogger("local.lex_nlu")


@dataclass(frozen=True)
class Token:
    """A normalised word and the span of the raw text it came from."""

    word: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words of `text`, case-folded, contractions and chat shorthand expanded, edge punctuation dropped."""
    tokens: list[Token] = []
    for match in _WORD.finditer(text):
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
    word = _INNER_HYPHEN.sub("", word)  # wi-fi -> wifi, e-mail -> email
    if word in _CONTRACTIONS:
        return _CONTRACTIONS[word]
    if word in _SHORTHAND:
        return _SHORTHAND[word]
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


@dataclass(frozen=True)
class Found:
    """A slot value found in a sentence, and the tokens it spans (`start` included, `end` excluded)."""

    value: SlotValue
    start: int
    end: int


def resolve_custom(slot_type: SlotType, text: str) -> str | None:
    """The canonical value of `slot_type` that `text` names: a value, a synonym, a simple plural or a near miss."""
    words = " ".join(token.word for token in tokenize(text))
    if not words:
        return None
    return _resolve_words(slot_type, words, fuzzy=True)


@functools.lru_cache(maxsize=64)
def _value_names(slot_type: SlotType) -> dict[str, str]:
    """Each value and synonym of a custom slot type, case-folded -> its canonical value."""
    names = {item.value.casefold(): item.value for item in slot_type.values}
    names.update({synonym.casefold(): item.value for item in slot_type.values for synonym in item.synonyms})
    return names


def _resolve_words(slot_type: SlotType, words: str, *, fuzzy: bool) -> str | None:
    names = _value_names(slot_type)
    forms = _singulars(words)
    for candidate in forms:
        if candidate in names:
            return names[candidate]
    if not fuzzy:
        return None
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
    found = find_custom(slot_type, tokens, text)
    if found is not None and len(tokens) > 1:  # a value among other words: "customer 12345", "your laptops"
        return found.value
    if slot_type.resolution == "TOP_RESOLUTION":
        # An answer to the slot's prompt is about the slot: any word of it may be a near miss ("a tablt").
        for token in tokens if len(tokens) > 1 else []:
            named = resolve_custom(slot_type, token.word)
            if named is not None:
                return SlotValue(text[token.start : token.end], named, (named,))
        whole = resolve_custom(slot_type, text)
        return None if whole is None else SlotValue(text, whole, (whole,))
    if found is not None:  # one word shaped like the sample values: what the user said is the value
        return found.value
    canonical = resolve_custom(slot_type, text)
    if len(tokens) > 1 and canonical is None:
        # Several words and none shaped like a sample ("possessed by ghosts" for a customer id): Lex's value
        # expansion would not take that phrase as the value, so the sample it came from does not match.
        return None
    # ORIGINAL_VALUE: any value is accepted (Lex's "expand values"); what the user said is the value.
    return SlotValue(text, text, (canonical,) if canonical else ())


def find_custom(slot_type: SlotType, tokens: list[Token], text: str) -> Found | None:
    """The first value of a custom slot type anywhere among `tokens` (of `text`), or None.

    TOP_RESOLUTION: a value or synonym, its plural, or (for longer words) a small typo; neighbouring words
    naming the same value are one value ("mobile phones"). ORIGINAL_VALUE: a word shaped like the sample
    values ("99999" for a type whose samples are "12345"), digits said one by one ("one two three four five").
    """
    if slot_type.resolution == "TOP_RESOLUTION":
        return _find_named(slot_type, tokens, text)
    return _find_shaped(slot_type, tokens, text)


def _find_named(slot_type: SlotType, tokens: list[Token], text: str) -> Found | None:
    longest = max((len(name.split()) for name in _value_names(slot_type)), default=1)
    for start in range(len(tokens)):
        for size in range(min(longest, len(tokens) - start), 0, -1):
            words = " ".join(token.word for token in tokens[start : start + size])
            canonical = _resolve_words(slot_type, words, fuzzy=size == 1 and len(words) >= MIN_FUZZY_LETTERS)
            if canonical is None:
                continue
            end = start + size
            while end < len(tokens) and _resolve_words(slot_type, tokens[end].word, fuzzy=False) == canonical:
                end += 1  # "mobile phones": two words, one product
            original = text[tokens[start].start : tokens[end - 1].end]
            return Found(SlotValue(original, canonical, (canonical,)), start, end)
    return None


def _find_shaped(slot_type: SlotType, tokens: list[Token], text: str) -> Found | None:
    samples = [item.value for item in slot_type.values]
    listed = {value.casefold(): value for value in samples}
    shapes = {_shape(value) for value in samples}
    shortest, longest = min(map(len, samples)), max(map(len, samples))
    if "9" in shapes:  # numbers: digits, or digits said one by one
        for start, end, digits in _digit_runs(tokens):
            if shortest // 2 <= len(digits) <= longest * 2:
                original = text[tokens[start].start : tokens[end - 1].end]
                resolved = (listed[digits],) if digits in listed else ()
                return Found(SlotValue(original, digits, resolved), start, end)
    other_shapes = shapes - {"9"}  # codes such as "AB-12": one word of the same shape
    for index, token in enumerate(tokens if other_shapes else []):
        raw = text[token.start : token.end]
        if _shape(raw) in other_shapes and shortest // 2 <= len(raw) <= longest * 2:
            resolved = (listed[raw.casefold()],) if raw.casefold() in listed else ()
            return Found(SlotValue(raw, raw, resolved), index, index + 1)
    return None


def _digit_runs(tokens: list[Token]) -> list[tuple[int, int, str]]:
    """Numbers among `tokens`: a word of digits ("12345"), or digits said one by one ("one two three", "1 2 3",
    at least three of them: "one two" is more likely a count), as (first token, last token + 1, digits)."""
    runs: list[tuple[int, int, str]] = []
    index = 0
    while index < len(tokens):
        if _DIGITS.match(tokens[index].word) and len(tokens[index].word) > 1:
            runs.append((index, index + 1, tokens[index].word))
            index += 1
            continue
        end = index
        while end < len(tokens) and (tokens[end].word in _DIGIT_WORDS or _DIGITS.fullmatch(tokens[end].word, 0, 1)):
            end += 1
        if end - index >= MIN_SPOKEN_DIGITS:
            runs.append((index, end, "".join(_DIGIT_WORDS.get(token.word, token.word) for token in tokens[index:end])))
        elif end == index + 1 and _DIGITS.match(tokens[index].word):
            runs.append((index, end, tokens[index].word))  # a lone digit: "7"
        index = max(end, index + 1)
    return runs


def _shape(word: str) -> str:
    """The character classes of a word: "12345" -> "9", "AB-12" -> "a-9", "laptop" -> "a"."""
    return _REPEATS.sub(r"\1", _LETTER.sub("a", _DIGIT.sub("9", word.casefold())))


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


def _find_builtin(type_name: str, tokens: list[Token], text: str) -> Found | None:
    """A built-in value anywhere in a sentence: an email address, a number, a name after "my name is"."""
    if type_name == "AMAZON.EmailAddress":
        for index, token in enumerate(tokens):
            raw = text[token.start : token.end]
            if _EMAIL.fullmatch(raw):
                return Found(SlotValue(raw, raw, (raw,)), index, index + 1)
        return None
    if type_name == "AMAZON.Number":
        runs = _digit_runs(tokens)
        if runs:
            start, end, digits = runs[0]
            return Found(SlotValue(text[tokens[start].start : tokens[end - 1].end], digits, (digits,)), start, end)
        for index, token in enumerate(tokens):
            if token.word in _NUMBER_WORDS:
                number = _NUMBER_WORDS[token.word]
                return Found(SlotValue(text[token.start : token.end], number, (number,)), index, index + 1)
        return None
    if type_name == "AMAZON.FirstName":
        words = [token.word for token in tokens]
        for index, intro in itertools.product(range(len(tokens)), _NAME_INTROS):
            after = index + len(intro)
            if tuple(words[index:after]) == intro and after < len(tokens):
                name = text[tokens[after].start : tokens[after].end]
                return Found(SlotValue(name, name, (name,)), after, after + 1) if _NAME.match(name) else None
    return None  # AMAZON.AlphaNumeric: any word would do, so only a sample that names the slot can place it


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


# --- the model of meaning -----------------------------------------------------------------------------------


class LanguageModelError(RuntimeError):
    """The language model cannot be loaded; the message says why and how to fix it."""


class Embedder:
    """Sentence vectors as wordllama makes them: the mean of the tokens' embeddings, scaled to unit length."""

    def __init__(self, tokenizer: Tokenizer, table: np.ndarray) -> None:
        import numpy

        self._numpy = numpy
        self._tokenizer = tokenizer
        self._table = table  # one row per token id, float16 as shipped: rows become float32 when used
        self.dimensions = int(table.shape[1])

    def vector(self, text: str) -> np.ndarray:
        """`text` as a unit vector (all zeros when it has no tokens)."""
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids
        if not ids:
            return self._numpy.zeros(self.dimensions, dtype=self._numpy.float32)
        pooled = self._table[ids].astype(self._numpy.float32).mean(axis=0)
        norm = float(self._numpy.linalg.norm(pooled))
        return pooled / norm if norm else pooled

    def matrix(self, texts: list[str]) -> np.ndarray:
        """One unit vector per text, as rows."""
        return self._numpy.stack([self.vector(text) for text in texts])


class LanguageModel:
    """wordllama's English model (256 dimensions, weights and tokenizer inside its wheel): loaded once per process.

    The two files are read directly (safetensors, tokenizers) rather than through `WordLlama.load`: the same
    model and the same vectors (tests/local/test_local_lex_nlu.py compares them), without importing wordllama's
    training and download machinery or widening the table to float32, which halves the load on the start-up
    path of `make local`. Nothing is ever downloaded.

    `start()` begins loading in a background thread; `get()` waits for it (or loads in the caller's thread
    when nobody started it).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._embedder: Embedder | None = None
        self._error: BaseException | None = None
        self.load_seconds: float | None = None

    @staticmethod
    def files() -> tuple[Path, Path]:
        """The weights and the tokenizer inside the installed wordllama; LanguageModelError, with the fix,
        when the package or a file is missing."""
        spec = importlib.util.find_spec("wordllama")  # finds the package without importing it
        if spec is None or spec.origin is None:
            raise LanguageModelError(
                "the local Lex runtime needs the `wordllama` package: run `make local` (it installs "
                "requirements-dev.txt) or `.venv/bin/pip install -r requirements-dev.txt -c constraints.txt`"
            )
        folder = Path(spec.origin).parent
        files = (folder / "weights" / WEIGHTS_FILE, folder / "tokenizers" / TOKENIZER_FILE)
        for path in files:
            if not path.is_file():
                raise LanguageModelError(f"wordllama's English model is incomplete ({path} is missing): reinstall it")
        return files

    def start(self) -> None:
        """Begin loading in a daemon thread (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None and not self._done.is_set():
                self._thread = threading.Thread(target=self._load, name="lex-nlu-model", daemon=True)
                self._thread.start()

    def get(self) -> Embedder:
        """The loaded model, waiting for the background load if one is under way."""
        self.start()
        self._done.wait()
        if self._error is not None:
            raise LanguageModelError(f"the language model could not be loaded: {self._error}") from self._error
        assert self._embedder is not None
        return self._embedder

    def _load(self) -> None:
        began = time.perf_counter()
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer

            weights, tokenizer = self.files()
            self._embedder = Embedder(Tokenizer.from_file(str(tokenizer)), load_file(weights)[WEIGHTS_TENSOR])
            self.load_seconds = time.perf_counter() - began
            log.debug("language model loaded in %.2f s", self.load_seconds)
        except BaseException as exc:  # kept for get(), which raises it in the caller's thread
            self._error = exc
        finally:
            self._done.set()


language_model = LanguageModel()
"""The process's one copy of the model (about 35 MB in memory)."""


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


def slot_words(type_name: str) -> str:
    """How a slot type reads to the model: "ProductName" -> "product name", "AMAZON.EmailAddress" -> "email address"."""
    return " ".join(re.findall(r"[A-Z][a-z]+|[A-Z]+(?![a-z])|[a-z]+", type_name.removeprefix("AMAZON."))).casefold()


@dataclass(frozen=True)
class _Sample:
    """A sample utterance prepared once: what it is compared as, and what it needs to be filled."""

    template: Template
    slot_types: dict[str, str]  # slot name -> slot type, for the slots it names
    carrier: frozenset[str]  # its own words
    without_slots: str  # its own words, the slots left out
    lexical: str  # its words, each slot as its type's placeholder
    semantic: str  # its words as the model reads them


@dataclass
class _Reading:
    """One utterance as the classifier sees it: tokens, slot values by slot type, and texts to compare."""

    text: str
    tokens: list[Token]
    found: dict[str, Found]  # slot type -> the value found in the sentence
    lexical: str = ""  # words, each found value as its slot type's placeholder
    semantic: str = ""  # words, each value as its type reads to the model (or left out)
    words: frozenset[str] = frozenset()


class Classifier:
    """Scores an utterance against every sample of a locale and picks the intent, as Lex's NLU would.

    Construction is cheap and starts loading the language model in the background; the first
    classification waits for it.
    """

    def __init__(self, locale: Locale) -> None:
        self.locale = locale
        self.threshold = locale.nlu_confidence_threshold
        self.templates = [
            compile_template(intent.name, sample) for intent in locale.intents for sample in intent.utterances
        ]
        self.intents = [intent.name for intent in locale.intents if intent.utterances]
        # Slots an intent's samples name (only these are filled from a first utterance, as in Lex), by type.
        self._slot_types = {
            intent.name: {slot.name: slot.type for slot in intent.slots if _named_in_samples(slot.name, intent)}
            for intent in locale.intents
        }
        self._types = sorted({type_name for slots in self._slot_types.values() for type_name in slots.values()})
        self._samples = [self._prepare(template) for template in self.templates]
        self._lexical_samples = [sample.lexical for sample in self._samples]
        self._slotted = [index for index, sample in enumerate(self._samples) if sample.slot_types]
        self._samples_of = {name: [s for s in self._samples if s.template.intent == name] for name in self.intents}
        self._exact: dict[str, str] = {}
        for sample in self._samples:  # a sample matches exactly with its slots filled, or with them left out
            self._exact.setdefault(sample.lexical, sample.template.intent)
            self._exact.setdefault(sample.without_slots, sample.template.intent)
        self._index: _SemanticIndex | None = None
        self._index_lock = threading.Lock()
        LanguageModel.files()  # fail now, with the fix, rather than at the first question
        language_model.start()

    # --- public interface used by the runtime -------------------------------------------------------------

    def rank(self, text: str) -> list[Match]:
        """Every intent with utterances, best first, each with its confidence and slot values."""
        reading = self._read(text)
        scores = self._scores(reading)
        matches = [Match(name, scores[name], self._slot_values(name, reading)) for name in self.intents]
        return sorted(matches, key=lambda match: match.score, reverse=True)

    def classify(self, text: str) -> tuple[Match, list[Match]]:
        """The chosen match (FallbackIntent below the threshold) and the ranked candidates."""
        ranked = self.rank(text)
        if ranked and ranked[0].score >= self.threshold:
            return ranked[0], ranked
        return Match(FALLBACK_INTENT, 0.0), ranked

    def best_for_intent(self, intent: str, text: str) -> Match | None:
        """How well `text` matches one intent, with that intent's slot values (None when it has no samples)."""
        if intent not in self.intents:
            return None
        reading = self._read(text)
        return Match(intent, self._scores(reading)[intent], self._slot_values(intent, reading))

    # --- samples --------------------------------------------------------------------------------------------

    def _prepare(self, template: Template) -> _Sample:
        intent_slots = self._slot_types.get(template.intent, {})
        slot_types = {name: intent_slots.get(name, name) for name in template.slot_names}
        lexical = [placeholder(slot_types[w[1:]]) if w.startswith(_SLOT_MARK) else w for w in template.words]
        semantic = [self._model_words(slot_types[w[1:]]) if w.startswith(_SLOT_MARK) else w for w in template.words]
        return _Sample(
            template=template,
            slot_types=slot_types,
            carrier=frozenset(word for word in template.words if not word.startswith(_SLOT_MARK)),
            without_slots=" ".join(word for word in template.words if not word.startswith(_SLOT_MARK)),
            lexical=" ".join(lexical),
            semantic=" ".join(word for word in semantic if word),
        )

    def _model_words(self, type_name: str) -> str:
        """A value as the model should read it: a closed set's type name ("product name") says what the user
        talks about; an open value (a customer id, an email address) says nothing of the intent."""
        slot_type = self.locale.slot_type(type_name)
        return slot_words(type_name) if slot_type is not None and slot_type.resolution == "TOP_RESOLUTION" else ""

    # --- reading an utterance -----------------------------------------------------------------------------

    def _read(self, text: str) -> _Reading:
        tokens = tokenize(text)
        found: dict[str, Found] = {}
        for type_name in self._types:
            slot_type = self.locale.slot_type(type_name)
            value = find_custom(slot_type, tokens, text) if slot_type else _find_builtin(type_name, tokens, text)
            if value is not None and not any(_overlaps(value, other) for other in found.values()):
                found[type_name] = value
        starts = {value.start: (type_name, value) for type_name, value in found.items()}
        lexical: list[str] = []
        semantic: list[str] = []
        index = 0
        while index < len(tokens):
            if index in starts:
                type_name, value = starts[index]
                lexical.append(placeholder(type_name))
                semantic.append(self._model_words(type_name))
                index = value.end
            else:
                lexical.append(tokens[index].word)
                semantic.append(tokens[index].word)
                index += 1
        return _Reading(
            text=text,
            tokens=tokens,
            found=found,
            lexical=" ".join(lexical),
            semantic=" ".join(word for word in semantic if word),
            words=frozenset(token.word for token in tokens),
        )

    def _slot_values(self, intent_name: str, reading: _Reading) -> dict[str, SlotValue]:
        """Values for the slots the intent's samples name: of the slot's type anywhere, else where a sample
        of the intent has the slot."""
        slot_types = self._slot_types.get(intent_name, {})
        values = {name: reading.found[kind].value for name, kind in slot_types.items() if kind in reading.found}
        if len(values) < len(slot_types):
            values = {**self._aligned_values(intent_name, reading, set(slot_types) - values.keys()), **values}
        return values

    def _aligned_values(self, intent_name: str, reading: _Reading, wanted: set[str]) -> dict[str, SlotValue]:
        """Values where a sample of the intent has its `{Slot}` ("My customer ID is abc" -> "abc"): open values
        without a typical shape are only found this way, as Lex fills slots from its samples."""
        intent = self.locale.intent(intent_name)
        best: dict[str, SlotValue] = {}
        for sample in self._samples_of.get(intent_name, []):
            if not wanted & sample.slot_types.keys():
                continue
            if not sample.carrier <= reading.words:
                continue  # a sample whose words are not all in the sentence cannot place a value
            values: dict[str, SlotValue] = {}
            for name, span in align_slots(sample.template, reading.tokens).items():
                slot = intent.slot(name)
                said = span_text(reading.tokens, reading.text, span)
                value = extract_value(slot, self.locale, said) if slot and name in wanted else None
                if value is not None:
                    values[name] = value
            if len(values) > len(best):
                best = values
        return best

    # --- scoring ------------------------------------------------------------------------------------------

    def _scores(self, reading: _Reading) -> dict[str, float]:
        exact = self._exact.get(reading.lexical)
        semantic = self._semantic_scores(reading)
        lexical = self._lexical_scores(reading)
        return {
            name: 1.0 if name == exact else round(min(NEAR_EXACT, max(semantic[name], lexical[name])), 2)
            for name in self.intents
        }

    def _lexical_scores(self, reading: _Reading) -> dict[str, float]:
        """Letter-level similarity to the nearest sample: catches typos the model's tokens miss."""
        best = dict.fromkeys(self.intents, 0.0)
        if reading.lexical:
            ratios = process.extract(reading.lexical, self._lexical_samples, scorer=fuzz.ratio, limit=None)
            for _, ratio, index in ratios:
                intent = self.templates[index].intent
                if ratio > best[intent]:
                    best[intent] = ratio
        return {
            name: _piecewise(ratio, LEXICAL_FLOOR, LEXICAL_AT_THRESHOLD, 100.0, self.threshold)
            for name, ratio in best.items()
        }

    def _semantic_scores(self, reading: _Reading) -> dict[str, float]:
        unfilled = [index for index in self._slotted if not self._can_fill(self._samples[index], reading)]
        similarity = self._semantic_index().similarity(reading.semantic, unfilled)
        return {
            name: _piecewise(value, 0.0, SEMANTIC_AT_THRESHOLD, SEMANTIC_SURE, self.threshold)
            for name, value in similarity.items()
        }

    @staticmethod
    def _can_fill(sample: _Sample, reading: _Reading) -> bool:
        """Whether the sentence has a value for every slot the sample names: one of the slot's type found
        anywhere, or (for open values) all the sample's own words there, with words left over for the slot."""
        if not sample.slot_types or all(kind in reading.found for kind in sample.slot_types.values()):
            return True
        return sample.carrier <= reading.words and len(reading.tokens) > len(sample.without_slots.split())

    def _semantic_index(self) -> _SemanticIndex:
        if self._index is None:
            with self._index_lock:
                if self._index is None:
                    texts = [sample.semantic for sample in self._samples]
                    self._index = _SemanticIndex(
                        language_model.get(), texts, [s.template.intent for s in self._samples]
                    )
        return self._index


class _SemanticIndex:
    """The samples as unit vectors, grouped by intent, and each intent's centroid."""

    def __init__(self, embedder: Embedder, texts: list[str], intents: list[str]) -> None:
        import numpy

        self._numpy = numpy
        self._embedder = embedder
        self._intents = list(dict.fromkeys(intents))  # in order; a locale lists each intent's samples together
        self._vectors = embedder.matrix(texts)
        self._starts = numpy.array([intents.index(name) for name in self._intents])
        ends = [*self._starts[1:], len(intents)]
        centroids = numpy.stack(
            [self._vectors[start:end].mean(axis=0) for start, end in zip(self._starts, ends, strict=True)]
        )
        norms = numpy.linalg.norm(centroids, axis=1, keepdims=True)
        self._centroids = centroids / numpy.where(norms > 0, norms, 1.0)  # an intent of bare slots has no words

    def similarity(self, text: str, unfilled: list[int]) -> dict[str, float]:
        """Per intent: NEAREST_WEIGHT x its nearest sample + the rest x its centroid (cosines). The samples
        at `unfilled` name slots the sentence has no value for: they count less."""
        vector = self._embedder.vector(text)
        cosines = self._vectors @ vector
        cosines[unfilled] *= MISSING_SLOT_DISCOUNT
        nearest = self._numpy.maximum.reduceat(cosines, self._starts)
        blended = NEAREST_WEIGHT * nearest + (1 - NEAREST_WEIGHT) * (self._centroids @ vector)
        return {name: float(value) for name, value in zip(self._intents, blended, strict=True)}


def _named_in_samples(slot_name: str, intent: Intent) -> bool:
    return any(f"{{{slot_name}}}" in sample for sample in intent.utterances)


def _overlaps(first: Found, second: Found) -> bool:
    return first.start < second.end and second.start < first.end


def _piecewise(value: float, zero: float, at_threshold: float, sure: float, threshold: float) -> float:
    """`value` mapped onto [0, 1]: `zero` -> 0, `at_threshold` -> the locale's threshold, `sure` -> 1."""
    if value <= zero:
        return 0.0
    if value <= at_threshold:
        return threshold * (value - zero) / (at_threshold - zero)
    return min(1.0, threshold + (1.0 - threshold) * (value - at_threshold) / (sure - at_threshold))
