"""Embedding the chat on other sites: which origins may, and how the page, CloudFront and the API say so.

The rule for an origin is `contracts.embedding` (shared with the local stack); the setting is `embedOrigins`; the
page's CSP frame-ancestors, config.js and the API's CORS carry exactly the configured origins.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from components.chat_site import ChatSite, ChatSiteArgs
from components.settings import SettingsError, settings_from_values
from contracts.embedding import (
    EMBED_CACHE,
    EMBED_SCRIPT,
    check_embed_origins,
    embed_origin_problem,
    frame_ancestors,
)
from contracts.page import (
    IMMUTABLE_CACHE,
    SHORT_CACHE,
    cache_control,
    content_security_policy,
    render_config_js,
    security_headers,
)
from tests.infra.resource_graph import run_stack, stack_config

EMBEDDERS = ("https://www.example.com", "https://help.example.org:8443")
REQUIRED = {"region": "us-east-1", "escalation_sender": "bot@example.com", "escalation_recipients": ["t@example.com"]}
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
FUNCTION = "aws:lambda/function:Function"


# --- the rule for an origin -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["https://www.example.com", "https://help.example.org:8443", "https://a-b.c.io"])
def test_an_https_origin_may_embed_the_chat(origin: str) -> None:
    assert embed_origin_problem(origin) is None


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("https://www.example.com/", "has a path"),
        ("https://www.example.com/help", "has a path"),
        ("https://www.example.com?x=1", "has a query"),
        ("https://www.example.com#top", "has a fragment"),
        ("https://*.example.com", "wildcard"),
        ("*", "wildcard"),
        ("http://www.example.com", "is not https"),
        ("www.example.com", "has no scheme"),
        ("https://WWW.example.com", "lower case"),
        ("https://www.example.com:443", "default port"),
        ("https://user@www.example.com", "names a user"),
        ("https://www.example.com:70000", "invalid port"),
        ("https://-bad-.example.com", "invalid host name"),
        ("http://127.0.0.1:8001", "is not https"),
    ],
)
def test_what_is_not_an_origin_is_refused_with_the_reason(origin: str, reason: str) -> None:
    # GIVEN / WHEN something that is not an https origin is checked
    problem = embed_origin_problem(origin)
    # THEN the problem names the value and why
    assert problem is not None, f"{origin!r} was accepted"
    assert origin in problem, problem
    assert reason in problem, problem


def test_loopback_http_is_an_origin_for_the_local_stack_only() -> None:
    # GIVEN the local stack's demo host origin
    demo = "http://127.0.0.1:8001"
    # WHEN / THEN the local stack's rule admits it, and a remote http site still is not one
    assert embed_origin_problem(demo, allow_loopback_http=True) is None
    assert embed_origin_problem("http://www.example.com", allow_loopback_http=True) is not None


def test_a_list_of_origins_is_checked_whole_and_kept_once_each_in_order() -> None:
    assert check_embed_origins([*EMBEDDERS, EMBEDDERS[0]]) == EMBEDDERS
    with pytest.raises(
        ValueError, match=r"'http://a\.example\.com' is not https.*'https://b\.example\.com/' has a path"
    ):
        check_embed_origins(["http://a.example.com", "https://b.example.com/"])


# --- the CSP, the headers, config.js, the cache rule ----------------------------------------------------------------


def test_frame_ancestors_lists_exactly_the_origins_or_none() -> None:
    assert frame_ancestors(()) == "'none'"
    assert frame_ancestors(EMBEDDERS) == "https://www.example.com https://help.example.org:8443"


def test_the_csp_lets_exactly_the_embedding_sites_frame_the_page() -> None:
    # GIVEN / WHEN the page's CSP is rendered with and without embedding sites
    framed = content_security_policy(embed_origins=EMBEDDERS)
    alone = content_security_policy()
    # THEN frame-ancestors names exactly them, or no one
    assert "; frame-ancestors https://www.example.com https://help.example.org:8443; " in framed, framed
    assert "; frame-ancestors 'none'; " in alone, alone
    assert framed.replace(frame_ancestors(EMBEDDERS), "'none'") == alone, "only frame-ancestors may differ"


def test_x_frame_options_goes_only_when_sites_may_frame_the_page() -> None:
    # GIVEN / WHEN the security headers of a page no one frames, and of one some sites frame
    alone = security_headers(content_security_policy())
    framed = security_headers(content_security_policy(embed_origins=EMBEDDERS), framed=True)
    # THEN DENY stays for the first; the second leaves the choice to frame-ancestors (DENY would refuse them all)
    assert alone["X-Frame-Options"] == "DENY"
    assert "X-Frame-Options" not in framed, framed
    assert set(alone) - set(framed) == {"X-Frame-Options"}


def test_config_js_says_no_site_embeds_the_page_unless_told() -> None:
    values = {
        "region": "us-east-1",
        "identityPoolId": "pool",
        "botId": "b",
        "botAliasId": "a",
        "localeId": "en_US",
        "apiBasePath": "/api",
        "lexEndpoint": "https://lex",
        "cognitoEndpoint": "https://cognito",
        "suggestions": [],
    }
    assert '"embedOrigins": []' in render_config_js(values)
    assert '"https://www.example.com"' in render_config_js({**values, "embedOrigins": list(EMBEDDERS)})


def test_the_loader_is_cached_minutes_at_its_stable_name_and_for_ever_when_hashed() -> None:
    assert cache_control(EMBED_SCRIPT) == EMBED_CACHE == "public, max-age=300, must-revalidate"
    assert cache_control("assets/embed-0123456789.js") == IMMUTABLE_CACHE
    assert cache_control("index.html") == SHORT_CACHE


# --- the setting ----------------------------------------------------------------------------------------------------


def test_the_setting_takes_a_list_of_https_origins() -> None:
    settings = settings_from_values("dev", {**REQUIRED, "embed_origins": list(EMBEDDERS)})
    assert settings.embed_origins == EMBEDDERS
    assert settings_from_values("dev", REQUIRED).embed_origins == ()


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (["https://www.example.com/"], "has a path"),
        (["https://*.example.com"], "wildcard"),
        (["http://www.example.com"], "is not https"),
        ("https://www.example.com", "must be a JSON list"),
    ],
)
def test_a_bad_embed_origin_names_the_key_the_reason_and_the_fix(value: object, reason: str) -> None:
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**REQUIRED, "embed_origins": value})
    message = str(error.value)
    assert "embedOrigins" in message, message
    assert reason in message, message
    assert "pulumi config set support-chatbot:embedOrigins" in message, message


# --- ChatSite and the program ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A built page with the loader at its stable name and hashed."""
    root = tmp_path_factory.mktemp("dist")
    (root / "assets").mkdir()
    (root / "index.html").write_text("<!doctype html><title>Chat</title>")
    (root / "assets" / "app-165a1a99ad.js").write_text("console.log(1)")
    (root / EMBED_SCRIPT).write_text("(()=>{})()")
    (root / "assets" / "embed-0123456789.js").write_text("(()=>{})()")
    return root


def chat_site(site_dir: Path, embed_origins: tuple[str, ...]):
    def program() -> dict[str, object]:
        site = ChatSite(
            "site",
            ChatSiteArgs(
                region="us-east-1",
                bot_id="BOTID12345",
                bot_alias_id="ALIASID123",
                locale_id="en_US",
                api_origin_domain="abc123defg.execute-api.us-east-1.amazonaws.com",
                api_origin_path="/live",
                api_origin_secret="secret",
                suggestions=(),
                site_dir=site_dir,
                embed_origins=embed_origins,
            ),
        )
        return {"config_js": site.config_js}

    return program


def test_cloudfront_lets_exactly_the_configured_sites_frame_the_page(run_pulumi, site_dir: Path) -> None:
    # GIVEN / WHEN a ChatSite that two sites may embed
    mocks = run_pulumi(chat_site(site_dir, EMBEDDERS))
    # THEN CloudFront's CSP names exactly them in frame-ancestors, sends no X-Frame-Options, and config.js lists them
    policy = mocks.one(HEADERS_POLICY)
    csp = policy.inputs["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["frame-ancestors"] == " ".join(EMBEDDERS), f"{policy.urn}: {csp}"
    assert "frameOptions" not in policy.inputs["securityHeadersConfig"], policy.urn
    config = json.loads(mocks.values["config_js"].removeprefix("window.CHATBOT_CONFIG = ").removesuffix(";\n"))
    assert config["embedOrigins"] == list(EMBEDDERS)


def test_cloudfront_lets_no_site_frame_the_page_by_default(run_pulumi, site_dir: Path) -> None:
    mocks = run_pulumi(chat_site(site_dir, ()))
    config = mocks.one(HEADERS_POLICY).inputs["securityHeadersConfig"]
    assert "frame-ancestors 'none';" in config["contentSecurityPolicy"]["contentSecurityPolicy"]
    assert config["frameOptions"]["frameOption"] == "DENY"


def test_embed_js_is_served_briefly_cached_and_its_hashed_twin_for_ever(run_pulumi, site_dir: Path) -> None:
    # GIVEN / WHEN a ChatSite with the loader built
    mocks = run_pulumi(chat_site(site_dir, EMBEDDERS))
    objects = {o.inputs["key"]: o.inputs for o in mocks.of_type(OBJECT)}
    # THEN /embed.js goes to the bucket with the loader's cache rule, the hashed one with the immutable rule
    assert objects[EMBED_SCRIPT]["cacheControl"] == EMBED_CACHE
    assert objects[EMBED_SCRIPT]["contentType"].startswith("text/javascript")
    assert objects["assets/embed-0123456789.js"]["cacheControl"] == IMMUTABLE_CACHE
    # ... and CloudFront serves /embed.js by the default behaviour, whose cache policy keeps it a minute at the edge
    distribution = mocks.one(DISTRIBUTION)
    patterns = [b["pathPattern"] for b in distribution.inputs["orderedCacheBehaviors"]]
    assert not [p for p in patterns if p.lstrip("/") in {EMBED_SCRIPT, "*", "*.js"}], patterns
    short_cache = mocks.one("aws:cloudfront/cachePolicy:CachePolicy")
    assert distribution.inputs["defaultCacheBehavior"]["cachePolicyId"] == short_cache.id
    assert short_cache.inputs["maxTtl"] <= 300, short_cache.inputs


def test_chat_site_refuses_an_origin_that_is_not_one(site_dir: Path) -> None:
    with pytest.raises(ValueError, match=r"ChatSiteArgs\.embed_origins: 'https://www\.example\.com/' has a path"):
        chat_site(site_dir, ("https://www.example.com/",))()


def test_the_api_answers_cors_for_the_extra_origins_and_the_embedding_sites() -> None:
    # GIVEN the dev stack with one extra API origin and two embedding sites (one of them also an extra origin)
    config = {
        **stack_config("dev"),
        "support-chatbot:allowedOrigins": json.dumps(["https://app.example.net", EMBEDDERS[0]]),
        "support-chatbot:embedOrigins": json.dumps(list(EMBEDDERS)),
    }
    # WHEN the program runs
    mocks = run_stack("dev", config=config)
    # THEN every public API function allows each of the three once, extra origins first (the staff's admin function
    # allows none: the admin page calls it on its own origin)
    expected = ["https://app.example.net", *EMBEDDERS]
    api_functions = [
        f
        for f in mocks.of_type(FUNCTION)
        if "ALLOWED_ORIGINS" in f.inputs.get("environment", {}).get("variables", {})
        and f.name != "query-log-admin-function"
    ]
    assert api_functions, "no function reads ALLOWED_ORIGINS"
    for function in api_functions:
        assert json.loads(function.inputs["environment"]["variables"]["ALLOWED_ORIGINS"]) == expected, function.urn
    # ... and the page's CSP lets exactly the two embedding sites frame it
    csp = mocks.one(HEADERS_POLICY, "chat-site-security-headers").inputs["securityHeadersConfig"][
        "contentSecurityPolicy"
    ]["contentSecurityPolicy"]
    assert f"frame-ancestors {' '.join(EMBEDDERS)};" in csp, csp
