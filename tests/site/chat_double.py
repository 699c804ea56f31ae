"""A loopback server for the chat page: site/dist plus a scripted stand-in for Cognito, Lex V2 and /api.

One ThreadingHTTPServer (random port, one origin) serves the built page, a generated config.js pointing every
endpoint at itself, and `ChatDouble`: Cognito's GetId/GetCredentialsForIdentity, Lex V2 RecognizeText and
DeleteSession (SigV4 checked with botocore against the credentials it issued), and POST /api/escalate and
/api/store-query. Each test scripts the replies it needs and reads what the page sent. Lex replies may carry
response cards (`card(...)`), as the bot's prompts with quick replies do.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from contracts.page import CONFIG_FILE, content_security_policy, content_type, render_config_js, security_headers
from contracts.stack import API_BASE_PATH, ESCALATE_ROUTE, STORE_QUERY_ROUTE

DIST = Path(__file__).resolve().parents[2] / "site" / "dist"
REGION = "us-east-1"
IDENTITY_POOL_ID = "us-east-1:11111111-2222-3333-4444-555555555555"
BOT_ID = "BOT0000001"
BOT_ALIAS_ID = "ALIAS00001"
LOCALE_ID = "en_US"
SUGGESTIONS = ["Where is my order?", "Tell me about your laptops", "I forgot my password", "My Wi-Fi is not working"]
# Served as CloudFront serves the page: production's policy (the double is the page's only origin) and every
# other security header of the page contract.
PAGE_HEADERS = security_headers(content_security_policy())
LEX_PATH = re.compile(
    rf"^/bots/{BOT_ID}/botAliases/{BOT_ALIAS_ID}/botLocales/{LOCALE_ID}/sessions/(?P<session>[^/]+)(?P<text>/text)?$"
)
AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<day>\d{8})/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[a-z0-9;-]+), Signature=(?P<signature>[0-9a-f]{64})$"
)
FALLBACK_TEXT = "Sorry, I did not understand that. Could you rephrase?"
TICKET = (202, {"ticketId": "T-1001", "status": "queued"})


def card(title: str, *buttons: tuple[str, str], subtitle: str | None = None) -> dict[str, Any]:
    """A Lex V2 `imageResponseCard`: a title, an optional subtitle and (text, value) buttons."""
    response_card: dict[str, Any] = {"title": title, "buttons": [{"text": t, "value": v} for t, v in buttons]}
    if subtitle is not None:
        response_card["subtitle"] = subtitle
    return response_card


@dataclass(frozen=True)
class Recorded:
    """One request the page sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.monotonic)
    """When it arrived (monotonic seconds)."""

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class LexReply:
    """What the Lex double answers to one user text: plain texts, and dicts as response cards (see `card`)."""

    messages: list[str | dict[str, Any]]
    intent: str = "FallbackIntent"
    confidence: float | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    dialog_action: str = "Close"


@dataclass
class ChatDouble:
    """Scripted Cognito + Lex V2 + support API. Reset before every test; read by the test thread."""

    origin: str = ""
    config: dict[str, Any] | None = None  # None: the generated config; {} or partial to test bad configs
    branding: dict[str, Any] = field(default_factory=dict)
    """Branding keys (`contracts.branding.Branding.config_values`) the generated config carries; none: the default."""
    replies: dict[str, LexReply] = field(default_factory=dict)
    lex_statuses: deque[tuple[int, str]] = field(default_factory=deque)  # (status, error type) answered first
    store_query_statuses: deque[int] = field(default_factory=deque)
    escalate_answer: tuple[int, dict[str, Any]] = TICKET  # answered once `escalate_answers` is used up
    escalate_answers: deque[tuple[int, dict[str, Any], dict[str, str]]] = field(default_factory=deque)
    """(status, body, headers) answered to the next escalations, in order."""
    credential_lifetime_seconds: int = 3600
    requests: list[Recorded] = field(default_factory=list)
    signature_problems: list[str] = field(default_factory=list)
    issued: dict[str, Credentials] = field(default_factory=dict)  # access key id -> credentials
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        """Forget everything a previous test scripted or recorded."""
        with self.lock:
            self.config = None
            self.branding = {}
            self.replies.clear()
            self.lex_statuses.clear()
            self.store_query_statuses.clear()
            self.escalate_answer = TICKET
            self.escalate_answers.clear()
            self.credential_lifetime_seconds = 3600
            self.requests.clear()
            self.signature_problems.clear()
            self.issued.clear()

    def reply_to(self, text: str, *messages: str | dict[str, Any], **details: Any) -> None:
        self.replies[text] = LexReply(list(messages), **details)

    def page_config(self) -> dict[str, Any]:
        if self.config is not None:
            return self.config
        return {
            "region": REGION,
            "identityPoolId": IDENTITY_POOL_ID,
            "botId": BOT_ID,
            "botAliasId": BOT_ALIAS_ID,
            "localeId": LOCALE_ID,
            "apiBasePath": API_BASE_PATH,
            "lexEndpoint": self.origin,
            "cognitoEndpoint": self.origin,
            "suggestions": SUGGESTIONS,
            **self.branding,
        }

    def config_js(self) -> str:
        """The page's config.js: rendered by the page contract, or a scripted (possibly broken) config as is."""
        if self.config is None:
            return render_config_js(self.page_config())
        return f"window.CHATBOT_CONFIG = {json.dumps(self.config)}\n"

    def received(self, path_prefix: str, method: str = "POST") -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def cognito_calls(self, operation: str) -> list[Recorded]:
        target = f"AWSCognitoIdentityService.{operation}"
        return [r for r in self.received("/") if r.path == "/" and r.headers.get("x-amz-target") == target]

    def lex_texts(self) -> list[Recorded]:
        return [r for r in self.received("/bots/") if r.path.endswith("/text")]

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
        """Poll until `condition` holds; `timeout` only bounds a failure (generous: CI machines are shared)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                pytest.fail(f"timed out after {timeout}s waiting for {what}")
            time.sleep(0.02)

    # --- answers ---------------------------------------------------------------------------------------------

    def cognito(self, target: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if target == "AWSCognitoIdentityService.GetId":
            if body.get("IdentityPoolId") != IDENTITY_POOL_ID:
                return 400, {"__type": "ResourceNotFoundException", "message": "unknown identity pool"}
            return 200, {"IdentityId": f"{REGION}:{uuid.uuid4()}"}
        if target == "AWSCognitoIdentityService.GetCredentialsForIdentity":
            identity_id = str(body.get("IdentityId", ""))
            key = f"ASIA{uuid.uuid4().hex[:16].upper()}"
            credentials = Credentials(key, uuid.uuid4().hex, f"token-{uuid.uuid4().hex}")
            with self.lock:
                self.issued[key] = credentials
            return 200, {
                "IdentityId": identity_id,
                "Credentials": {
                    "AccessKeyId": key,
                    "SecretKey": credentials.secret_key,
                    "SessionToken": credentials.token,
                    "Expiration": int(time.time()) + self.credential_lifetime_seconds,
                },
            }
        return 400, {"__type": "UnknownOperationException", "message": target}

    def lex(self, recorded: Recorded, session_id: str, is_text: bool) -> tuple[int, dict[str, Any], dict[str, str]]:
        problem = self.check_signature(recorded)
        if problem:
            with self.lock:
                self.signature_problems.append(problem)
            return 403, {"message": problem}, {"x-amzn-ErrorType": "InvalidSignatureException"}
        with self.lock:
            scripted = self.lex_statuses.popleft() if self.lex_statuses else None
        if scripted:
            status, error_type = scripted
            return status, {"message": error_type}, {"x-amzn-ErrorType": error_type}
        if not is_text:
            return 200, {"sessionId": session_id, "botId": BOT_ID, "botAliasId": BOT_ALIAS_ID}, {}
        request = recorded.json()
        reply = self.replies.get(request["text"], LexReply([FALLBACK_TEXT]))
        attributes = {**request.get("sessionState", {}).get("sessionAttributes", {}), **reply.attributes}
        interpretations: list[dict[str, Any]] = [{"intent": {"name": reply.intent}}]
        if reply.confidence is not None:
            interpretations[0]["nluConfidence"] = {"score": reply.confidence}
        interpretations.append({"intent": {"name": "FallbackIntent"}})
        return (
            200,
            {
                "sessionId": session_id,
                "messages": [lex_message(m) for m in reply.messages],
                "sessionState": {
                    "dialogAction": {"type": reply.dialog_action},
                    "intent": {"name": reply.intent, "state": "Fulfilled", "slots": {}},
                    "sessionAttributes": attributes,
                },
                "interpretations": interpretations,
            },
            {},
        )

    def check_signature(self, recorded: Recorded) -> str | None:
        """Recompute the SigV4 signature with botocore; None when it matches the credentials we issued."""
        match = AUTHORIZATION.match(recorded.headers.get("authorization", ""))
        if not match:
            return f"no SigV4 Authorization header: {recorded.headers.get('authorization')!r}"
        with self.lock:
            credentials = self.issued.get(match["key"])
        if credentials is None:
            return f"signed with an access key Cognito never issued: {match['key']}"
        if (match["region"], match["service"]) != (REGION, "lex"):
            return f"signed for {match['region']}/{match['service']}, not {REGION}/lex"
        if recorded.headers.get("x-amz-security-token") != credentials.token:
            return "X-Amz-Security-Token is not the session token Cognito issued"
        signed = match["signed"].split(";")
        if not {"host", "x-amz-date", "x-amz-security-token"} <= set(signed):
            return f"SignedHeaders lacks host, x-amz-date or x-amz-security-token: {signed}"
        headers = {name: recorded.headers.get(name, "") for name in signed}
        request = AWSRequest(recorded.method, self.origin + recorded.path, headers=headers, data=recorded.body)
        request.context["timestamp"] = headers["x-amz-date"]
        auth = SigV4Auth(credentials, "lex", REGION)
        expected = auth.signature(auth.string_to_sign(request, auth.canonical_request(request)), request)
        return None if expected == match["signature"] else "SigV4 signature does not match the request"

    def api(self, path: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        if path == API_BASE_PATH + ESCALATE_ROUTE.path:
            with self.lock:
                if self.escalate_answers:
                    return self.escalate_answers.popleft()
            return (*self.escalate_answer, {})
        if path == API_BASE_PATH + STORE_QUERY_ROUTE.path:
            with self.lock:
                status = self.store_query_statuses.popleft() if self.store_query_statuses else 200
            return status, {"message": "stored"} if status < 300 else {"message": f"HTTP {status}"}, {}
        return 404, {"message": "not found"}, {}


def lex_message(message: str | dict[str, Any]) -> dict[str, Any]:
    """A Lex V2 message: PlainText for a string, ImageResponseCard for a card."""
    if isinstance(message, str):
        return {"contentType": "PlainText", "content": message}
    return {"contentType": "ImageResponseCard", "imageResponseCard": message}


def handler_for(double: ChatDouble) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reports what matters."""

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/" + CONFIG_FILE:
                self._send(200, double.config_js().encode(), content_type(CONFIG_FILE))
                return
            file = (DIST / ("index.html" if path == "/" else path.lstrip("/"))).resolve()
            if DIST.resolve() not in file.parents or not file.is_file():
                self._send(404, b"not found", "text/plain")
                return
            self._send(200, file.read_bytes(), content_type(file.relative_to(DIST.resolve()).as_posix()))

        def do_POST(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            recorded = Recorded(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
            )
            with double.lock:
                double.requests.append(recorded)
            headers: dict[str, str] = {}
            lex = LEX_PATH.match(self.path)
            if lex:
                status, payload, headers = double.lex(recorded, lex["session"], bool(lex["text"]))
            elif self.path.startswith(API_BASE_PATH + "/"):
                status, payload, headers = double.api(self.path)
            elif self.path == "/" and "x-amz-target" in recorded.headers:
                status, payload = double.cognito(recorded.headers["x-amz-target"], recorded.json())
            else:
                status, payload = 404, {"message": "not found"}
            content_type = "application/x-amz-json-1.1" if self.path == "/" else "application/json"
            self._send(status, json.dumps(payload).encode(), content_type, headers)

        def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in PAGE_HEADERS.items():
                self.send_header(name, value)
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
