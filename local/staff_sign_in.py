"""The staff sign-in stand-in: plays the Cognito user pool's hosted UI and the API Gateway authorizer on one machine.

The admin page signs in exactly as it does against Cognito (OAuth 2.0 authorization code with PKCE, `S256`):

- `GET /oauth2/authorize?response_type=code&client_id&redirect_uri&state&code_challenge&code_challenge_method=S256`
  answers a small sign-in form; `POST /oauth2/authorize` checks the email and password and redirects to
  `redirect_uri?code=...&state=...` (a code is single-use and lives `CODE_SECONDS`);
- `POST /oauth2/token` (`grant_type=authorization_code`, `code`, `redirect_uri`, `client_id`, `code_verifier`)
  answers `{"id_token", "access_token", "token_type": "Bearer", "expires_in"}`; errors as Cognito's:
  400 `{"error": "invalid_grant"}` and the like.

Tokens are JWTs signed with HS256 by a key made at start (Cognito signs RS256 with its published keys; here the
same process signs and checks, so a shared key is enough). `claims(authorization)` is the authorizer: a valid,
unexpired ID token of this pool and client in `Authorization: Bearer ...` gives the claims API Gateway would put in
`requestContext.authorizer.claims`; anything else gives None, and the server answers 401 without calling the
function.

Users: one staff member, from `--staff-email` (default `staff@example.com`) with a password made at start and
printed by `python -m local` (or given by the caller: tests). Decision: this stand-in, not moto's cognito-idp,
because moto has no hosted UI or `/oauth2/*` endpoints, and the page only ever talks to those.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import json
import secrets
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

DEFAULT_STAFF_EMAIL = "staff@example.com"
CLIENT_ID = "local-staff-client"
USER_POOL_ID = "us-east-1_localstaff"
CODE_SECONDS = 300  # Cognito's authorization codes are valid for five minutes
TOKEN_SECONDS = 3600  # Cognito's default ID and access token lifetime
ADMIN_PAGE_PATH = "/admin/"
AUTHORIZE_FIELDS = ("response_type", "client_id", "redirect_uri", "state", "code_challenge", "code_challenge_method")
SIGN_IN_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_STYLE = (
    "body{font:15px/1.45 system-ui,sans-serif;margin:0;display:grid;place-items:center;min-height:100vh;"
    "background:#f8fafc;color:#0f172a}@media (prefers-color-scheme:dark){body{background:#020617;color:#e2e8f0}"
    "form{background:#0f172a!important;border-color:#334155!important}input{background:#020617;color:#e2e8f0}}"
    "form{background:#fff;border:1px solid #e2e8f0;border-radius:.75rem;padding:1.5rem;width:min(22rem,90vw)}"
    "h1{font-size:1.25rem;margin:0 0 1rem}label{display:block;font-weight:600;margin:.75rem 0 .25rem}"
    "input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #94a3b8;border-radius:.4rem;font:inherit}"
    "button{margin-top:1.25rem;width:100%;padding:.6rem;border:0;border-radius:.4rem;background:#4338ca;color:#fff;"
    "font:inherit;font-weight:600;cursor:pointer}p.error{color:#b91c1c;font-weight:600}p.note{color:#64748b}"
)


class SignInError(Exception):
    """A request the hosted UI or token endpoint refuses: the OAuth error code, a description and the status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


@dataclass
class _Code:
    email: str
    client_id: str
    redirect_uri: str
    challenge: str
    expires: float


@dataclass
class StaffSignIn:
    """The local staff user pool: one user, its codes and tokens. `origin` is the local stack's (the issuer)."""

    origin: str
    email: str = DEFAULT_STAFF_EMAIL
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    client_id: str = CLIENT_ID
    _key: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)
    _codes: dict[str, _Code] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def issuer(self) -> str:
        return f"{self.origin}/{USER_POOL_ID}"

    @property
    def redirect_uris(self) -> frozenset[str]:
        """Where the hosted UI may send a code: the admin page on this origin (Cognito's app client callback URLs)."""
        return frozenset({self.origin + ADMIN_PAGE_PATH, self.origin + ADMIN_PAGE_PATH.rstrip("/")})

    # --- /oauth2/authorize ----------------------------------------------------------------------------------------

    def check_authorize(self, params: Mapping[str, str]) -> None:
        """SignInError unless `params` are a PKCE authorization request of this client to an allowed redirect."""
        if params.get("client_id") != self.client_id:
            raise SignInError("invalid_request", "client_id is not this user pool's app client")
        if params.get("redirect_uri") not in self.redirect_uris:
            raise SignInError("invalid_request", "redirect_uri is not a callback URL of the app client")
        if params.get("response_type") != "code":
            raise SignInError("unsupported_response_type", "response_type must be code")
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            raise SignInError("invalid_request", "a code_challenge with code_challenge_method S256 is required (PKCE)")

    def sign_in_form(self, params: Mapping[str, str], error: str | None = None) -> str:
        """The hosted UI's sign-in page for an authorization request (`params` already checked)."""
        esc = html.escape
        hidden = "".join(
            f'<input type="hidden" name="{esc(name)}" value="{esc(params.get(name, ""), quote=True)}">'
            for name in (
                "response_type",
                "client_id",
                "redirect_uri",
                "state",
                "code_challenge",
                "code_challenge_method",
            )
        )
        message = f'<p class="error" role="alert">{esc(error)}</p>' if error else ""
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>Sign in - support staff (local)</title><style>{_STYLE}</style></head><body><main>"
            '<form method="post" action="/oauth2/authorize"><h1>Support staff sign-in</h1>'
            f'{message}<p class="note">Local stand-in for the staff user pool.</p>{hidden}'
            '<label for="email">Email</label><input id="email" name="username" type="email" autocomplete="username" '
            "required>"
            '<label for="password">Password</label><input id="password" name="password" type="password" '
            'autocomplete="current-password" required>'
            '<button type="submit">Sign in</button></form></main></body></html>'
        )

    def authorize(self, form: Mapping[str, str], *, now: float | None = None) -> str:
        """Check the credentials of a submitted form; the redirect (with a new code) on success. SignInError(401)
        for a wrong email or password."""
        self.check_authorize(form)
        email_ok = hmac.compare_digest(form.get("username", "").strip().lower().encode(), self.email.lower().encode())
        password_ok = hmac.compare_digest(form.get("password", "").encode(), self.password.encode())
        if not (email_ok and password_ok):
            raise SignInError("access_denied", "Incorrect email or password.", 401)
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Code(
                email=self.email,
                client_id=form["client_id"],
                redirect_uri=form["redirect_uri"],
                challenge=form["code_challenge"],
                expires=(now or time.time()) + CODE_SECONDS,
            )
        query = {"code": code, **({"state": form["state"]} if form.get("state") else {})}
        return f"{form['redirect_uri']}?{urllib.parse.urlencode(query)}"

    # --- /oauth2/token --------------------------------------------------------------------------------------------

    def token(self, form: Mapping[str, str], *, now: float | None = None) -> dict[str, Any]:
        """Exchange a code and its PKCE verifier for tokens; SignInError as Cognito's token endpoint answers."""
        moment = now or time.time()
        if form.get("grant_type") != "authorization_code":
            raise SignInError("unsupported_grant_type", "grant_type must be authorization_code")
        with self._lock:
            issued = self._codes.pop(form.get("code", ""), None)  # single use, even when the rest is wrong
        if issued is None or issued.expires < moment:
            raise SignInError("invalid_grant", "the code is unknown, used or expired")
        if form.get("client_id") != issued.client_id or form.get("redirect_uri") != issued.redirect_uri:
            raise SignInError("invalid_grant", "client_id or redirect_uri differ from the authorization request")
        verifier = form.get("code_verifier", "")
        expected = _b64(hashlib.sha256(verifier.encode()).digest())
        if not verifier or not hmac.compare_digest(expected, issued.challenge):
            raise SignInError("invalid_grant", "code_verifier does not match the code_challenge")
        return {
            "id_token": self._jwt(self._claims(issued.email, "id", moment)),
            "access_token": self._jwt(self._claims(issued.email, "access", moment)),
            "token_type": "Bearer",
            "expires_in": TOKEN_SECONDS,
        }

    def _claims(self, email: str, use: str, now: float) -> dict[str, Any]:
        subject = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self.issuer}/{email}"))
        claims: dict[str, Any] = {
            "sub": subject,
            "iss": self.issuer,
            "token_use": use,
            "auth_time": int(now),
            "iat": int(now),
            "exp": int(now) + TOKEN_SECONDS,
        }
        if use == "id":
            claims |= {"aud": self.client_id, "email": email, "email_verified": True, "cognito:username": email}
        else:
            claims |= {"client_id": self.client_id, "scope": "openid email", "username": email}
        return claims

    def _jwt(self, claims: Mapping[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "local"}).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64(signature)}"

    # --- the authorizer ---------------------------------------------------------------------------------------

    def claims(self, authorization: str | None, *, now: float | None = None) -> dict[str, str] | None:
        """The claims API Gateway's Cognito authorizer would pass for `Authorization: Bearer <id token>` (all values
        as strings, as API Gateway passes them); None for a missing, malformed, forged, expired or foreign token."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token.count(".") != 2:
            return None
        header, payload, signature = token.strip().split(".")
        expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        try:
            if not hmac.compare_digest(_unb64(signature), expected):
                return None
            claims = json.loads(_unb64(payload))
        except ValueError:
            return None
        if not isinstance(claims, dict):
            return None
        fresh = isinstance(claims.get("exp"), int) and claims["exp"] > (now or time.time())
        ours = claims.get("iss") == self.issuer and claims.get("aud") == self.client_id
        if not (fresh and ours and claims.get("token_use") == "id"):
            return None
        return {key: str(value).lower() if isinstance(value, bool) else str(value) for key, value in claims.items()}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise ValueError("not base64url") from exc
