"""Build the PDF guides of `knowledge/` from their Markdown sources in `scripts/knowledge_sources/`.

The knowledge base reads PDFs, and teams mostly have their guides as PDFs; the repository ships one so that the
PDF path (pypdf's text extraction, the Bedrock data source) is exercised on real content. The PDF is committed;
this script rebuilds it byte for byte from its source (no dates, a fixed document id):

    .venv/bin/python scripts/build_knowledge_pdf.py

It writes with pypdf alone (the same pinned library that reads PDFs): the standard Helvetica fonts, US Letter
pages, headings in bold, long lines wrapped.
"""

from __future__ import annotations

import hashlib
import textwrap
from io import BytesIO
from pathlib import Path

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject, DecodedStreamObject, DictionaryObject, NameObject

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "scripts" / "knowledge_sources"
KNOWLEDGE = ROOT / "knowledge"
PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, in points
MARGIN = 72
BODY_SIZE, TITLE_SIZE, HEADING_SIZE = 11, 18, 13
LINE_GAP = 1.45  # line height as a multiple of the font size
WRAP_COLUMNS = 88  # Helvetica 11 pt: about 88 characters fit between the margins


def main() -> None:
    """Rebuild every PDF whose source is in SOURCES."""
    for source in sorted(SOURCES.glob("*.md")):
        target = KNOWLEDGE / (source.stem + ".pdf")
        target.write_bytes(render(source.read_text(encoding="utf-8")))
        print(f"wrote {target.relative_to(ROOT)}")


def render(markdown: str) -> bytes:
    """The PDF of a small Markdown subset: `#`/`##` headings, paragraphs, `1.` and `-` list items."""
    lines = _layout(markdown)
    writer = PdfWriter()
    fonts = DictionaryObject(
        {
            NameObject("/F1"): writer._add_object(_font("/Helvetica")),
            NameObject("/F2"): writer._add_object(_font("/Helvetica-Bold")),
        }
    )
    page_lines: list[list[tuple[str, int, str, float]]] = [[]]
    y = float(PAGE_HEIGHT - MARGIN)
    for font, size, text, gap_before in lines:
        y -= gap_before + size * LINE_GAP
        if y < MARGIN:
            page_lines.append([])
            y = PAGE_HEIGHT - MARGIN - size * LINE_GAP
        page_lines[-1].append((font, size, text, y))
    for entries in page_lines:
        page = writer.add_blank_page(width=PAGE_WIDTH, height=PAGE_HEIGHT)
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        content = DecodedStreamObject()
        commands = [
            f"BT /{font} {size} Tf 1 0 0 1 {MARGIN} {y:.2f} Tm ({_escape(text)}) Tj ET"
            for font, size, text, y in entries
        ]
        content.set_data("\n".join(commands).encode("cp1252"))
        page[NameObject("/Contents")] = writer._add_object(content)
    title = next((text for font, size, text, _ in lines if size == TITLE_SIZE), "")
    writer.add_metadata({"/Title": title, "/Producer": "scripts/build_knowledge_pdf.py"})
    digest = hashlib.sha256(markdown.encode()).digest()[:16]  # a fixed id: the same source gives the same bytes
    writer._ID = ArrayObject([ByteStringObject(digest), ByteStringObject(digest)])
    buffer = BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _layout(markdown: str) -> list[tuple[str, int, str, float]]:
    """(font, size, text, space before) per printed line."""
    lines: list[tuple[str, int, str, float]] = []
    for block in markdown.strip().split("\n\n"):
        text = " ".join(line.strip() for line in block.splitlines())
        if text.startswith("# "):
            lines.append(("F2", TITLE_SIZE, text[2:], 0))
        elif text.startswith("## "):
            lines.append(("F2", HEADING_SIZE, text[3:], 10))
        elif block.lstrip()[:2] in {"1.", "- "} or block.lstrip()[:1].isdigit():
            for number, item in enumerate(block.strip().splitlines()):
                lines.append(("F1", BODY_SIZE, item.strip(), 4 if number == 0 else 0))
        else:
            for number, part in enumerate(textwrap.wrap(text, WRAP_COLUMNS)):
                lines.append(("F1", BODY_SIZE, part, 4 if number == 0 else 0))
    return lines


def _font(base: str) -> DictionaryObject:
    return DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject(base),
            NameObject("/Encoding"): NameObject("/WinAnsiEncoding"),
        }
    )


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


if __name__ == "__main__":
    main()
