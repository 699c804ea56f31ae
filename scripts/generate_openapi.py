"""Write docs/openapi.json: the REST API's description, generated from the resolvers of the functions that serve
the routes in `contracts.stack.PUBLIC_ROUTES`.

Run `.venv/bin/python scripts/generate_openapi.py` after changing a route or a model; a test fails while the
committed file differs from what the code generates. Powertools describes each resolver on its own; this merges
them into one document ("support-chatbot API") and replaces Powertools' default 422 schema (which its own error
body does not match) with the project's `ErrorBody`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
OPENAPI_PATH = REPO / "docs" / "openapi.json"
TITLE = "support-chatbot API"
VERSION = "1.0.0"
DESCRIPTION = (
    "The chatbot's REST API (Lambda proxy behind API Gateway): log a conversation turn, and escalate a "
    "conversation to the support team by email. Every error answer is JSON: `message`, and `errors` naming "
    "each offending field with the reason."
)
POWERTOOLS_ONLY_SCHEMAS = ("HTTPValidationError", "ResponseValidationError", "ValidationError")


def openapi_document() -> dict[str, Any]:
    """The merged OpenAPI 3 document of every API function, as a JSON-ready dict."""
    for path in (str(REPO), str(REPO / "functions" / "shared")):
        if path not in sys.path:
            sys.path.insert(0, path)
    import importlib

    from contracts.stack import PUBLIC_ROUTES

    document: dict[str, Any] | None = None
    for function in dict.fromkeys(route.function for route in PUBLIC_ROUTES):
        app = importlib.import_module(f"functions.{function}.handler").app
        part = json.loads(app.get_openapi_json_schema(title=TITLE, version=VERSION, description=DESCRIPTION))
        if document is None:
            document = part
            continue
        document["paths"].update(part["paths"])
        document.setdefault("components", {}).setdefault("schemas", {}).update(
            part.get("components", {}).get("schemas", {})
        )
    assert document is not None
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in POWERTOOLS_ONLY_SCHEMAS:
        schemas.pop(name, None)
    for operations in document["paths"].values():
        for operation in operations.values():
            operation["responses"] = dict(sorted(operation.get("responses", {}).items()))
            invalid = operation.get("responses", {}).get("422")
            if invalid is not None:
                invalid["description"] = "A field is missing or invalid; `errors` names each field and reason"
                invalid["content"] = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    document["paths"] = dict(sorted(document["paths"].items()))
    document["components"]["schemas"] = dict(sorted(schemas.items()))
    return document


def render() -> str:
    """docs/openapi.json's exact text."""
    return json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    OPENAPI_PATH.parent.mkdir(exist_ok=True)
    OPENAPI_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {OPENAPI_PATH.relative_to(REPO)}")


if __name__ == "__main__":
    main()
