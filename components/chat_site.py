"""ChatSite: the chat page on a private bucket behind CloudFront, its config.js, guest credentials, and /api/*.

What the page is served with (config.js, security headers, content types, cache rules) is `contracts.page`,
which the local stack serves too; the API's base path is `contracts.stack.API_BASE_PATH`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import cloudfront_read_policy
from components.log_bucket import CLOUDFRONT_LOG_PREFIX, S3_LOG_PREFIX, LogBucket, LogBucketArgs
from components.private_bucket import make_private
from contracts.branding import Branding
from contracts.embedding import check_embed_origins
from contracts.knowledge import DOCUMENTS_PATH
from contracts.page import (
    ADMIN_PAGE_PATH,
    ASSETS_PREFIX,
    CONFIG_FILE,
    SHORT_CACHE_SECONDS,
    STAFF_SIGN_IN_KEY,
    aws_endpoints,
    cache_control,
    content_security_policy,
    content_type,
    render_config_js,
    security_headers,
)
from contracts.stack import ADMIN_BASE_PATH, API_BASE_PATH, ORIGIN_SECRET_HEADER, STAFF_TOKEN_HEADER

SITE_DIR = Path(__file__).resolve().parent.parent / "site" / "dist"
# Not site content: the build's size report, make's marker, and config.js (each deployment writes its own).
SKIPPED_FILES = frozenset({CONFIG_FILE})  # the page's config.js is generated per stack
BUILD_REPORTS = frozenset({"size.json", ".built"})  # the build's own records, in any folder: never served
# CloudFront's managed policies (ids are fixed by AWS).
CACHING_OPTIMIZED = "658327ea-f89d-4fab-a63d-7e88639e58f6"  # 1 day default, 1 year max; gzip + brotli
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
ALL_VIEWER_EXCEPT_HOST_HEADER = "b689b0a8-53d0-40ab-baf2-68738e2966ac"  # API Gateway needs its own Host
SITE_ORIGIN = "site-bucket"
DOCUMENTS_ORIGIN = "documents-bucket"
API_ORIGIN = "escalation-api"  # the REST API's origin id, as first deployed (an id only; any name would do)
READ_ONLY = ["GET", "HEAD"]
ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
# CloudFront sends the viewer's path to the origin after the origin path, so /api/escalate would reach the
# API as /live/api/escalate. This viewer-request function drops the base path: /live/escalate.
STRIP_API_PREFIX = f"""function handler(event) {{
  var request = event.request;
  if (request.uri === '{API_BASE_PATH}' || request.uri.indexOf('{API_BASE_PATH}/') === 0) {{
    request.uri = request.uri.substring({len(API_BASE_PATH)}) || '/';
  }}
  return request;
}}
"""
ADMIN_PATH = ADMIN_PAGE_PATH.rstrip("/")  # `/admin`
# S3 has no index documents behind an origin access control: /admin/ is the build's admin/index.html, and /admin
# (no slash) is sent to /admin/, the one address sign-in returns to.
ADMIN_INDEX = f"""function handler(event) {{
  var request = event.request;
  if (request.uri === '{ADMIN_PATH}') {{
    var location = {{ value: '{ADMIN_PAGE_PATH}' }};
    return {{ statusCode: 301, statusDescription: 'Moved Permanently', headers: {{ location: location }} }};
  }}
  if (request.uri === '{ADMIN_PAGE_PATH}') {{
    request.uri = '{ADMIN_PAGE_PATH}index.html';
  }}
  return request;
}}
"""


# The documents' object keys are their paths under knowledge/ (`guides/vpn.md`), which the page links at
# /knowledge/guides/vpn.md: this viewer-request function drops the prefix before the request reaches the bucket.
STRIP_DOCUMENTS_PREFIX = f"""function handler(event) {{
  var request = event.request;
  if (request.uri.indexOf('{DOCUMENTS_PATH}') === 0) {{
    request.uri = request.uri.substring({len(DOCUMENTS_PATH) - 1});
  }}
  return request;
}}
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
    api_origin_secret: pulumi.Input[str]
    """What CloudFront sends the API in `contracts.stack.ORIGIN_SECRET_HEADER` (`OriginSecret.header_value`): the API
    answers nothing else."""
    suggestions: Sequence[str]
    """Questions the page offers as buttons (the bot definition's), unless `branding` names its own."""
    branding: Branding = field(default_factory=Branding)
    """The page's name, words, accent colour, logo and privacy notice (`contracts.branding`). Default: today's look."""
    site_dir: Path = SITE_DIR
    """The built page. Default: `site/dist`, which `make site` builds."""
    custom_domain: str | None = None
    """Domain for the page, e.g. chat.example.com (its DNS record is yours to add). None: the CloudFront domain."""
    certificate_arn: str | None = None
    """ACM certificate in us-east-1 covering `custom_domain`; set together with it. None: CloudFront's own."""
    api_rate_limit_per_ip: int | None = None
    """Requests one IP may send to /api/* in 5 minutes before AWS WAF blocks it. None: no web ACL (no idle cost)."""
    staff_sign_in: pulumi.Input[Mapping[str, str]] | None = None
    """config.js's `staffSignIn` (`StaffAccess.sign_in`): where the admin page signs staff in. With it, the site
    serves the admin page at /admin/ (with its own CSP). None: no admin page."""
    staff_sign_in_domain: pulumi.Input[str] | None = None
    """The sign-in domain (`StaffAccess.sign_in_domain`), the one place besides its own origin the admin page may
    call (its CSP's connect-src: the OAuth 2.0 token endpoint). Set together with `staff_sign_in`."""
    embed_origins: Sequence[str] = ()
    """`https://` origins of the sites that may frame the page (`embed.js`): the CSP's frame-ancestors and
    config.js's `embedOrigins`. Empty: no site may frame it (frame-ancestors 'none', X-Frame-Options DENY)."""
    access_log_retention_days: int | None = None
    """Days CloudFront's and the page bucket's access logs are kept in a log bucket. None: no access logs, no log
    bucket (they hold visitors' IP addresses; an empty bucket costs nothing, logs cost S3 storage)."""
    documents_domain: pulumi.Input[str] | None = None
    """The knowledge base's documents bucket (regional domain), served read-only at `contracts.knowledge.
    DOCUMENTS_PATH` through the same origin access control, so an answer's sources link to the documents. Its owner
    lets this distribution read it (`KnowledgeBase.serve_documents_to`). None: no documents served."""


class ChatSite(pulumi.ComponentResource):
    """The hosted chat page: private bucket + CloudFront (OAC), config.js, Cognito guest access, /api/* proxy."""

    def __init__(self, name: str, args: ChatSiteArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if (args.custom_domain is None) != (args.certificate_arn is None):
            raise ValueError("ChatSiteArgs.custom_domain and .certificate_arn are set together or not at all")
        if (args.staff_sign_in is None) != (args.staff_sign_in_domain is None):
            raise ValueError("ChatSiteArgs.staff_sign_in and .staff_sign_in_domain are set together or not at all")
        try:
            embed_origins = check_embed_origins(args.embed_origins)
        except ValueError as exc:
            raise ValueError(f"ChatSiteArgs.embed_origins: {exc}") from None
        files = site_files(args.site_dir)  # a missing build fails before anything is registered
        super().__init__("support-chatbot:index:ChatSite", name, None, opts)
        self._name = name

        self.identity_pool, self.guest_role = self._guest_access()
        self.identity_pool_id = self.identity_pool.id
        self.bucket, public_access_block = self._bucket()
        self.access_logs = self._access_logs(args.access_log_retention_days) if args.access_log_retention_days else None
        self.headers_policy = self._headers_policy(args.region, embed_origins)
        self.admin_headers_policy = (
            self._admin_headers_policy(args.staff_sign_in_domain) if args.staff_sign_in_domain is not None else None
        )
        self.web_acl = self._api_rate_limit(args.api_rate_limit_per_ip) if args.api_rate_limit_per_ip else None
        self.distribution = self._distribution(args)
        self._bucket_policy(public_access_block)
        self._page_files(files)
        self.config_js = self._config_js(args)

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

    def _guest_access(self) -> tuple[aws.cognito.IdentityPool, aws.iam.Role]:
        """The browser talks to Lex with guest credentials of a role that can do nothing by itself: the bot's
        owner grants it the one alias (`SupportBot.grant_conversation`), so access is granted by the owner."""
        child = pulumi.ResourceOptions(parent=self)
        pool = aws.cognito.IdentityPool(
            f"{self._name}-identities",
            identity_pool_name=re.sub(r"[^\w]", "_", f"{pulumi.get_project()}_{pulumi.get_stack()}_{self._name}")[:128],
            allow_unauthenticated_identities=True,
            allow_classic_flow=False,  # enhanced flow only: the pool's role, scoped below, never a caller's choice
            opts=child,
        )
        role = aws.iam.Role(
            f"{self._name}-guest",
            description="Chat page visitors (Cognito guests): talk to the bot's live alias, nothing else",
            assume_role_policy=pool.id.apply(guest_trust_policy),
            opts=child,
        )
        aws.cognito.IdentityPoolRoleAttachment(
            f"{self._name}-identities-roles",
            identity_pool_id=pool.id,
            roles={"unauthenticated": role.arn},
            opts=child,
        )
        return pool, role

    def _bucket(self) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        """The private bucket: public access blocked four times over, no ACLs, encrypted at rest."""
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(
            f"{self._name}-bucket",
            force_destroy=True,  # only build output lives here; `pulumi destroy` may empty it
            opts=child,
        )
        public_access_block = make_private(f"{self._name}-bucket", bucket, parent=self)
        return bucket, public_access_block

    def _access_logs(self, retention_days: int) -> LogBucket:
        """A log bucket for CloudFront's standard logs and the page bucket's server access logs."""
        logs = LogBucket(
            f"{self._name}-logs",
            LogBucketArgs(retention_days=retention_days, s3_sources=[self.bucket.arn]),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.s3.BucketLogging(
            f"{self._name}-bucket-logging",
            bucket=self.bucket.id,
            target_bucket=logs.bucket.id,
            target_prefix=S3_LOG_PREFIX,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return logs

    def _headers_policy(
        self, region: pulumi.Input[str], embed_origins: Sequence[str]
    ) -> aws.cloudfront.ResponseHeadersPolicy:
        """Every security header of the page contract on every response: those CloudFront models in its security
        headers config, the rest (Permissions-Policy, Cross-Origin-Opener-Policy) as custom headers. The CSP's
        frame-ancestors names exactly the embedding sites."""
        headers = pulumi.Output.from_input(region).apply(
            lambda name: cloudfront_response_headers(
                security_headers(
                    content_security_policy(aws_endpoints(name), embed_origins), framed=bool(embed_origins)
                )
            )
        )
        return aws.cloudfront.ResponseHeadersPolicy(
            f"{self._name}-security-headers",
            comment="Strict CSP, HSTS and friends for the chat page",
            security_headers_config=headers.apply(lambda config: config[0]),
            custom_headers_config=headers.apply(lambda config: config[1]),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _admin_headers_policy(self, sign_in_domain: pulumi.Input[str]) -> aws.cloudfront.ResponseHeadersPolicy:
        """The admin page's headers: the page contract's, with a CSP whose only other connect-src is the staff
        sign-in domain (the page trades its code for tokens there); it never calls Lex or Cognito Identity."""
        headers = pulumi.Output.from_input(sign_in_domain).apply(
            lambda domain: cloudfront_response_headers(security_headers(content_security_policy([domain])))
        )
        return aws.cloudfront.ResponseHeadersPolicy(
            f"{self._name}-admin-security-headers",
            comment="Strict CSP, HSTS and friends for the staff admin page",
            security_headers_config=headers.apply(lambda config: config[0]),
            custom_headers_config=headers.apply(lambda config: config[1]),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _admin_behaviour(
        self, cache_policy_id: pulumi.Input[str]
    ) -> list[aws.cloudfront.DistributionOrderedCacheBehaviorArgs]:
        """/admin and everything below it: the admin page (index rewrite, short cache, its own headers)."""
        if self.admin_headers_policy is None:
            return []
        admin_index = aws.cloudfront.Function(
            f"{self._name}-admin-index",
            runtime="cloudfront-js-2.0",
            comment=f"{ADMIN_PAGE_PATH} -> {ADMIN_PAGE_PATH}index.html, {ADMIN_PATH} -> {ADMIN_PAGE_PATH}",
            code=ADMIN_INDEX,
            publish=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=f"{ADMIN_PATH}*",
                **cache_behaviour(SITE_ORIGIN, cache_policy_id, self.admin_headers_policy.id),
                function_associations=[
                    aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                        event_type="viewer-request", function_arn=admin_index.arn
                    )
                ],
            )
        ]

    def _staff_api_behaviour(
        self, strip_api_prefix: pulumi.Input[str]
    ) -> list[aws.cloudfront.DistributionOrderedCacheBehaviorArgs]:
        """/api/admin/*: as /api/*, but the staff token reaches the API. CloudFront forwards `Authorization` on a GET
        only when the cache policy keys on it (an origin request policy cannot): this one does, with every query
        string, and keeps an answer a second at most (none at all unless the API's Cache-Control allows it)."""
        if self.admin_headers_policy is None:
            return []
        staff_api_cache = aws.cloudfront.CachePolicy(
            f"{self._name}-staff-api",
            comment="Staff API: forwards the sign-in token; answers kept per token and query, a second at most",
            min_ttl=0,
            default_ttl=0,
            max_ttl=1,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "whitelist", "headers": {"items": [STAFF_TOKEN_HEADER]}},
                "query_strings_config": {"query_string_behavior": "all"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=f"{API_BASE_PATH}{ADMIN_BASE_PATH}/*",
                **{
                    **cache_behaviour(API_ORIGIN, staff_api_cache.id, self.headers_policy.id),
                    "viewer_protocol_policy": "https-only",
                },
                origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_HEADER,
                function_associations=[
                    aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                        event_type="viewer-request", function_arn=strip_api_prefix
                    )
                ],
            )
        ]

    def _distribution(self, args: ChatSiteArgs) -> aws.cloudfront.Distribution:
        """One distribution for the page and the API: the bucket through an origin access control, /api/* to the
        REST API's stage without the base path, hashed assets cached long and the rest briefly."""
        child = pulumi.ResourceOptions(parent=self)
        oac = aws.cloudfront.OriginAccessControl(
            f"{self._name}-oac",
            description="CloudFront reads the chat page bucket, signing every request",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=child,
        )
        short_cache = self._short_cache_policy()
        documents = self._documents_behaviour(args, short_cache.id)
        strip_api_prefix = aws.cloudfront.Function(
            f"{self._name}-strip-api-prefix",
            runtime="cloudfront-js-2.0",
            comment=f"{API_BASE_PATH}/escalate -> /escalate before the request reaches API Gateway",
            code=STRIP_API_PREFIX,
            publish=True,
            opts=child,
        )
        return aws.cloudfront.Distribution(
            f"{self._name}-cdn",
            web_acl_id=self.web_acl.arn if self.web_acl else None,
            comment="support-chatbot chat page and API",
            enabled=True,
            is_ipv6_enabled=True,
            http_version="http2and3",
            price_class="PriceClass_100",  # North America and Europe edges: the cheapest class
            default_root_object="index.html",
            aliases=[args.custom_domain] if args.custom_domain else [],
            origins=origins(self.bucket.bucket_regional_domain_name, oac.id, args)
            + (
                [
                    aws.cloudfront.DistributionOriginArgs(
                        origin_id=DOCUMENTS_ORIGIN, domain_name=args.documents_domain, origin_access_control_id=oac.id
                    )
                ]
                if args.documents_domain is not None
                else []
            ),
            default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                **cache_behaviour(SITE_ORIGIN, short_cache.id, self.headers_policy.id)
            ),
            ordered_cache_behaviors=[
                *self._staff_api_behaviour(strip_api_prefix.arn),
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=f"{API_BASE_PATH}/*",
                    **{
                        **cache_behaviour(API_ORIGIN, CACHING_DISABLED, self.headers_policy.id),
                        "viewer_protocol_policy": "https-only",  # a redirected POST would lose its body
                        "allowed_methods": ALL_METHODS,
                    },
                    origin_request_policy_id=ALL_VIEWER_EXCEPT_HOST_HEADER,
                    function_associations=[
                        aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                            event_type="viewer-request", function_arn=strip_api_prefix.arn
                        )
                    ],
                ),
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=f"/{ASSETS_PREFIX}*",
                    **cache_behaviour(SITE_ORIGIN, CACHING_OPTIMIZED, self.headers_policy.id),
                ),
                *self._admin_behaviour(short_cache.id),
                *documents,
            ],
            restrictions={"geo_restriction": {"restriction_type": "none"}},
            viewer_certificate=viewer_certificate(args.certificate_arn),
            logging_config=(
                aws.cloudfront.DistributionLoggingConfigArgs(
                    bucket=self.access_logs.domain_name, include_cookies=False, prefix=CLOUDFRONT_LOG_PREFIX
                )
                if self.access_logs
                else None
            ),
            opts=child,
        )

    def _documents_behaviour(
        self, args: ChatSiteArgs, short_cache_id: pulumi.Input[str]
    ) -> list[aws.cloudfront.DistributionOrderedCacheBehaviorArgs]:
        """/knowledge/* from the documents bucket, read-only, at most a minute old after a deploy; none without it."""
        if args.documents_domain is None:
            return []
        strip_prefix = aws.cloudfront.Function(
            f"{self._name}-strip-documents-prefix",
            runtime="cloudfront-js-2.0",
            comment=f"{DOCUMENTS_PATH}guides/vpn.md -> /guides/vpn.md before the request reaches the documents bucket",
            code=STRIP_DOCUMENTS_PREFIX,
            publish=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=f"{DOCUMENTS_PATH}*",
                **cache_behaviour(DOCUMENTS_ORIGIN, short_cache_id, self.headers_policy.id),
                function_associations=[
                    aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
                        event_type="viewer-request", function_arn=strip_prefix.arn
                    )
                ],
            )
        ]

    def _short_cache_policy(self) -> aws.cloudfront.CachePolicy:
        """index.html and config.js: at most SHORT_CACHE_SECONDS old after a deploy."""
        return aws.cloudfront.CachePolicy(
            f"{self._name}-short-cache",
            comment="index.html and config.js: at most a minute old after a deploy",
            min_ttl=0,
            default_ttl=SHORT_CACHE_SECONDS,
            max_ttl=SHORT_CACHE_SECONDS,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _bucket_policy(self, public_access_block: aws.s3.BucketPublicAccessBlock) -> aws.s3.BucketPolicy:
        """CloudFront may read the page, on behalf of this distribution only."""
        return aws.s3.BucketPolicy(
            f"{self._name}-bucket-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, self.distribution.arn).apply(
                lambda arns: cloudfront_read_policy(arns[0], arns[1], sid="CloudFrontReadsThePage")
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )

    def _page_files(self, files: Mapping[str, Path]) -> None:
        """Every built file, with its content type and cache rule."""
        for key, path in files.items():
            aws.s3.BucketObjectv2(
                f"{self._name}-file-{key}",
                bucket=self.bucket.id,
                key=key,
                source=pulumi.FileAsset(str(path)),
                content_type=content_type(key),
                cache_control=cache_control(key),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _config_js(self, args: ChatSiteArgs) -> pulumi.Output[str]:
        """config.js made from the stack's outputs, uploaded next to the page."""
        config_js = pulumi.Output.all(
            args.region, self.identity_pool.id, args.bot_id, args.bot_alias_id, args.locale_id, args.staff_sign_in
        ).apply(
            lambda values: page_config(
                *values[:5],
                suggestions=args.suggestions,
                staff_sign_in=values[5],
                embed_origins=args.embed_origins,
                branding=args.branding,
            )
        )
        aws.s3.BucketObjectv2(
            f"{self._name}-file-{CONFIG_FILE}",
            bucket=self.bucket.id,
            key=CONFIG_FILE,
            content=config_js,
            content_type=content_type(CONFIG_FILE),
            cache_control=cache_control(CONFIG_FILE),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return config_js

    def _api_rate_limit(self, limit: int) -> aws.wafv2.WebAcl:
        """A web ACL blocking an IP that sends more than `limit` requests to /api/* in 5 minutes.

        Escalations email people and the query log costs writes: a flood from one address is stopped at the edge.
        CloudFront web ACLs live in us-east-1 whatever the stack's region.
        """
        rule = "api-requests-per-ip"
        return aws.wafv2.WebAcl(
            f"{self._name}-api-rate-limit",
            region="us-east-1",
            scope="CLOUDFRONT",
            # WAFv2 descriptions allow letters, digits, spaces and `+=:#@/-,.` only: no apostrophe, no `*`.
            description=f"Rate limit per IP on {API_BASE_PATH}/ paths of the chat page",
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
                                    "search_string": f"{API_BASE_PATH}/",
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
                "metric_name": f"{self._name}-api-rate-limit",
                "sampled_requests_enabled": True,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )


def page_config(
    region: str,
    identity_pool_id: str,
    bot_id: str,
    bot_alias_id: str,
    locale_id: str,
    *,
    suggestions: Sequence[str],
    staff_sign_in: Mapping[str, str] | None = None,
    embed_origins: Sequence[str] = (),
    branding: Branding | None = None,
) -> str:
    """The page's config.js for this stack: its bot, guest pool, the API's base path, the AWS endpoints, where staff
    sign in when the stack has an admin page, the sites that may embed it and its branding (only the keys set)."""
    cognito_endpoint, lex_endpoint = aws_endpoints(region)
    staff = {STAFF_SIGN_IN_KEY: dict(staff_sign_in)} if staff_sign_in is not None else {}
    return render_config_js(
        {
            **staff,
            "region": region,
            "identityPoolId": identity_pool_id,
            "botId": bot_id,
            "botAliasId": bot_alias_id,
            "localeId": locale_id,
            "apiBasePath": API_BASE_PATH,
            "lexEndpoint": lex_endpoint,
            "cognitoEndpoint": cognito_endpoint,
            **(branding or Branding()).config_values(default_suggestions=suggestions),
            "embedOrigins": list(embed_origins),
        }
    )


def origins(
    bucket_domain: pulumi.Input[str], access_control_id: pulumi.Input[str], args: ChatSiteArgs
) -> list[aws.cloudfront.DistributionOriginArgs]:
    """The distribution's two origins: the page's bucket (signed by the origin access control) and the REST API's
    stage over HTTPS, with the origin secret the API requires."""
    return [
        aws.cloudfront.DistributionOriginArgs(
            origin_id=SITE_ORIGIN, domain_name=bucket_domain, origin_access_control_id=access_control_id
        ),
        aws.cloudfront.DistributionOriginArgs(
            origin_id=API_ORIGIN,
            domain_name=args.api_origin_domain,
            origin_path=args.api_origin_path,
            # CloudFront sets this header on every request it forwards, replacing one a viewer sent.
            custom_headers=[
                aws.cloudfront.DistributionOriginCustomHeaderArgs(
                    name=ORIGIN_SECRET_HEADER, value=pulumi.Output.secret(args.api_origin_secret)
                )
            ],
            custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                http_port=80,
                https_port=443,
                origin_protocol_policy="https-only",
                origin_ssl_protocols=["TLSv1.2"],
            ),
        ),
    ]


def cache_behaviour(
    origin: str, cache_policy_id: pulumi.Input[str], headers_policy_id: pulumi.Input[str]
) -> dict[str, Any]:
    """A read-only, compressed, HTTPS behaviour for `origin` with the security headers on every response (the
    arguments of a cache behaviour, default or ordered)."""
    return {
        "target_origin_id": origin,
        "viewer_protocol_policy": "redirect-to-https",
        "allowed_methods": READ_ONLY,
        "cached_methods": READ_ONLY,
        "compress": True,
        "cache_policy_id": cache_policy_id,
        "response_headers_policy_id": headers_policy_id,
    }


def viewer_certificate(certificate_arn: str | None) -> aws.cloudfront.DistributionViewerCertificateArgs:
    """The ACM certificate over SNI and TLS 1.2+ for a custom domain; else CloudFront's own certificate."""
    if certificate_arn is None:
        return aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True)
    return aws.cloudfront.DistributionViewerCertificateArgs(
        acm_certificate_arn=certificate_arn, ssl_support_method="sni-only", minimum_protocol_version="TLSv1.2_2021"
    )


def cloudfront_response_headers(
    headers: Mapping[str, str],
) -> tuple[
    aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs,
    aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs,
]:
    """`headers` as a CloudFront response headers policy takes them: (security headers config, custom headers
    config). The headers CloudFront models go in the first with their values parsed; every other header is a
    custom header. Each overrides what the origin sends."""
    security: dict[str, Any] = {}
    custom: list[aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs] = []
    for header, value in headers.items():
        match header.lower():
            case "content-security-policy":
                security["content_security_policy"] = {"content_security_policy": value, "override": True}
            case "strict-transport-security":
                security["strict_transport_security"] = _strict_transport_security(value)
            case "x-content-type-options":
                if value != "nosniff":  # the only value there is; CloudFront's model has no field for it
                    raise ValueError(f"X-Content-Type-Options can only be nosniff, got {value!r}")
                security["content_type_options"] = {"override": True}
            case "referrer-policy":
                security["referrer_policy"] = {"referrer_policy": value, "override": True}
            case "x-frame-options":
                security["frame_options"] = {"frame_option": value, "override": True}
            case _:
                custom.append(
                    aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigItemArgs(
                        header=header, value=value, override=True
                    )
                )
    return (
        aws.cloudfront.ResponseHeadersPolicySecurityHeadersConfigArgs(**security),
        aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgs(items=custom),
    )


def _strict_transport_security(value: str) -> dict[str, Any]:
    """A Strict-Transport-Security value (`max-age=N; includeSubDomains; preload`) as CloudFront's fields."""
    directives = [directive.strip() for directive in value.split(";") if directive.strip()]
    max_age = [d for d in directives if d.lower().startswith("max-age=")]
    flags = {d.lower() for d in directives} - {d.lower() for d in max_age}
    if len(max_age) != 1 or not flags <= {"includesubdomains", "preload"}:
        raise ValueError(f"Strict-Transport-Security {value!r}: expected max-age=N and includeSubDomains, preload")
    return {
        "access_control_max_age_sec": int(max_age[0].split("=", 1)[1]),
        "include_subdomains": "includesubdomains" in flags,
        "preload": "preload" in flags,
        "override": True,
    }


def site_files(site_dir: Path) -> dict[str, Path]:
    """Every file of the built page by its object key (posix path under `site_dir`), config.js excluded."""
    if not (site_dir / "index.html").is_file():
        raise SiteBuildMissingError(
            f"{site_dir / 'index.html'} not found: the chat page is not built; run `make site` (it builds site/dist)"
        )
    files = {}
    for path in sorted(site_dir.rglob("*")):
        key = path.relative_to(site_dir).as_posix()
        if path.is_file() and key not in SKIPPED_FILES and path.name not in BUILD_REPORTS:
            files[key] = path
    return files


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
