"""site/src/sources.js mirrors contracts/knowledge.py: the same names, the same titles, the same links.

The module is plain ES with no imports, so Node runs it as it is (no build, no browser).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from contracts import knowledge

SOURCES_JS = Path(__file__).resolve().parents[2] / "site" / "src" / "sources.js"
URIS = [
    "s3://local-knowledge/connect-to-the-VPN.md",
    "s3://team-docs-123/guides/set_up-MFA.pdf",
    "s3://b/print-to-an-office-printer.pdf",
    "s3://b/reset your password.html",
    "s3://b/README",
    "s3://b/folder/.hidden-notes.txt",
    "s3://b/trailing/",
]


def run_sources_js(expression: str) -> object:
    """The JSON value of `expression`, evaluated by Node with sources.js imported as `m`."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js not found: install it (apt-get install nodejs) to build and test the page")
    script = f"import({json.dumps(SOURCES_JS.as_uri())}).then((m) => console.log(JSON.stringify({expression})))"
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def test_the_page_uses_the_contract_names() -> None:
    names = run_sources_js("[m.KNOWLEDGE_INTENT_NAME, m.SOURCES_ATTRIBUTE, m.DOCUMENTS_PATH]")
    assert names == [knowledge.KNOWLEDGE_INTENT_NAME, knowledge.SOURCES_ATTRIBUTE, knowledge.DOCUMENTS_PATH]


def test_titles_are_the_contract_titles() -> None:
    titles = run_sources_js(f"{json.dumps(URIS)}.map(m.documentTitle)")
    assert titles == [knowledge.document_title(uri) for uri in URIS]


def test_sources_are_read_from_a_qna_answer_as_the_contract_reads_them() -> None:
    value = "s3://b/a.md, s3://b/guides/b.pdf,,s3://b/a.md"
    response = {
        "sessionState": {"intent": {"name": knowledge.KNOWLEDGE_INTENT_NAME}, "sessionAttributes": {}},
        "requestAttributes": {knowledge.SOURCES_ATTRIBUTE: value},
    }
    read = run_sources_js(f"m.answerSources({json.dumps(response)})")
    assert read == list(dict.fromkeys(knowledge.source_uris(value)))  # each document once


def test_another_intents_answer_has_no_sources() -> None:
    response = {"sessionState": {"intent": {"name": "OrderStatus"}, "sessionAttributes": {}}}
    assert run_sources_js(f"m.answerSources({json.dumps(response)})") == []


def test_links_point_under_the_documents_path_and_never_leave_it() -> None:
    hrefs = run_sources_js(
        "['s3://any-bucket/guides/vpn guide.md', 's3://b/../etc/passwd', 's3://b/a//b.md', 'https://x/y.md']"
        ".map(m.documentHref)"
    )
    assert hrefs == [knowledge.DOCUMENTS_PATH + "guides/vpn%20guide.md", None, None, None]
