"""The staff's admin view on the graph (issue 12): the staff user pool and who is in it, the admin page's sign-in, the
Cognito authorizer in front of every admin route and of none other, the query log's by-day index, the admin
function's read-only access, the /admin/ page on the distribution, and nothing of it for the chat page's guests."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest
import regex

from components.chat_site import ADMIN_INDEX
from components.rest_api import RestApi, RestApiArgs
from components.staff_access import StaffAccess, StaffAccessArgs, sign_in_domain_prefix
from contracts.page import ADMIN_PAGE_PATH, STAFF_SIGN_IN_KEY
from contracts.query_log import BY_DAY_INDEX
from contracts.stack import ADMIN_ROUTES, ADMIN_TURNS_ROUTE, PUBLIC_ROUTES, STAFF_TOKEN_HEADER
from tests.infra.aws_constraints import ApiMember, api_shape, translate_java_pattern
from tests.infra.conftest import ACCOUNT_ID, Mocks, RecordedResource
from tests.infra.resource_graph import REPO, run_stack, stack_config

STACKS = ("dev", "prod")
USER_POOL = "aws:cognito/userPool:UserPool"
CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
DOMAIN = "aws:cognito/userPoolDomain:UserPoolDomain"
USER = "aws:cognito/user:User"
AUTHORIZER = "aws:apigateway/authorizer:Authorizer"
METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
API_RESOURCE = "aws:apigateway/resource:Resource"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
TABLE = "aws:dynamodb/table:Table"
FUNCTION = "aws:lambda/function:Function"
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
CACHE_POLICY = "aws:cloudfront/cachePolicy:CachePolicy"
ADMIN_FUNCTION = "query-log-admin-function"


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    return request.param, run_stack(request.param)


# --- helpers ------------------------------------------------------------------------------------------------------


def api_paths(mocks: Mocks) -> dict[str, str]:
    """Resource id -> the whole path of every API resource (each resource knows only its own part)."""
    resources = {r.id: r for r in mocks.of_type(API_RESOURCE)}

    def path(resource_id: str) -> str:
        resource = resources.get(resource_id)
        return "" if resource is None else f"{path(resource.inputs['parentId'])}/{resource.inputs['pathPart']}"

    return {resource_id: path(resource_id) for resource_id in resources}


def methods_by_route(mocks: Mocks) -> dict[tuple[str, str], RecordedResource]:
    """(method, path) -> the API method serving it."""
    paths = api_paths(mocks)
    return {(m.inputs["httpMethod"], paths[m.inputs["resourceId"]]): m for m in mocks.of_type(METHOD)}


def role_statements(mocks: Mocks, role_name: str) -> list[dict[str, Any]]:
    """Every statement of every inline policy of the role registered as `role_name`."""
    role = mocks.named(role_name)
    return [s for p in mocks.of_type(ROLE_POLICY) if p.inputs.get("role") == role.id for s in p.statements()]


def uploaded_config(mocks: Mocks) -> dict[str, Any]:
    """The config.js the stack uploads, as the page reads it."""
    [config_js] = [o for o in mocks.of_type("aws:s3/bucketObjectv2:BucketObjectv2") if o.inputs["key"] == "config.js"]
    body = config_js.inputs["content"].removeprefix("window.CHATBOT_CONFIG = ").removesuffix(";\n")
    return dict(json.loads(body))


def csp_directives(policy: RecordedResource) -> dict[str, str]:
    csp = policy.inputs["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"]
    return dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())


# --- the staff user pool -------------------------------------------------------------------------------------------


def test_no_one_signs_themselves_up_to_the_staff_pool(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    pool = mocks.one(USER_POOL)
    # THEN only an administrator (the stack) creates staff users, and they sign in with their email address
    assert pool.inputs["adminCreateUserConfig"]["allowAdminCreateUserOnly"] is True, f"{pool.urn} allows sign-up"
    assert pool.inputs["usernameAttributes"] == ["email"], pool.urn
    assert pool.inputs["usernameConfiguration"] == {"caseSensitive": False}, pool.urn


def test_staff_mfa_is_an_authenticator_app_optional_or_required_as_the_stack_says(stack):
    # GIVEN a shipped stack and its staffMfa setting
    name, mocks = stack
    setting = stack_config(name)["support-chatbot:staffMfa"]
    # WHEN the pool is made
    pool = mocks.one(USER_POOL)
    # THEN TOTP is on offer, with the stack's rule (dev: optional, prod: required), and no SMS (costly, phishable)
    assert pool.inputs["mfaConfiguration"] == {"optional": "OPTIONAL", "on": "ON"}[setting], pool.urn
    assert pool.inputs["softwareTokenMfaConfiguration"] == {"enabled": True}, pool.urn
    assert "smsConfiguration" not in pool.inputs, f"{pool.urn} sends SMS"
    assert (name, pool.inputs["mfaConfiguration"]) in {("dev", "OPTIONAL"), ("prod", "ON")}


def test_staff_passwords_are_long_and_mixed(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    policy = mocks.one(USER_POOL).inputs["passwordPolicy"]
    # THEN a password has at least 14 characters of every kind, and an invitation's temporary one lasts a week
    assert policy["minimumLength"] >= 14, policy
    assert all(policy[f"require{kind}"] for kind in ("Lowercase", "Uppercase", "Numbers", "Symbols")), policy
    assert policy["temporaryPasswordValidityDays"] == 7, policy


def test_prod_protects_the_staff_pool_and_dev_does_not(stack):
    # GIVEN a shipped stack and its protectData setting
    name, mocks = stack
    protect = stack_config(name)["support-chatbot:protectData"]
    # WHEN the pool is made
    pool = mocks.one(USER_POOL)
    # THEN Cognito's deletion protection and Pulumi's protect follow it
    assert pool.inputs["deletionProtection"] == ("ACTIVE" if protect else "INACTIVE"), pool.urn
    assert pool.protect is protect, pool.urn


def test_each_staff_address_is_invited_by_cognitos_email(stack):
    # GIVEN a shipped stack's staffEmails
    name, mocks = stack
    addresses = stack_config(name)["support-chatbot:staffEmails"]
    pool = mocks.one(USER_POOL)
    # WHEN its users are made
    users = mocks.of_type(USER)
    # THEN each address is one user of the staff pool, emailed a temporary password that the stack never sets
    assert sorted(u.inputs["username"] for u in users) == sorted(addresses)
    for user in users:
        assert user.inputs["userPoolId"] == pool.id, user.urn
        assert user.inputs["desiredDeliveryMediums"] == ["EMAIL"], user.urn
        assert user.inputs["attributes"] == {"email": user.inputs["username"], "email_verified": "true"}, user.urn
        assert not {"password", "temporaryPassword", "messageAction"} & set(user.inputs), f"{user.urn}: {user.inputs}"
    template = pool.inputs["adminCreateUserConfig"]["inviteMessageTemplate"]
    assert "{username}" in template["emailMessage"], template
    assert "{####}" in template["emailMessage"], template
    assert f"{mocks.values['siteUrl']}{ADMIN_PAGE_PATH}" in template["emailMessage"], "the invitation names the page"


@pytest.mark.usefixtures("function_sources")
def test_a_stack_without_staff_addresses_has_the_pool_and_no_users(run_pulumi):
    # GIVEN no staff addresses
    args = StaffAccessArgs(region="us-east-1", site_url="https://chat.example.com")
    # WHEN StaffAccess is made
    mocks = run_pulumi(lambda: StaffAccess("staff", args))
    # THEN the pool, its domain and client exist (the admin routes' authorizer needs the pool) and no one is in it
    made = sorted(r.type for r in mocks.resources if r.custom and r.type.startswith("aws:cognito/"))
    assert made == sorted([USER_POOL, DOMAIN, CLIENT]), made


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"mfa": "sms"}, "mfa"),
        ({"token_validity_minutes": 2}, "token_validity_minutes"),
        ({"staff_emails": ("Lead@acme.io", "lead@acme.io")}, "staff_emails"),
    ],
)
def test_bad_staff_arguments_fail_naming_the_argument(run_pulumi, override, named):
    # GIVEN StaffAccess arguments Cognito would refuse
    args = StaffAccessArgs(region="us-east-1", site_url="https://chat.example.com", **override)
    # WHEN / THEN it fails before anything is registered, naming the argument
    with pytest.raises(ValueError, match=f"StaffAccessArgs.{named}"):
        run_pulumi(lambda: StaffAccess("staff", args))


# --- signing in on the admin page ----------------------------------------------------------------------------------


def test_the_admin_page_signs_in_by_code_with_pkce_and_no_secret(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    client = mocks.one(CLIENT)
    admin_url = f"{mocks.values['siteUrl']}{ADMIN_PAGE_PATH}"
    # THEN the page is a public client of the staff pool: authorization code (Cognito requires PKCE of a client
    # without a secret) through the hosted UI, returning only to the site's /admin/
    assert client.inputs["userPoolId"] == mocks.one(USER_POOL).id, client.urn
    assert client.inputs["generateSecret"] is False, f"{client.urn}: a browser cannot keep a secret"
    assert client.inputs["allowedOauthFlowsUserPoolClient"] is True, client.urn
    assert client.inputs["allowedOauthFlows"] == ["code"], f"{client.urn}: no implicit flow"
    assert client.inputs["supportedIdentityProviders"] == ["COGNITO"], client.urn
    assert client.inputs["callbackUrls"] == [admin_url], client.urn
    assert client.inputs["logoutUrls"] == [admin_url], client.urn
    assert client.inputs["defaultRedirectUri"] == admin_url, client.urn
    assert not [flow for flow in client.inputs["explicitAuthFlows"] if "PASSWORD" in flow], "a password sent as is"


def test_staff_tokens_are_short_lived_and_sign_in_reveals_no_user(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    client = mocks.one(CLIENT).inputs
    # THEN ID and access tokens live an hour at most, the session a working day, revocable; and a wrong address
    # answers like a wrong password
    units = client["tokenValidityUnits"]
    assert (units["idToken"], units["accessToken"], units["refreshToken"]) == ("minutes", "minutes", "hours")
    assert client["idTokenValidity"] <= 60, client
    assert client["accessTokenValidity"] <= 60, client
    assert client["refreshTokenValidity"] <= 12, client
    assert client["enableTokenRevocation"] is True, client
    assert client["preventUserExistenceErrors"] == "ENABLED", client


def test_config_js_tells_the_admin_page_where_staff_sign_in(stack):
    # GIVEN / WHEN a shipped stack
    name, mocks = stack
    prefix = mocks.one(DOMAIN).inputs["domain"]
    region = stack_config(name)["aws:region"]
    # THEN config.js names the stack's hosted sign-in domain, the admin page's client and the return path
    assert uploaded_config(mocks)[STAFF_SIGN_IN_KEY] == {
        "domain": f"https://{prefix}.auth.{region}.amazoncognito.com",
        "clientId": mocks.one(CLIENT).id,
        "redirectPath": ADMIN_PAGE_PATH,
    }


def test_each_stack_has_its_own_sign_in_domain_that_cognito_accepts():
    # GIVEN the shipped stacks' sign-in domains, and Cognito's rule for a prefix domain (botocore's model)
    domain = api_shape(ApiMember("cognito-idp", "CreateUserPoolDomainRequest", "Domain"))
    pattern = regex.compile(translate_java_pattern(domain.metadata["pattern"]))
    prefixes = {name: run_stack(name).one(DOMAIN).inputs["domain"] for name in STACKS}
    # WHEN / THEN each is valid, holds no word Cognito reserves, and names its own stack
    for name, prefix in prefixes.items():
        assert pattern.fullmatch(prefix), prefix
        assert len(prefix) <= 63, prefix
        assert not re.search("aws|amazon|cognito", prefix), prefix
        assert prefix == sign_in_domain_prefix("support-chatbot", name, ACCOUNT_ID), prefix
    assert len(set(prefixes.values())) == len(STACKS), prefixes


@pytest.mark.parametrize(
    ("project", "stack", "expected"),
    [
        ("support-chatbot", "dev", r"support-chatbot-dev-staff-[0-9a-f]{8}"),
        ("My_AWS_Cognito_Bot", "Prod.EU", r"my-bot-prod-eu-staff-[0-9a-f]{8}"),  # reserved words and case go
        ("amazon", "aws", r"staff-[0-9a-f]{8}"),
        ("x" * 80, "dev", r"x{48}-staff-[0-9a-f]{8}"),  # 63 characters at most
    ],
)
def test_a_sign_in_domain_prefix_is_valid_whatever_the_stack_is_called(project, stack, expected):
    prefix = sign_in_domain_prefix(project, stack, ACCOUNT_ID)
    assert re.fullmatch(expected, prefix), prefix
    assert len(prefix) <= 63


def test_the_sign_in_domain_differs_between_accounts():
    # GIVEN the same project and stack in two accounts (prefix domains are shared by every account of a region)
    # WHEN / THEN each gets its own prefix, and the same account always the same
    assert sign_in_domain_prefix("p", "dev", "111111111111") != sign_in_domain_prefix("p", "dev", "222222222222")
    assert sign_in_domain_prefix("p", "dev", "111111111111") == sign_in_domain_prefix("p", "dev", "111111111111")


# --- the admin routes ----------------------------------------------------------------------------------------------


def test_the_authorizer_accepts_only_tokens_of_the_staff_pool(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    authorizer = mocks.one(AUTHORIZER)
    # THEN API Gateway checks a token of the staff pool in the Authorization header
    assert authorizer.inputs["type"] == "COGNITO_USER_POOLS", authorizer.urn
    assert authorizer.inputs["providerArns"] == [mocks.one(USER_POOL).outputs["arn"]], authorizer.urn
    assert authorizer.inputs["identitySource"] == f"method.request.header.{STAFF_TOKEN_HEADER}", authorizer.urn
    assert authorizer.inputs["restApi"] == mocks.one("aws:apigateway/restApi:RestApi").id, authorizer.urn


def test_every_admin_method_requires_the_staff_authorizer(stack):
    # GIVEN a shipped stack's API methods
    _, mocks = stack
    methods = methods_by_route(mocks)
    authorizer = mocks.one(AUTHORIZER)
    # WHEN the admin routes' methods are read
    # THEN each one admits only requests the staff authorizer accepts
    for route in ADMIN_ROUTES:
        method = methods[(route.method, route.path)]
        assert method.inputs["authorization"] == "COGNITO_USER_POOLS", f"{method.urn} is open"
        assert method.inputs["authorizerId"] == authorizer.id, f"{method.urn} uses another authorizer"
    conversation = methods[("GET", "/admin/conversations/{sessionId}")]
    assert conversation.inputs["requestParameters"] == {"method.request.path.sessionId": True}, conversation.urn


def test_no_admin_route_has_a_cors_preflight(stack):
    # GIVEN / WHEN a shipped stack (prod allows no extra origins; the every-option stack is checked in test_rest_api)
    _, mocks = stack
    # THEN the admin routes answer no OPTIONS: only the page on the site's own origin calls them
    paths = [path for (verb, path) in methods_by_route(mocks) if verb == "OPTIONS" and path.startswith("/admin")]
    assert paths == [], paths


def test_public_routes_need_no_sign_in(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    methods = methods_by_route(mocks)
    # THEN the page's own routes stay open to its anonymous users (throttled, behind the origin secret)
    for route in PUBLIC_ROUTES:
        method = methods[(route.method, route.path)]
        assert method.inputs["authorization"] == "NONE", method.urn
        assert "authorizerId" not in method.inputs, method.urn


def test_admin_routes_reach_only_the_admin_function_from_this_stage(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    paths = api_paths(mocks)
    admin = mocks.one(FUNCTION, ADMIN_FUNCTION)
    execution_arn = mocks.one("aws:apigateway/restApi:RestApi").outputs["executionArn"]
    # THEN each admin route is a Lambda proxy to the admin function, which the stage may invoke for that route only
    targets = {paths[i.inputs["resourceId"]]: i.inputs["uri"] for i in mocks.of_type(INTEGRATION)}
    assert {targets[route.path] for route in ADMIN_ROUTES} == {admin.outputs["invokeArn"]}
    permissions = sorted(
        p.inputs["sourceArn"]
        for p in mocks.of_type("aws:lambda/permission:Permission")
        if p.inputs["function"] == admin.outputs["name"]
    )
    assert permissions == sorted(
        f"{execution_arn}/live/GET{route.path.replace('{sessionId}', '*')}" for route in ADMIN_ROUTES
    )


@pytest.mark.usefixtures("function_sources")
@pytest.mark.parametrize(
    ("pool_arn", "source", "reason"),
    [
        (None, "admin_api", "staff_user_pool_arn"),
        ("arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_x", "store_query", "functions/admin_api"),
    ],
)
def test_staff_routes_need_a_pool_and_their_own_function(run_pulumi, stand_in_function, pool_arn, source, reason):
    # GIVEN staff routes without a user pool, or served by a function that does not serve them
    def program() -> None:
        public = stand_in_function("escalate", "escalate")
        args = RestApiArgs(
            region="us-east-1",
            log_retention_days=14,
            routes=[(PUBLIC_ROUTES[0], public)],
            throttle_rate=10,
            throttle_burst=20,
            staff_routes=[(ADMIN_TURNS_ROUTE, stand_in_function("admin", source))],
            staff_user_pool_arn=pool_arn,
        )
        RestApi("api", args)

    # WHEN / THEN the API refuses them, naming what is wrong
    with pytest.raises(ValueError, match=reason):
        run_pulumi(program)


# --- the query log's index and the admin function ------------------------------------------------------------------


def test_the_query_log_is_indexed_by_day_and_time(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    table = mocks.one(TABLE, "query-log-table")
    # THEN its by-day index is keyed by the day (S) and the turn's timestamp (N) and holds whole rows
    assert table.inputs["globalSecondaryIndexes"] == [
        {"name": BY_DAY_INDEX, "hashKey": "day", "rangeKey": "timestamp", "projectionType": "ALL"}
    ], table.urn
    assert {"name": "day", "type": "S"} in table.inputs["attributes"], table.urn


def test_the_admin_function_may_only_query_the_table_and_its_index(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    table_arn = mocks.one(TABLE, "query-log-table").outputs["arn"]
    statements = [s for s in role_statements(mocks, "query-log-admin-role") if not s["Action"][0].startswith("logs:")]
    # THEN its one data permission is Query on the table and the by-day index: no Scan, no GetItem, no write
    assert statements == [
        {"Effect": "Allow", "Action": ["dynamodb:Query"], "Resource": [table_arn, f"{table_arn}/index/{BY_DAY_INDEX}"]}
    ], statements


def test_the_admin_function_reads_the_log_and_answers_only_cloudfront(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    admin = mocks.one(FUNCTION, ADMIN_FUNCTION)
    variables = admin.inputs["environment"]["variables"]
    # THEN it is given the query log's name, no extra origins and the origin secrets, as its contract says
    assert variables["QUERY_LOG_TABLE_NAME"] == mocks.one(TABLE, "query-log-table").outputs["name"]
    assert json.loads(variables["ALLOWED_ORIGINS"]) == []
    assert len(json.loads(variables["ORIGIN_SECRETS"])) == 2
    assert admin.inputs["timeout"] < 29, "API Gateway stops waiting for a Lambda after 29 seconds"


# --- the chat page's guests ----------------------------------------------------------------------------------------


def test_guests_get_nothing_of_the_admin_routes_or_the_query_log(stack):
    # GIVEN a shipped stack's guest role (the chat page's Cognito identity pool) and what staff data there is
    _, mocks = stack
    table_arn = mocks.one(TABLE, "query-log-table").outputs["arn"]
    api_arn = mocks.one("aws:apigateway/restApi:RestApi").outputs["executionArn"]
    statements = role_statements(mocks, "chat-site-guest")
    # WHEN its permissions are read
    actions = {action for s in statements for action in s["Action"]}
    resources = {resource for s in statements for resource in s["Resource"]}
    # THEN it may talk to Lex only: no DynamoDB, no execute-api, nothing on the table or the API
    assert all(action.startswith("lex:") for action in actions), actions
    assert not [r for r in resources if r.startswith((table_arn, api_arn))], resources


def test_guest_credentials_are_no_key_to_the_staff_routes(stack):
    # GIVEN a shipped stack's identity pool and the admin routes' authorizer
    _, mocks = stack
    identity_pool = mocks.one("aws:cognito/identityPool:IdentityPool")
    attachment = mocks.one("aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment")
    authorizer = mocks.one(AUTHORIZER)
    # WHEN / THEN the identity pool hands out guest credentials only, is not linked to the staff pool (a staff token
    # gives no AWS credentials either), and the admin routes take staff tokens, not AWS signatures (no AWS_IAM)
    assert set(attachment.inputs["roles"]) == {"unauthenticated"}, attachment.urn
    assert not identity_pool.inputs.get("cognitoIdentityProviders"), identity_pool.urn
    assert authorizer.inputs["providerArns"] == [mocks.one(USER_POOL).outputs["arn"]]
    assert all(m.inputs["authorization"] != "AWS_IAM" for m in mocks.of_type(METHOD))


# --- the admin page on the distribution ----------------------------------------------------------------------------


def test_the_distribution_serves_the_admin_page_at_admin(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    distribution = mocks.one(DISTRIBUTION)
    [behaviour] = [b for b in distribution.inputs["orderedCacheBehaviors"] if b["pathPattern"] == "/admin*"]
    index = mocks.one("aws:cloudfront/function:Function", "chat-site-admin-index")
    # THEN /admin, /admin/ and below come from the page's bucket through the admin index function, briefly cached,
    # with the admin page's own headers
    assert behaviour["targetOriginId"] == "site-bucket", behaviour
    assert behaviour["functionAssociations"] == [{"eventType": "viewer-request", "functionArn": index.outputs["arn"]}]
    assert behaviour["cachePolicyId"] == mocks.one(CACHE_POLICY, "chat-site-short-cache").id, behaviour
    admin_headers = mocks.one(HEADERS_POLICY, "chat-site-admin-security-headers")
    assert behaviour["responseHeadersPolicyId"] == admin_headers.id, behaviour
    assert index.inputs["code"] == ADMIN_INDEX, index.urn
    assert index.inputs["publish"] is True, index.urn


def test_the_staff_token_reaches_the_api_through_cloudfront(stack):
    # GIVEN a shipped stack's distribution
    _, mocks = stack
    behaviours = mocks.one(DISTRIBUTION).inputs["orderedCacheBehaviors"]
    patterns = [b["pathPattern"] for b in behaviours]
    [staff_api] = [b for b in behaviours if b["pathPattern"] == "/api/admin/*"]
    [public_api] = [b for b in behaviours if b["pathPattern"] == "/api/*"]
    cache = mocks.one(CACHE_POLICY, "chat-site-staff-api").inputs
    # WHEN / THEN /api/admin/* is matched before /api/*, goes to the API the same way (origin, prefix stripped, HTTPS)
    # for GET only, and its cache policy keys on the token header (CloudFront forwards Authorization on a GET only
    # then) and every query string, keeping an answer a second at most
    assert patterns.index("/api/admin/*") < patterns.index("/api/*"), patterns
    for key in ("targetOriginId", "functionAssociations", "originRequestPolicyId", "viewerProtocolPolicy"):
        assert staff_api[key] == public_api[key], key
    assert sorted(staff_api["allowedMethods"]) == ["GET", "HEAD"], staff_api
    assert staff_api["cachePolicyId"] == mocks.one(CACHE_POLICY, "chat-site-staff-api").id, staff_api
    keyed = cache["parametersInCacheKeyAndForwardedToOrigin"]
    assert keyed["headersConfig"] == {"headerBehavior": "whitelist", "headers": {"items": [STAFF_TOKEN_HEADER]}}
    assert keyed["queryStringsConfig"] == {"queryStringBehavior": "all"}, keyed
    assert keyed["cookiesConfig"] == {"cookieBehavior": "none"}, keyed
    assert (cache["minTtl"], cache["defaultTtl"], cache["maxTtl"]) == (0, 0, 1), cache


def test_only_the_admin_page_may_call_the_sign_in_domain(stack):
    # GIVEN a shipped stack's two header policies
    name, mocks = stack
    prefix = mocks.one(DOMAIN).inputs["domain"]
    region = stack_config(name)["aws:region"]
    admin = csp_directives(mocks.one(HEADERS_POLICY, "chat-site-admin-security-headers"))
    chat = csp_directives(mocks.one(HEADERS_POLICY, "chat-site-security-headers"))
    # WHEN / THEN the admin page may fetch from its origin and the sign-in domain (the token endpoint) only, submits
    # forms nowhere else, and the chat page never calls the sign-in domain
    assert admin["connect-src"].split() == ["'self'", f"https://{prefix}.auth.{region}.amazoncognito.com"], admin
    assert admin["form-action"] == "'self'", admin
    assert admin["script-src"] == "'self'", admin
    assert "amazoncognito.com" not in chat["connect-src"], chat


@pytest.mark.parametrize(
    ("uri", "answer"),
    [
        ("/admin/", {"uri": "/admin/index.html"}),
        ("/admin", {"statusCode": 301, "location": "/admin/"}),
        ("/admin/index.html", {"uri": "/admin/index.html"}),
        ("/admin/config.js", {"uri": "/admin/config.js"}),
        ("/", {"uri": "/"}),
    ],
)
def test_the_admin_index_function_resolves_admin_and_admin_slash(uri, answer):
    # GIVEN CloudFront's viewer-request function of the admin page, run by node as CloudFront runs it
    event = json.dumps({"request": {"uri": uri, "querystring": {}, "headers": {}}})
    script = (
        f"{ADMIN_INDEX}\nconst out = handler({event});"
        "\nconsole.log(JSON.stringify(out.statusCode ? {statusCode: out.statusCode, location: "
        "out.headers.location.value} : {uri: out.uri}));"
    )
    # WHEN a viewer asks for `uri`
    result = subprocess.run(["node", "-e", script], capture_output=True, text=True, check=True, timeout=30)
    # THEN the page is served (or the viewer sent to /admin/, where sign-in returns), other paths untouched
    assert json.loads(result.stdout) == answer


# --- outputs -------------------------------------------------------------------------------------------------------


def test_the_stack_exports_the_admin_url_and_the_staff_pool(stack):
    # GIVEN / WHEN a shipped stack
    _, mocks = stack
    # THEN staff find the admin page, and operators the pool (to add or remove someone by hand)
    assert mocks.values["adminUrl"] == f"{mocks.values['siteUrl']}{ADMIN_PAGE_PATH}"
    assert mocks.values["staffUserPoolId"] == mocks.one(USER_POOL).id


# --- the program -----------------------------------------------------------------------------------------------------

NOT_BUILT = """
import sys
sys.path[:0] = [".", "functions/shared"]
import components.chat_site as chat_site
from tests.infra.resource_graph import run_stack

def not_built(site_dir):
    raise chat_site.SiteBuildMissingError("the chat page is not built")

chat_site.site_files = not_built
try:
    run_stack("dev")
except chat_site.SiteBuildMissingError as error:
    print("refused:", error)
"""


def test_a_site_that_cannot_be_made_fails_the_program_instead_of_hanging_staff_sign_in():
    # GIVEN the program, whose staff sign-in waits for the site's URL, and a site that cannot be made (no build)
    # WHEN it runs (in a process of its own: a program waiting forever must not hang the test session)
    result = subprocess.run(
        [sys.executable, "-c", NOT_BUILT], cwd=REPO, capture_output=True, text=True, timeout=300, check=False
    )
    # THEN it stops with the site's error
    assert "refused: the chat page is not built" in result.stdout, result.stdout + result.stderr
