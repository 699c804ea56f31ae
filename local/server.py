"""The local stack's one origin: the page, config.js, the Lex runtime, the API, Cognito, and the staff pages.

Routes (all on http://HOST:PORT):

- `POST /bots/{botId}/botAliases/{aliasId}/botLocales/{localeId}/sessions/{sessionId}/text` - Lex RecognizeText;
  `GET` / `DELETE .../sessions/{sessionId}` - GetSession / DeleteSession (SigV4 accepted, never verified);
- `POST /api/escalate`, `POST /api/store-query` - the real handlers, called with API Gateway proxy events;
- `GET /api/admin/...` - the real admin API, behind the stand-in of API Gateway's Cognito authorizer: no valid staff
  ID token in `Authorization: Bearer ...`, a 401 JSON answer and the function is never called;
- `GET|POST /oauth2/authorize`, `POST /oauth2/token` - the staff user pool's hosted UI (`local.staff_sign_in`);
- `POST /cognito-identity` - forwarded to the moto server (GetId, GetCredentialsForIdentity);
- `GET /config.js` - the page's configuration for this origin;
- `GET /embed.js` - the embed loader (a file of the site), which the demo host (`local.embed_demo`) loads;
- `GET /_local/outbox` (add `?format=json` for JSON) - the emails SES would have sent, for support staff;
- `GET /knowledge/<path>` - a document of the knowledge folder (the sources under an answer link there);
- anything else - a file of the built site (site/dist), `/` being index.html and `/admin/` the admin page.

Served by uvicorn (HTTP/1.1 framing, keep-alive, chunked bodies, a listen backlog of `BACKLOG`, a bound on
open connections) with a Starlette app. What this module adds on top, and why:

- every request's `Host` must name this server (loopback names, or the `--host`/`--allow-host` names), so a
  DNS-rebinding page can neither read the staff pages nor call the API: 421 otherwise;
- every state-changing request (POST, PUT, PATCH, DELETE) from a browser must come from this origin: an
  `Origin` (or `Sec-Fetch-Site`) naming another site is refused with 403 before anything runs, so a cross-site
  form cannot open a ticket; clients that send no Origin (boto3, curl) are not browsers and pass. The one
  exception is the API's CORS origins (the embedding sites, as the deployed API allows them), on /api/* only,
  whose preflight (OPTIONS) is answered as API Gateway answers it;
- the page may be framed by the embedding sites only (the CSP's frame-ancestors, `contracts.embedding`);
- bodies are bounded (`MAX_BODY_BYTES`, 413), a request must arrive whole within `REQUEST_TIMEOUT_SECONDS`,
  and every error answer is JSON (Lex-shaped on Lex's paths), never an HTML page.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

import h11
import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, request_response
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from contracts.knowledge import DOCUMENT_SUFFIXES, DOCUMENTS_PATH
from contracts.page import ASSETS_PREFIX, cache_control, content_security_policy, content_type, security_headers
from contracts.stack import ADMIN_BASE_PATH, API_BASE_PATH
from contracts.stack import Route as ApiRoute
from local import lex_requests, staff_pages
from local.config_js import COGNITO_PATH
from local.lambda_events import LambdaContext, api_gateway_event
from local.lex_runtime import LexError, LexRuntime
from local.staff_sign_in import SIGN_IN_CSP, SignInError, StaffSignIn

MAX_BODY_BYTES = 1024 * 1024  # 1 MiB: far above any real request (a user's text is at most 1,024 characters)
DRAIN_LIMIT_BYTES = 16 * MAX_BODY_BYTES  # a refused body up to this size is read and dropped before answering
BACKLOG = 2048  # pending connections the kernel queues: a burst of hundreds of clients is accepted, not reset
MAX_CONNECTIONS = 1000  # uvicorn's limit_concurrency: past it, uvicorn itself answers 503 (plain text)
KEEP_ALIVE_SECONDS = 5  # an idle keep-alive connection is closed after this long
REQUEST_TIMEOUT_SECONDS = 30.0  # a request (headers and body) must arrive whole within this; else the connection closes
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
# Exactly the headers CloudFront adds to every behaviour of the distribution (the page, its assets, /api/*).
# The CSP's connect-src needs no AWS endpoint here: Lex and Cognito answer on this origin ('self'). Browsers
# ignore Strict-Transport-Security over plain http (RFC 6797, 8.1), so sending it to 127.0.0.1 pins nothing.
PAGE_HEADERS = security_headers(content_security_policy())
STAFF_HEADERS = security_headers(staff_pages.STAFF_CSP)
SIGN_IN_HEADERS = security_headers(SIGN_IN_CSP)
# The page itself (index.html) and config.js are revalidated on every load, where CloudFront lets browsers
# keep them a minute: each start of the local stack makes a new identity pool, and `make site`
# rebuilds the page while the stack runs: a cached config.js would point the page at a pool that no longer
# exists. Assets keep the contract's rule: their names are content hashes, so they never go stale.
PAGE_CACHE = "no-cache"
_LEX_PATH = re.compile(
    r"^/bots/(?P<bot>[^/]+)/botAliases/(?P<alias>[^/]+)/botLocales/(?P<locale>[^/]+)"
    r"/sessions/(?P<session>[^/]+)(?P<text>/text)?$"
)
# The knowledge documents as the browser should show them. A team's HTML guide is not our page: it is sandboxed
# (no script runs, no form posts, no same-origin access) and may load nothing but its own inline styles.
DOCUMENT_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
}
DOCUMENT_CSP = "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
log = logging.getLogger("local.server")

ApiHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


@dataclass
class LocalApp:
    """What the routes serve: the Lex runtime, the API's functions, moto, the site, the staff pages."""

    runtime: LexRuntime
    api_handlers: dict[ApiRoute, ApiHandler]  # each route of the REST API and the function that serves it
    moto_url: str
    site_dir: Path
    config_js: Callable[[str], str]  # the page's config.js for an origin (http://host:port)
    recorder: staff_pages.ReplyToRecorder | None = None
    admin_handlers: dict[ApiRoute, ApiHandler] = field(default_factory=dict)  # the admin routes, behind sign-in
    sign_in: StaffSignIn | None = None  # the staff user pool's stand-in; None: every admin request is a 401
    documents_dir: Path | None = None  # the knowledge folder served under DOCUMENTS_PATH; None: no documents
    embed_origins: tuple[str, ...] = ()
    """The sites that may frame the page and call the API (CORS): the demo host's origin."""

    @property
    def page_headers(self) -> dict[str, str]:
        """The page's security headers, framed by `embed_origins` only, on the page, its files, the API's and
        Cognito's answers (as CloudFront sends them on every behaviour). The server's own error answers keep
        PAGE_HEADERS (frame-ancestors 'none'): nothing frames an error."""
        if not self.embed_origins:
            return PAGE_HEADERS
        csp = content_security_policy(embed_origins=self.embed_origins)
        return security_headers(csp, framed=True)

    # --- Lex -------------------------------------------------------------------------------------------------

    async def lex(self, request: Request) -> Response:
        raw_path = request.scope.get("raw_path", b"").decode("ascii", "replace")
        match = _LEX_PATH.match(raw_path)
        if match is None:
            return _lex_error(404, "UnknownOperationException", f"No Lex operation at {request.url.path}")
        args = [urllib.parse.unquote(match.group(name)) for name in ("bot", "alias", "locale", "session")]
        allowed = ("POST",) if match.group("text") else ("GET", "HEAD", "DELETE")
        if request.method not in allowed:
            return _lex_error(
                405,
                "MethodNotAllowedException",
                f"{request.method} is not supported here; use {', '.join(allowed)}",
                {"Allow": ", ".join(allowed)},
            )
        try:
            if match.group("text"):
                raw = await request.body()
                answer = await run_in_threadpool(self._recognize_text, args, raw)
            elif request.method == "DELETE":
                answer = await run_in_threadpool(self.runtime.delete_session, *args)
            else:
                answer = await run_in_threadpool(self.runtime.get_session, *args)
        except LexError as exc:
            return _lex_error(exc.status, exc.error_type, exc.message)
        return _json(HTTPStatus.OK, answer, {"x-amzn-RequestId": str(uuid.uuid4())})

    def _recognize_text(self, args: list[str], raw: bytes) -> dict[str, Any]:
        body = lex_requests.recognize_text_body(raw)
        return self.runtime.recognize_text(args[0], args[1], args[2], args[3], body)

    # --- the API ---------------------------------------------------------------------------------------------

    async def api(self, request: Request) -> Response:
        resource = request.url.path.removeprefix(API_BASE_PATH)
        routes = {route.method: (route, fn) for route, fn in self.api_handlers.items() if route.path == resource}
        if not routes:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"No API route {resource}", "errors": []})
        if request.method == "OPTIONS" and self.embed_origins:
            return self._preflight(request, sorted(routes))
        if request.method not in routes:
            allowed = ", ".join(sorted(routes))
            return _json(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"message": f"{resource} accepts {allowed} only", "errors": []},
                {"Allow": allowed},
            )
        route, handler = routes[request.method]
        return await self._invoke(route, handler, await self._event(request, resource))

    async def admin_api(self, request: Request) -> Response:
        """The admin routes as API Gateway serves them: the Cognito authorizer first (401, function not called),
        then the function with the token's claims in `requestContext.authorizer.claims`."""
        claims = self.sign_in.claims(request.headers.get("authorization")) if self.sign_in else None
        if claims is None:
            reason = "send the signed-in staff member's ID token as `Authorization: Bearer <token>`"
            return _json(
                HTTPStatus.UNAUTHORIZED,
                {"message": "Unauthorized", "errors": [{"field": "Authorization", "reason": reason}]},
                {"WWW-Authenticate": "Bearer", "Cache-Control": "no-store"},
            )
        resource = request.url.path.removeprefix(API_BASE_PATH)
        found = [
            (route, fn, params)
            for route, fn in self.admin_handlers.items()
            for params in [_match(route, resource)]
            if params is not None
        ]
        if not found:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"No API route {resource}", "errors": []})
        by_method = {route.method: (route, fn, params) for route, fn, params in found}
        if request.method not in by_method:
            allowed = ", ".join(sorted(by_method))
            return _json(
                HTTPStatus.METHOD_NOT_ALLOWED,
                {"message": f"{resource} accepts {allowed} only", "errors": []},
                {"Allow": allowed},
            )
        route, handler, params = by_method[request.method]
        event = await self._event(request, resource)
        event["resource"] = route.path
        event["pathParameters"] = params or None
        event["requestContext"] = {
            **event["requestContext"],
            "resourcePath": route.path,
            "authorizer": {"claims": claims},
        }
        return await self._invoke(route, handler, event)

    async def _event(self, request: Request, resource: str) -> dict[str, Any]:
        return api_gateway_event(
            request.method,
            resource,
            _event_headers(request),
            await request.body(),
            query=urllib.parse.parse_qs(request.url.query),
            source_ip=request.client.host if request.client else "127.0.0.1",
            host=request.url.hostname or "127.0.0.1",
        )

    async def _invoke(self, route: ApiRoute, handler: ApiHandler, event: dict[str, Any]) -> Response:
        """Call the function with the proxy event; its answer as API Gateway passes it on (502 when it fails)."""
        try:
            result = await run_in_threadpool(handler, event, LambdaContext(function_name=route.function))
            status = int(result["statusCode"])
            headers = {str(k): _header_value(v) for k, v in (result.get("headers") or {}).items()}
            for key, values in (result.get("multiValueHeaders") or {}).items():
                headers[str(key)] = ", ".join(_header_value(v) for v in values)
            payload = _decode_body(result.get("body") or "", bool(result.get("isBase64Encoded")))
        except Exception:  # API Gateway answers 502 when the function fails or answers nonsense
            log.exception("%s failed", route.function)
            return _json(HTTPStatus.BAD_GATEWAY, {"message": "Internal server error"})
        headers = {k: v for k, v in headers.items() if k.lower() not in {"content-length", "transfer-encoding"}}
        return Response(payload, status, {**headers, **self.page_headers})  # CloudFront's policy overrides the API's

    def _preflight(self, request: Request, methods: list[str]) -> Response:
        """CORS preflight as API Gateway's MOCK answers it (components.rest_api): Allow-Origin only for an allowed
        origin; any other origin gets none, and the browser refuses."""
        origin = request.headers.get("origin", "")
        cors = {
            "Access-Control-Allow-Methods": ",".join(["OPTIONS", *methods]),
            "Access-Control-Allow-Headers": "Content-Type",
            "Access-Control-Max-Age": "600",
            "Vary": "Origin",
        }
        if origin in self.embed_origins:
            cors["Access-Control-Allow-Origin"] = origin
        return Response(b"", HTTPStatus.NO_CONTENT, {**cors, **self.page_headers})

    # --- Cognito ---------------------------------------------------------------------------------------------

    async def cognito(self, request: Request) -> Response:
        if request.method != "POST":
            return _json(
                HTTPStatus.METHOD_NOT_ALLOWED, {"message": "Cognito Identity accepts POST only"}, {"Allow": "POST"}
            )
        target = request.headers.get("x-amz-target", "")
        if not target.startswith("AWSCognitoIdentityService."):
            return _json(HTTPStatus.BAD_REQUEST, {"__type": "ValidationException", "message": "X-Amz-Target missing"})
        body = await request.body()
        kind = request.headers.get("content-type", "application/x-amz-json-1.1")
        status, answer, answer_kind = await run_in_threadpool(self._forward_to_moto, target, kind, body)
        kind = answer_kind or "application/x-amz-json-1.1"
        return Response(answer, status, {"Content-Type": kind, **self.page_headers})

    def _forward_to_moto(self, target: str, kind: str, body: bytes) -> tuple[int, bytes, str]:
        forwarded = urllib.request.Request(
            self.moto_url + "/", data=body, method="POST", headers={"X-Amz-Target": target, "Content-Type": kind}
        )
        try:
            with urllib.request.urlopen(forwarded, timeout=10) as answer:
                return answer.status, answer.read(), answer.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.headers.get("Content-Type", "")

    # --- staff sign-in (the hosted UI's stand-in) ----------------------------------------------------------------

    async def authorize(self, request: Request) -> Response:
        """GET: the sign-in form of an authorization request; POST: its submission (a redirect with a code)."""
        if self.sign_in is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": "No staff sign-in on this stack"})
        if request.method == "GET":
            params = dict(request.query_params)
        else:
            params = await _form(request)
        try:
            self.sign_in.check_authorize(params)
        except SignInError as exc:  # Cognito shows an error page, never redirects to an unchecked URL
            return _json(exc.status, {"error": exc.error, "error_description": exc.description}, SIGN_IN_HEADERS)
        if request.method == "GET":
            return _sign_in_html(self.sign_in.sign_in_form(params), HTTPStatus.OK)
        try:
            location = self.sign_in.authorize(params)
        except SignInError as exc:
            return _sign_in_html(self.sign_in.sign_in_form(params, exc.description), exc.status)
        return Response(b"", HTTPStatus.FOUND, {"Location": location, "Cache-Control": "no-store", **SIGN_IN_HEADERS})

    async def token(self, request: Request) -> Response:
        """The token endpoint: a code and its PKCE verifier for the staff member's tokens."""
        if self.sign_in is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": "No staff sign-in on this stack"})
        form = await _form(request)
        try:
            tokens = self.sign_in.token(form)
        except SignInError as exc:
            return _json(
                exc.status, {"error": exc.error, "error_description": exc.description}, {"Cache-Control": "no-store"}
            )
        return _json(HTTPStatus.OK, tokens, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    # --- staff pages -----------------------------------------------------------------------------------------

    async def staff(self, request: Request) -> Response:
        as_json = request.query_params.get("format") == "json"
        path = request.url.path.rstrip("/")
        if path == "/_local/outbox":
            emails = await run_in_threadpool(staff_pages.outbox, self.moto_url, self.recorder)
            return (
                _staff_json(staff_pages.outbox_json(emails))
                if as_json
                else _staff_html(staff_pages.outbox_html(emails))
            )
        if path == "/_local":
            return _staff_html(staff_pages.index_html())
        return _json(HTTPStatus.NOT_FOUND, {"message": f"No staff page {request.url.path}"}, STAFF_HEADERS)

    # --- knowledge documents ------------------------------------------------------------------------------

    async def document(self, request: Request) -> Response:
        return await run_in_threadpool(self._document, request.path_params["key"])

    def _document(self, key: str) -> Response:
        """A document of the knowledge folder by its key; 404 for anything else (other types, hidden files, a
        path that leaves the folder)."""
        root = self.documents_dir.resolve() if self.documents_dir is not None else None
        body: bytes | None = None
        suffix = Path(key).suffix.lower()
        hidden = any(part.startswith(".") for part in key.split("/"))
        if root is not None and suffix in DOCUMENT_SUFFIXES and not hidden:
            try:
                target = (root / key).resolve()
                if target.is_relative_to(root) and target.is_file():
                    body = target.read_bytes()
            except (OSError, ValueError):  # a name too long for the file system, a NUL byte: no such document
                body = None
        if body is None:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"No document {key[:200]} in the knowledge base"})
        headers = {"Content-Type": DOCUMENT_TYPES[suffix], "Cache-Control": "no-cache"}
        headers["X-Content-Type-Options"] = "nosniff"
        if suffix in {".html", ".htm"}:  # a PDF under a sandbox CSP would not open in the browser's viewer
            headers.update(security_headers(DOCUMENT_CSP))
        return Response(body, HTTPStatus.OK, headers)

    # --- the site --------------------------------------------------------------------------------------------

    async def config(self, request: Request) -> Response:
        origin = f"{request.url.scheme}://{request.headers['host'].lower()}"  # a Host the guard let through
        return _page_file("config.js", self.config_js(origin).encode(), self.page_headers)

    async def static(self, request: Request) -> Response:
        return await run_in_threadpool(self._static, request.url.path)

    def _static(self, path: str) -> Response:
        relative = path.lstrip("/") or "index.html"
        root = self.site_dir.resolve()
        try:
            target = (root / relative).resolve()
            if target.is_dir():
                target = target / "index.html"
            found = target.is_relative_to(root) and target.is_file()
            body = target.read_bytes() if found else b""
        except (OSError, ValueError):  # a name too long for the file system, a NUL byte: no such file either way
            found = False
        if not found:
            return _json(HTTPStatus.NOT_FOUND, {"message": f"No file {path[:200]} in the site"})
        return _page_file(target.relative_to(root).as_posix(), body, self.page_headers)


def build_app(local: LocalApp, allowed_hosts: Iterable[str]) -> ASGIApp:
    """The ASGI application: the routes of `local` behind the Host, Origin and body-size guard."""
    routes = [
        Route("/bots/{rest:path}", _EveryMethod(local.lex)),  # Lex, the API and Cognito answer 405 their own way
        Route(API_BASE_PATH + ADMIN_BASE_PATH + "/{rest:path}", _EveryMethod(local.admin_api)),
        Route(API_BASE_PATH + "/{rest:path}", _EveryMethod(local.api)),
        Route("/oauth2/authorize", local.authorize, methods=["GET", "POST"]),
        Route("/oauth2/token", local.token, methods=["POST"]),
        Route(COGNITO_PATH, _EveryMethod(local.cognito)),
        Route("/_local{rest:path}", local.staff, methods=["GET"]),
        Route("/config.js", local.config, methods=["GET"]),
        Route(DOCUMENTS_PATH + "{key:path}", local.document, methods=["GET"]),
        Route("/{path:path}", local.static, methods=["GET"]),
    ]
    app = Starlette(
        routes=routes,
        max_body_size=MAX_BODY_BYTES,  # chunked bodies too: Starlette counts what it reads (413 past it)
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    return Guard(app, allowed_hosts, api_origins=local.embed_origins)


class _EveryMethod:
    """An endpoint that takes every method and answers 405 itself (Starlette gives a function endpoint GET only)."""

    def __init__(self, endpoint: Callable[[Request], Awaitable[Response]]) -> None:
        self.app = request_response(endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class Guard:
    """ASGI middleware: refuses foreign Hosts, cross-site state changes and oversized bodies before any route runs."""

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str], api_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.allowed_hosts = frozenset(host.lower() for host in allowed_hosts)
        self.api_origins = frozenset(origin.lower() for origin in api_origins)  # CORS on /api/* (the API's own)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await _drain(receive)  # so the client reads the refusal, not a connection reset
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> Response | None:
        """The answer that refuses this request, or None when it may go on."""
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        lex = scope["path"].startswith("/bots/")
        host = headers.get("host")
        if host is None:
            return _refuse(400, "The request has no Host header", "Host", lex)
        if host.lower() not in self.allowed_hosts:
            return _refuse(
                421,
                f"Host {host[:100]!r} is not this server; use {_one_of(self.allowed_hosts)}",
                "Host",
                lex,
            )
        if scope["method"] in STATE_CHANGING:
            origin = headers.get("origin")
            own = f"{scope.get('scheme', 'http')}://{host.lower()}"
            api = scope["path"].startswith(API_BASE_PATH + "/")
            if origin is not None and origin.lower() != own and not (api and origin.lower() in self.api_origins):
                return _refuse(403, f"Origin {origin[:100]!r} is not this origin ({own}): refused", "Origin", lex)
            site = headers.get("sec-fetch-site")
            if origin is None and site in {"cross-site", "same-site"}:
                return _refuse(403, f"Sec-Fetch-Site {site!r}: cross-site requests are refused", "Sec-Fetch-Site", lex)
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return _refuse(413, f"The request body is over {MAX_BODY_BYTES} bytes", "Content-Length", lex)
        return None


def allowed_hosts(host: str, port: int, extra: Iterable[str] = ()) -> list[str]:
    """The Host header values this server answers: the loopback names, `host` (the interface it listens on) and
    `extra` names, each with the port (and bare as well on port 80)."""
    names = [*LOOPBACK_NAMES, _url_host(host), *(_url_host(name) for name in extra)]
    values = [f"{name}:{port}" for name in names]
    if port == 80:
        values += names
    return list(dict.fromkeys(value.lower() for value in values))


# --- answers ------------------------------------------------------------------------------------------------------


def _page_file(key: str, body: bytes, headers: dict[str, str]) -> Response:
    """A file of the page (`key`: its path in the build, as ChatSite uploads it) with the page's `headers`."""
    cache = cache_control(key) if key.startswith(ASSETS_PREFIX) else PAGE_CACHE
    return Response(body, HTTPStatus.OK, {"Content-Type": content_type(key), "Cache-Control": cache, **headers})


def _staff_html(text: str) -> Response:
    # The same protections as the page, under the staff pages' own CSP (no script at all).
    return Response(
        text.encode(),
        HTTPStatus.OK,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", **STAFF_HEADERS},
    )


def _sign_in_html(text: str, status: int) -> Response:
    return Response(
        text.encode(),
        status,
        {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-store", **SIGN_IN_HEADERS},
    )


async def _form(request: Request) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body (what the sign-in form and the token request send); empty for any
    other media type, which the endpoints then refuse as missing fields."""
    if request.headers.get("content-type", "").split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
        return {}
    text = (await request.body()).decode("utf-8", errors="replace")
    try:
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True, max_num_fields=50))
    except ValueError:  # more fields than any real form has
        return {}


def _match(route: ApiRoute, resource: str) -> dict[str, str] | None:
    """The path parameters of `resource` if it is `route`'s path (`{name}` matches one segment); else None."""
    pattern = re.sub(r"\\{(\w+)\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    found = re.fullmatch(pattern, resource)
    if found is None:
        return None
    return {name: urllib.parse.unquote(value) for name, value in found.groupdict().items()}


def _staff_json(text: str) -> Response:
    return Response(
        text.encode(), HTTPStatus.OK, {"Content-Type": "application/json", "Cache-Control": "no-store", **STAFF_HEADERS}
    )


def _json(status: int, payload: Any, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(payload).encode(), status, {"Content-Type": "application/json", **PAGE_HEADERS, **(headers or {})}
    )


def _lex_error(status: int, error_type: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return _json(
        status,
        {"message": message},
        {"x-amzn-ErrorType": error_type, "x-amzn-RequestId": str(uuid.uuid4()), **(headers or {})},
    )


_LEX_TYPES = {400: "ValidationException", 403: "AccessDeniedException", 413: "ValidationException"}


def _refuse(status: int, message: str, header: str, lex: bool) -> Response:
    """A refusal by the guard, naming the header it refused; typed as Lex types errors on Lex's paths."""
    if lex and status in _LEX_TYPES:
        return _lex_error(status, _LEX_TYPES[status], message)
    return _json(status, {"message": message, "header": header})


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (405 of a GET-only route, 413 of a chunked body past the limit), in JSON."""
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == HTTPStatus.REQUEST_ENTITY_TOO_LARGE:
        return _refuse(413, f"The request body is over {MAX_BODY_BYTES} bytes", "Content-Length", _is_lex(request))
    if exc.status_code == HTTPStatus.METHOD_NOT_ALLOWED:
        allowed = ", ".join(sorted(headers.get("Allow", "GET").split(", ")))
        headers["Allow"] = allowed
        message = f"{request.method} is not allowed on {request.url.path[:200]}; use {allowed}"
    else:
        message = str(exc.detail)
    return _json(exc.status_code, {"message": message}, headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed: %r (uvicorn logs the traceback)", request.method, request.url.path[:200], exc)
    if _is_lex(request):
        return _lex_error(500, "InternalServerException", "The local stack failed; see its log")
    return _json(HTTPStatus.INTERNAL_SERVER_ERROR, {"message": "The local stack failed; see its log"})


async def _drain(receive: Receive) -> None:
    """Read and drop the request body, up to DRAIN_LIMIT_BYTES. A server that answers and closes while the client
    is still sending makes the client see a reset (or a broken pipe) instead of the answer."""
    seen = 0
    while seen <= DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def _is_lex(request: Request) -> bool:
    return request.url.path.startswith("/bots/")


def _event_headers(request: Request) -> dict[str, str]:
    """Request headers as API Gateway passes them (HTTP/1.1 names are case-insensitive; h11 lowercases them)."""
    return {"-".join(part.capitalize() for part in name.split("-")): value for name, value in request.headers.items()}


def _header_value(value: Any) -> str:
    """A header value with no CR or LF (a handler must never be able to split a response)."""
    return re.sub(r"[\r\n]+", " ", str(value))


def _decode_body(body: str, encoded: bool) -> bytes:
    return base64.b64decode(body) if encoded else body.encode("utf-8")


def _one_of(hosts: Iterable[str]) -> str:
    return " or ".join(sorted(hosts)[:4])


def _url_host(host: str) -> str:
    """A host as it appears in a URL (IPv6 addresses in brackets)."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


# --- the HTTP server --------------------------------------------------------------------------------------------


class _LocalH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with two rules of ours: a malformed request gets a JSON 400 (not text), and a
    request must arrive whole within `request_timeout` seconds (uvicorn times out idle keep-alive connections
    only, so a client could otherwise hold a connection forever by sending half a request)."""

    request_timeout = REQUEST_TIMEOUT_SECONDS
    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_read_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state in {h11.IDLE, h11.SEND_BODY}:
            if self._read_timer is None:
                self._arm_read_timer()
        else:
            self._cancel_read_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_read_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        reason = "the request line, a header or the body's framing (Content-Length, chunks) is malformed"
        body = json.dumps({"message": f"{msg.rstrip('.')}: {reason}"}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"x-content-type-options", b"nosniff"),
            (b"connection", b"close"),
        ]
        try:
            for event in (
                h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                h11.Data(data=body),
                h11.EndOfMessage(),
            ):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # a response was already under way: all that is left is to close
            pass
        self.transport.close()

    def _arm_read_timer(self) -> None:
        self._read_timer = self.loop.call_later(self.request_timeout, self._read_timed_out)

    def _cancel_read_timer(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _read_timed_out(self) -> None:
        self._read_timer = None
        if self.conn.their_state in {h11.IDLE, h11.SEND_BODY} and not self.transport.is_closing():
            log.info("closing a connection whose request did not arrive within %.0f s", self.request_timeout)
            self.transport.close()


@dataclass
class LocalHttpServer:
    """uvicorn serving an ASGI app on a listening socket, in a thread of its own, until `stop()`."""

    sock: socket.socket
    app: ASGIApp
    verbose: bool = False
    request_timeout: float = REQUEST_TIMEOUT_SECONDS
    _server: uvicorn.Server | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.sock.getsockname()[:2]
        return str(host), int(port)

    def start(self, timeout: float = 10.0) -> None:
        """Serve in a background thread; returns once uvicorn accepts connections."""
        protocol = type("LocalH11Protocol", (_LocalH11Protocol,), {"request_timeout": self.request_timeout})
        config = uvicorn.Config(
            self.app,
            http=protocol,
            lifespan="off",
            backlog=BACKLOG,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            timeout_graceful_shutdown=5,
            log_config=None,  # the stack's logging stays as the caller set it up
            access_log=self.verbose,
            server_header=False,
            proxy_headers=False,  # no proxy in front: X-Forwarded-* from a client must not change scheme or client
        )
        self._server = uvicorn.Server(config)
        started = threading.Event()
        self._thread = threading.Thread(target=self._serve, args=(started,), name="local-http", daemon=True)
        self._thread.start()
        if not started.wait(timeout) or not self._server.started:
            raise RuntimeError(f"the HTTP server did not start within {timeout:.0f} s")

    def _serve(self, started: threading.Event) -> None:
        assert self._server is not None
        server = self._server

        async def serve() -> None:
            task = asyncio.create_task(server.serve(sockets=[self.sock]))
            while not server.started and not task.done():
                await asyncio.sleep(0.005)
            started.set()
            await task

        try:
            asyncio.run(serve())
        finally:
            started.set()

    def stop(self) -> None:
        """Stop accepting, let requests in flight finish (up to 5 s), close the socket."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(10)
        self.sock.close()


def listen(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port and listening with BACKLOG (OSError when the port is taken)."""
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    # proto named explicitly: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say IPPROTO_TCP, and an
    # accepted socket inherits it; with Nagle on, a keep-alive client waits ~40 ms (delayed ACK) on each answer.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host.strip("[]"), port))
        sock.listen(BACKLOG)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock
