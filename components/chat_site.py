"""ChatSite: the chat page on a private bucket behind CloudFront, its config.js, guest credentials, and /api/*."""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

SITE_DIR = Path(__file__).resolve().parent.parent / "site" / "dist"
API_BASE_PATH = "/api"
ASSETS_PREFIX = "assets/"  # the build content-hashes every file here, so they never change under a name
CONFIG_FILE = "config.js"
# Not site content: the build's size report, make's marker, and config.js (each deployment writes its own).
SKIPPED_FILES = frozenset({"size.json", ".built", CONFIG_FILE})
CONFIG_KEYS = (
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
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=60, must-revalidate"  # index.html and config.js: a deploy shows within a minute
SHORT_TTL_SECONDS = 60
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
# CloudFront's managed policies (ids are fixed by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # 1 day default, 1 year max; gzip + brotli
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # API Gateway needs its own Host
HSTS_SECONDS = 2 * 365 * 24 * 3600
SITE_ORIGIN = "site-bucket"
API_ORIGIN = "escalation-api"
# CloudFront sends the viewer's path to the origin after the origin path, so /api/escalate would reach the
# API as /live/api/escalate. This viewer-request function drops the /api prefix: /live/escalate.
STRIP_API_PREFIX = """function handler(event) {
  var request = event.request;
  if (request.uri === '/api' || request.uri.indexOf('/api/') === 0) {
    request.uri = request.uri.substring(4) || '/';
  }
  return request;
}
"""


class SiteBuildMissingError(Exception):
    """The chat page has not been built."""


@dataclass
class ChatSiteArgs:
    """What a ChatSite needs."""

    region: pulumi.Input[str]
    bot_id: pulumi.Input[str]
    bot_alias_id: pulumi.Input[str]
    locale_id: pulumi.Input[str]
    api_origin_domain: pulumi.Input[str]
    """The REST API's regional domain (`{api_id}.execute-api.{region}.amazonaws.com`), served at /api/*."""
    api_origin_path: pulumi.Input[str]
    """The API stage as a path (`/live`)."""
    suggestions: Sequence[str]
    """Questions the page offers as buttons."""
    site_dir: Path = SITE_DIR
    """The built page. Default: `site/dist`, which `make site` builds."""
    custom_domain: str | None = None
    """Domain for the page, e.g. chat.example.com (its DNS record is yours to add). None: the CloudFront domain."""
    certificate_arn: str | None = None
    """ACM certificate in us-east-1 covering `custom_domain`; set together with it. None: CloudFront's own."""
    api_rate_limit_per_ip: int | None = None
    """Requests one IP may send to /api/* in 5 minutes before AWS WAF blocks it. None: no web ACL (no idle cost)."""


class ChatSite(pulumi.ComponentResource):
    """The hosted chat page: private bucket + CloudFront (OAC), config.js, Cognito guest access, /api/* proxy."""

    def __init__(self, name: str, args: ChatSiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if (args.custom_domain is None) != (args.certificate_arn is None):
            raise ValueError("ChatSiteArgs.custom_domain and .certificate_arn are set together or not at all")
        files = site_files(args.site_dir)  # a missing build fails before anything is registered
        super().__init__("support-chatbot:index:ChatSite", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        # --- guest access: the browser talks to Lex with credentials for this one alias only ---
        self.identity_pool = aws.cognito.IdentityPool(
            f"{name}-identities",
            identity_pool_name=re.sub(r"[^\w]", "_", f"{pulumi.get_project()}_{pulumi.get_stack()}_{name}")[:128],
            allow_unauthenticated_identities=True,
            allow_classic_flow=False,  # enhanced flow only: the pool's role, scoped below, never a caller's choice
            opts=child,
        )
        self.identity_pool_id = self.identity_pool.id
        self.guest_role = aws.iam.Role(
            f"{name}-guest",
            description="Chat page visitors (Cognito guests): talk to the bot's live alias, nothing else",
            assume_role_policy=self.identity_pool.id.apply(guest_trust_policy),
            opts=child,
        )
        # The guest role gets no permission here: the bot's owner grants it the one alias
        # (`ChatbotBot.grant_conversation`), so access is granted by the owner of the resource.
        aws.cognito.IdentityPoolRoleAttachment(
            f"{name}-identities-roles",
            identity_pool_id=self.identity_pool.id,
            roles={"unauthenticated": self.guest_role.arn},
            opts=child,
        )

        # --- the private bucket ---
        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            force_destroy=True,  # only build output lives here; `pulumi destroy` may empty it
            opts=child,
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-bucket-private",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-bucket-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},  # no ACLs at all
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-bucket-encryption",
            bucket=self.bucket.id,
            # SSE-S3: CloudFront's OAC reads it without a KMS key policy; the page is public content anyway.
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )

        # --- CloudFront ---
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            description="CloudFront reads the chat page bucket, signing every request",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        short_cache = aws.cloudfront.CachePolicy(
            f"{name}-short-cache",
            comment="index.html and config.js: at most a minute old after a deploy",
            min_ttl=0,
            default_ttl=SHORT_TTL_SECONDS,
            max_ttl=SHORT_TTL_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=child,
        )
        self.headers_policy = aws.cloudfront.ResponseHeadersPolicy(
            f"{name}-security-headers",
            comment="Strict CSP, HSTS and friends for the chat page",
            security_headers_config={
                "content_security_policy": {
                    "content_security_policy": pulumi.Output.from_input(args.region).apply(
                        lambda region: content_security_policy(aws_endpoints(region))
                    ),
                    "override": True,
                },
                "strict_transport_security": {
                    "access_control_max_age_sec": HSTS_SECONDS,
                    "include_subdomains": True,
                    "preload": True,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "referrer_policy": {"referrer_policy": "strict-origin-when-cross-origin", "override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
            },
            opts=child,
        )
        strip_api_prefix = aws.cloudfront.Function(
            f"{name}-strip-api-prefix",
            runtime="cloudfront-js-2.0",
            comment="/api/escalate -> /escalate before the request reaches API Gateway",
            code=STRIP_API_PREFIX,
            publish=True,
            opts=child,
        )
        read_only = ["GET", "HEAD"]
        self.web_acl = self._api_rate_limit(name, args.api_rate_limit_per_ip) if args.api_rate_limit_per_ip else None
        self.distribution = aws.cloudfront.Distribution(
            f"{name}-cdn",
            web_acl_id=self.web_acl.arn if self.web_acl else None,
            comment="support-chatbot chat page and API",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class="PriceClass_100",  # North America and Europe edges: the cheapest class
            default_root_object="index.html",
            aliases=[args.custom_domain] if args.custom_domain else [],
            origins=[
                {
                    "origin_id": SITE_ORIGIN,
                    "domain_name": self.bucket.bucket_regional_domain_name,
                    "origin_access_control_id": oac.id,
                },
                {
                    "origin_id": API_ORIGIN,
                    "domain_name": args.api_origin_domain,
                    "origin_path": args.api_origin_path,
                    "custom_origin_config": {
                        "http_port": 80,
                        "https_port": 443,
                        "origin_protocol_policy": "https-only",
                        "origin_ssl_protocols": ["TLSv1.2"],
                    },
                },
            ],
            default_cache_behavior={
                "target_origin_id": SITE_ORIGIN,
                "viewer_protocol_policy": "redirect-to-https",
                "allowed_methods": read_only,
                "cached_methods": read_only,
                "compress": True,
                "cache_policy_id": short_cache.id,
                "response_headers_policy_id": self.headers_policy.id,
            },
            ordered_cache_behaviors=[
                {
                    "path_pattern": f"{API_BASE_PATH}/*",
                    "target_origin_id": API_ORIGIN,
                    "viewer_protocol_policy": "https-only",  # a redirected POST would lose its body
                    "allowed_methods": ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                    "cached_methods": read_only,
                    "compress": True,
                    "cache_policy_id": CACHING_DISABLED,
                    "origin_request_policy_id": ALL_VIEWER_EXCEPT_HOST_HEADER,
                    "response_headers_policy_id": self.headers_policy.id,
                    "function_associations": [{"event_type": "viewer-request", "function_arn": strip_api_prefix.arn}],
                },
                {
                    "path_pattern": f"/{ASSETS_PREFIX}*",
                    "target_origin_id": SITE_ORIGIN,
                    "viewer_protocol_policy": "redirect-to-https",
                    "allowed_methods": read_only,
                    "cached_methods": read_only,
                    "compress": True,
                    "cache_policy_id": CACHING_OPTIMIZED,
                    "response_headers_policy_id": self.headers_policy.id,
                },
            ],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate=(
                {
                    "acm_certificate_arn": args.certificate_arn,
                    "ssl_support_method": "sni-only",
                    "minimum_protocol_version": "TLSv1.2_2021",
                }
                if args.certificate_arn
                else {"cloudfront_default_certificate": True}
            ),
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
                lambda arns: cloudfront_read_policy(arns[0], arns[1])
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )

        # --- the page and its config.js ---
        for key, path in files.items():
            aws.s3.BucketObjectv2(
                f"{name}-file-{key}",
                bucket=self.bucket.id,
                key=key,
                source=pulumi.FileAsset(str(path)),
                content_type=content_type(key),
                cache_control=cache_control(key),
                opts=child,
            )
        self.config_js: pulumi.Output[str] = pulumi.Output.all(
            args.region, self.identity_pool.id, args.bot_id, args.bot_alias_id, args.locale_id
        ).apply(
            lambda values: render_config_js(
                {
                    "region": values[0],
                    "identityPoolId": values[1],
                    "botId": values[2],
                    "botAliasId": values[3],
                    "localeId": values[4],
                    "apiBasePath": API_BASE_PATH,
                    "lexEndpoint": aws_endpoints(values[0])[1],
                    "cognitoEndpoint": aws_endpoints(values[0])[0],
                    "suggestions": list(args.suggestions),
                }
            )
        )
        aws.s3.BucketObjectv2(
            f"{name}-file-{CONFIG_FILE}",
            bucket=self.bucket.id,
            key=CONFIG_FILE,
            content=self.config_js,
            content_type=content_type(CONFIG_FILE),
            cache_control=cache_control(CONFIG_FILE),
            opts=child,
        )

        self.site_url: pulumi.Output[str] = (
            pulumi.Output.from_input(f"https://{args.custom_domain}")
            if args.custom_domain
            else pulumi.Output.concat("https://", self.distribution.domain_name)
        )
        self.register_outputs(
            {
                "site_url": self.site_url,
                "identity_pool_id": self.identity_pool.id,
                "distribution_id": self.distribution.id,
                "bucket": self.bucket.bucket,
            }
        )

    def _api_rate_limit(self, name: str, limit: int) -> aws.wafv2.WebAcl:
        """A web ACL blocking an IP that sends more than `limit` requests to /api/* in 5 minutes.

        Escalations email people and the query log costs writes: a flood from one address is stopped at the edge.
        CloudFront web ACLs live in us-east-1 whatever the stack's region.
        """
        rule = "api-requests-per-ip"
        return aws.wafv2.WebAcl(
            f"{name}-api-rate-limit",
            region="us-east-1",
            scope="CLOUDFRONT",
            description="Rate limit per IP on the chat page's /api/*",
            default_action={"allow": {}},
            rules=[
                {
                    "name": rule,
                    "priority": 0,
                    "action": {"block": {}},
                    "statement": {
                        "rate_based_statement": {
                            "limit": limit,
                            "aggregate_key_type": "IP",
                            "evaluation_window_sec": 300,
                            "scope_down_statement": {
                                "byte_match_statement": {
                                    "search_string": "/api/",
                                    "positional_constraint": "STARTS_WITH",
                                    "field_to_match": {"uri_path": {}},
                                    "text_transformations": [{"priority": 0, "type": "NONE"}],
                                }
                            },
                        }
                    },
                    "visibility_config": {
                        "cloudwatch_metrics_enabled": True,
                        "metric_name": rule,
                        "sampled_requests_enabled": True,
                    },
                }
            ],
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": f"{name}-api-rate-limit",
                "sampled_requests_enabled": True,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )


def render_config_js(values: Mapping[str, object]) -> str:
    """The page's config.js: `window.CHATBOT_CONFIG = {...};` with exactly CONFIG_KEYS, JSON-encoded so no value
    can end the script (`</script>`, `<!--`), break a line (U+2028) or be anything but data."""
    missing = [key for key in CONFIG_KEYS if key not in values]
    unknown = sorted(set(values) - set(CONFIG_KEYS))
    if missing or unknown:
        raise ValueError(f"config.js needs exactly {list(CONFIG_KEYS)}; missing {missing}, unknown {unknown}")
    body = json.dumps({key: values[key] for key in CONFIG_KEYS}, indent=2, ensure_ascii=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        body = body.replace(char, escaped)  # only inside strings: JSON has no bare <, > or &
    return f"window.CHATBOT_CONFIG = {body};\n"


def site_files(site_dir: Path) -> dict[str, Path]:
    """Every file of the built page by its object key (posix path under `site_dir`), config.js excluded."""
    if not (site_dir / "index.html").is_file():
        raise SiteBuildMissingError(
            f"{site_dir / 'index.html'} not found: the chat page is not built; run `make site` (it builds site/dist)"
        )
    files = {}
    for path in sorted(site_dir.rglob("*")):
        key = path.relative_to(site_dir).as_posix()
        if path.is_file() and key not in SKIPPED_FILES:
            files[key] = path
    return files


def content_type(key: str) -> str:
    """The Content-Type S3 should serve `key` with."""
    suffix = Path(key).suffix.lower()
    return CONTENT_TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def cache_control(key: str) -> str:
    """Content-hashed assets are immutable for a year; everything else (index.html, config.js) is short-lived."""
    return IMMUTABLE if key.startswith(ASSETS_PREFIX) else SHORT


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


def guest_trust_policy(identity_pool_id: str) -> str:
    """Only this pool's unauthenticated identities may assume the guest role (web identity from Cognito)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {
                        "StringEquals": {"cognito-identity.amazonaws.com:aud": identity_pool_id},
                        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"},
                    },
                }
            ],
        }
    )


def cloudfront_read_policy(bucket_arn: str, distribution_arn: str) -> str:
    """The bucket policy: CloudFront may read objects, and only on behalf of this one distribution."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudFrontReadsThePage",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudfront.amazonaws.com"},
                    "Action": "s3:GetObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
                }
            ],
        }
    )
