"""The local stack's one origin over real HTTP: the page, config.js, the API, Cognito, the staff pages."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from contracts.page import ASSETS_PREFIX, cache_control, content_security_policy, content_type, security_headers
from contracts.stack import API_BASE_PATH
from local.stack import SITE_DIR, LocalStack, LocalStackError
from local.staff_pages import STAFF_CSP
from local.staff_sign_in import CLIENT_ID
from tests.local.stack_helpers import admin_get, fetch, free_port, wait_for_email

pytestmark = pytest.mark.local_stack
PAGE_SECURITY_HEADERS = security_headers(content_security_policy())  # what CloudFront adds; 'self' is Lex's origin


def query_row(session_id: str, text: str) -> dict[str, Any]:
    return {
        "sessionId": session_id,
        "timestamp": int(time.time() * 1000),
        "userQuery": text,
        "botResponse": "Hello!",
        "confidenceScore": 0.93,
        "intentName": "Welcome",
    }


def site_files() -> list[str]:
    """Every file of the built page, as its path in the build (the key ChatSite uploads it under)."""
    return sorted(path.relative_to(SITE_DIR).as_posix() for path in SITE_DIR.rglob("*") if path.is_file())


def security_header_values(headers: dict[str, str]) -> dict[str, str | None]:
    """The response's value of each header the page contract's security set names (None when missing)."""
    return {name: headers.get(name) for name in PAGE_SECURITY_HEADERS}


def test_root_serves_the_built_page_with_security_headers(local_stack: LocalStack) -> None:
    status, headers, body = fetch(local_stack.origin + "/")
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="config.js"></script>' in body
    assert "connect-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("path", ["/", "/config.js", "/index.html"])
def test_the_page_carries_exactly_the_security_headers_cloudfront_sends(local_stack: LocalStack, path: str) -> None:
    # WHEN the browser loads the page or its config
    status, headers, _ = fetch(local_stack.origin + path)
    # THEN every header of the page contract's set is there, with the contract's value
    assert status == 200
    assert security_header_values(headers) == PAGE_SECURITY_HEADERS, f"{path}: {headers}"


def test_page_assets_carry_exactly_the_security_headers_cloudfront_sends(local_stack: LocalStack) -> None:
    for key in site_files():
        _, headers, _ = fetch(f"{local_stack.origin}/{key}")
        assert security_header_values(headers) == PAGE_SECURITY_HEADERS, f"/{key}: {headers}"


def test_api_answers_carry_exactly_the_security_headers_cloudfront_sends(local_stack: LocalStack) -> None:
    # WHEN the page posts a turn to the API (CloudFront adds the same header set to /api/*)
    row = query_row(f"headers-{uuid.uuid4()}", "hello")
    status, headers, _ = fetch(
        local_stack.origin + "/api/store-query", "POST", row, {"Content-Type": "application/json"}
    )
    # THEN the answer carries the page's security headers too
    assert status == 201
    assert security_header_values(headers) == PAGE_SECURITY_HEADERS


def test_page_files_are_served_with_the_content_types_of_the_page_contract(local_stack: LocalStack) -> None:
    # GIVEN every file of the build (HTML, scripts, styles, JSON) and the generated config.js
    for key in [*site_files(), "config.js"]:
        # WHEN it is fetched
        status, headers, _ = fetch(f"{local_stack.origin}/{key}")
        # THEN its Content-Type is the one S3 stores it with
        assert (status, headers["Content-Type"]) == (200, content_type(key)), f"/{key}"


def test_page_assets_are_served_with_their_content_types(local_stack: LocalStack) -> None:
    _, _, page = fetch(local_stack.origin + "/")
    script = page.split(b'type="module" src="')[1].split(b'"')[0].decode()
    status, headers, _ = fetch(f"{local_stack.origin}/{script.lstrip('/')}")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")


def test_content_hashed_assets_are_cached_as_the_contract_says(local_stack: LocalStack) -> None:
    assets = [key for key in site_files() if key.startswith(ASSETS_PREFIX)]
    assert assets, f"the build has no {ASSETS_PREFIX} files"
    for key in assets:
        _, headers, _ = fetch(f"{local_stack.origin}/{key}")
        assert headers["Cache-Control"] == cache_control(key), f"/{key}"


@pytest.mark.parametrize("path", ["/", "/config.js"])
def test_the_page_and_its_config_are_revalidated_on_every_load(local_stack: LocalStack, path: str) -> None:
    # GIVEN a local stack, whose config.js names a new identity pool on every start
    # WHEN the page or its config is fetched
    _, headers, _ = fetch(local_stack.origin + path)
    # THEN the browser must revalidate it before each use, so a restart is never served from a stale cache
    assert headers["Cache-Control"] == "no-cache"


def test_config_js_points_the_page_at_this_origin(local_stack: LocalStack, definition) -> None:
    status, headers, body = fetch(local_stack.origin + "/config.js")
    assert status == 200
    assert headers["Content-Type"].startswith("text/javascript")
    text = body.decode()
    assert text.startswith("window.CHATBOT_CONFIG = ")
    assert text.rstrip().endswith(";")
    config = json.loads(text.removeprefix("window.CHATBOT_CONFIG = ").rstrip().removesuffix(";"))
    origin = local_stack.origin
    assert config == {
        "region": "us-east-1",
        "identityPoolId": local_stack.info.identity_pool_id,
        "botId": "LOCALBOTID",
        "botAliasId": "LOCALALIAS",
        "localeId": "en_US",
        "apiBasePath": API_BASE_PATH,
        "lexEndpoint": origin,
        "cognitoEndpoint": f"{origin}/cognito-identity",
        "suggestions": definition.locales["en_US"].suggestions(),
        "staffSignIn": {"domain": origin, "clientId": CLIENT_ID},  # the hosted UI's stand-in, on this origin
    }


def test_store_query_stores_the_turn_in_the_query_log(local_stack: LocalStack) -> None:
    # GIVEN a turn the page logs
    session_id = f"http-{uuid.uuid4()}"
    # WHEN it is posted to the API on the page's origin
    status, _, body = fetch(
        local_stack.origin + "/api/store-query",
        "POST",
        query_row(session_id, "hello there"),
        {"Content-Type": "application/json"},
    )
    # THEN the real handler stores it and staff, signed in, read it in the admin API
    assert (status, json.loads(body)) == (201, {"stored": True})
    status, conversation = admin_get(local_stack, f"/admin/conversations/{session_id}")
    assert status == 200, conversation
    assert [turn["userQuery"] for turn in conversation["turns"]] == ["hello there"]


def test_bad_store_query_gets_a_4xx_naming_the_field(local_stack: LocalStack) -> None:
    row = {**query_row("http-bad", "hi"), "confidenceScore": 7}
    status, _, body = fetch(local_stack.origin + "/api/store-query", "POST", row, {"Content-Type": "application/json"})
    assert 400 <= status < 500
    assert "confidenceScore" in body.decode()


def test_unknown_api_route_is_a_json_404(local_stack: LocalStack) -> None:
    status, headers, body = fetch(local_stack.origin + "/api/nothing-here", "POST", {})
    assert status == 404
    assert headers["Content-Type"] == "application/json"
    assert "nothing-here" in json.loads(body)["message"]


def test_cognito_guest_flow_works_through_the_origin(local_stack: LocalStack) -> None:
    # WHEN the page's unsigned Cognito calls go to /cognito-identity
    target = {"Content-Type": "application/x-amz-json-1.1"}
    status, _, body = fetch(
        local_stack.origin + "/cognito-identity",
        "POST",
        {"IdentityPoolId": local_stack.info.identity_pool_id},
        {**target, "X-Amz-Target": "AWSCognitoIdentityService.GetId"},
    )
    assert status == 200
    identity = json.loads(body)["IdentityId"]
    status, _, body = fetch(
        local_stack.origin + "/cognito-identity",
        "POST",
        {"IdentityId": identity},
        {**target, "X-Amz-Target": "AWSCognitoIdentityService.GetCredentialsForIdentity"},
    )
    # THEN moto's guest credentials come back
    assert status == 200
    assert json.loads(body)["Credentials"]["AccessKeyId"]


def test_paths_outside_the_site_are_not_served(local_stack: LocalStack) -> None:
    for path in ("/../pyproject.toml", "/%2e%2e/pyproject.toml", "/assets/../../README.md"):
        status, _, body = fetch(local_stack.origin + path)
        assert status == 404, path
        assert b"[project]" not in body


@pytest.mark.parametrize("path", ["/_local", "/_local/outbox"])
def test_staff_pages_carry_the_page_protections_under_their_own_script_free_csp(
    local_stack: LocalStack, path: str
) -> None:
    # WHEN staff open a page
    status, headers, _ = fetch(local_stack.origin + path)
    # THEN it carries every security header of the page's set, with the staff pages' CSP (no script at all)
    assert status == 200
    assert security_header_values(headers) == security_headers(STAFF_CSP), f"{path}: {headers}"


def test_escalation_is_emailed_through_the_queue_with_user_values_escaped(local_stack: LocalStack) -> None:
    # GIVEN an escalation whose every user value carries markup
    session_id = f"esc-{uuid.uuid4()}"
    request = {
        "sessionId": session_id,
        "userQuery": "<img src=x onerror=alert(1)> my VPN is down",
        "userEmail": "ana@example.com",
        "userName": "<b>Ana</b>",
        "conversationHistory": [{"role": "user", "text": "<i>hi</i>", "timestamp": int(time.time() * 1000)}],
    }
    # WHEN the page posts it
    status, _, body = fetch(local_stack.origin + "/api/escalate", "POST", request, {"Content-Type": "application/json"})
    assert status == 202, body
    ticket = json.loads(body)["ticketId"]
    # THEN the queue loop has the sender email it: the outbox shows it, with the user's address as Reply-To
    email = wait_for_email(local_stack, ticket)
    assert email["reply_to"] == ["ana@example.com"]
    assert "<img src=x" not in email["html"]
    assert "&lt;img src=x" in email["html"]
    assert "<b>Ana</b>" not in email["html"]
    # AND the outbox page puts the body in a sandboxed iframe with the markup escaped once more
    _, headers, page = fetch(local_stack.origin + "/_local/outbox")
    assert b'<iframe sandbox=""' in page
    assert b"<img src=x" not in page
    assert "script-src" not in headers["Content-Security-Policy"]


def test_a_busy_port_is_a_one_line_error_naming_the_fix(local_stack: LocalStack) -> None:
    # GIVEN the running stack's port
    port = int(local_stack.origin.rsplit(":", 1)[1])
    # WHEN a second stack tries the same port
    with pytest.raises(LocalStackError) as error:
        LocalStack("127.0.0.1", port).start()
    # THEN the error says the port is in use and how to pick another
    message = str(error.value)
    assert "already in use" in message
    assert "--port" in message
    assert "\n" not in message


def test_a_missing_site_build_is_a_one_line_error_naming_make_site(tmp_path) -> None:
    with pytest.raises(LocalStackError, match="run `make site`"):
        LocalStack("127.0.0.1", free_port(), site_dir=tmp_path).start()


def test_a_lex_request_that_is_not_json_is_a_lex_validation_error(local_stack: LocalStack) -> None:
    bot = local_stack.info.bot
    url = f"{local_stack.origin}/bots/{bot.bot_id}/botAliases/{bot.alias_id}/botLocales/en_US/sessions/s-json/text"
    # WHEN the body is not JSON
    status, headers, body = fetch(url, "POST", b"{not json", {"Content-Type": "application/json"})
    # THEN Lex's 400 ValidationException comes back, typed in the header botocore reads
    assert status == 400
    assert headers["x-amzn-ErrorType"] == "ValidationException"
    assert "JSON" in json.loads(body)["message"]


def test_an_oversized_body_is_refused_before_it_is_read(local_stack: LocalStack) -> None:
    status, _, body = fetch(local_stack.origin + "/api/store-query", "POST", b"x" * (1024 * 1024 + 1))
    assert status == 413
    assert "body" in json.loads(body)["message"]


def test_the_api_accepts_post_only(local_stack: LocalStack) -> None:
    status, _, body = fetch(local_stack.origin + "/api/store-query", "GET")
    assert status == 405
    assert "POST" in json.loads(body)["message"]
