"""StaffAccess: who may use the admin view. A Cognito user pool of support staff whom the stack invites (nobody signs
themselves up), its hosted sign-in domain, and the admin page's app client (authorization code with PKCE).

The REST API's admin routes are authorised by this pool (`RestApiArgs.staff_user_pool_arn`); the page at /admin/
learns where to sign in from config.js (`contracts.page.staff_sign_in`, through `ChatSiteArgs.staff_sign_in`).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from contracts.page import ADMIN_PAGE_PATH, staff_sign_in

MIN_PASSWORD_LENGTH = 14  # NIST SP 800-63B asks for at least 8; staff read every conversation, so more
TEMPORARY_PASSWORD_DAYS = 7  # an invitation not taken up within a week must be sent again
SIGN_IN_SCOPES = ("openid", "email")
# Cognito refuses a prefix domain holding these words (CreateUserPoolDomain), whatever the stack is called.
RESERVED_DOMAIN_WORDS = ("aws", "amazon", "cognito")
MAX_DOMAIN_PREFIX_CHARS = 63
DOMAIN_SUFFIX_CHARS = 8  # hex digits of a digest of account, project and stack: prefix domains are global per region
Mfa = Literal["optional", "on"]


@dataclass
class StaffAccessArgs:
    """What a StaffAccess needs."""

    region: pulumi.Input[str]
    """The stack's region: where the pool and its sign-in domain live."""
    site_url: pulumi.Input[str]
    """The chat page's origin (`https://...`, `ChatSite.site_url`): sign-in and sign-out return to its /admin/, and
    invitations point there."""
    staff_emails: Sequence[str] = ()
    """The staff to invite: each becomes a user (signing in with the address) and gets Cognito's invitation email
    with a temporary password. Empty: the pool has no users; the admin routes then admit no one."""
    mfa: Mfa = "optional"
    """`optional`: each person may add an authenticator app (TOTP). `on`: everyone sets one up at first sign-in."""
    protect_data: bool = False
    """True: Cognito's deletion protection and Pulumi's `protect` keep the staff accounts (prod). False: the pool
    goes with the stack."""
    token_validity_minutes: int = 60
    """How long an ID or access token is good for (5 to 1440): a stolen token is useful this long at most."""
    session_hours: int = 8
    """How long the page may renew tokens without a new sign-in (the refresh token's life): a working day."""


class StaffAccess(pulumi.ComponentResource):
    """The staff user pool (admin-create-only, strong passwords, TOTP MFA), its users, sign-in domain and the admin
    page's public app client."""

    def __init__(self, name: str, args: StaffAccessArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)
        super().__init__("support-chatbot:index:StaffAccess", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        admin_url = pulumi.Output.concat(args.site_url, ADMIN_PAGE_PATH)

        self.user_pool = self._user_pool(name, args, admin_url)
        prefix = pulumi.Output.from_input(aws.get_caller_identity_output().account_id).apply(
            lambda account: sign_in_domain_prefix(pulumi.get_project(), pulumi.get_stack(), account)
        )
        self.domain = aws.cognito.UserPoolDomain(
            f"{name}-sign-in",
            domain=prefix,
            user_pool_id=self.user_pool.id,
            managed_login_version=1,  # the classic hosted UI: no branding resource to keep, free in every tier
            opts=child,
        )
        self.sign_in_domain: pulumi.Output[str] = pulumi.Output.concat(
            "https://", prefix, ".auth.", args.region, ".amazoncognito.com"
        )
        """Cognito's hosted UI and OAuth 2.0 endpoints (`/oauth2/authorize`, `/oauth2/token`, `/logout`). Made from
        the prefix, not read from the domain resource, so the page's CSP can name it before the pool exists."""
        self.client = self._client(name, args, admin_url)
        self.users = [self._user(name, address) for address in args.staff_emails]

        self.user_pool_id: pulumi.Output[str] = self.user_pool.id
        self.user_pool_arn: pulumi.Output[str] = self.user_pool.arn
        self.client_id: pulumi.Output[str] = self.client.id
        self.admin_url: pulumi.Output[str] = admin_url
        self.sign_in: pulumi.Output[dict[str, str]] = pulumi.Output.all(self.sign_in_domain, self.client.id).apply(
            lambda values: staff_sign_in(values[0], values[1])
        )
        """config.js's `staffSignIn`: the sign-in domain, the app client and the path sign-in returns to."""
        self.register_outputs(
            {
                "user_pool_id": self.user_pool.id,
                "user_pool_arn": self.user_pool.arn,
                "client_id": self.client.id,
                "sign_in_domain": self.sign_in_domain,
            }
        )

    def _user_pool(self, name: str, args: StaffAccessArgs, admin_url: pulumi.Output[str]) -> aws.cognito.UserPool:
        """Staff sign in with their email address; only the stack (or an administrator) creates users."""
        return aws.cognito.UserPool(
            f"{name}-users",
            # Pool names need not be unique: project and stack make it recognisable in the console.
            name=f"{pulumi.get_project()}-{pulumi.get_stack()}-staff",
            user_pool_tier="LITE",  # the hosted UI, TOTP and admin-created users are all Lite needs; cheapest tier
            username_attributes=["email"],
            username_configuration={"case_sensitive": False},
            auto_verified_attributes=["email"],
            account_recovery_setting={"recovery_mechanisms": [{"name": "verified_email", "priority": 1}]},
            admin_create_user_config={
                "allow_admin_create_user_only": True,  # no self sign-up: the stack's staffEmails are the staff
                "invite_message_template": {
                    "email_subject": "Your support-chatbot admin account",
                    "email_message": pulumi.Output.concat(
                        "You can now read the support chatbot's conversations at ",
                        admin_url,
                        " . Sign in as {username} with the temporary password {####} ; you will choose your own.",
                    ),
                },
            },
            password_policy={
                "minimum_length": MIN_PASSWORD_LENGTH,
                "require_lowercase": True,
                "require_uppercase": True,
                "require_numbers": True,
                "require_symbols": True,
                "temporary_password_validity_days": TEMPORARY_PASSWORD_DAYS,
            },
            mfa_configuration=args.mfa.upper(),
            software_token_mfa_configuration={"enabled": True},  # authenticator apps only: no SMS to pay or phish
            email_configuration={"email_sending_account": "COGNITO_DEFAULT"},  # invitations only: a few a day
            deletion_protection="ACTIVE" if args.protect_data else "INACTIVE",
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data),
        )

    def _client(self, name: str, args: StaffAccessArgs, admin_url: pulumi.Output[str]) -> aws.cognito.UserPoolClient:
        """The admin page's client: a public one (a browser keeps no secret), authorization code with PKCE through
        the hosted UI, returning only to the site's /admin/."""
        return aws.cognito.UserPoolClient(
            f"{name}-admin-page",
            name="admin-page",
            user_pool_id=self.user_pool.id,
            generate_secret=False,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],  # PKCE: Cognito requires a code challenge from a client without a secret
            allowed_oauth_scopes=list(SIGN_IN_SCOPES),
            supported_identity_providers=["COGNITO"],
            callback_urls=[admin_url],
            default_redirect_uri=admin_url,
            logout_urls=[admin_url],
            # Secure Remote Password for the hosted UI, refresh for the page; never a password sent as is.
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            prevent_user_existence_errors="ENABLED",  # a wrong address and a wrong password look the same
            enable_token_revocation=True,
            auth_session_validity=3,  # minutes to finish a sign-in (MFA code included) once started
            access_token_validity=args.token_validity_minutes,
            id_token_validity=args.token_validity_minutes,
            refresh_token_validity=args.session_hours,
            token_validity_units={"access_token": "minutes", "id_token": "minutes", "refresh_token": "hours"},
            read_attributes=["email", "email_verified"],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _user(self, name: str, address: str) -> aws.cognito.User:
        """One invited staff member: Cognito emails a temporary password (no password is set or kept here)."""
        return aws.cognito.User(
            f"{name}-user-{address.lower()}",
            user_pool_id=self.user_pool.id,
            username=address,
            attributes={"email": address, "email_verified": "true"},  # the stack vouches for it: recovery works
            desired_delivery_mediums=["EMAIL"],
            # The invitation names the sign-in page: it exists before the first email goes.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.domain, self.client]),
        )


def sign_in_domain_prefix(project: str, stack: str, account_id: str) -> str:
    """The Cognito prefix domain of a stack: `<project>-<stack>-staff-<8 hex>`, lower case, at most 63 characters,
    without the words Cognito reserves. The digest of account, project and stack makes it unique (prefix domains are
    shared by every AWS account in a region) and stable (the same stack keeps its domain)."""
    digest = hashlib.sha256(f"{account_id}/{project}/{stack}".encode()).hexdigest()[:DOMAIN_SUFFIX_CHARS]
    base = re.sub(r"[^a-z0-9]+", "-", f"{project}-{stack}".lower())
    for word in RESERVED_DOMAIN_WORDS:
        base = base.replace(word, "")
    tail = f"staff-{digest}"
    base = re.sub(r"-+", "-", base)[: MAX_DOMAIN_PREFIX_CHARS - len(tail) - 1].strip("-")
    return f"{base}-{tail}" if base else tail


def _check(args: StaffAccessArgs) -> None:
    """Fail early, naming the argument, on values Cognito would refuse half-way through a deploy."""
    if args.mfa not in ("optional", "on"):
        raise ValueError(f"StaffAccessArgs.mfa must be 'optional' or 'on', got {args.mfa!r}")
    if not 5 <= args.token_validity_minutes <= 1440:
        raise ValueError("StaffAccessArgs.token_validity_minutes must be 5 to 1440 (Cognito's limits)")
    if not 1 <= args.session_hours <= 24 * 3650:
        raise ValueError("StaffAccessArgs.session_hours must be 1 hour to 10 years (Cognito's limits)")
    lowered = [address.lower() for address in args.staff_emails]
    if len(set(lowered)) != len(lowered):
        raise ValueError("StaffAccessArgs.staff_emails lists an address twice (Cognito usernames ignore case)")
