"""The local knowledge base: the team's documents (`knowledge/`) indexed so the Lex runtime can play QnAIntent.

No HTTP, no AWS, no Pulumi. What the cloud does with an Amazon Bedrock knowledge base, this does on one machine:

1. Load a folder: every file whose suffix is in `contracts.knowledge.DOCUMENT_SUFFIXES`, at most
   `MAX_DOCUMENT_BYTES`. Markdown and text are read as they are (a text file may underline its headings with `===`
   or `---`), HTML through the standard library's `html.parser` (headings, paragraphs, list items), PDF through
   pypdf (a short line with no final punctuation is a heading). A document that cannot be read (a corrupt PDF, a
   binary file, an empty one, one too large) is skipped with ONE log line naming the file and the reason.
2. Chunks follow the headings: one per section (split further when a section is long), each carrying its
   document's title and its heading, so "Release a print job" is found by its heading as well as its words.
3. Retrieval is hybrid: BM25 (`bm25s`) over the words, and cosine similarity of wordllama's sentence vectors (the
   model `local.lex_nlu` already loaded; never a second copy), fused into one score in [0, 1]. A question whose
   best chunk scores under `ANSWER_THRESHOLD`, or shares no word with it, is not covered: the runtime falls back.
4. The answer is extractive, never generated: no language model runs here. A section that is a list is answered
   as its steps (numbered lines, which the page shows as a list) with the sentence that leads into them; any other
   section is answered whole when it is short, else from its best-matching sentence onwards, trimmed to whole
   sentences.

`KnowledgeBase` wraps it for the running stack: it indexes in a background thread at start, and again when a
document is added, changed or removed (that thread looks at the files every `POLL_SECONDS`); questions are
answered from the index in place meanwhile.
"""

from __future__ import annotations

import contextlib
import html.parser
import logging
import re
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from contracts.knowledge import DOCUMENT_SUFFIXES, MAX_DOCUMENT_BYTES, document_title

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    from local.lex_nlu import Embedder

SOURCE_BUCKET = "local-knowledge"
"""The local stand-in for the documents bucket: sources are `s3://local-knowledge/<path in the folder>`."""
DEFAULT_FOLDER = Path(__file__).resolve().parent.parent / "knowledge"
POLL_SECONDS = 2.0  # how often the folder's files are looked at for a change (an edit shows within this)
MAX_CHUNK_WORDS = 180  # a longer section is split between its blocks: an answer comes from one part of a guide
ANSWER_MAX_CHARS = 700  # an answer is a passage, not the document: at most this many characters of prose
MAX_STEPS = 12  # a list longer than this is cut (with its lead-in kept); guides rarely have more steps

# Fusion (measured on tests/local/test_local_knowledge.py's questions; see bench/knowledge.py):
SEMANTIC_WEIGHT = 0.5  # score = 0.5 x cosine + 0.5 x BM25 squashed into [0, 1)
BM25_HALF = 2.0  # the BM25 score that counts half: bm25 / (bm25 + BM25_HALF)
ANSWER_THRESHOLD = 0.38  # under this, the documents do not cover the question

_WORD = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_ORDERED = re.compile(r"^\s*(\d{1,3})[.)]\s+(.*)$")
_BULLET = re.compile(r"^\s*[-*\u2022]\s+(.*)$")
_ATX_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_MARKUP = re.compile(r"\*\*|__|`|\[([^\]]*)\]\([^)]*\)")
_STOPWORD_TEXT = """a about after again all am an and any are as at be because been before being both but by can
    could did do
    does doing don down during each few for from further had has have having he her here hers him his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or other our ours out over
    own same she should so some such than that the their theirs them then there these they this those through to too
    under until up very was we were what when where which while who whom why will with would you your yours please
    hi hello hey thanks thank get got need want help tell know let us can't cannot"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())  # words that say nothing of the subject; questions are full of them
log = logging.getLogger("local.knowledge")

BlockKind = Literal["heading", "paragraph", "item"]


class DocumentError(Exception):
    """A document the index cannot read; the message is the reason, for the one log line."""


@dataclass(frozen=True)
class Block:
    """One piece of a document: a heading (with its level), a paragraph, or a list item (ordered or not)."""

    kind: BlockKind
    text: str
    level: int = 0
    ordered: bool = False


@dataclass(frozen=True)
class Chunk:
    """A passage the index retrieves: a section (or part of one) of a document, with its title and heading."""

    key: str  # the document's path in the folder, POSIX style: the key in the documents bucket
    title: str
    heading: str
    blocks: tuple[Block, ...]

    @property
    def body(self) -> str:
        return " ".join(block.text for block in self.blocks)

    @property
    def text(self) -> str:
        """What the index reads: the title and heading count as words of the passage."""
        return " ".join(part for part in (self.title, self.heading, self.body) if part)

    @property
    def uri(self) -> str:
        return source_uri(self.key)


@dataclass(frozen=True)
class Skipped:
    """A document left out of the index, and why."""

    key: str
    reason: str


@dataclass(frozen=True)
class Hit:
    """A chunk and how well it matches a question: the fused score and its two parts."""

    chunk: Chunk
    score: float
    bm25: float
    cosine: float


@dataclass(frozen=True)
class KnowledgeAnswer:
    """What QnAIntent answers: the extractive text and the source(s) it came from."""

    text: str
    sources: tuple[str, ...]
    score: float
    heading: str


def source_uri(key: str) -> str:
    """The document's URI as the session attribute carries it: `s3://local-knowledge/<key>`."""
    return f"s3://{SOURCE_BUCKET}/{key}"


# --- reading documents ------------------------------------------------------------------------------------------


def read_blocks(path: Path) -> list[Block]:
    """The blocks of one document; DocumentError with the reason when it cannot be read or says nothing."""
    suffix = path.suffix.lower()
    if suffix not in DOCUMENT_SUFFIXES:
        raise DocumentError(f"not a document type the knowledge base reads ({', '.join(DOCUMENT_SUFFIXES)})")
    size = path.stat().st_size
    if size > MAX_DOCUMENT_BYTES:
        raise DocumentError(f"{size / 1024 / 1024:.1f} MB is over the {MAX_DOCUMENT_BYTES // 1024 // 1024} MB limit")
    if size == 0:
        raise DocumentError("the file is empty")
    if suffix == ".pdf":
        blocks = pdf_blocks(path)
    else:
        raw = path.read_bytes()
        if b"\x00" in raw[:8192]:
            raise DocumentError("binary content, not text")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DocumentError(f"not UTF-8 text (byte {exc.start})") from None
        blocks = html_blocks(text) if suffix in {".html", ".htm"} else markdown_blocks(text)
    if not any(block.kind != "heading" for block in blocks):
        raise DocumentError("no text to index")
    return blocks


def markdown_blocks(text: str) -> list[Block]:
    """Blocks of Markdown or plain text: `#` headings, headings underlined with `===`/`---`, lists, paragraphs."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    lines = text.splitlines()

    def flush() -> None:
        if paragraph:
            blocks.append(Block("paragraph", _clean(" ".join(paragraph))))
            paragraph.clear()

    for index, line in enumerate(lines):
        stripped = line.strip()
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _SETEXT.match(stripped) and not paragraph and blocks and blocks[-1].kind == "heading":
            continue  # the underline of the heading just read
        if stripped and not paragraph and _SETEXT.match(following) and not _SETEXT.match(stripped):
            flush()
            blocks.append(Block("heading", _clean(stripped), level=1 if following.startswith("=") else 2))
            continue
        if heading := _ATX_HEADING.match(stripped):
            flush()
            blocks.append(Block("heading", _clean(heading.group(2)), level=len(heading.group(1))))
        elif item := _ORDERED.match(line):
            flush()
            blocks.append(Block("item", _clean(item.group(2)), ordered=True))
        elif item := _BULLET.match(line):
            flush()
            blocks.append(Block("item", _clean(item.group(1))))
        elif not stripped:
            flush()
        elif blocks and blocks[-1].kind == "item" and not paragraph and line[:1].isspace():
            last = blocks.pop()  # an indented line continues the list item above it
            blocks.append(Block("item", f"{last.text} {_clean(stripped)}", ordered=last.ordered))
        else:
            paragraph.append(stripped)
    flush()
    return [block for block in blocks if block.text]


class _HtmlReader(html.parser.HTMLParser):
    """Headings, paragraphs and list items of an HTML page; scripts, styles and the head are left out."""

    _BLOCKS = frozenset({"p", "div", "section", "article", "br", "tr", "td", "th", "dt", "dd", "pre", "blockquote"})
    _HIDDEN = frozenset({"script", "style", "head", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[Block] = []
        self._text: list[str] = []
        self._kind: BlockKind = "paragraph"
        self._level = 0
        self._lists: list[bool] = []  # ordered or not, innermost last
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._HIDDEN:
            self._hidden += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self._flush()
            self._kind, self._level = "heading", int(tag[1])
        elif tag in {"ol", "ul"}:
            self._flush()
            self._lists.append(tag == "ol")
        elif tag == "li":
            self._flush()
            self._kind = "item"
        elif tag in self._BLOCKS:
            self._flush()

    def handle_endtag(self, tag: str) -> None:
        if tag in self._HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif re.fullmatch(r"h[1-6]", tag) or tag == "li" or tag in self._BLOCKS:
            self._flush()
        elif tag in {"ol", "ul"}:
            self._flush()
            if self._lists:
                self._lists.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._flush()

    def _flush(self) -> None:
        text = _clean(" ".join("".join(self._text).split()))
        if text:
            ordered = self._kind == "item" and bool(self._lists and self._lists[-1])
            self.blocks.append(Block(self._kind, text, level=self._level, ordered=ordered))
        self._text.clear()
        self._kind, self._level = "paragraph", 0


def html_blocks(text: str) -> list[Block]:
    """Blocks of an HTML document (the standard library's parser: no dependency, no script runs)."""
    reader = _HtmlReader()
    reader.feed(text)
    reader.close()
    return reader.blocks


def pdf_blocks(path: Path) -> list[Block]:
    """Blocks of a PDF's text (pypdf). A short line that starts with a capital and ends with no punctuation is
    a heading; a numbered or bulleted line is a list item, continued by lines that start in lower case."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        with _quiet_pypdf():  # the one line for a bad PDF is ours; pypdf's own warnings would add more
            reader = PdfReader(path)
            if reader.is_encrypted:
                raise DocumentError("the PDF is encrypted")
            pages = [page.extract_text() or "" for page in reader.pages]
    except DocumentError:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
        raise DocumentError(f"not a readable PDF ({type(exc).__name__}: {str(exc)[:80]})") from None
    lines = [line.strip() for page in pages for line in page.splitlines()]
    return _pdf_lines_to_blocks([line for line in lines if line])


@contextlib.contextmanager
def _quiet_pypdf() -> Iterator[None]:
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        pypdf_log.setLevel(level)


def _pdf_lines_to_blocks(lines: list[str]) -> list[Block]:
    blocks: list[Block] = []
    for line in lines:
        last = blocks[-1] if blocks else None
        if item := _ORDERED.match(line):
            blocks.append(Block("item", _clean(item.group(2)), ordered=True))
        elif item := _BULLET.match(line):
            blocks.append(Block("item", _clean(item.group(1))))
        elif last is not None and last.kind == "item" and line[:1].islower():
            blocks[-1] = Block("item", f"{last.text} {line}", ordered=last.ordered)
        elif _looks_like_heading(line):
            blocks.append(Block("heading", line, level=1 if not blocks else 2))
        elif last is not None and last.kind == "paragraph" and not last.text.endswith((".", "!", "?", ":")):
            blocks[-1] = Block("paragraph", f"{last.text} {line}")  # a wrapped line of the same paragraph
        elif last is not None and last.kind == "paragraph" and line[:1].islower():
            blocks[-1] = Block("paragraph", f"{last.text} {line}")
        else:
            blocks.append(Block("paragraph", line))
    return blocks


def _looks_like_heading(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 9 and line[:1].isupper() and not line.endswith((".", ",", ";", ":", "!", "?"))


def _clean(text: str) -> str:
    """Inline Markdown markup dropped (`**bold**`, `code`, [links](url) -> their text)."""
    return _MARKUP.sub(lambda match: match.group(1) or "", text).strip()


# --- chunks ---------------------------------------------------------------------------------------------------------


def chunk_document(key: str, blocks: list[Block]) -> list[Chunk]:
    """Sections by heading; the first heading is the document's title, otherwise the file name gives it."""
    title = blocks[0].text if blocks and blocks[0].kind == "heading" else document_title(key)
    body = blocks[1:] if blocks and blocks[0].kind == "heading" else blocks
    chunks: list[Chunk] = []
    heading = ""
    section: list[Block] = []

    def close_section() -> None:
        for part in _split_long(section):
            chunks.append(Chunk(key, title, heading, tuple(part)))
        section.clear()

    for block in body:
        if block.kind == "heading":
            close_section()
            heading = block.text
        else:
            section.append(block)
    close_section()
    return chunks


def _split_long(blocks: list[Block]) -> list[list[Block]]:
    """A section in parts of at most MAX_CHUNK_WORDS words, cut between blocks (a list stays with its lead-in
    where it can)."""
    parts: list[list[Block]] = []
    current: list[Block] = []
    words = 0
    for block in blocks:
        size = len(block.text.split())
        continues_list = block.kind == "item" and current and current[-1].kind == "item"
        if current and words + size > MAX_CHUNK_WORDS and not continues_list:
            parts.append(current)
            current, words = [], 0
        current.append(block)
        words += size
    if current:
        parts.append(current)
    return parts


def load_folder(folder: Path) -> tuple[list[Chunk], list[Skipped]]:
    """Every document under `folder` (sorted, hidden files left out) as chunks, and the documents skipped."""
    chunks: list[Chunk] = []
    skipped: list[Skipped] = []
    for path in document_paths(folder):
        key = path.relative_to(folder).as_posix()
        try:
            chunks.extend(chunk_document(key, read_blocks(path)))
        except DocumentError as exc:
            skipped.append(Skipped(key, str(exc)))
        except (OSError, RecursionError, MemoryError) as exc:
            skipped.append(Skipped(key, f"could not be read ({type(exc).__name__})"))
    for item in skipped:
        log.warning("knowledge: skipped %s: %s", item.key, item.reason)
    return chunks, skipped


def document_paths(folder: Path) -> list[Path]:
    """The files under `folder` the index reads (by suffix), in a stable order; hidden files and folders left out."""
    if not folder.is_dir():
        return []
    return sorted(
        path
        for path in folder.rglob("*")
        if path.suffix.lower() in DOCUMENT_SUFFIXES
        and path.is_file()
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


# --- retrieval ------------------------------------------------------------------------------------------------------


def terms(text: str) -> list[str]:
    """Words for BM25: case-folded, hyphens joined ("Wi-Fi" -> "wifi"), stop words out, crudely stemmed."""
    words = _WORD.findall(text.casefold().replace("\u2019", "'"))
    return [_stem(word.replace("-", "").replace("'", "")) for word in words if word not in _STOPWORDS]


def _stem(word: str) -> str:
    """Plural and verb endings off, the same on both sides: "printers"/"printing" -> "print"."""
    for suffix, keep in (("ies", 4), ("ing", 5), ("ers", 5), ("ed", 4), ("es", 4), ("er", 5), ("s", 3)):
        if word.endswith(suffix) and len(word) >= keep + len(suffix) - 1 and not word.endswith("ss"):
            return word[: -len(suffix)] + ("y" if suffix == "ies" else "")
    return word


class KnowledgeIndex:
    """The chunks of a folder, searchable by BM25 and by meaning."""

    def __init__(self, chunks: list[Chunk], embedder: Embedder) -> None:
        import bm25s  # type: ignore[import-untyped]  # no type information shipped
        import numpy

        self.chunks = chunks
        self._numpy = numpy
        self._embedder = embedder
        self._bm25: bm25s.BM25 | None = None
        if chunks:
            self._bm25 = bm25s.BM25()
            corpus = [terms(chunk.text) or ["\x00"] for chunk in chunks]
            self._bm25.index(corpus, show_progress=False)
        dimensions = embedder.dimensions
        self._body_vectors = embedder.matrix([c.text for c in chunks]) if chunks else numpy.zeros((0, dimensions))
        self._heading_vectors = (
            embedder.matrix([f"{c.title} {c.heading}" for c in chunks]) if chunks else numpy.zeros((0, dimensions))
        )

    def search(self, question: str, limit: int = 3) -> list[Hit]:
        """The best chunks for `question`, best first; only chunks sharing at least one word with it."""
        words = terms(question)
        if not self.chunks or not words or self._bm25 is None:
            return []
        bm25 = self._numpy.asarray(self._bm25.get_scores(words), dtype=float)
        vector = self._embedder.vector(question)
        cosine = self._numpy.maximum(self._body_vectors @ vector, self._heading_vectors @ vector)
        fused = SEMANTIC_WEIGHT * cosine + (1 - SEMANTIC_WEIGHT) * bm25 / (bm25 + BM25_HALF)
        fused[bm25 <= 0] = -1.0  # a chunk sharing no word with the question is never an answer
        best = self._numpy.argsort(-fused)[:limit]
        return [
            Hit(self.chunks[int(i)], round(float(fused[i]), 4), float(bm25[i]), float(cosine[i]))
            for i in best
            if bm25[i] > 0
        ]

    def answer(self, question: str) -> KnowledgeAnswer | None:
        """The extractive answer from the best chunk, or None when the documents do not cover the question."""
        hits = self.search(question, limit=1)
        if not hits or hits[0].score < ANSWER_THRESHOLD:
            return None
        best = hits[0]
        text = extract_answer(best.chunk, question, self._sentence_scorer(question))
        return KnowledgeAnswer(text, (best.chunk.uri,), best.score, best.chunk.heading)

    def _sentence_scorer(self, question: str) -> Callable[[str], float]:
        wanted = set(terms(question))
        vector = self._embedder.vector(question)

        def score(sentence: str) -> float:
            shared = len(wanted & set(terms(sentence))) / max(1, len(wanted))
            return shared + float(self._embedder.vector(sentence) @ vector)

        return score


def extract_answer(chunk: Chunk, question: str, score: Callable[[str], float]) -> str:
    """The passage QnAIntent answers with: a list as its steps; prose as the whole section when it is short, else
    whole sentences from the best-matching one on."""
    items = [block for block in chunk.blocks if block.kind == "item"]
    if items:
        return _steps(chunk, items)
    sentences = [s for block in chunk.blocks for s in split_sentences(block.text)]
    if not sentences:
        return chunk.heading or chunk.title
    if sum(len(sentence) + 1 for sentence in sentences) <= ANSWER_MAX_CHARS:
        return " ".join(sentences)  # a short section is the passage: its first sentence sets the scene
    best = max(range(len(sentences)), key=lambda index: score(sentences[index]))
    start = best - 1 if best > 0 and len(sentences[best - 1]) + len(sentences[best]) < ANSWER_MAX_CHARS // 2 else best
    return _whole_sentences(sentences[start:], ANSWER_MAX_CHARS)


def _steps(chunk: Chunk, items: list[Block]) -> str:
    """The list's lead-in (the paragraph just before it, or the heading) and its items as numbered lines (or
    bullets when the list is not ordered), then what follows the list while it fits."""
    first = chunk.blocks.index(items[0])
    before = [block for block in chunk.blocks[:first] if block.kind == "paragraph"]
    lead = split_sentences(before[-1].text)[-1] if before else f"{chunk.heading or chunk.title}:"
    if not lead.endswith(":"):
        lead = f"{chunk.heading}:" if chunk.heading and not before else lead
    shown = items[:MAX_STEPS]
    lines = [lead]
    for number, item in enumerate(shown, start=1):
        lines.append(f"{number}. {item.text}" if item.ordered else f"- {item.text}")
    after = [block.text for block in chunk.blocks[first:] if block.kind == "paragraph"]
    tail = _whole_sentences([s for text in after for s in split_sentences(text)], ANSWER_MAX_CHARS // 2)
    return "\n".join([*lines, tail] if tail else lines)


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a stop followed by a space and a capital or digit ends one)."""
    return [sentence.strip() for sentence in _SENTENCE_END.split(text) if sentence.strip()]


def _whole_sentences(sentences: Iterable[str], budget: int) -> str:
    """As many whole sentences as fit in `budget` characters (the first one always, however long)."""
    kept: list[str] = []
    used = 0
    for sentence in sentences:
        if kept and used + 1 + len(sentence) > budget:
            break
        kept.append(sentence)
        used += len(sentence) + 1
    return " ".join(kept)


# --- the running stack's knowledge base -----------------------------------------------------------------------------


class KnowledgeBase:
    """A folder of documents, indexed at start and again whenever its files change, in a background thread.

    The thread indexes the folder once, then looks at its files every `poll_seconds` (each file's path, size and
    modification time: a few milliseconds for a few hundred files) and, when one was added, changed or removed,
    builds a new index and swaps it in. Questions never wait for that look or that build: they use the index in
    place, and only the very first question waits for the first index.
    """

    def __init__(
        self,
        folder: Path,
        embedder: Callable[[], Embedder] | None = None,
        *,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self.folder = folder
        self._embedder = embedder or _shared_embedder
        self._poll_seconds = poll_seconds
        self._index: KnowledgeIndex | None = None
        self._skipped: list[Skipped] = []
        self._fingerprint: tuple[tuple[str, int, int], ...] | None = None
        self._lock = threading.Lock()  # one build at a time
        self._ready = threading.Event()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self.build_seconds: float | None = None

    def start(self) -> None:
        """Index in a daemon thread, then watch the folder (once; later calls do nothing)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._watch, name="knowledge-index", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Stop watching the folder (the index in place keeps answering)."""
        self._stopped.set()

    def answer(self, question: str) -> KnowledgeAnswer | None:
        """QnAIntent's answer from the current documents, or None when they do not cover the question."""
        index = self.index()
        return index.answer(question) if index is not None else None

    def index(self) -> KnowledgeIndex | None:
        """The index in place (None only if the first indexing failed; the log says why)."""
        self.start()
        self._ready.wait()
        return self._index

    @property
    def skipped(self) -> list[Skipped]:
        """The documents the last indexing left out, with the reasons."""
        return list(self._skipped)

    def refresh(self) -> bool:
        """Index the folder again if a document was added, changed or removed since the last indexing; True if so."""
        with self._lock:
            printed = fingerprint(self.folder)
            if printed == self._fingerprint:
                return False
            began = time.perf_counter()
            chunks, skipped = load_folder(self.folder)
            index = KnowledgeIndex(chunks, self._embedder())
            self._index, self._skipped, self._fingerprint = index, skipped, printed  # swapped whole
            self.build_seconds = time.perf_counter() - began
        documents = len({chunk.key for chunk in chunks})
        log.info(
            "knowledge: indexed %d documents (%d passages) from %s in %.2f s",
            documents,
            len(chunks),
            self.folder,
            self.build_seconds,
        )
        return True

    def _watch(self) -> None:
        try:
            self.refresh()
        except Exception:  # the stack keeps running without answers from documents; the line says why
            log.exception("knowledge: could not index %s", self.folder)
        finally:
            self._ready.set()
        while not self._stopped.wait(self._poll_seconds):
            try:
                self.refresh()
            except Exception:  # the previous index keeps answering
                log.exception("knowledge: could not index %s again", self.folder)


def fingerprint(folder: Path) -> tuple[tuple[str, int, int], ...]:
    """What changes when a document is added, edited or removed: each file's path, modification time and size."""
    printed: list[tuple[str, int, int]] = []
    for path in document_paths(folder):
        try:
            stat = path.stat()
        except OSError:
            continue
        printed.append((PurePosixPath(path.relative_to(folder).as_posix()).as_posix(), stat.st_mtime_ns, stat.st_size))
    return tuple(printed)


def _shared_embedder() -> Embedder:
    from local.lex_nlu import language_model

    return language_model.get()
