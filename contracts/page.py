"""The page contract: `config.js`, the security headers, content types and cache rules of the chat page.

Read by ChatSite (what S3 and CloudFront serve) and by the local stack (what its server sends), so the page
is served the same way in the cloud and on one machine. The page's own reader of `config.js` is
`site/src/main.js`; `PAGE_CONFIG_KEYS` is the list both sides agree on.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath

from contracts.embedding import EMBED_CACHE, EMBED_SCRIPT, frame_ancestors

CONFIG_FILE = "config.js"
ASSETS_PREFIX = "assets/"  # the build content-hashes every file here, so a name never changes its content
PAGE_CONFIG_KEYS = (
    "region",
    "identityPoolId",
    "botId",
    "botAliasId",
    "localeId",
    "apiBasePath",
    "lexEndpoint",
    "cognitoEndpoint",
    "suggestions",
    "embedOrigins",  # the sites that may frame the page: the only parents it talks to (contracts.embedding)
)
"""The keys of `window.CHATBOT_CONFIG` every config.js has."""
PAGE_CONFIG_DEFAULTS: Mapping[str, object] = {"embedOrigins": ()}
"""Keys a caller may leave out of `render_config_js`, and what config.js then says (no site embeds the page)."""
STAFF_SIGN_IN_KEY = "staffSignIn"
BRANDING_CONFIG_KEYS = (
    "botName",
    "botSubtitle",
    "welcomeText",
    "accentColor",
    "logoUrl",
    "privacyNoticeUrl",
)
"""The branding keys (`contracts.branding.CONFIG_KEYS`); a key left out keeps the page's own look."""
OPTIONAL_PAGE_CONFIG_KEYS = (STAFF_SIGN_IN_KEY, *BRANDING_CONFIG_KEYS)
"""Keys a config.js may also have: the branding keys, and `staffSignIn` (see `staff_sign_in`), where the admin page
signs staff in (absent where there is no staff sign-in)."""
ADMIN_PAGE_PATH = "/admin/"
"""Where the site serves the staff's admin page (`admin/index.html` of the build), and where sign-in returns to."""

IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
SHORT_CACHE_SECONDS = 60  # index.html and config.js: a deploy shows within a minute
SHORT_CACHE = f"public, max-age={SHORT_CACHE_SECONDS}, must-revalidate"
HSTS_SECONDS = 2 * 365 * 24 * 3600
REFERRER_POLICY = "strict-origin-when-cross-origin"
FRAME_OPTIONS = "DENY"
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=()"
OPENER_POLICY = "same-origin"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".webmanifest": "application/manifest+json",
    ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".avif": "image/avif",
    ".gif": "image/gif",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}


def render_config_js(values: Mapping[str, object]) -> str:
    """The page's config.js: `window.CHATBOT_CONFIG = {...};` with exactly PAGE_CONFIG_KEYS (those in
    PAGE_CONFIG_DEFAULTS may be left out) and any of OPTIONAL_PAGE_CONFIG_KEYS, JSON-encoded so no value can end the
    script (`</script>`, `<!--`), break a line (U+2028) or be anything but data."""
    values = {**PAGE_CONFIG_DEFAULTS, **values}
    missing = [key for key in PAGE_CONFIG_KEYS if key not in values]
    unknown = sorted(set(values) - set(PAGE_CONFIG_KEYS) - set(OPTIONAL_PAGE_CONFIG_KEYS))
    if missing or unknown:
        raise ValueError(
            f"config.js needs exactly {list(PAGE_CONFIG_KEYS)} (optionally {list(OPTIONAL_PAGE_CONFIG_KEYS)}); "
            f"missing {missing}, unknown {unknown}"
        )
    keys = [*PAGE_CONFIG_KEYS, *(key for key in OPTIONAL_PAGE_CONFIG_KEYS if key in values)]
    body = json.dumps({key: values[key] for key in keys}, indent=2, ensure_ascii=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        body = body.replace(char, escaped)  # only inside strings: JSON has no bare <, > or &
    return f"window.CHATBOT_CONFIG = {body};\n"


def staff_sign_in(domain: str, client_id: str) -> dict[str, str]:
    """config.js's `staffSignIn`: the sign-in domain (`https://<prefix>.auth.<region>.amazoncognito.com`, Cognito's
    hosted UI and OAuth 2.0 endpoints), the admin page's app client (authorization code with PKCE, no secret) and the
    path sign-in and sign-out return to, on the page's own origin."""
    return {"domain": domain, "clientId": client_id, "redirectPath": ADMIN_PAGE_PATH}


def aws_endpoints(region: str) -> tuple[str, str]:
    """The two AWS endpoints the page calls from the browser: Cognito Identity and the Lex V2 runtime."""
    return f"https://cognito-identity.{region}.amazonaws.com", f"https://runtime-v2-lex.{region}.amazonaws.com"


def content_security_policy(connect_sources: Sequence[str] = (), embed_origins: Sequence[str] = ()) -> str:
    """Only our own files; network calls to our origin plus `connect_sources`; framed by `embed_origins` only (no
    one when empty); no DOM sink may take a string (Trusted Types with no policy), so even a future `innerHTML` of
    bot text is refused by the browser."""
    connect = " ".join(["'self'", *connect_sources])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors {frame_ancestors(embed_origins)}; base-uri 'none'; "
        "form-action 'self'; object-src 'none'; "
        "require-trusted-types-for 'script'; trusted-types 'none'"
    )


def security_headers(csp: str, *, framed: bool = False) -> dict[str, str]:
    """Every security header the page is served with, CloudFront and the local stack alike. `framed`: some sites
    may embed the page (the CSP's frame-ancestors lists them), so X-Frame-Options, which can only say DENY or
    SAMEORIGIN, is left out rather than contradict it."""
    headers = {
        "Content-Security-Policy": csp,
        "Strict-Transport-Security": f"max-age={HSTS_SECONDS}; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": REFERRER_POLICY,
        "X-Frame-Options": FRAME_OPTIONS,
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": OPENER_POLICY,
    }
    if framed:
        del headers["X-Frame-Options"]
    return headers


def content_type(key: str) -> str:
    """The Content-Type a page file (`key`, a posix path under the build) is served with."""
    suffix = PurePosixPath(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """Content-hashed assets are immutable for a year; the embed loader's stable name a few minutes (sites load it
    on every page); everything else (index.html, config.js) is short-lived."""
    if key.startswith(ASSETS_PREFIX):
        return IMMUTABLE_CACHE
    return EMBED_CACHE if key == EMBED_SCRIPT else SHORT_CACHE
