"""How well and how fast the local Lex runtime understands: accuracy on paraphrases, latency, model load.

The paraphrases (`bench/paraphrases.yaml`) are lines a user might type that are not sample utterances of
`bot/definition.yaml`; `measure` classifies each one as the runtime does and counts what it got right.
`make bench` prints the figures and the confusion list; tests/local/test_local_lex_nlu.py holds the
accuracy to its bar with the same `measure`.
"""

from __future__ import annotations

import json
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bench import load_local
from bot.schema import load_definition
from local.lex_nlu import FALLBACK_INTENT, Classifier

if TYPE_CHECKING:
    from bot.schema import Locale

PARAPHRASES_PATH = Path(__file__).with_name("paraphrases.yaml")
REPO = Path(__file__).resolve().parent.parent
LATENCY_ROUNDS = 20  # passes over the paraphrase set (about 2,000 timed classifications)
STARTUP_ROUNDS = 3
STARTUP_TIMEOUT_SECONDS = 60.0


class ParaphraseFileError(ValueError):
    """The paraphrase file is malformed or contradicts the definition; the message says where and why."""


@dataclass(frozen=True)
class Paraphrase:
    """One line a user might type, and what the bot should make of it."""

    text: str
    intent: str  # FallbackIntent for a line the bot must not claim to understand
    slots: dict[str, str] = field(default_factory=dict)  # slot name -> expected interpretedValue


@dataclass(frozen=True)
class Miss:
    """One thing the classifier got wrong: what was expected, what it said, for which line."""

    text: str
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.expected} -> {self.got}: {self.text!r}"


@dataclass
class Accuracy:
    """Counts over a paraphrase set. A slot check is an expected value, or a value the line did not expect."""

    intents_right: int = 0
    intents_total: int = 0
    slots_right: int = 0
    slots_total: int = 0
    fallbacks_right: int = 0
    fallbacks_total: int = 0
    intent_misses: list[Miss] = field(default_factory=list)
    slot_misses: list[Miss] = field(default_factory=list)

    @property
    def intent_accuracy(self) -> float:
        """Share of lines (out-of-scope ones included) whose intent was right."""
        return self.intents_right / self.intents_total if self.intents_total else 1.0

    @property
    def slot_accuracy(self) -> float:
        return self.slots_right / self.slots_total if self.slots_total else 1.0

    def lines(self) -> list[tuple[str, str]]:
        return [
            ("intent accuracy", f"{self.intent_accuracy:.1%} ({self.intents_right}/{self.intents_total})"),
            ("slot accuracy", f"{self.slot_accuracy:.1%} ({self.slots_right}/{self.slots_total})"),
            ("out of scope -> fallback", f"{self.fallbacks_right}/{self.fallbacks_total}"),
        ]


def load_paraphrases(locale: Locale, path: Path = PARAPHRASES_PATH) -> list[Paraphrase]:
    """The paraphrase set, checked against the locale: known intents and slots, and no line that is a sample."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or not isinstance(raw.get("intents"), dict):
        raise ParaphraseFileError(f"{path}: expected a mapping with `intents` (intent -> lines)")
    samples = {_normalised(sample) for intent in locale.intents for sample in intent.utterances}
    lines: list[Paraphrase] = []
    for intent_name, entries in raw["intents"].items():
        try:
            intent = locale.intent(intent_name)
        except KeyError:
            raise ParaphraseFileError(f"{path}: intents.{intent_name}: the definition has no such intent") from None
        for entry in entries or []:
            line = _paraphrase(entry, intent_name, path)
            unknown = [name for name in line.slots if intent.slot(name) is None]
            if unknown:
                raise ParaphraseFileError(f"{path}: {line.text!r}: {intent_name} has no slot {unknown[0]}")
            lines.append(line)
    lines += [_paraphrase(entry, FALLBACK_INTENT, path) for entry in raw.get("out_of_scope") or []]
    copied = [line.text for line in lines if _normalised(line.text) in samples]
    if copied:
        raise ParaphraseFileError(f"{path}: {copied[0]!r} is a sample utterance of the definition: it measures nothing")
    return lines


def _paraphrase(entry: Any, intent: str, path: Path) -> Paraphrase:
    if isinstance(entry, str):
        return Paraphrase(entry, intent)
    if isinstance(entry, dict) and isinstance(entry.get("say"), str) and isinstance(entry.get("slots", {}), dict):
        return Paraphrase(entry["say"], intent, {str(k): str(v) for k, v in entry.get("slots", {}).items()})
    raise ParaphraseFileError(f"{path}: {intent}: {entry!r} is neither a line nor {{say: ..., slots: {{...}}}}")


def _normalised(text: str) -> str:
    """Case and punctuation aside: a copied sample is caught, a shorthand of one ("ty") is a paraphrase."""
    return " ".join(re.findall(r"[\w'@.-]+", text.casefold()))


def measure(classifier: Classifier, paraphrases: list[Paraphrase]) -> Accuracy:
    """Classify every line as the runtime does and count right intents and slot values."""
    accuracy = Accuracy()
    for line in paraphrases:
        chosen, _ = classifier.classify(line.text)
        accuracy.intents_total += 1
        if chosen.intent == line.intent:
            accuracy.intents_right += 1
        else:
            accuracy.intent_misses.append(Miss(line.text, line.intent, f"{chosen.intent} ({chosen.score:.2f})"))
        if line.intent == FALLBACK_INTENT:
            accuracy.fallbacks_total += 1
            accuracy.fallbacks_right += chosen.intent == FALLBACK_INTENT
        got = {name: value.interpreted for name, value in chosen.slots.items()}
        for name in sorted(line.slots.keys() | got.keys()):
            accuracy.slots_total += 1
            if line.slots.get(name) == got.get(name):
                accuracy.slots_right += 1
            else:
                expected, said = line.slots.get(name, "(none)"), got.get(name, "(none)")
                accuracy.slot_misses.append(Miss(line.text, f"{name}={expected}", f"{name}={said}"))
    return accuracy


def latency(classifier: Classifier, paraphrases: list[Paraphrase]) -> list[tuple[str, str]]:
    """Per-utterance classification time over the paraphrase set (in-process, model already loaded).

    Wall-clock time is what a user waits for; the thread's CPU time leaves out what other processes on a
    shared machine take from it, so a p99 far above its CPU-time p99 means a busy machine, not slow code.
    """
    classifier.classify("warm up")
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(LATENCY_ROUNDS):
        for line in paraphrases:
            began, began_cpu = time.perf_counter(), time.thread_time()
            classifier.classify(line.text)
            wall.append((time.perf_counter() - began) * 1000)
            cpu.append((time.thread_time() - began_cpu) * 1000)
    return [
        ("classify p50", f"{statistics.median(wall):.2f} ms"),
        ("classify p99", f"{_p99(wall):.2f} ms (CPU time {_p99(cpu):.2f} ms)"),
        ("samples compared per call", str(len(classifier.templates))),
    ]


def _p99(timings: list[float]) -> float:
    return statistics.quantiles(timings, n=100, method="inclusive")[98]


def model_load_seconds() -> float:
    """How long a fresh interpreter takes to load the model (its libraries, tokenizer and weights), median of 3."""
    code = (
        "import time; from local.lex_nlu import language_model; "
        "began = time.perf_counter(); language_model.get(); print(time.perf_counter() - began)"
    )
    runs = [
        subprocess.run(  # noqa: S603 - our own interpreter on our own module
            [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
        )
        for _ in range(STARTUP_ROUNDS)
    ]
    return statistics.median(float(run.stdout.strip().splitlines()[-1]) for run in runs)


def startup_seconds() -> float:
    """From launching `python -m local` to its first RecognizeText answer (what a newcomer waits for)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/bots/LOCALBOTID/botAliases/LOCALALIAS/botLocales/en_US/sessions/bench-1/text"
    request = urllib.request.Request(
        url, data=json.dumps({"text": "hello"}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    began = time.perf_counter()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter on our own module
        [sys.executable, "-m", "local", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while (left := STARTUP_TIMEOUT_SECONDS - (time.perf_counter() - began)) > 0:
            if process.poll() is not None:
                raise RuntimeError(f"python -m local exited with {process.returncode} before answering")
            try:
                # The port listens before the stack serves: a request may wait in the backlog until it does.
                with urllib.request.urlopen(request, timeout=left) as response:  # noqa: S310 - loopback, http only
                    response.read()
                return time.perf_counter() - began
            except (ConnectionError, urllib.error.URLError):
                time.sleep(0.02)
        raise RuntimeError(f"python -m local did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s")
    except TimeoutError:
        raise RuntimeError(f"python -m local did not answer within {STARTUP_TIMEOUT_SECONDS:.0f} s") from None
    finally:
        process.terminate()
        process.wait(10)


def report() -> None:
    """Print every NLU figure and the confusion list (intent misses first, then slot misses)."""
    locale = load_definition().locales["en_US"]
    load = model_load_seconds()
    classifier = Classifier(locale)
    paraphrases = load_paraphrases(locale)
    accuracy = measure(classifier, paraphrases)
    startup = statistics.median(startup_seconds() for _ in range(STARTUP_ROUNDS))
    rows = [
        *accuracy.lines(),
        *latency(classifier, paraphrases),
        ("model load (fresh interpreter)", f"{load:.2f} s (median of {STARTUP_ROUNDS})"),
        ("python -m local, first answer", f"{startup:.2f} s (median of {STARTUP_ROUNDS})"),
    ]
    load_local.print_table(rows, f"Local Lex runtime NLU ({PARAPHRASES_PATH.name}, in-process, no HTTP)")
    print("  confusion (expected -> got: utterance):")
    misses = [str(miss) for miss in accuracy.intent_misses + accuracy.slot_misses]
    for line in misses or ["(none)"]:
        print(f"    {line}")
