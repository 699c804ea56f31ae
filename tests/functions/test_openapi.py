"""docs/openapi.json is what the API functions' code describes, with both routes and every answer they give."""

from __future__ import annotations

import json

from scripts.generate_openapi import OPENAPI_PATH, openapi_document, render


def test_the_committed_openapi_file_matches_the_code():
    # GIVEN the committed description and the one the resolvers generate now
    committed = OPENAPI_PATH.read_text(encoding="utf-8") if OPENAPI_PATH.exists() else ""
    # THEN they are identical
    assert committed == render(), (
        "docs/openapi.json is out of date: run `.venv/bin/python scripts/generate_openapi.py` and commit the result"
    )


def test_the_description_has_every_public_route_under_one_title():
    document = openapi_document()
    assert document["info"]["title"] == "support-chatbot API"
    assert sorted(document["paths"]) == ["/escalate", "/feedback", "/store-query"]


def test_every_error_answer_is_described_with_the_error_body():
    # GIVEN the generated description
    document = openapi_document()
    # THEN every 4xx/5xx of every route points at ErrorBody, whose fields are message and errors, except the ticket
    # limit's 429, which is ErrorBody plus the limit and its window
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for status, response in operations["post"]["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                body = "TicketLimitBody" if (path, status) == ("/escalate", "429") else "ErrorBody"
                assert schema == {"$ref": f"#/components/schemas/{body}"}, f"{path} {status}: {schema}"
    assert set(schemas["ErrorBody"]["properties"]) == {"message", "errors"}
    assert set(schemas["TicketLimitBody"]["properties"]) == {"message", "errors", "limit", "windowSeconds"}
    assert "HTTPValidationError" not in json.dumps(document), "Powertools' own 422 shape is not what we answer"
