"""The local stack's one origin: the page, config.js, the Lex runtime, the API, Cognito, and the staff pages.

Routes (all on http://HOST:PORT):

- `POST /bots/{botId}/botAliases/{aliasId}/botLocales/{localeId}/sessions/{sessionId}/text` - Lex RecognizeText;
  `GET` / `DELETE .../sessions/{sessionId}` - GetSession / DeleteSession (SigV4 accepted, never verified);
- `POST /api/escalate`, `POST /api/store-query` - the real handlers, called with API Gateway proxy events;
- `POST /cognito-identity` - forwarded to the moto server (GetId, GetCredentialsForIdentity);
- `GET /config.js` - the page's configuration for this origin;
- `GET /_local/outbox`, `GET /_local/query-log` (add `?format=json` for JSON) - for support staff;
- anything else - a file of the built site (site/dist), `/` being index.html.

stdlib `ThreadingHTTPServer`: one thread per connection, HTTP/1.1 keep-alive, nothing to install.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from contracts.page import (
    ASSETS_PREFIX,
    CONFIG_FILE,
    cache_control,
    content_security_policy,
    content_type,
    security_headers,
)
from contracts.stack import API_BASE_PATH, Route
from local import staff_pages
from local.config_js import COGNITO_PATH
from local.lambda_events import LambdaContext, api_gateway_event
from local.lex_runtime import LexError, LexRuntime, LexValidationError

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: far above any real request (a user's text is at most 1,024 characters)
DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES  # a refused body up to this size is read and dropped before answering
# Exactly the headers CloudFront adds to every behaviour of the distribution (the page, its assets, /api/*).
# The CSP's connect-src needs no AWS endpoint here: Lex and Cognito answer on this origin ('self'). Browsers
# ignore Strict-Transport-Security over plain http (RFC 6797, 8.1), so sending it to 127.0.0.1 pins nothing.
PAGE_HEADERS = security_headers(content_security_policy())
# The page itself (index.html) and config.js are revalidated on every load, where CloudFront lets browsers
# keep them a minute: each start of the local stack makes a new identity pool, and `make site`
# rebuilds the page while the stack runs: a cached config.js would point the page at a pool that no longer
# exists. Assets keep the contract's rule: their names are content hashes, so they never go stale.
PAGE_CACHE = "no-cache"
_LEX_PATH = re.compile(
    r"^/bots/(?P<bot>[^/]+)/botAliases/(?P<alias>[^/]+)/botLocales/(?P<locale>[^/]+)"
    r"/sessions/(?P<session>[^/]+)(?P<text>/text)?$"
)
log = logging.getLogger("local.server")

ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class Response:
    """An HTTP answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Request:
    """An HTTP request, read."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    client_ip: str


@dataclass
class LocalApp:
    """Routes requests to the runtime, the handlers, moto, the site and the staff pages."""

    runtime: LexRuntime
    api_handlers: dict[Route, ApiHandler]  # each route of the REST API and the lambda_handler that serves it
    moto_url: str
    site_dir: Path
    config_js: str
    query_log_table: str
    host: str = "127.0.0.1"
    recorder: staff_pages.ReplyToRecorder | None = None

    def handle(self, request: Request) -> Response:
        path = request.path
        if path.startswith("/bots/"):
            return self._lex(request)
        if path.startswith(API_BASE_PATH + "/"):
            return self._api(request)
        if path.rstrip("/") == COGNITO_PATH:
            return self._cognito(request)
        if path.startswith("/_local"):
            return self._staff(request)
        if request.method not in {"GET", "HEAD"}:
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"message": f"{request.method} is not allowed on {path}"})
        if path == "/" + CONFIG_FILE:
            return _page_file(CONFIG_FILE, self.config_js.encode())
        return self._static(path)

    # --- Lex -------------------------------------------------------------------------------------------------

    def _lex(self, request: Request) -> Response:
        match = _LEX_PATH.match(request.path)
        if match is None:
            return _lex_error(404, "UnknownOperationException", f"No Lex operation at {request.path}")
        args = [urllib.parse.unquote(match.group(name)) for name in ("bot", "alias", "locale", "session")]
        try:
            if match.group("text") and request.method == "POST":
                try:
                    body = json.loads(request.body or b"{}")
                except ValueError as exc:
                    raise LexValidationError(f"The request body is not valid JSON: {exc}") from exc
                answer = self.runtime.recognize_text(args[0], args[1], args[2], args[3], body)
            elif not match.group("text") and request.method == "DELETE":
                answer = self.runtime.delete_session(*args)
            elif not match.group("text") and request.method == "GET":
                answer = self.runtime.get_session(*args)
            else:
                return _lex_error(405, "MethodNotAllowedException", f"{request.method} is not supported here")
        except LexError as exc:
            return _lex_error(exc.status, exc.error_type, exc.message)
        return _json(HTTPStatus.OK, answer, {"x-amzn-RequestId": str(uuid.uuid4())})

    # --- the API ---------------------------------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        resource = request.path.removeprefix(API_BASE_PATH)
        routes = {route.method: (route, fn) for route, fn in self.api_handlers.items() if route.path == resource}
        if not routes:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"No API route {resource}", "errors": []})
        if request.method not in routes:
            allowed = ", ".join(sorted(routes))
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"message": f"{resource} accepts {allowed} only", "errors": []})
        route, handler = routes[request.method]
        name = route.function
        event = api_gateway_event(
            request.method,
            resource,
            request.headers,
            request.body,
            query=request.query,
            source_ip=request.client_ip,
            host=self.host,
        )
        try:
            result = handler(event, LambdaContext(function_name=name))
            status = int(result["statusCode"])
            headers = {str(k): _header_value(v) for k, v in (result.get("headers") or {}).items()}
            for key, values in (result.get("multiValueHeaders") or {}).items():
                headers[str(key)] = ", ".join(_header_value(v) for v in values)
            body = result.get("body") or ""
            payload = _decode_body(body, bool(result.get("isBase64Encoded")))
        except Exception:  # API Gateway answers 502 when the function fails or answers nonsense
            log.exception("%s failed", name)
            return _json(HTTPStatus.BAD_GATEWAY, {"message": "Internal server error"})
        return Response(status, payload, {**headers, **PAGE_HEADERS})  # CloudFront's policy overrides the API's

    # --- Cognito ---------------------------------------------------------------------------------------------

    def _cognito(self, request: Request) -> Response:
        if request.method != "POST":
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Cognito Identity accepts POST only"})
        target = request.headers.get("X-Amz-Target", request.headers.get("x-amz-target", ""))
        if not target.startswith("AWSCognitoIdentityService."):
            return _json(HTTPStatus.BAD_REQUEST, {"__type": "ValidationException", "message": "X-Amz-Target missing"})
        forwarded = urllib.request.Request(
            self.moto_url + "/",
            data=request.body,
            method="POST",
            headers={
                "X-Amz-Target": target,
                "Content-Type": request.headers.get("Content-Type", "application/x-amz-json-1.1"),
            },
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=10) as answer:
                status, body, kind = answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, body, kind = error.code, error.read(), error.headers.get("Content-Type", "")
        return Response(status, body, {"Content-Type": kind or "application/x-amz-json-1.1"})

    # --- staff pages -----------------------------------------------------------------------------------------

    def _staff(self, request: Request) -> Response:
        if request.method not in {"GET", "HEAD"}:
            return _json(HTTPStatus.METHOD_NOT_ALLOWED, {"message": "staff pages are read-only"})
        as_json = request.query.get("format", [""])[-1] == "json"
        path = request.path.rstrip("/")
        if path == "/_local/outbox":
            emails = staff_pages.outbox(self.recorder)
            return (
                _staff_json(staff_pages.outbox_json(emails))
                if as_json
                else _staff_html(staff_pages.outbox_html(emails))
            )
        if path == "/_local/query-log":
            rows = staff_pages.query_log(self.query_log_table)
            if as_json:
                return _staff_json(staff_pages.query_log_json(rows))
            return _staff_html(staff_pages.query_log_html(rows))
        if path == "/_local":
            return _staff_html(staff_pages.index_html())
        return _json(HTTPStatus.NOT_FOUND, {"message": f"No staff page {request.path}"})

    # --- the site --------------------------------------------------------------------------------------------

    def _static(self, path: str) -> Response:
        relative = urllib.parse.unquote(path).lstrip("/") or "index.html"
        root = self.site_dir.resolve()
        target = (root / relative).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_relative_to(root) or not target.is_file():
            return Response(HTTPStatus.NOT_FOUND, b"Not found\n", {"Content-Type": "text/plain; charset=utf-8"})
        return _page_file(target.relative_to(root).as_posix(), target.read_bytes())


def _page_file(key: str, body: bytes) -> Response:
    """A file of the page (`key`: its path in the build, as ChatSite uploads it) with the page's headers."""
    cache = cache_control(key) if key.startswith(ASSETS_PREFIX) else PAGE_CACHE
    return Response(HTTPStatus.OK, body, {"Content-Type": content_type(key), "Cache-Control": cache, **PAGE_HEADERS})


def _staff_html(text: str) -> Response:
    # The same protections as the page, under the staff pages' own CSP (no script at all).
    headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store"}
    return Response(HTTPStatus.OK, text.encode(), {**headers, **security_headers(staff_pages.STAFF_CSP)})


def _staff_json(text: str) -> Response:
    return Response(HTTPStatus.OK, text.encode(), {"Content-Type": "application/json", "Cache-Control": "no-store"})


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", **PAGE_HEADERS, **(headers or {})},
    )


def _lex_error(status: int, error_type: str, message: str) -> Response:
    return _json(status, {"message": message}, {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4())})


def _header_value(value: Any) -> str:
    """A header value with no CR or LF (a handler must never be able to split a response)."""
    return re.sub(r"[\r\n]+", " ", str(value))


def _decode_body(body: str, encoded: bool) -> bytes:
    return base64.b64decode(body) if encoded else body.encode("utf-8")


def _drain(stream: Any, length: int) -> None:
    while length > 0:
        chunk = stream.read(min(length, 65536))
        if not chunk:
            return
        length -= len(chunk)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: boto3 and browsers reuse connections
    server_version = "support-chatbot-local"
    server: LocalHttpServer

    def do_GET(self) -> None:
        self._serve()

    def do_HEAD(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            if length.isdigit() and int(length) <= DRAIN_LIMIT_BYTES:
                _drain(self.rfile, int(length))  # so the client reads our answer, not a connection reset
            self._send(_json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"message": f"body over {MAX_BODY_BYTES} bytes"}))
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            path=url.path,
            query=urllib.parse.parse_qs(url.query),
            headers={name: value for name, value in self.headers.items()},
            body=self.rfile.read(int(length)) if int(length) else b"",
            client_ip=self.client_address[0],
        )
        app = self.server.app
        try:
            response = (
                app.handle(request)
                if app is not None
                else _json(HTTPStatus.SERVICE_UNAVAILABLE, {"message": "The local stack is still starting"})
            )
        except Exception:  # the server must answer, whatever broke
            log.exception("%s %s failed", self.command, url.path)
            response = _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "The local stack failed; see its log"})
        self._send(response)

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, _header_value(value))
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.verbose:
            super().log_message(format, *args)


class LocalHttpServer(ThreadingHTTPServer):
    """One thread per connection; threads are daemons so a lingering keep-alive never blocks shutdown."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: LocalApp | None, *, verbose: bool = False) -> None:
        self.app = app
        self.verbose = verbose
        super().__init__(address, _RequestHandler)
