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
)
"""The keys `window.CHATBOT_CONFIG` always has."""
PAGE_OPTIONAL_CONFIG_KEYS = (
    "botName",
    "botSubtitle",
    "welcomeText",
    "accentColor",
    "logoUrl",
    "privacyNoticeUrl",
)
"""The branding keys it may have (`contracts.branding.CONFIG_KEYS`); a key left out keeps the page's own look."""

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
    """The page's config.js: `window.CHATBOT_CONFIG = {...};` with every PAGE_CONFIG_KEYS key and any of
    PAGE_OPTIONAL_CONFIG_KEYS, JSON-encoded so no value can end the script (`</script>`, `<!--`), break a line
    (U+2028) or be anything but data."""
    missing = [key for key in PAGE_CONFIG_KEYS if key not in values]
    unknown = sorted(set(values) - set(PAGE_CONFIG_KEYS) - set(PAGE_OPTIONAL_CONFIG_KEYS))
    if missing or unknown:
        raise ValueError(
            f"config.js needs exactly {list(PAGE_CONFIG_KEYS)} (and may have {list(PAGE_OPTIONAL_CONFIG_KEYS)}); "
            f"missing {missing}, unknown {unknown}"
        )
    keys = [*PAGE_CONFIG_KEYS, *(key for key in PAGE_OPTIONAL_CONFIG_KEYS if key in values)]
    body = json.dumps({key: values[key] for key in keys}, indent=2, ensure_ascii=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        body = body.replace(char, escaped)  # only inside strings: JSON has no bare <, > or &
    return f"window.CHATBOT_CONFIG = {body};\n"


def aws_endpoints(region: str) -> tuple[str, str]:
    """The two AWS endpoints the page calls from the browser: Cognito Identity and the Lex V2 runtime."""
    return f"https://cognito-identity.{region}.amazonaws.com", f"https://runtime-v2-lex.{region}.amazonaws.com"


def content_security_policy(connect_sources: Sequence[str] = ()) -> str:
    """Only our own files; network calls to our origin plus `connect_sources`; no DOM sink may take a string
    (Trusted Types with no policy), so even a future `innerHTML` of bot text is refused by the browser."""
    connect = " ".join(["'self'", *connect_sources])
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {connect}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'; "
        "require-trusted-types-for 'script'; trusted-types 'none'"
    )


def security_headers(csp: str) -> dict[str, str]:
    """Every security header the page is served with, CloudFront and the local stack alike."""
    return {
        "Content-Security-Policy": csp,
        "Strict-Transport-Security": f"max-age={HSTS_SECONDS}; includeSubDomains; preload",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": REFERRER_POLICY,
        "X-Frame-Options": FRAME_OPTIONS,
        "Permissions-Policy": PERMISSIONS_POLICY,
        "Cross-Origin-Opener-Policy": OPENER_POLICY,
    }


def content_type(key: str) -> str:
    """The Content-Type a page file (`key`, a posix path under the build) is served with."""
    suffix = PurePosixPath(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """Content-hashed assets are immutable for a year; everything else (index.html, config.js) is short-lived."""
    return IMMUTABLE_CACHE if key.startswith(ASSETS_PREFIX) else SHORT_CACHE
