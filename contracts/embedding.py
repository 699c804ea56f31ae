"""The embedding contract: which sites may put the chat on their pages, and the loader they load it with.

A site embeds the chat with one `<script src="https://<chat site>/embed.js" async>`; the loader frames the page
(`EMBED_PAGE_QUERY`). Only the origins of the `embedOrigins` setting may frame it: the page's CSP
`frame-ancestors` lists exactly those (`frame_ancestors`), the API's CORS allows them, and the page talks only to
a parent among them (`embedOrigins` in config.js). ChatSite and the settings check origins with
`embed_origin_problem`; the local stack checks its demo host's origin with the same rule (loopback http allowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

EMBED_SCRIPT = "embed.js"
"""The loader's stable name at the site's root; the build also writes it content-hashed under assets/."""
EMBED_CACHE_SECONDS = 300  # a changed loader reaches every embedding site within five minutes
EMBED_CACHE = f"public, max-age={EMBED_CACHE_SECONDS}, must-revalidate"
EMBED_PAGE_QUERY = "embed=1"
"""The query the loader adds to the page's URL: the page shows its close button and talks to its parent."""
MESSAGE_VERSION = 1
"""The version of the postMessage shape (`{"chatbot": 1, "type": ...}`); each side ignores any other."""

_HOST = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_DEFAULT_PORTS = {"https": "443", "http": "80"}


def embed_origin_problem(value: object, *, allow_loopback_http: bool = False) -> str | None:
    """Why `value` is not an origin a site may embed the chat from (`https://host[:port]`), or None when it is.

    Exactly what browsers send as an origin: scheme, host in lower case, a port only when not the default; no path
    (not even `/`), query, fragment, user or wildcard. `allow_loopback_http` admits `http://127.0.0.1:port`
    (and localhost): the local stack's demo host, never a deployed stack's."""
    if not isinstance(value, str):
        return f"{value!r} is not a text origin like https://www.example.com"
    if "*" in value:
        return f"{value!r} has a wildcard: list each site's origin in full (https://www.example.com)"
    scheme, separator, rest = value.partition("://")
    if not separator:
        return f"{value!r} has no scheme: write it as https://{value}"
    for mark, part in (("?", "a query"), ("#", "a fragment"), ("/", "a path")):
        if mark in rest:
            return f"{value!r} has {part}: an origin is scheme://host[:port] only (https://{rest.split(mark)[0]})"
    if "@" in rest:
        return f"{value!r} names a user: an origin is scheme://host[:port] only"
    host, port = _host_and_port(rest)
    loopback = allow_loopback_http and scheme == "http" and host in _LOOPBACK_HOSTS
    if scheme != "https" and not loopback:
        return f"{value!r} is not https: only https:// sites may embed the chat"
    if host != host.lower() or scheme != scheme.lower():
        return f"{value!r} has capitals: browsers send origins in lower case ({value.lower()})"
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        return f"{value!r} has an invalid port {port!r}"
    if port == _DEFAULT_PORTS.get(scheme):
        return f"{value!r} names the default port: browsers send it without (drop :{port})"
    if not loopback and not _HOST.match(host):
        return f"{value!r} has an invalid host name {host!r}"
    return None


def _host_and_port(authority: str) -> tuple[str, str]:
    """`host[:port]` split in two; an IPv6 host keeps its brackets (`[::1]:8001`)."""
    if authority.startswith("[") and "]" in authority:
        host, _, after = authority.partition("]")
        return host + "]", after.removeprefix(":")
    host, _, port = authority.partition(":")
    return host, port


def check_embed_origins(values: Iterable[object], *, allow_loopback_http: bool = False) -> tuple[str, ...]:
    """`values` as a tuple of distinct origins, in order; ValueError naming every origin that is not one."""
    origins = list(values)
    problems = [
        problem for v in origins if (problem := embed_origin_problem(v, allow_loopback_http=allow_loopback_http))
    ]
    if problems:
        raise ValueError("; ".join(problems))
    return tuple(dict.fromkeys(str(origin) for origin in origins))


def frame_ancestors(origins: Sequence[str]) -> str:
    """The CSP `frame-ancestors` sources: exactly `origins`, or `'none'` when no site may embed the page."""
    return " ".join(origins) if origins else "'none'"
