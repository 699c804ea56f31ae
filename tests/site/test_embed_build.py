"""The embed loader as the build leaves it: within its 3 KB budget, at its stable name and hashed, and apart from
the page's own first load (which keeps its 40 KB budget, tests/site/test_chat_page.py)."""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

from contracts.embedding import EMBED_SCRIPT

EMBED_BUDGET_BYTES = 3 * 1024


def test_the_loader_fits_its_budget_and_size_json_agrees(built_site: Path) -> None:
    # GIVEN the built site
    size = json.loads((built_site / "size.json").read_text())
    # WHEN the loader is gzipped again
    measured = len(gzip.compress((built_site / EMBED_SCRIPT).read_bytes(), compresslevel=9))
    # THEN it is within 3 KB, and the build recorded the same size and budget (Node's zlib and Python's differ by
    # about 1.5% on a file this small)
    assert measured <= EMBED_BUDGET_BYTES, f"{EMBED_SCRIPT} is {measured} B gzipped, over {EMBED_BUDGET_BYTES} B"
    assert size["embed"]["budgetBytes"] == EMBED_BUDGET_BYTES, size["embed"]
    assert abs(size["embed"]["gzipBytes"] - measured) <= measured * 0.03, (
        f"size.json: {size['embed']}, measured {measured}"
    )


def test_the_loader_is_built_at_its_stable_name_and_content_hashed(built_site: Path) -> None:
    # GIVEN / WHEN the built site
    size = json.loads((built_site / "size.json").read_text())
    hashed = built_site / size["embed"]["hashed"]
    # THEN the hashed twin is under assets/ with the same content as /embed.js
    assert re.fullmatch(r"assets/embed-[0-9a-f]{10}\.js", size["embed"]["hashed"]), size["embed"]
    assert hashed.read_bytes() == (built_site / EMBED_SCRIPT).read_bytes()


def test_the_page_does_not_load_the_loader(built_site: Path) -> None:
    # GIVEN / WHEN the page and its first-load list
    size = json.loads((built_site / "size.json").read_text())
    html = (built_site / "index.html").read_text()
    # THEN neither names the loader: sites load it, the page does not
    assert "embed" not in html, "index.html loads the embed loader"
    assert not [name for name in size["files"] if "embed" in name], size["files"]
