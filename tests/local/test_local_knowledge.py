"""The local knowledge base: the shipped guides answer IT questions as QnAIntent; bad documents are skipped.

Retrieval quality is measured on bench/knowledge_questions.py (which guide answers each question, which
questions the guides do not cover) and on the `knowledge` lines of bench/paraphrases.yaml, through the Lex
runtime as the page reaches it: its NLU first, then the documents, then FallbackIntent.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import yaml

from bench.knowledge_questions import ANSWERED, NOT_COVERED
from bench.nlu import PARAPHRASES_PATH, load_paraphrases
from contracts.knowledge import (
    ANSWER_ATTRIBUTE,
    KNOWLEDGE_INTENT_NAME,
    MAX_DOCUMENT_BYTES,
    SOURCES_ATTRIBUTE,
    answer_sources,
)
from local.__main__ import main as local_main
from local.knowledge import DEFAULT_FOLDER, KnowledgeBase, load_folder, read_blocks, source_uri
from local.lex_nlu import FALLBACK_INTENT
from local.lex_runtime import LexRuntime
from scripts.build_knowledge_pdf import SOURCES, render
from tests.local.stack_helpers import Say, fetch, free_port, message_texts

if TYPE_CHECKING:
    from bot.schema import BotDefinition
    from local.stack import LocalStack

BOT = ("LOCALBOTID", "LOCALALIAS", "en_US")
ANSWERED_FLOOR = 0.9  # of the question set, answered from the right guide
PARAPHRASE_FLOOR = 0.85  # of the knowledge paraphrases (written before the guides, for the old intents)
FALLBACK_FLOOR = 0.85  # of the questions the guides do not cover, left to FallbackIntent
FALLBACK_OFFER = "fallback: offer a person"


class FallbackHook:
    """The code hook, reduced to what these tests look at: dialog turns delegate to Lex (slots are elicited),
    fulfillment closes, and FallbackIntent's answer is the offer of a person."""

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        state = event["sessionState"]
        if event["invocationSource"] == "DialogCodeHook":
            return {"sessionState": {**state, "dialogAction": {"type": "Delegate"}}}
        intent = {**state["intent"], "state": "Fulfilled"}
        content = FALLBACK_OFFER if intent["name"] == FALLBACK_INTENT else f"done {intent['name']}"
        return {
            "sessionState": {**state, "dialogAction": {"type": "Close"}, "intent": intent},
            "messages": [{"contentType": "PlainText", "content": content}],
        }


@pytest.fixture(scope="module")
def shipped() -> Iterator[KnowledgeBase]:
    """The shipped guides (knowledge/), indexed once for the module."""
    knowledge = KnowledgeBase(DEFAULT_FOLDER)
    assert knowledge.index() is not None
    yield knowledge
    knowledge.stop()


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[KnowledgeBase]:
    """A knowledge base over an empty temporary folder, looking for changes every 50 ms."""
    knowledge = KnowledgeBase(tmp_path, poll_seconds=0.05)
    yield knowledge
    knowledge.stop()


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Whether `check()` becomes true within `timeout` seconds (the watcher indexes in its own thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture(scope="module")
def runtime(definition: BotDefinition, shipped: KnowledgeBase) -> LexRuntime:
    return LexRuntime(definition, FallbackHook(), knowledge=shipped)


def ask(runtime: LexRuntime, text: str, session: str = "s-1") -> dict[str, Any]:
    return runtime.recognize_text(*BOT, session, {"text": text})


def answered_from(answer: dict[str, Any]) -> str | None:
    """The guide that answered (its key), or None when the answer did not come from the documents."""
    uris = answer_sources(answer)
    return uris[0].removeprefix(source_uri("")) if uris else None


# --- retrieval quality --------------------------------------------------------------------------------------------


def test_the_question_set_is_answered_from_the_right_guide(runtime: LexRuntime) -> None:
    # GIVEN questions the shipped guides answer, each with the guide that answers it
    misses = []
    # WHEN each is asked in a new conversation
    for number, (question, guide) in enumerate(ANSWERED):
        got = answered_from(ask(runtime, question, f"q-{number}"))
        if got != guide:
            misses.append(f"{question!r}: expected {guide}, got {got or 'no answer from the documents'}")
    # THEN at least ANSWERED_FLOOR of them are answered from that guide
    rate = 1 - len(misses) / len(ANSWERED)
    assert rate >= ANSWERED_FLOOR, f"{rate:.0%} answered from the right guide; misses:\n" + "\n".join(misses)


def test_the_old_it_intents_paraphrases_are_answered_from_their_guides(runtime: LexRuntime) -> None:
    # GIVEN the paraphrases of the password and Wi-Fi how-tos, which are guides now
    raw = yaml.safe_load(PARAPHRASES_PATH.read_text(encoding="utf-8"))["knowledge"]
    lines = [(str(line), guide) for guide, entries in raw.items() for line in entries]
    misses = []
    # WHEN each is asked THEN the runtime answers it from its guide, as QnAIntent
    for number, (line, guide) in enumerate(lines):
        got = answered_from(ask(runtime, line, f"p-{number}"))
        if got != guide:
            misses.append(f"{line!r}: expected {guide}, got {got or 'no answer from the documents'}")
    rate = 1 - len(misses) / len(lines)
    assert rate >= PARAPHRASE_FLOOR, f"{rate:.0%} answered from their guide; misses:\n" + "\n".join(misses)


def test_questions_the_guides_do_not_cover_fall_back_to_the_offer_of_a_person(runtime: LexRuntime) -> None:
    # GIVEN questions no guide covers
    answered = []
    for number, question in enumerate(NOT_COVERED):
        # WHEN each is asked
        answer = ask(runtime, question, f"n-{number}")
        # THEN nothing answers it from the documents
        if answered_from(answer) is not None:
            answered.append(f"{question!r} answered from {answered_from(answer)}: {message_texts(answer)[0][:80]!r}")
    rate = 1 - len(answered) / len(NOT_COVERED)
    assert rate >= FALLBACK_FLOOR, f"only {rate:.0%} fell back; answered anyway:\n" + "\n".join(answered)


def test_an_uncovered_question_gets_fallback_and_the_offer_of_a_person(runtime: LexRuntime) -> None:
    answer = ask(runtime, "how do I book a meeting room")
    assert answer["sessionState"]["intent"]["name"] == FALLBACK_INTENT
    assert message_texts(answer) == [FALLBACK_OFFER]
    assert ANSWER_ATTRIBUTE not in answer.get("requestAttributes", {})


def test_no_intent_paraphrase_is_lost_to_the_documents(runtime: LexRuntime, definition: BotDefinition) -> None:
    # GIVEN every intent paraphrase of bench/paraphrases.yaml that the NLU alone gets right
    classifier = runtime.classifiers["en_US"]
    lines = [line for line in load_paraphrases(definition.locales["en_US"]) if line.intent != FALLBACK_INTENT]
    understood = [line for line in lines if classifier.classify(line.text)[0].intent == line.intent]
    # WHEN the runtime, which also has the documents, hears it
    lost = [line.text for line in understood if answered_from(ask(runtime, line.text, "s-i")) is not None]
    # THEN its intent still answers: the documents answer only what no intent is sure of
    assert lost == [], f"intent paraphrases answered from the documents instead: {lost}"


# --- the answer -------------------------------------------------------------------------------------------------


def test_every_knowledge_suggestion_on_the_welcome_message_is_answered_from_a_guide(
    runtime: LexRuntime, definition: BotDefinition
) -> None:
    # GIVEN the questions the welcome message offers for the knowledge base
    suggested = definition.locales["en_US"].knowledge_suggestions
    assert suggested, "the shipped definition offers no knowledge question"
    # WHEN each is asked, THEN a guide answers it: a suggestion never leads to "I didn't understand"
    unanswered = [text for text in suggested if answered_from(ask(runtime, text, "s-suggested")) is None]
    assert unanswered == [], f"suggested questions the documents do not answer: {unanswered}"


def test_a_how_to_is_answered_with_its_steps_from_the_guide(runtime: LexRuntime) -> None:
    # WHEN the user asks a question a guide answers with a numbered list
    answer = ask(runtime, "I forgot my password")
    # THEN QnAIntent answers (Fulfilled, closed) with the guide's steps as numbered lines, word for word
    state = answer["sessionState"]
    assert state["intent"]["name"] == KNOWLEDGE_INTENT_NAME
    assert state["intent"]["state"] == "Fulfilled"
    assert state["dialogAction"] == {"type": "Close"}
    text = message_texts(answer)[0]
    lines = text.splitlines()
    assert lines[0] == "Here is how to reset your password:"
    assert lines[1] == '1. Open the sign-in page and choose "Forgot password".'
    assert [line.split(".")[0] for line in lines[1:6]] == ["1", "2", "3", "4", "5"]
    # AND the response's request attributes carry the answer and its source, as Lex's QnAIntent sets them
    assert answer["requestAttributes"][ANSWER_ATTRIBUTE] == text
    assert answer["requestAttributes"][SOURCES_ATTRIBUTE] == "s3://local-knowledge/reset-your-password.md"
    assert SOURCES_ATTRIBUTE not in state["sessionAttributes"], "the sources describe one answer, not the session"
    assert answer["interpretations"][0]["intent"]["name"] == KNOWLEDGE_INTENT_NAME


def test_a_prose_answer_is_whole_sentences_of_the_guide(runtime: LexRuntime) -> None:
    # WHEN a question is answered by a section without a list
    text = message_texts(ask(runtime, "the vpn keeps disconnecting"))[0]
    # THEN the answer is sentences copied from the guide, each whole (nothing generated, nothing cut)
    guide = " ".join((DEFAULT_FOLDER / "connect-to-the-VPN.md").read_text(encoding="utf-8").split())
    assert text in guide, f"not a passage of the guide: {text!r}"
    assert text[:1].isupper(), f"does not start a sentence: {text!r}"
    assert text.endswith("."), f"does not end a sentence: {text!r}"


def test_the_answer_attributes_do_not_outlive_their_turn(runtime: LexRuntime) -> None:
    ask(runtime, "I forgot my password", "s-stale")
    answer = ask(runtime, "thank you", "s-stale")
    assert answer["sessionState"]["intent"]["name"] == "ThankYouIntent"
    attributes = {**answer["sessionState"]["sessionAttributes"], **answer.get("requestAttributes", {})}
    assert ANSWER_ATTRIBUTE not in attributes
    assert SOURCES_ATTRIBUTE not in attributes


def test_a_documents_question_while_a_slot_is_asked_is_not_answered_from_them(runtime: LexRuntime) -> None:
    # GIVEN the bot asks for a customer id
    ask(runtime, "Where is my order", "s-slot")
    # WHEN the user answers with an IT question
    answer = ask(runtime, "the vpn keeps disconnecting", "s-slot")
    # THEN, as in Lex, QnAIntent does not run during slot elicitation: the bot asks for the id again
    assert answer["sessionState"]["dialogAction"] == {"type": "ElicitSlot", "slotToElicit": "CustomerId"}
    assert answered_from(answer) is None


def test_without_a_knowledge_base_unmatched_questions_fall_back(definition: BotDefinition) -> None:
    answer = ask(LexRuntime(definition, FallbackHook()), "the vpn keeps disconnecting")
    assert answer["sessionState"]["intent"]["name"] == FALLBACK_INTENT


# --- documents ----------------------------------------------------------------------------------------------------


def test_every_shipped_format_is_read_with_its_headings() -> None:
    # GIVEN the shipped guides: Markdown, text (underlined headings), HTML and PDF
    chunks, skipped = load_folder(DEFAULT_FOLDER)
    headings = {(chunk.key, chunk.heading) for chunk in chunks}
    # THEN every one is indexed, by section
    assert skipped == []
    assert {path.suffix for path in DEFAULT_FOLDER.iterdir()} >= {".md", ".txt", ".html", ".pdf"}
    for expected in [
        ("connect-to-the-VPN.md", "Connect to the VPN"),
        ("set-up-work-email-on-your-phone.txt", "Email stopped working on the phone"),
        ("fix-wifi-and-network-problems.html", "Wi-Fi not working: get back online"),
        ("print-to-an-office-printer.pdf", "Release a print job"),
    ]:
        assert expected in headings, f"section {expected} not found among {sorted(headings)}"


def test_the_pdf_guide_is_rebuilt_byte_for_byte_from_its_source() -> None:
    for source in SOURCES.glob("*.md"):
        built = render(source.read_text(encoding="utf-8"))
        assert built == (DEFAULT_FOLDER / f"{source.stem}.pdf").read_bytes(), (
            f"knowledge/{source.stem}.pdf is stale: run `.venv/bin/python scripts/build_knowledge_pdf.py`"
        )


def _bad_documents(folder: Path) -> dict[str, str]:
    """A good guide and one of each bad kind; the reason each bad one must be skipped for."""
    (folder / "good.md").write_text("# Badges\n\n## Lost badge\n\nReport a lost badge at reception at once.\n")
    (folder / "corrupt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n%%garbage, no xref, no trailer")
    (folder / "binary.md").write_bytes(bytes(range(256)) * 4)
    (folder / "empty.txt").write_bytes(b"")
    with (folder / "huge.html").open("wb") as huge:  # sparse: over the limit without writing 50 MB
        huge.truncate(MAX_DOCUMENT_BYTES + 1)
    return {"corrupt.pdf": "PDF", "binary.md": "binary", "empty.txt": "empty", "huge.html": "50 MB"}


def test_bad_documents_are_skipped_with_one_line_each_and_the_rest_is_indexed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a folder with a good guide, a corrupt PDF, a binary file, an empty file and one over 50 MB
    reasons = _bad_documents(tmp_path)
    # WHEN it is indexed
    with caplog.at_level(logging.INFO, logger="local.knowledge"):
        chunks, skipped = load_folder(tmp_path)
    # THEN each bad document is skipped with ONE warning line naming the file and the reason
    warnings = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    assert len(warnings) == len(reasons), f"expected one line per bad document, got {warnings}"
    for name, reason in reasons.items():
        lines = [line for line in warnings if name in line]
        assert len(lines) == 1, f"{name}: expected one line, got {lines}"
        assert reason in lines[0], f"{name}: the line should say {reason!r}: {lines[0]}"
    assert {item.key for item in skipped} == set(reasons)
    # AND the good guide is indexed and answers
    assert [chunk.key for chunk in chunks] == ["good.md"]


def test_a_folder_of_bad_documents_never_stops_the_answers(tmp_path: Path, definition: BotDefinition) -> None:
    _bad_documents(tmp_path)
    knowledge = KnowledgeBase(tmp_path)
    runtime = LexRuntime(definition, FallbackHook(), knowledge=knowledge)
    assert answered_from(ask(runtime, "I lost my badge")) == "good.md"
    knowledge.stop()


def test_a_document_that_is_not_utf8_text_is_refused_with_the_reason(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("Caf\xe9 opening hours".encode("latin-1"))
    with pytest.raises(Exception, match="not UTF-8"):
        read_blocks(path)


def test_a_changed_folder_is_indexed_again_while_running(tmp_path: Path, watched: KnowledgeBase) -> None:
    # GIVEN a running knowledge base over a folder with one guide
    (tmp_path / "badges.md").write_text("# Badges\n\n## Lost badge\n\nReport a lost badge at reception.\n")
    assert watched.answer("I lost my badge") is not None
    assert watched.answer("how do I book a parking space") is None
    # WHEN a guide is added
    (tmp_path / "parking.md").write_text("# Parking\n\n## Book a parking space\n\nBook parking in the Spaces app.\n")

    # THEN a question soon finds it, with its source
    def sources() -> tuple[str, ...]:
        found = watched.answer("how do I book a parking space")
        return found.sources if found is not None else ()

    assert eventually(lambda: sources() == ("s3://local-knowledge/parking.md",)), "the added guide was never indexed"
    # AND when it is removed, its answer goes with it
    (tmp_path / "parking.md").unlink()
    assert eventually(lambda: sources() == ()), "the removed guide still answers"


def test_an_edited_guide_answers_with_its_new_words(tmp_path: Path, watched: KnowledgeBase) -> None:
    guide = tmp_path / "badges.md"
    guide.write_text("# Badges\n\n## Lost badge\n\nReport a lost badge at reception.\n")
    assert watched.answer("I lost my badge") is not None
    guide.write_text("# Badges\n\n## Lost badge\n\nReport a lost badge to the security desk on floor 2.\n")
    os.utime(guide, ns=(time.time_ns(), time.time_ns() + 1_000_000_000))  # a new mtime even on a coarse clock

    def new_words() -> bool:
        found = watched.answer("I lost my badge")
        return found is not None and "security desk" in found.text

    assert eventually(new_words), "the edited guide still answers with its old words"


# --- through the running stack ------------------------------------------------------------------------------------


@pytest.mark.local_stack
def test_the_running_stack_answers_from_the_guides_through_the_lex_api(say: Say) -> None:
    # WHEN an unmodified boto3 Lex client asks a question no intent answers
    answer = say("how do I connect to the VPN")
    # THEN the answer is QnAIntent's, with its source in the response's request attributes
    state = answer["sessionState"]
    assert state["intent"]["name"] == KNOWLEDGE_INTENT_NAME
    assert answer["requestAttributes"][SOURCES_ATTRIBUTE] == "s3://local-knowledge/connect-to-the-VPN.md"
    assert "1. Open the GlobalConnect app" in message_texts(answer)[0]


@pytest.mark.local_stack
def test_the_running_stack_still_offers_a_person_for_what_the_guides_do_not_cover(
    say: Say, definition: BotDefinition
) -> None:
    answer = say("how do I book a meeting room")
    assert answer["sessionState"]["intent"]["name"] == FALLBACK_INTENT
    offer = " ".join(definition.locales["en_US"].messages["fallback_offer"].split())
    assert offer in " ".join(message_texts(answer))


@pytest.mark.local_stack
@pytest.mark.parametrize(
    ("key", "content_type"),
    [
        ("reset-your-password.md", "text/markdown; charset=utf-8"),
        ("set-up-work-email-on-your-phone.txt", "text/plain; charset=utf-8"),
        ("fix-wifi-and-network-problems.html", "text/html; charset=utf-8"),
        ("print-to-an-office-printer.pdf", "application/pdf"),
    ],
)
def test_the_stack_serves_each_guide_with_its_content_type(local_stack: LocalStack, key: str, content_type: str):
    status, headers, body = fetch(f"{local_stack.origin}/knowledge/{key}")
    assert status == 200
    assert headers["content-type"] == content_type
    assert body == (DEFAULT_FOLDER / key).read_bytes()
    assert headers["x-content-type-options"] == "nosniff"


@pytest.mark.local_stack
def test_an_html_guide_is_served_sandboxed(local_stack: LocalStack) -> None:
    _, headers, _ = fetch(f"{local_stack.origin}/knowledge/fix-wifi-and-network-problems.html")
    assert headers["content-security-policy"].startswith("sandbox"), "a guide's scripts must never run on our origin"


@pytest.mark.local_stack
@pytest.mark.parametrize(
    "path",
    [
        "/knowledge/../pyproject.toml",
        "/knowledge/%2e%2e/pyproject.toml",
        "/knowledge/..%2fMakefile",
        "/knowledge/missing.md",
        "/knowledge/",
        "/knowledge/.hidden.md",
    ],
)
def test_nothing_outside_the_guides_is_served_under_knowledge(local_stack: LocalStack, path: str) -> None:
    status, _, body = fetch(local_stack.origin + path)
    assert status == 404, f"{path} answered {status}: {body[:120]!r}"


def test_a_missing_knowledge_folder_stops_the_start_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # WHEN python -m local is pointed at a folder that does not exist
    status = local_main(["--port", str(free_port()), "--knowledge-dir", str(tmp_path / "no-such-folder")])
    # THEN it stops before starting anything, with one line naming the folder and the fix
    assert status == 1
    error = capsys.readouterr().err
    assert "no-such-folder does not exist" in error
    assert "make local KNOWLEDGE_DIR=" in error


def test_sources_are_read_from_the_response_and_only_from_a_qna_answer() -> None:
    # GIVEN QnAIntent answers with the sources where Lex puts them, in a session attribute, and another intent's
    qna = {"sessionState": {"intent": {"name": KNOWLEDGE_INTENT_NAME}, "sessionAttributes": {}}}
    in_response = {**qna, "requestAttributes": {SOURCES_ATTRIBUTE: "s3://b/a.md, s3://b/b.md"}}
    in_session = {"sessionState": {**qna["sessionState"], "sessionAttributes": {SOURCES_ATTRIBUTE: "s3://b/c.md"}}}
    other = {
        "sessionState": {"intent": {"name": "OrderStatus"}},
        "requestAttributes": {SOURCES_ATTRIBUTE: "s3://b/a.md"},
    }
    # THEN the response's attribute is read first, the session's only without it, and never another intent's
    assert answer_sources(in_response) == ["s3://b/a.md", "s3://b/b.md"]
    assert answer_sources(in_session) == ["s3://b/c.md"]
    assert answer_sources(other) == []
    assert answer_sources(qna) == []
