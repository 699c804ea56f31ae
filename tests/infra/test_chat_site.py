"""ChatSite under Pulumi mocks: a private bucket only CloudFront reads, strict headers, /api/* to the API,
guest credentials for one bot alias, and a config.js made from the stack's outputs."""

from __future__ import annotations

import json
import re
from pathlib import Path

import botocore.session
import pytest
from botocore.model import StructureShape

from components.chat_site import ChatSite, ChatSiteArgs, SiteBuildMissingError, cloudfront_response_headers
from contracts.page import (
    PAGE_CONFIG_KEYS,
    STAFF_SIGN_IN_KEY,
    content_security_policy,
    render_config_js,
    security_headers,
    staff_sign_in,
)

REGION = "us-east-1"
API_DOMAIN = "abc123defg.execute-api.us-east-1.amazonaws.com"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
SUGGESTIONS = ("Where is my order?", "I forgot my password")
ORIGIN_SECRET = "an-origin-secret"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' https://cognito-identity.us-east-1.amazonaws.com "
    "https://runtime-v2-lex.us-east-1.amazonaws.com; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'; object-src 'none'; "
    "require-trusted-types-for 'script'; trusted-types 'none'"
)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory) -> Path:
    """A built page as `make site` leaves it: index.html, hashed assets, an icon, the build's own reports."""
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text("<!doctype html><title>Chat</title>")
    (root / "assets" / "app-165a1a99ad.js").write_text("console.log(1)")
    (root / "assets" / "app-f07e49e190.css").write_text("body{}")
    (root / "assets" / "inter-5c1e2d.woff2").write_bytes(b"wOF2")
    (root / "favicon.svg").write_text("<svg/>")
    (root / "size.json").write_text("{}")
    (root / ".built").write_text("")
    return root


def chat_site(site_dir: Path, **overrides):
    def program():
        values = {
            "region": REGION,
            "bot_id": "BOTID12345",
            "bot_alias_id": "ALIASID123",
            "locale_id": "en_US",
            "api_origin_domain": API_DOMAIN,
            "api_origin_path": "/live",
            "api_origin_secret": ORIGIN_SECRET,
            "suggestions": SUGGESTIONS,
            "site_dir": site_dir,
            **overrides,
        }
        site = ChatSite("site", ChatSiteArgs(**values))
        return {"site_url": site.site_url, "config_js": site.config_js, "identity_pool_id": site.identity_pool_id}

    return program


@pytest.fixture(scope="module")
def mocks(run_pulumi, site_dir):
    """One run with the defaults, shared by the tests that only read it."""
    return run_pulumi(chat_site(site_dir))


def behaviour(distribution, pattern: str) -> dict:
    found = [b for b in distribution.inputs["orderedCacheBehaviors"] if b["pathPattern"] == pattern]
    assert len(found) == 1, f"{distribution.urn}: no single behaviour for {pattern}"
    return found[0]


def test_bucket_is_private_owner_enforced_and_encrypted(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN public access is blocked four times over, ACLs are off and objects are encrypted at rest
    block = mocks.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block.inputs[flag] is True for flag in flags), f"{block.urn}: {block.inputs}"
    ownership = mocks.one("aws:s3/bucketOwnershipControls:BucketOwnershipControls")
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerEnforced", ownership.urn
    encryption = mocks.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    [rule] = encryption.inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] in ("AES256", "aws:kms"), encryption.urn


def test_bucket_policy_lets_only_this_distribution_read_objects(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN the bucket policy's one Allow statement lets CloudFront GetObject, pinned to this distribution's ARN (the
    # others only deny)
    bucket = mocks.one("aws:s3/bucket:Bucket")
    distribution = mocks.one(DISTRIBUTION)
    policy = mocks.one("aws:s3/bucketPolicy:BucketPolicy")
    [statement] = [s for s in policy.statements() if s["Effect"] != "Deny"]
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}, policy.urn
    assert statement["Action"] == ["s3:GetObject"], policy.urn
    assert statement["Resource"] == [f"{bucket.outputs['arn']}/*"], policy.urn
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}}, (
        f"{policy.urn} is not pinned to the distribution"
    )


def test_distribution_reads_the_bucket_through_an_always_signing_oac(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN the bucket origin uses an origin access control that signs every request with SigV4
    oac = mocks.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert (oac.inputs["signingBehavior"], oac.inputs["signingProtocol"]) == ("always", "sigv4"), oac.urn
    assert oac.inputs["originAccessControlOriginType"] == "s3", oac.urn
    distribution = mocks.one(DISTRIBUTION)
    bucket = mocks.one("aws:s3/bucket:Bucket")
    [site_origin] = [o for o in distribution.inputs["origins"] if "originAccessControlId" in o]
    assert site_origin["domainName"] == bucket.outputs["bucketRegionalDomainName"], distribution.urn
    assert site_origin["originAccessControlId"] == oac.id, distribution.urn


def test_distribution_serves_https_only_compressed_over_http3_from_index_html(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN viewers are redirected to HTTPS, answers are compressed, and / serves index.html
    distribution = mocks.one(DISTRIBUTION)
    default = distribution.inputs["defaultCacheBehavior"]
    assert default["viewerProtocolPolicy"] == "redirect-to-https", distribution.urn
    assert default["compress"] is True, distribution.urn
    assert distribution.inputs["defaultRootObject"] == "index.html", distribution.urn
    assert distribution.inputs["httpVersion"] == "http2and3", distribution.urn
    assert distribution.inputs["priceClass"] == "PriceClass_100", distribution.urn
    assert distribution.inputs["viewerCertificate"] == {"cloudfrontDefaultCertificate": True}, distribution.urn


def test_api_paths_go_uncached_to_the_api_origin_without_the_api_prefix(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN /api/* reaches the API stage over HTTPS, every method, no caching, all viewer headers but Host
    distribution = mocks.one(DISTRIBUTION)
    [api_origin] = [o for o in distribution.inputs["origins"] if o["domainName"] == API_DOMAIN]
    assert api_origin["originPath"] == "/live", distribution.urn
    assert api_origin["customOriginConfig"]["originProtocolPolicy"] == "https-only", distribution.urn
    api = behaviour(distribution, "/api/*")
    assert api["targetOriginId"] == api_origin["originId"], distribution.urn
    assert {"POST", "OPTIONS", "GET"} <= set(api["allowedMethods"]), distribution.urn
    assert api["cachePolicyId"] == "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", f"{distribution.urn}: API answers cached"
    assert api["originRequestPolicyId"] == "b689b0a8-53d0-40ab-baf2-68738e2966ac", distribution.urn
    assert api["viewerProtocolPolicy"] == "https-only", f"{distribution.urn}: a redirected POST loses its body"
    # AND a viewer-request function strips /api
    function = mocks.one("aws:cloudfront/function:Function")
    assert api["functionAssociations"] == [{"eventType": "viewer-request", "functionArn": function.outputs["arn"]}]
    assert function.inputs["runtime"] == "cloudfront-js-2.0", function.urn


def test_hashed_assets_are_cached_long_and_the_rest_briefly(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN /assets/* uses CachingOptimized and everything else a policy of at most 60 s
    distribution = mocks.one(DISTRIBUTION)
    assert behaviour(distribution, "/assets/*")["cachePolicyId"] == "658327ea-f89d-4fab-a63d-7e88639e58f6"
    short = mocks.one("aws:cloudfront/cachePolicy:CachePolicy")
    assert distribution.inputs["defaultCacheBehavior"]["cachePolicyId"] == short.id, distribution.urn
    assert short.inputs["maxTtl"] <= 60, f"{short.urn}: index.html and config.js would be stale after a deploy"


def test_every_behaviour_sends_the_strict_security_headers(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN one headers policy with the CSP, 2-year preloaded HSTS, nosniff, referrer policy and DENY is on all paths
    policy = mocks.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    headers = policy.inputs["securityHeadersConfig"]
    assert headers["contentSecurityPolicy"] == {"contentSecurityPolicy": CSP, "override": True}, policy.urn
    hsts = headers["strictTransportSecurity"]
    assert (hsts["accessControlMaxAgeSec"], hsts["includeSubdomains"], hsts["preload"]) == (63072000, True, True)
    assert headers["contentTypeOptions"] == {"override": True}, policy.urn
    assert headers["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin", policy.urn
    assert headers["frameOptions"]["frameOption"] == "DENY", policy.urn
    distribution = mocks.one(DISTRIBUTION)
    behaviours = [distribution.inputs["defaultCacheBehavior"], *distribution.inputs["orderedCacheBehaviors"]]
    assert all(b["responseHeadersPolicyId"] == policy.id for b in behaviours), f"{distribution.urn}: a path lacks it"


def headers_sent(policy) -> dict[str, str]:
    """What a response headers policy makes CloudFront send, written as HTTP headers."""
    config = policy.inputs["securityHeadersConfig"]
    hsts = config["strictTransportSecurity"]
    max_age = int(hsts["accessControlMaxAgeSec"])  # numbers come back from the engine as floats
    sent = {
        "Content-Security-Policy": config["contentSecurityPolicy"]["contentSecurityPolicy"],
        "Strict-Transport-Security": f"max-age={max_age}"
        + ("; includeSubDomains" if hsts["includeSubdomains"] else "")
        + ("; preload" if hsts["preload"] else ""),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": config["referrerPolicy"]["referrerPolicy"],
        "X-Frame-Options": config["frameOptions"]["frameOption"],
    }
    for item in policy.inputs.get("customHeadersConfig", {}).get("items", []):
        assert item["header"] not in sent, f"{policy.urn} sends {item['header']} twice"
        sent[item["header"]] = item["value"]
    return sent


def test_cloudfront_sends_exactly_the_page_contracts_security_headers(mocks):
    # GIVEN the page contract's security headers for this region's Lex and Cognito endpoints
    expected = security_headers(CSP)
    # WHEN a ChatSite is created
    policy = mocks.one("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")
    # THEN CloudFront sends every one of them, with the same values, and no other, each overriding the origin's
    assert headers_sent(policy) == expected, f"{policy.urn} differs from contracts.page.security_headers"
    overrides = [h["override"] for h in policy.inputs["securityHeadersConfig"].values()]
    overrides += [item["override"] for item in policy.inputs["customHeadersConfig"]["items"]]
    assert all(overrides), f"{policy.urn}: a header does not override the origin's"


def test_a_security_header_cloudfront_cannot_carry_is_refused():
    # GIVEN a Strict-Transport-Security value with a directive CloudFront has no field for
    headers = {**security_headers(content_security_policy()), "Strict-Transport-Security": "max-age=1; always"}
    # WHEN / THEN turning it into a response headers policy fails, naming the header
    with pytest.raises(ValueError, match="Strict-Transport-Security"):
        cloudfront_response_headers(headers)


def test_every_built_file_is_uploaded_with_its_type_and_cache_control(mocks):
    # GIVEN a build with a page, hashed assets, a font and an icon (plus the build's own size report)
    # WHEN a ChatSite is created
    objects = {o.inputs["key"]: o.inputs for o in mocks.of_type(OBJECT)}
    # THEN each page file is an object with the right Content-Type; hashed assets are immutable for a year
    expected = {
        "index.html": ("text/html; charset=utf-8", "public, max-age=60, must-revalidate"),
        "favicon.svg": ("image/svg+xml", "public, max-age=60, must-revalidate"),
        "config.js": ("text/javascript; charset=utf-8", "public, max-age=60, must-revalidate"),
        "assets/app-165a1a99ad.js": ("text/javascript; charset=utf-8", "public, max-age=31536000, immutable"),
        "assets/app-f07e49e190.css": ("text/css; charset=utf-8", "public, max-age=31536000, immutable"),
        "assets/inter-5c1e2d.woff2": ("font/woff2", "public, max-age=31536000, immutable"),
    }
    assert {key: (o["contentType"], o["cacheControl"]) for key, o in objects.items()} == expected


def test_config_js_carries_the_stack_outputs(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN config.js sets window.CHATBOT_CONFIG with exactly the page's keys, taken from the outputs
    uploaded = next(o for o in mocks.of_type(OBJECT) if o.inputs["key"] == "config.js")
    assert uploaded.inputs["content"] == mocks.values["config_js"], uploaded.urn
    match = re.fullmatch(r"window\.CHATBOT_CONFIG = (\{.*\});\n", mocks.values["config_js"], re.DOTALL)
    assert match, f"config.js does not set window.CHATBOT_CONFIG: {mocks.values['config_js']!r}"
    assert json.loads(match.group(1)) == {
        "region": REGION,
        "identityPoolId": mocks.one("aws:cognito/identityPool:IdentityPool").id,
        "botId": "BOTID12345",
        "botAliasId": "ALIASID123",
        "localeId": "en_US",
        "apiBasePath": "/api",
        "lexEndpoint": "https://runtime-v2-lex.us-east-1.amazonaws.com",
        "cognitoEndpoint": "https://cognito-identity.us-east-1.amazonaws.com",
        "suggestions": list(SUGGESTIONS),
        "embedOrigins": [],
    }


def test_render_config_js_cannot_close_the_script_element():
    # GIVEN a suggestion that tries to end the script and inject markup
    values = {
        "region": REGION,
        "identityPoolId": "pool",
        "botId": "b",
        "botAliasId": "a",
        "localeId": "en_US",
        "apiBasePath": "/api",
        "lexEndpoint": "https://lex",
        "cognitoEndpoint": "https://cognito",
        "suggestions": ["</script><script>alert(1)</script>", "line\u2028break"],
    }
    # WHEN config.js is rendered
    rendered = render_config_js(values)
    # THEN no `<`, `>` or raw U+2028 survives, and the value still decodes to the same text
    for unsafe in ("<", ">", "\u2028"):
        assert unsafe not in rendered, f"{unsafe!r} left in config.js: {rendered}"
    body = rendered.removeprefix("window.CHATBOT_CONFIG = ").removesuffix(";\n")
    assert json.loads(body)["suggestions"] == values["suggestions"]


def test_render_config_js_refuses_missing_or_unknown_keys():
    # GIVEN values without botId and with an extra key
    values: dict[str, object] = {
        key: "x" for key in ("region", "identityPoolId", "botAliasId", "localeId", "apiBasePath")
    }
    values |= {"lexEndpoint": "x", "cognitoEndpoint": "x", "suggestions": [], "secret": "x"}
    # WHEN / THEN rendering fails naming both
    with pytest.raises(ValueError, match=r"missing \['botId'\], unknown \['secret'\]"):
        render_config_js(values)


def test_render_config_js_carries_the_optional_staff_sign_in_only_when_given():
    # GIVEN the page's values, with and without where staff sign in
    values: dict[str, object] = {key: "x" for key in PAGE_CONFIG_KEYS}
    sign_in = staff_sign_in("https://p.auth.us-east-1.amazoncognito.com", "client-1")
    # WHEN config.js is rendered each way
    without = json.loads(render_config_js(values).removeprefix("window.CHATBOT_CONFIG = ").removesuffix(";\n"))
    rendered = render_config_js({**values, STAFF_SIGN_IN_KEY: sign_in})
    with_sign_in = json.loads(rendered.removeprefix("window.CHATBOT_CONFIG = ").removesuffix(";\n"))
    # THEN staffSignIn appears only when given, as the admin page reads it
    assert STAFF_SIGN_IN_KEY not in without
    assert with_sign_in[STAFF_SIGN_IN_KEY] == {
        "domain": "https://p.auth.us-east-1.amazoncognito.com",
        "clientId": "client-1",
        "redirectPath": "/admin/",
    }


def test_a_chat_site_without_staff_sign_in_serves_no_admin_page(mocks):
    # GIVEN / WHEN a ChatSite given no staff sign-in
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    # THEN it has no /admin behaviour, one headers policy, and config.js says nothing of staff
    patterns = [b["pathPattern"] for b in distribution.inputs["orderedCacheBehaviors"]]
    assert not [p for p in patterns if p.startswith("/admin")], patterns
    assert len(mocks.of_type("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy")) == 1
    [config_js] = [o for o in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"] == "config.js"]
    assert STAFF_SIGN_IN_KEY not in config_js.inputs["content"]


def test_staff_sign_in_and_its_domain_go_together(run_pulumi, site_dir):
    # GIVEN a staff sign-in without the domain the admin page's CSP must allow
    sign_in = {"domain": "https://x", "clientId": "c", "redirectPath": "/admin/"}
    # WHEN / THEN the site refuses it, naming both arguments
    with pytest.raises(ValueError, match=r"staff_sign_in and \.staff_sign_in_domain"):
        run_pulumi(chat_site(site_dir, staff_sign_in=sign_in))


def test_guest_role_gets_no_permission_from_the_site_itself(mocks):
    # GIVEN / WHEN a ChatSite on its own
    # THEN its guest role can do nothing: only the bot's owner grants it the alias (see tests/infra/test_program.py)
    role = mocks.one("aws:iam/role:Role", "site-guest")
    policies = [p for p in mocks.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.id]
    assert policies == [], f"{role.urn} should get its only policy from SupportBot.grant_conversation"
    assert mocks.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment") == [], "no managed policy for guests"


def test_guest_role_trusts_only_this_pools_unauthenticated_identities(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN the trust policy is web identity from Cognito, pinned to the pool (aud) and to guests (amr)
    pool = mocks.one("aws:cognito/identityPool:IdentityPool")
    role = mocks.one("aws:iam/role:Role", "site-guest")
    [trust] = role.statements("assumeRolePolicy")
    assert trust["Principal"] == {"Federated": "cognito-identity.amazonaws.com"}, role.urn
    assert trust["Action"] == ["sts:AssumeRoleWithWebIdentity"], role.urn
    assert trust["Condition"] == {
        "StringEquals": {"cognito-identity.amazonaws.com:aud": pool.id},
        "ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "unauthenticated"},
    }, f"{role.urn} trusts identities of other pools or authenticated ones"


def test_identity_pool_gives_guests_the_guest_role_by_the_enhanced_flow(mocks):
    # GIVEN / WHEN a ChatSite
    # THEN the pool allows guests, never the classic flow, and maps guests to the guest role
    pool = mocks.one("aws:cognito/identityPool:IdentityPool")
    assert pool.inputs["allowUnauthenticatedIdentities"] is True, pool.urn
    assert pool.inputs["allowClassicFlow"] is False, f"{pool.urn}: the classic flow lets callers pick a role"
    attachment = mocks.one("aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment")
    guest = mocks.one("aws:iam/role:Role", "site-guest")
    assert attachment.inputs["identityPoolId"] == pool.id, attachment.urn
    assert attachment.inputs["roles"] == {"unauthenticated": guest.outputs["arn"]}, attachment.urn


def test_site_url_is_the_cloudfront_domain_by_default(mocks):
    # GIVEN / WHEN a ChatSite without a custom domain
    # THEN its URL is the distribution's own https domain
    assert mocks.values["site_url"] == f"https://{mocks.one(DISTRIBUTION).outputs['domainName']}"


def test_custom_domain_gets_an_alias_and_the_acm_certificate(run_pulumi, site_dir):
    # GIVEN a custom domain and its certificate
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    # WHEN a ChatSite is created
    mocks = run_pulumi(chat_site(site_dir, custom_domain="chat.example.com", certificate_arn=certificate))
    # THEN CloudFront answers for it with that certificate over SNI and TLS 1.2+
    distribution = mocks.one(DISTRIBUTION)
    assert distribution.inputs["aliases"] == ["chat.example.com"], distribution.urn
    assert distribution.inputs["viewerCertificate"] == {
        "acmCertificateArn": certificate,
        "sslSupportMethod": "sni-only",
        "minimumProtocolVersion": "TLSv1.2_2021",
    }, distribution.urn
    assert mocks.values["site_url"] == "https://chat.example.com"


def test_a_custom_domain_without_certificate_is_refused(run_pulumi, site_dir):
    # GIVEN a custom domain but no certificate
    # WHEN / THEN the site is refused, naming both arguments
    with pytest.raises(ValueError, match=r"custom_domain and \.certificate_arn"):
        run_pulumi(chat_site(site_dir, custom_domain="chat.example.com"))


def test_a_missing_site_build_says_to_run_make_site(run_pulumi, tmp_path):
    # GIVEN a site folder without a build
    # WHEN a ChatSite is created
    # THEN it fails telling the user to run `make site`
    with pytest.raises(SiteBuildMissingError, match=r"run `make site` \(it builds site/dist\)"):
        run_pulumi(chat_site(tmp_path / "dist"))


def waf_web_acl_rule(member: str) -> tuple[re.Pattern[str], int, int]:
    """The AWS API model's rule for a member of WAFv2 CreateWebACL (botocore, offline): pattern, min and max length.
    The model's patterns are Java regexes, whose `\\w` is ASCII only."""
    model = botocore.session.get_session().get_service_model("wafv2")
    request = model.shape_for("CreateWebACLRequest")
    assert isinstance(request, StructureShape)
    metadata = request.members[member].metadata
    return re.compile(metadata["pattern"], re.ASCII), metadata["min"], metadata["max"]


def test_the_rate_limit_web_acl_has_a_description_wafv2_accepts(run_pulumi, site_dir):
    # GIVEN a site with a per-IP rate limit on its API (prod's setting)
    mocks = run_pulumi(chat_site(site_dir, api_rate_limit_per_ip=100))
    acl = mocks.one("aws:wafv2/webAcl:WebAcl")
    description = acl.inputs["description"]
    # WHEN its description is checked against WAFv2's EntityDescription rule
    pattern, shortest, longest = waf_web_acl_rule("Description")
    # THEN CreateWebACL would accept it
    assert shortest <= len(description) <= longest, f"{acl.urn}: {len(description)} characters"
    assert pattern.fullmatch(description), f"{acl.urn}: description {description!r} does not match {pattern.pattern}"


@pytest.mark.parametrize("refused", ["Rate limit on the chat page's API", "Rate limit on /api/*"])
def test_the_wafv2_description_rule_refuses_an_apostrophe_and_a_star(refused):
    # GIVEN / WHEN descriptions with an apostrophe or a `*` THEN the rule the test above applies refuses them
    pattern, _, _ = waf_web_acl_rule("Description")
    assert not pattern.fullmatch(refused), refused
