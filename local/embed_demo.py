"""The demo host: a page of a pretend company's site, on an origin of its own, embedding the chat with embed.js.

The local stack serves it on a second port of 127.0.0.1 (`--embed-demo-port`, default PORT+1): a different origin
from the chat's, so the cross-origin path (frame-ancestors, postMessage origin checks, CORS) runs for real. Its
origin is the one site the local stack lets embed the page. The loader's options can be tried from the URL, which
the page copies onto the script tag: `/?position=bottom-left&open=1&question=Where+is+my+order%3F`.

The page has a strict CSP of its own (its one style block by hash, scripts and frames from the chat's origin only):
the loader needs no `'unsafe-inline'` from the sites that embed it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from contracts.embedding import EMBED_SCRIPT
from local.server import Guard

POSITIONS = ("bottom-right", "bottom-left")
MAX_QUESTION_CHARS = 1024  # the page's composer takes no more
STYLE = (
    "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1e293b;background:#f8fafc}"
    "header{padding:16px 24px;background:#0f172a;color:#fff;font-weight:600}"
    "main{max-width:40rem;margin:0 auto;padding:24px}a{color:#4338ca}pre{white-space:pre-wrap;word-break:break-all}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


def demo_csp(chat_origin: str) -> str:
    """The demo host's CSP: nothing but its own style block, and the chat's loader and page."""
    return (
        f"default-src 'none'; script-src {chat_origin}; frame-src {chat_origin}; style-src 'sha256-{STYLE_HASH}'; "
        "base-uri 'none'; form-action 'none'"
    )


def demo_page(chat_origin: str, options: Mapping[str, str] | None = None) -> str:
    """The demo host's page: some text, and the one script tag that embeds the chat from `chat_origin`.

    `options` (from the URL) become the tag's data- attributes: `position` (bottom-right or bottom-left), `open`
    (any value: open on load), `question` (asked when the chat starts), `accent` (#rrggbb: the launcher's colour);
    anything else is ignored."""
    options = options or {}
    data = []
    if options.get("position") in POSITIONS:
        data.append(f' data-position="{options["position"]}"')
    if "open" in options:
        data.append(" data-open")
    if options.get("question", "").strip():
        question = options["question"].strip()[:MAX_QUESTION_CHARS]
        data.append(f' data-question="{html.escape(question, quote=True)}"')
    if re.fullmatch(r"#[0-9a-fA-F]{6}", options.get("accent", "")):
        data.append(f' data-accent="{options["accent"]}"')
    src = html.escape(f"{chat_origin}/{EMBED_SCRIPT}", quote=True)
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Example Co. - help centre (embed demo)</title>
<style>{STYLE}</style>
</head>
<body>
<header>Example Co.</header>
<main>
<h1>Help centre</h1>
<p>This page stands for your own site, on an origin of its own. The chat button in the corner comes from one tag:</p>
<pre>&lt;script src="{src}" async&gt;&lt;/script&gt;</pre>
<p><a href="?position=bottom-left">Button on the left</a> &middot; <a href="?open=1">Open on load</a> &middot;
<a href="?question=Where+is+my+order%3F">With an initial question</a></p>
</main>
<script src="{src}" async{"".join(data)}></script>
</body>
</html>
"""


def build_demo_app(chat_origin: str, allowed_hosts: Iterable[str]) -> ASGIApp:
    """The demo host's ASGI app: its page at `/`, 404 elsewhere, behind the chat server's Host guard (no DNS
    rebinding here either)."""
    headers = {
        "Content-Security-Policy": demo_csp(chat_origin),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }

    async def page(request: Request) -> Response:
        if request.url.path != "/":
            return Response(b"Not found\n", HTTPStatus.NOT_FOUND, {"Content-Type": "text/plain", **headers})
        body = demo_page(chat_origin, dict(request.query_params)).encode()
        return Response(body, HTTPStatus.OK, {"Content-Type": "text/html; charset=utf-8", **headers})

    return Guard(Starlette(routes=[Route("/{path:path}", page, methods=["GET"])]), allowed_hosts)
