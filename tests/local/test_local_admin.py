"""The admin view on the local stack: /admin/ serves the admin page, /api/admin/* answers only a signed-in staff member
(the server plays API Gateway's Cognito authorizer), and the sign-in stand-in plays the hosted UI's PKCE flow."""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from typing import Any

import pytest

from local.stack import LocalStack
from local.staff_sign_in import CLIENT_ID, SignInError, StaffSignIn
from tests.local.stack_helpers import admin_get, fetch, staff_tokens

ORIGIN = "http://127.0.0.1:8000"
ADMIN_PATHS = ["/admin/turns", "/admin/export", "/admin/conversations/s-1", "/admin/unanswered", "/admin/worst-rated"]


def log_turn(local_stack: LocalStack, session_id: str, text: str) -> None:
    row = {
        "sessionId": session_id,
        "timestamp": int(time.time() * 1000),
        "userQuery": text,
        "botResponse": "An answer.",
        "intentName": "FallbackIntent",
    }
    status, _, body = fetch(local_stack.origin + "/api/store-query", "POST", row, {"Content-Type": "application/json"})
    assert status == 201, body


# --- over HTTP, on the running stack -----------------------------------------------------------------------------


@pytest.mark.parametrize("path", ADMIN_PATHS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer not-a-token", "Basic c3RhZmY6cGFzcw==", "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."],
    ids=["none", "garbage", "basic", "unsigned-jwt"],
)
def test_an_admin_route_without_a_valid_staff_token_is_a_json_401_and_no_row(
    local_stack: LocalStack, path: str, authorization: str | None
) -> None:
    # GIVEN a logged turn
    session_id = f"admin-401-{uuid.uuid4()}"
    log_turn(local_stack, session_id, "a private question")
    # WHEN an admin route is asked without a valid staff ID token
    headers = {"Authorization": authorization} if authorization else {}
    status, response_headers, body = fetch(f"{local_stack.origin}/api{path}", headers=headers)
    # THEN the authorizer's stand-in answers 401 in JSON, and no row leaves the table
    assert status == 401, body
    assert response_headers["Content-Type"] == "application/json"
    assert json.loads(body)["message"] == "Unauthorized"
    assert b"private question" not in body


def test_a_signed_in_staff_member_lists_the_turns(local_stack: LocalStack) -> None:
    # GIVEN a logged turn and a staff member signed in through the hosted UI's stand-in
    session_id = f"admin-list-{uuid.uuid4()}"
    log_turn(local_stack, session_id, "where is the printer")
    # WHEN they list the turns of that session
    status, page = admin_get(local_stack, "/admin/turns", session=session_id)
    # THEN the real admin API answers with the turn
    assert status == 200, page
    assert [(turn["sessionId"], turn["userQuery"]) for turn in page["turns"]] == [(session_id, "where is the printer")]
    assert page["nextCursor"] is None


def test_a_signed_in_staff_member_opens_a_conversation_and_sees_the_top_unanswered(local_stack: LocalStack) -> None:
    session_id = f"admin-conv-{uuid.uuid4()}"
    log_turn(local_stack, session_id, "do you sell unicorn stickers")
    token = staff_tokens(local_stack)["id_token"]
    status, conversation = admin_get(local_stack, f"/admin/conversations/{session_id}", token)
    assert status == 200, conversation
    assert [turn["userQuery"] for turn in conversation["turns"]] == ["do you sell unicorn stickers"]
    status, unanswered = admin_get(local_stack, "/admin/unanswered", token)
    assert status == 200, unanswered
    assert "do you sell unicorn stickers" in [question["text"] for question in unanswered["questions"]]


def test_the_admin_page_is_served_at_admin_with_the_page_headers(local_stack: LocalStack) -> None:
    status, headers, body = fetch(local_stack.origin + "/admin/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"Sign in" in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]


def test_config_js_points_staff_sign_in_at_the_stand_in(local_stack: LocalStack) -> None:
    _, _, body = fetch(local_stack.origin + "/config.js")
    config = json.loads(body.decode().removeprefix("window.CHATBOT_CONFIG = ").rstrip().rstrip(";"))
    assert config["staffSignIn"] == {"domain": local_stack.origin, "clientId": CLIENT_ID}


def test_the_sign_in_form_refuses_a_wrong_password_and_issues_no_code(local_stack: LocalStack) -> None:
    form = {**authorize_params(local_stack.origin), "username": local_stack.info.staff_email, "password": "wrong"}
    status, headers, body = fetch(
        local_stack.origin + "/oauth2/authorize",
        "POST",
        "&".join(f"{key}={value}" for key, value in form.items()).encode(),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 401
    assert "Location" not in headers
    assert b"Incorrect email or password" in body


def test_the_old_query_log_page_is_gone(local_stack: LocalStack) -> None:
    status, _, body = fetch(local_stack.origin + "/_local/query-log?format=json")
    assert status == 404
    assert b"rows" not in body


# --- the stand-in on its own ----------------------------------------------------------------------------------


def authorize_params(origin: str, challenge: str = "c" * 43) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": origin + "/admin/",
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }


def signed_in(sign_in: StaffSignIn, verifier: str = "v" * 50) -> tuple[dict[str, Any], str]:
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    form = {**authorize_params(ORIGIN, challenge), "username": sign_in.email, "password": sign_in.password}
    location = sign_in.authorize(form)
    code = location.split("code=", 1)[1].split("&", 1)[0]
    return {"code": code, "redirect_uri": ORIGIN + "/admin/", "client_id": CLIENT_ID}, verifier


def test_a_code_and_its_verifier_give_an_id_token_the_authorizer_accepts() -> None:
    sign_in = StaffSignIn(ORIGIN, password="pw")
    request, verifier = signed_in(sign_in)
    tokens = sign_in.token({**request, "grant_type": "authorization_code", "code_verifier": verifier})
    claims = sign_in.claims(f"Bearer {tokens['id_token']}")
    assert claims is not None
    assert claims["email"] == sign_in.email
    assert claims["token_use"] == "id"
    assert sign_in.claims(f"Bearer {tokens['access_token']}") is None, "API Gateway's authorizer takes the ID token"


def test_a_wrong_verifier_or_a_reused_code_is_invalid_grant() -> None:
    sign_in = StaffSignIn(ORIGIN, password="pw")
    request, verifier = signed_in(sign_in)
    with pytest.raises(SignInError) as wrong:
        sign_in.token({**request, "grant_type": "authorization_code", "code_verifier": "x" * 50})
    assert wrong.value.error == "invalid_grant"
    with pytest.raises(SignInError) as reused:  # the failed exchange used the code up
        sign_in.token({**request, "grant_type": "authorization_code", "code_verifier": verifier})
    assert reused.value.error == "invalid_grant"


def test_an_expired_or_foreign_token_is_refused_by_the_authorizer() -> None:
    sign_in = StaffSignIn(ORIGIN, password="pw")
    request, verifier = signed_in(sign_in)
    token = sign_in.token({**request, "grant_type": "authorization_code", "code_verifier": verifier})["id_token"]
    assert sign_in.claims(f"Bearer {token}", now=time.time() + 2 * 3600) is None, "expired"
    assert StaffSignIn(ORIGIN, password="pw").claims(f"Bearer {token}") is None, "signed by another pool"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"client_id": "someone-else"}, "invalid_request"),
        ({"redirect_uri": "https://attacker.example/admin/"}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
    ids=["client", "redirect", "plain-pkce", "implicit"],
)
def test_an_authorization_request_outside_the_app_client_is_refused(change: dict[str, str], error: str) -> None:
    with pytest.raises(SignInError) as refused:
        StaffSignIn(ORIGIN).check_authorize({**authorize_params(ORIGIN), **change})
    assert refused.value.error == error
