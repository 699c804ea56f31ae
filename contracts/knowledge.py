"""The knowledge base's contract: how the bot marks an answer from the team's documents, and where they are served.

In the cloud Lex's built-in `AMAZON.QnAIntent` answers an utterance no other intent matches from the Amazon Bedrock
knowledge base and puts the answer and the document(s) it came from into the `requestAttributes` of that one
RecognizeText response (not the session: they describe one answer); the local stack's Lex runtime plays the same
intent over `knowledge/` and answers the same way. The page shows the sources under
the answer and links each to `DOCUMENTS_PATH` + the document's key, where the site serves the documents.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any

KNOWLEDGE_INTENT_NAME = "QnAIntent"
"""The intent's name in the bot (its parent signature is KNOWLEDGE_INTENT_SIGNATURE)."""
KNOWLEDGE_INTENT_SIGNATURE = "AMAZON.QnAIntent"

ANSWER_ATTRIBUTE = "x-amz-lex:qnA-search-response"
"""Response (request) attribute: the answer QnAIntent gave."""
SOURCES_ATTRIBUTE = "x-amz-lex:qnA-search-response-source"
"""Response (request) attribute: the URI(s) of the document(s) the answer came from, separated by
SOURCES_SEPARATOR."""
SOURCES_SEPARATOR = ", "

DOCUMENTS_PATH = "/knowledge/"
"""Where the site serves the documents (`s3://bucket/<key>` is linked as DOCUMENTS_PATH + key)."""
DOCUMENT_SUFFIXES = (".md", ".txt", ".html", ".htm", ".pdf")
"""The document types both the Bedrock data source and the local index read."""
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
"""Bedrock knowledge bases skip a source file over 50 MB; the local index refuses the same."""


def source_uris(attribute_value: str | None) -> list[str]:
    """The document URIs in a SOURCES_ATTRIBUTE value (empty when there is none)."""
    if not attribute_value:
        return []
    return [uri.strip() for uri in attribute_value.split(",") if uri.strip()]


def document_title(uri: str) -> str:
    """A readable title from a document's URI: `s3://b/guides/connect-to-the-vpn.pdf` -> "Connect to the vpn"."""
    stem = PurePosixPath(uri.rstrip("/")).stem.replace("-", " ").replace("_", " ").strip()
    return stem[:1].upper() + stem[1:] if stem else uri


def answer_sources(response: Mapping[str, Any]) -> list[str]:
    """The document URIs a RecognizeText response's QnAIntent answer came from; empty when another intent answered.
    Read from the response's requestAttributes, or a session attribute of that name when there is none (as the page's
    `answerSources` reads them)."""
    state = response.get("sessionState") or {}
    if (state.get("intent") or {}).get("name") != KNOWLEDGE_INTENT_NAME:
        return []
    value = (response.get("requestAttributes") or {}).get(SOURCES_ATTRIBUTE)
    if value is None:
        value = (state.get("sessionAttributes") or {}).get(SOURCES_ATTRIBUTE)
    return source_uris(value) if isinstance(value, str) else []
