"""RestApi under Pulumi mocks: the routes it is given and nothing else, each a Lambda proxy only its stage may
invoke; a throttled `live` stage with access and execution logs; CORS only for allowed origins."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pulumi
import pytest

from components.rest_api import RestApi, RestApiArgs
from contracts.stack import ADMIN_ROUTES, ESCALATE_ROUTE, STORE_QUERY_ROUTE

METHOD = "aws:apigateway/method:Method"
INTEGRATION = "aws:apigateway/integration:Integration"
RESOURCE = "aws:apigateway/resource:Resource"
PERMISSION = "aws:lambda/permission:Permission"
FUNCTION = "aws:lambda/function:Function"
REGION = "us-east-1"


def rest_api(stand_in_function, **overrides):
    """A program: the escalate and query-log functions as stand-ins, served by a RestApi; returns its outputs."""

    def program():
        routes = [
            (ESCALATE_ROUTE, stand_in_function("escalate", "escalate")),
            (STORE_QUERY_ROUTE, stand_in_function("store-query", "store_query")),
        ]
        args = RestApiArgs(region=REGION, log_retention_days=14, routes=routes, throttle_rate=10.0, throttle_burst=20)
        api = RestApi("api", replace(args, **overrides))
        return {"api_url": api.api_url, "origin_domain": api.origin_domain, "origin_path": api.origin_path}

    return program


@pytest.fixture(scope="module")
def mocks(run_pulumi, function_sources, stand_in_function):
    """One run with the defaults, shared by the tests that only read it."""
    return run_pulumi(rest_api(stand_in_function))


def route_paths(mocks) -> dict[str, str]:
    """Resource id -> path of every API resource."""
    return {r.id: r.outputs["path"] for r in mocks.of_type(RESOURCE)}


def test_api_has_exactly_the_routes_it_is_given(mocks):
    # GIVEN / WHEN a RestApi given POST /escalate and POST /store-query, without extra origins
    # THEN its methods are those two, and nothing else (no OPTIONS, no ANY)
    paths = route_paths(mocks)
    routes = sorted((m.inputs["httpMethod"], paths[m.inputs["resourceId"]]) for m in mocks.of_type(METHOD))
    assert routes == [("POST", "/escalate"), ("POST", "/store-query")], f"unexpected API routes {routes}"


def test_each_route_proxies_to_its_own_lambda(mocks):
    # GIVEN / WHEN a RestApi
    # THEN /escalate goes to the escalate function and /store-query to the query-log writer, as Lambda proxies
    paths = route_paths(mocks)
    invoke_arns = {f.name: f.outputs["invokeArn"] for f in mocks.of_type(FUNCTION)}
    targets = {paths[i.inputs["resourceId"]]: i for i in mocks.of_type(INTEGRATION)}
    assert targets["/escalate"].inputs["uri"] == invoke_arns["escalate-function"], targets["/escalate"].urn
    assert targets["/store-query"].inputs["uri"] == invoke_arns["store-query-function"], targets["/store-query"].urn
    for integration in targets.values():
        assert integration.inputs["type"] == "AWS_PROXY", f"{integration.urn} is not a Lambda proxy"
        assert integration.inputs["integrationHttpMethod"] == "POST", integration.urn


def test_lambda_permissions_name_the_stage_method_and_path(mocks):
    # GIVEN / WHEN a RestApi
    # THEN API Gateway may invoke each function only for its own method and path on the live stage
    api = mocks.one("aws:apigateway/restApi:RestApi")
    execution_arn = api.outputs["executionArn"]
    source_arns = {p.name: p.inputs["sourceArn"] for p in mocks.of_type(PERMISSION)}
    assert source_arns == {
        "api-escalate-invoke": f"{execution_arn}/live/POST/escalate",
        "api-store-query-invoke": f"{execution_arn}/live/POST/store-query",
    }, "Lambda permissions must be scoped to the API's execution ARN, stage, method and path"
    assert all(p.inputs["principal"] == "apigateway.amazonaws.com" for p in mocks.of_type(PERMISSION))


def test_allowed_origins_add_mock_preflights_that_echo_only_listed_origins(
    run_pulumi, function_sources, stand_in_function
):
    # GIVEN one extra origin
    # WHEN the API is created
    mocks = run_pulumi(rest_api(stand_in_function, allowed_origins=("https://www.example.com",)))
    # THEN each route gets an OPTIONS method answered by a MOCK integration, whose template allows that origin only
    paths = route_paths(mocks)
    options = sorted(
        paths[m.inputs["resourceId"]] for m in mocks.of_type(METHOD) if m.inputs["httpMethod"] == "OPTIONS"
    )
    assert options == ["/escalate", "/store-query"], f"OPTIONS methods on {options}"
    mock_integrations = [i for i in mocks.of_type(INTEGRATION) if i.inputs["type"] == "MOCK"]
    assert len(mock_integrations) == 2, "each preflight must be answered by API Gateway, not a Lambda"
    for response in mocks.of_type("aws:apigateway/integrationResponse:IntegrationResponse"):
        template = response.inputs["responseTemplates"]["application/json"]
        assert '#set($allowed = ["https://www.example.com"])' in template, f"{response.urn}: {template}"
        assert response.inputs["responseParameters"]["method.response.header.Access-Control-Allow-Methods"] == (
            "'OPTIONS,POST'"
        ), response.urn


def test_stage_is_live_throttled_from_args_with_metrics(run_pulumi, function_sources, stand_in_function):
    # GIVEN a throttle of 7.5 requests/s with bursts of 15
    # WHEN the API is created
    mocks = run_pulumi(rest_api(stand_in_function, throttle_rate=7.5, throttle_burst=15))
    # THEN every method of the live stage is throttled so, with metrics on and request bodies never logged
    stage = mocks.one("aws:apigateway/stage:Stage")
    settings = mocks.one("aws:apigateway/methodSettings:MethodSettings")
    assert stage.inputs["stageName"] == "live", stage.urn
    assert settings.inputs["stageName"] == "live", settings.urn
    assert settings.inputs["methodPath"] == "*/*", f"{settings.urn} must cover every method"
    assert settings.inputs["settings"]["throttlingRateLimit"] == 7.5, settings.urn
    assert settings.inputs["settings"]["throttlingBurstLimit"] == 15, settings.urn
    assert settings.inputs["settings"]["metricsEnabled"] is True, settings.urn
    assert settings.inputs["settings"]["dataTraceEnabled"] is False, f"{settings.urn} would log user text"


def test_stage_writes_json_access_logs_to_a_retained_log_group(mocks):
    # GIVEN / WHEN a RestApi
    # THEN the stage logs one JSON line per request, with the request id, caller ip, status and path
    stage = mocks.one("aws:apigateway/stage:Stage")
    group = mocks.one("aws:cloudwatch/logGroup:LogGroup", "api-access-logs")
    settings = stage.inputs["accessLogSettings"]
    assert settings["destinationArn"] == group.outputs["arn"], f"{stage.urn} logs elsewhere"
    fields = json.loads(settings["format"])
    assert {"requestId", "ip", "status", "path"} <= set(fields), f"{stage.urn} access log lacks fields: {fields}"
    assert group.inputs["retentionInDays"] == 14, f"{group.urn} keeps logs forever"


def test_deployment_changes_when_routes_targets_or_origins_change(run_pulumi, function_sources, stand_in_function):
    # GIVEN the same API without and with an extra origin
    # WHEN both are created
    plain = run_pulumi(rest_api(stand_in_function)).one("aws:apigateway/deployment:Deployment")
    with_cors = run_pulumi(rest_api(stand_in_function, allowed_origins=("https://a.example.com",)))
    cors = with_cors.one("aws:apigateway/deployment:Deployment")
    # THEN their deployment triggers differ, so `pulumi up` publishes a new snapshot to the stage
    assert plain.inputs["triggers"] != cors.inputs["triggers"], "a CORS change would not be redeployed"
    assert len(cors.depends_on) >= 6, f"{cors.urn} must wait for every route resource, method and integration"


def changing(type_token: str, name_suffix: str, **props: Any) -> pulumi.ResourceTransformation:
    """A stack transformation setting `props` on the resources of `type_token` whose name ends with `name_suffix`:
    a change to something the stage serves, made where the API's own code cannot see it."""

    def change(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.type_ != type_token or not args.name.endswith(name_suffix):
            return None
        return pulumi.ResourceTransformationResult({**args.props, **props}, args.opts)

    return change


def with_transformation(
    program: Callable[[], object], transformation: pulumi.ResourceTransformation | None
) -> Callable[[], object]:
    def run() -> object:
        if transformation is not None:
            pulumi.runtime.register_stack_transformation(transformation)
        return program()

    return run


CORS = {"allowed_origins": ("https://www.example.com",)}


SERVED_CHANGES = [
    ("a method's authorization", {}, changing(METHOD, "escalate-post", authorization="AWS_IAM")),
    ("a method's API key requirement", {}, changing(METHOD, "escalate-post", api_key_required=True)),
    ("an integration's timeout", {}, changing(INTEGRATION, "escalate-post-integration", timeout_milliseconds=5000)),
    ("an integration's target", {}, changing(INTEGRATION, "store-query-post-integration", uri="arn:other")),
    ("a path", {}, changing(RESOURCE, "api-store-query", path_part="store-queries")),
    (
        "a CORS header's value",
        CORS,
        changing(
            "aws:apigateway/integrationResponse:IntegrationResponse",
            "escalate-options-integration-204",
            response_parameters={"method.response.header.Access-Control-Max-Age": "'60'"},
        ),
    ),
    (
        "a CORS response's declared headers",
        CORS,
        changing(
            "aws:apigateway/methodResponse:MethodResponse",
            "escalate-options-204",
            response_parameters={"method.response.header.Vary": False},
        ),
    ),
]


@pytest.mark.parametrize(
    ("served_change", "overrides", "transformation"), SERVED_CHANGES, ids=[change[0] for change in SERVED_CHANGES]
)
def test_deployment_changes_when_anything_the_stage_serves_changes(
    run_pulumi, function_sources, stand_in_function, served_change, overrides, transformation
):
    # GIVEN the same API twice, the second with one thing it serves changed
    program = rest_api(stand_in_function, **overrides)
    before = run_pulumi(program).one("aws:apigateway/deployment:Deployment")
    after = run_pulumi(with_transformation(program, transformation)).one("aws:apigateway/deployment:Deployment")
    # WHEN / THEN the deployment triggers differ, so `pulumi up` publishes a new snapshot to the stage
    assert before.inputs["triggers"] != after.inputs["triggers"], f"{served_change} would never reach the stage"


def test_deployment_is_the_same_when_nothing_the_stage_serves_changes(run_pulumi, function_sources, stand_in_function):
    # GIVEN the same API twice
    first = run_pulumi(rest_api(stand_in_function, **CORS)).one("aws:apigateway/deployment:Deployment")
    second = run_pulumi(rest_api(stand_in_function, **CORS)).one("aws:apigateway/deployment:Deployment")
    # WHEN / THEN the triggers are equal: an unchanged API is not redeployed at every `pulumi up`
    assert first.inputs["triggers"] == second.inputs["triggers"]


def test_outputs_name_the_stage_url_and_cloudfront_origin(mocks):
    # GIVEN / WHEN a RestApi
    api = mocks.one("aws:apigateway/restApi:RestApi")
    # THEN the origin for CloudFront is the regional execute-api domain and the stage path
    assert mocks.values["origin_domain"] == f"{api.id}.execute-api.{REGION}.amazonaws.com"
    assert mocks.values["origin_path"] == "/live"
    assert mocks.values["api_url"] == f"https://{api.id}.execute-api.{REGION}.amazonaws.com/live"
    assert api.inputs["endpointConfiguration"]["types"] == "REGIONAL", f"{api.urn} must be regional"


def test_api_gateway_cloudwatch_role_is_an_account_setting_kept_on_destroy(
    run_pulumi, function_sources, stand_in_function
):
    # GIVEN / WHEN a RestApi managing the account setting (one stack per account and region does)
    mocks = run_pulumi(rest_api(stand_in_function, manage_api_gateway_account=True))
    # THEN the region's API Gateway account role is set, and both are retained: other stacks may depend on them
    account = mocks.one("aws:apigateway/account:Account")
    role = mocks.one("aws:iam/role:Role", "api-apigateway-cloudwatch")
    assert account.inputs["cloudwatchRoleArn"] == role.outputs["arn"], account.urn
    assert account.retain_on_delete, f"{account.urn} would unset logging for every API in the region on destroy"
    assert role.retain_on_delete, f"{role.urn} would break other stacks' logging on destroy"
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]["Principal"] == {
        "Service": "apigateway.amazonaws.com"
    }, role.urn


def test_the_account_setting_is_left_alone_by_default(mocks):
    # GIVEN / WHEN a RestApi that is not told to manage the account setting (another stack, or a baseline, does)
    # THEN no account-wide setting is touched
    assert mocks.of_type("aws:apigateway/account:Account") == [], "the account setting was changed"
    assert [r for r in mocks.of_type("aws:iam/role:Role") if "cloudwatch" in r.name] == []


def test_execution_logs_go_to_a_group_with_retention_made_before_the_stage(mocks):
    # GIVEN / WHEN a RestApi with execution logging on (errors)
    # THEN API Gateway's own log group exists with a retention, and the stage waits for it
    group = mocks.one("aws:cloudwatch/logGroup:LogGroup", "api-execution-logs")
    api = mocks.one("aws:apigateway/restApi:RestApi")
    assert group.inputs["name"] == f"API-Gateway-Execution-Logs_{api.id}/live", group.urn
    assert group.inputs["retentionInDays"] == 14, group.urn
    assert group.urn in mocks.one("aws:apigateway/stage:Stage").depends_on


def test_a_route_served_by_another_function_is_refused(run_pulumi, function_sources, stand_in_function):
    # GIVEN POST /escalate paired with the query-log writer
    def program():
        writer = stand_in_function("store-query", "store_query")
        args = RestApiArgs(
            region=REGION, log_retention_days=14, routes=[(ESCALATE_ROUTE, writer)], throttle_rate=1, throttle_burst=1
        )
        RestApi("api", args)

    # WHEN / THEN the API is refused, naming the route and both functions
    with pytest.raises(ValueError, match=r"POST /escalate is served by functions/escalate, not functions/store_query"):
        run_pulumi(program)


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"allowed_origins": ("http://insecure.example.com",)}, "allowed_origins"),
        ({"routes": ()}, "routes"),
    ],
)
def test_bad_arguments_fail_naming_the_argument(run_pulumi, function_sources, stand_in_function, override, named):
    # GIVEN one bad argument
    # WHEN the API is created
    # THEN it fails before any AWS call, naming the argument
    with pytest.raises(ValueError, match=named):
        run_pulumi(rest_api(stand_in_function, **override))


STAFF_POOL_ARN = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_Staff"


def rest_api_with_staff(stand_in_function, pool_arn: str = STAFF_POOL_ARN):
    """A program: the public routes and the admin routes (served by one admin stand-in) behind a staff pool."""

    def program():
        admin = stand_in_function("admin", "admin_api")
        routes = [
            (ESCALATE_ROUTE, stand_in_function("escalate", "escalate")),
            (STORE_QUERY_ROUTE, stand_in_function("store-query", "store_query")),
        ]
        args = RestApiArgs(
            region=REGION,
            log_retention_days=14,
            routes=routes,
            throttle_rate=10.0,
            throttle_burst=20,
            staff_routes=[(route, admin) for route in ADMIN_ROUTES],
            staff_user_pool_arn=pool_arn,
        )
        RestApi("api", args)

    return program


def test_staff_routes_share_one_path_tree_under_the_root(run_pulumi, function_sources, stand_in_function):
    # GIVEN / WHEN a RestApi with the five admin routes
    mocks = run_pulumi(rest_api_with_staff(stand_in_function))
    resources = {r.id: r for r in mocks.of_type(RESOURCE)}
    root = mocks.one("aws:apigateway/restApi:RestApi").outputs["rootResourceId"]
    # THEN each path part is one resource, hanging off its parent: /admin once, /admin/conversations once
    parts = sorted(
        (
            resources[r.inputs["parentId"]].inputs["pathPart"] if r.inputs["parentId"] != root else "",
            r.inputs["pathPart"],
        )
        for r in resources.values()
    )
    assert parts == [
        ("", "admin"),
        ("", "escalate"),
        ("", "store-query"),
        ("admin", "conversations"),
        ("admin", "export"),
        ("admin", "turns"),
        ("admin", "unanswered"),
        ("admin", "worst-rated"),
        ("conversations", "{sessionId}"),
    ], parts


def test_deployment_changes_when_the_staff_pool_changes(run_pulumi, function_sources, stand_in_function):
    # GIVEN the same API behind two different staff pools
    first = run_pulumi(rest_api_with_staff(stand_in_function)).one("aws:apigateway/deployment:Deployment")
    other_pool = STAFF_POOL_ARN.replace("Staff", "Other")
    second = run_pulumi(rest_api_with_staff(stand_in_function, other_pool)).one("aws:apigateway/deployment:Deployment")
    # WHEN / THEN the stage is redeployed: the authorizer is part of what it serves
    assert first.inputs["triggers"] != second.inputs["triggers"], "a new staff pool would never reach the stage"
