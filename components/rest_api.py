"""RestApi: the stack's REST API. Routes in (each a contract route and the function that answers it); the `live`
stage, its URL and CloudFront origin out, with access and execution logs, throttling and optional CORS."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import pulumi
import pulumi_aws as aws

from components.formerly import Formerly
from components.iam import service_trust_policy
from components.python_function import PythonFunction
from contracts.stack import API_STAGE, ORIGIN_PATTERN, STAFF_TOKEN_HEADER, Route

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "requestTime": "$context.requestTime",
        "httpMethod": "$context.httpMethod",
        "path": "$context.path",
        "resourcePath": "$context.resourcePath",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integration.status",
        "integrationLatencyMs": "$context.integration.latency",
        "errorMessage": "$context.error.message",
        "staffUser": "$context.authorizer.claims.sub",  # who read the query log (admin routes; empty elsewhere)
    }
)
# AWS's managed policy for the API Gateway account role; it is what API Gateway checks when the role is set.
API_GATEWAY_LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
Served = TypeVar("Served", bound=pulumi.CustomResource)


@dataclass
class RestApiArgs:
    """What a RestApi needs."""

    region: pulumi.Input[str]
    log_retention_days: int
    """Retention of the access and execution logs."""
    routes: Sequence[tuple[Route, PythonFunction]]
    """Each route (`contracts.stack`) and the function that serves it, e.g. `Escalations.route`."""
    throttle_rate: float
    """Steady requests per second the whole API accepts (stage-wide)."""
    throttle_burst: int
    """Burst of requests the whole API accepts (stage-wide)."""
    allowed_origins: Sequence[str] = ()
    """Extra https origins allowed to call the API (CORS). Empty: no OPTIONS methods at all; the page calls the
    API on its own origin through CloudFront's /api/*, which needs no CORS."""
    staff_routes: Sequence[tuple[Route, PythonFunction]] = ()
    """Routes only signed-in staff may call, each with the function that serves it (`QueryLog.admin_routes`): every
    method requires an ID token of the `staff_user_pool_arn` pool in `Authorization` (a Cognito authorizer), so a
    guest credential or an unsigned request never reaches the function. No CORS preflight: the admin page calls them
    on its own origin. Empty: no authorizer."""
    staff_user_pool_arn: pulumi.Input[str] | None = None
    """The Cognito user pool whose tokens the staff routes accept (`StaffAccess.user_pool_arn`); set with
    `staff_routes`."""
    manage_api_gateway_account: bool = False
    """True: set this region's API Gateway CloudWatch role (an account-wide setting that access logging needs)
    to a role made here, both kept on destroy; one stack per account and region does. False: leave the setting to
    that stack (or to an account baseline): a second manager would overwrite it at every `up`."""


class RestApi(pulumi.ComponentResource):
    """The REST API the page calls through CloudFront: Lambda proxy routes on one regional API, stage `live`."""

    def __init__(
        self,
        name: str,
        args: RestApiArgs,
        opts: pulumi.ResourceOptions | None = None,
        *,
        formerly: Formerly | None = None,
    ) -> None:
        """`formerly`: where a stack deployed before this component existed has its resources (kept by aliases)."""
        _check(args)
        if formerly:
            opts = pulumi.ResourceOptions.merge(opts, formerly.options(name))
        super().__init__("support-chatbot:index:RestApi", name, None, opts)
        self._name = name
        self._formerly = formerly
        self._served: list[tuple[str, pulumi.CustomResource]] = []
        """Every path, method, integration and response of the API: what a deployment snapshots for the stage."""
        child = pulumi.ResourceOptions(parent=self)

        self.rest_api = aws.apigateway.RestApi(
            f"{name}-api",
            description="support-chatbot: escalations and the query log",
            endpoint_configuration={"types": "REGIONAL"},  # CloudFront is the edge; no second, hidden one
            opts=child,
        )
        self._resources: dict[str, aws.apigateway.Resource] = {}
        for route, function in args.routes:
            self._route(route, function, args.allowed_origins)
        self.staff_authorizer = (
            self._staff_authorizer(args.staff_user_pool_arn)
            if args.staff_routes and args.staff_user_pool_arn is not None
            else None
        )
        for route, function in args.staff_routes:
            self._route(route, function, (), authorizer=self.staff_authorizer)
        self.api_account = self._api_gateway_account() if args.manage_api_gateway_account else None
        self.deployment = self._deployment()
        self.access_log_group, self.execution_log_group = self._log_groups(args.log_retention_days)
        self.stage = self._stage()
        self.method_settings = self._method_settings(args.throttle_rate, args.throttle_burst)

        self.api_url: pulumi.Output[str] = self.stage.invoke_url
        self.origin_domain: pulumi.Output[str] = pulumi.Output.concat(
            self.rest_api.id, ".execute-api.", args.region, ".amazonaws.com"
        )
        """The API's regional domain, for CloudFront to forward /api/* to."""
        self.origin_path = f"/{API_STAGE}"
        """The stage as a path, CloudFront's origin path."""
        self.register_outputs(
            {"api_url": self.api_url, "origin_domain": self.origin_domain, "origin_path": self.origin_path}
        )

    def _route(
        self,
        route: Route,
        target: PythonFunction,
        allowed_origins: Sequence[str],
        authorizer: aws.apigateway.Authorizer | None = None,
    ) -> None:
        """`route` proxied to `target`, invocable only by this API's stage, plus its CORS preflight if any. With an
        `authorizer`, the method admits only requests it accepts."""
        key = route_key(route)
        resource = self._resource(route.path)
        method = self._serve(
            aws.apigateway.Method,
            f"{self._name}-{key}-{route.method.lower()}",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=route.method,
            # Public routes are public by design (the page's users are anonymous; throttled per stage); staff routes
            # need a token of the staff user pool.
            authorization="COGNITO_USER_POOLS" if authorizer else "NONE",
            authorizer_id=authorizer.id if authorizer else None,
            request_parameters={f"method.request.path.{name}": True for name in path_parameters(route.path)} or None,
        )
        self._serve(
            aws.apigateway.Integration,
            f"{self._name}-{key}-{route.method.lower()}-integration",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="AWS_PROXY",
            integration_http_method="POST",  # Lambda is always invoked with POST
            uri=target.function.invoke_arn,
        )
        permission = f"{self._name}-{key}-invoke"
        target.allow_invocation(
            permission,
            "apigateway.amazonaws.com",
            pulumi.Output.concat(self.rest_api.execution_arn, f"/{API_STAGE}/{route.method}{invoked_path(route)}"),
            aliases=[self._formerly.renamed(self._name, permission)] if self._formerly and not authorizer else (),
        )
        if allowed_origins:
            self._preflight(route, resource, allowed_origins)

    def _resource(self, path: str) -> aws.apigateway.Resource:
        """The API resource of `path` (`/admin/conversations/{sessionId}`), made with each of its parents once."""
        if path not in self._resources:
            parent, _, part = path.rpartition("/")
            self._resources[path] = self._serve(
                aws.apigateway.Resource,
                f"{self._name}-{path_key(path)}",
                rest_api=self.rest_api.id,
                parent_id=self._resource(parent).id if parent else self.rest_api.root_resource_id,
                path_part=part,
            )
        return self._resources[path]

    def _staff_authorizer(self, user_pool_arn: pulumi.Input[str]) -> aws.apigateway.Authorizer:
        """API Gateway checks the staff token itself (signature, expiry, issuer = the staff pool) before any function
        runs: an ID token of the pool in `Authorization`."""
        return self._serve(
            aws.apigateway.Authorizer,
            f"{self._name}-staff",
            name="staff",
            rest_api=self.rest_api.id,
            type="COGNITO_USER_POOLS",
            provider_arns=[user_pool_arn],
            identity_source=f"method.request.header.{STAFF_TOKEN_HEADER}",
        )

    def _preflight(self, route: Route, resource: aws.apigateway.Resource, allowed_origins: Sequence[str]) -> None:
        """OPTIONS answered by API Gateway itself (MOCK): CORS for the allowed origins only, no Lambda call.

        The Allow-Origin header echoes the request's Origin only when it is in the list (a mapping template sets
        it through $context.responseOverride); any other origin gets no Allow-Origin and the browser refuses.
        The routes' own responses carry their CORS headers from the handler (ALLOWED_ORIGINS), as proxy
        integrations return only what the Lambda answers.
        """
        prefix = f"{self._name}-{route_key(route)}-options"
        method = self._serve(
            aws.apigateway.Method,
            prefix,
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method="OPTIONS",
            authorization="NONE",
        )
        integration = self._serve(
            aws.apigateway.Integration,
            f"{prefix}-integration",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="MOCK",
            request_templates={"application/json": '{"statusCode": 204}'},
        )
        headers = {
            "Access-Control-Allow-Methods": f"'OPTIONS,{route.method}'",
            "Access-Control-Allow-Headers": "'Content-Type'",
            "Access-Control-Max-Age": "'600'",
            "Vary": "'Origin'",
        }
        method_response = self._serve(
            aws.apigateway.MethodResponse,
            f"{prefix}-204",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code="204",
            response_parameters={
                f"method.response.header.{header}": False for header in [*headers, "Access-Control-Allow-Origin"]
            },
        )
        self._serve(
            aws.apigateway.IntegrationResponse,
            f"{prefix}-integration-204",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code=method_response.status_code,
            response_parameters={f"method.response.header.{header}": value for header, value in headers.items()},
            response_templates={"application/json": preflight_template(allowed_origins)},
            depends_on=[integration],
        )

    def _serve(
        self, kind: type[Served], resource_name: str, /, depends_on: Sequence[pulumi.Resource] = (), **props: Any
    ) -> Served:
        """A resource the stage serves (a path, method, integration, response or authorizer), made as a child and
        recorded for the deployment to snapshot."""
        resource = kind(resource_name, **props, opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)))
        self._served.append((resource_name, resource))
        return resource

    def _api_gateway_account(self) -> aws.apigateway.Account:
        """The region's API Gateway CloudWatch role: account-wide, so both the role and the setting are retained
        on destroy: another stack's access logs in this account and region may rely on them. A second stack sets
        the same setting to its own, equivalent role (last writer wins; every writer's role works)."""
        retained = pulumi.ResourceOptions(parent=self, retain_on_delete=True)
        role = aws.iam.Role(
            f"{self._name}-apigateway-cloudwatch",
            assume_role_policy=service_trust_policy("apigateway.amazonaws.com"),
            description="Lets API Gateway write access and execution logs (account setting, per region)",
            opts=retained,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{self._name}-apigateway-cloudwatch-logs",
            role=role.name,
            policy_arn=API_GATEWAY_LOGS_POLICY,
            opts=retained,
        )
        return aws.apigateway.Account(
            f"{self._name}-apigateway-account",
            cloudwatch_role_arn=role.arn,
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=True, depends_on=[attachment]),
        )

    def _deployment(self) -> aws.apigateway.Deployment:
        """A snapshot of everything the stage serves: a new one whenever any property of any path, method,
        integration or response changes (a route, its target, CORS, a header, a timeout, an authorizer ...).

        The trigger is a digest of every property each served resource has, as the engine resolves it (its state),
        not of the arguments this code passes: a property set by a transformation, or a provider default that
        changes, reaches the stage too. A new deployment is made before the old one goes (the stage moves first)."""
        return aws.apigateway.Deployment(
            f"{self._name}-deployment",
            rest_api=self.rest_api.id,
            description="Routes of the escalation API",
            triggers={"served": served_digest(self._served)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[resource for _, resource in self._served]),
        )

    def _log_groups(self, retention_days: int) -> tuple[aws.cloudwatch.LogGroup, aws.cloudwatch.LogGroup]:
        """The stage's access log, and the group API Gateway writes execution logs to, made here so it has a
        retention."""
        child = pulumi.ResourceOptions(parent=self)
        access = aws.cloudwatch.LogGroup(f"{self._name}-access-logs", retention_in_days=retention_days, opts=child)
        execution = aws.cloudwatch.LogGroup(
            f"{self._name}-execution-logs",
            name=pulumi.Output.concat("API-Gateway-Execution-Logs_", self.rest_api.id, f"/{API_STAGE}"),
            retention_in_days=retention_days,
            opts=child,
        )
        return access, execution

    def _stage(self) -> aws.apigateway.Stage:
        """The `live` stage, writing one JSON access-log line per request, made after its execution log group."""
        return aws.apigateway.Stage(
            f"{self._name}-stage",
            rest_api=self.rest_api.id,
            deployment=self.deployment.id,
            stage_name=API_STAGE,
            access_log_settings={"destination_arn": self.access_log_group.arn, "format": ACCESS_LOG_FORMAT},
            # Access logging fails until the region's API Gateway account has its CloudWatch role.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.execution_log_group, *([self.api_account] if self.api_account else [])]
            ),
        )

    def _method_settings(self, rate: float, burst: int) -> aws.apigateway.MethodSettings:
        """Every method of the stage: throttled, with metrics and error logs, never logging request bodies."""
        return aws.apigateway.MethodSettings(
            f"{self._name}-all-methods",
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "logging_level": "ERROR",
                "data_trace_enabled": False,  # never log request bodies: they hold user text and emails
                "throttling_rate_limit": rate,
                "throttling_burst_limit": burst,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )


def route_key(route: Route) -> str:
    """The route's path as part of a resource name: `/store-query` -> `store-query`."""
    return path_key(route.path)


def path_key(path: str) -> str:
    """A path as part of a resource name: `/admin/conversations/{sessionId}` -> `admin-conversations-sessionId`."""
    return re.sub(r"[{}]", "", path.strip("/").replace("/", "-"))


def path_parameters(path: str) -> list[str]:
    """The names of the path's parameters: `/admin/conversations/{sessionId}` -> `["sessionId"]`."""
    return re.findall(r"\{(\w+)\}", path)


def invoked_path(route: Route) -> str:
    """The route's path as the execute-api ARN of a call names it: each path parameter is any one segment (`*`)."""
    return re.sub(r"\{\w+\}", "*", route.path)


def preflight_template(allowed_origins: Sequence[str]) -> str:
    """The MOCK integration response template echoing `Origin` only when it is one of `allowed_origins`."""
    listed = ", ".join(json.dumps(origin) for origin in allowed_origins)
    return "\n".join(
        [
            f"#set($allowed = [{listed}])",
            '#set($origin = $input.params().header.get("Origin"))',
            '#if("$!origin" == "")#set($origin = $input.params().header.get("origin"))#end',
            "#if($allowed.contains($origin))",
            "#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)",
            "#end",
        ]
    )


def served_digest(served: Sequence[tuple[str, pulumi.CustomResource]]) -> pulumi.Output[str]:
    """A digest of every property (every output the resource class declares) of each `(name, resource)`."""
    states = {name: pulumi.Output.all(**_properties(resource)) for name, resource in served}
    return pulumi.Output.all(**states).apply(
        lambda state: hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
    )


def _properties(resource: pulumi.CustomResource) -> dict[str, pulumi.Output[Any]]:
    """Every property a resource has: the outputs its class declares (Python properties), by name."""
    names = sorted(name for name, attribute in vars(type(resource)).items() if isinstance(attribute, property))
    return {name: getattr(resource, name) for name in names}


def _check(args: RestApiArgs) -> None:
    """Fail early, naming the argument, on values the templates cannot carry or that no handler serves."""
    if not args.routes:
        raise ValueError("RestApiArgs.routes needs at least one route")
    for route, function in args.routes:
        if function.source != route.function:
            raise ValueError(
                f"RestApiArgs.routes: {route.method} {route.path} is served by functions/{route.function}, "
                f"not functions/{function.source}"
            )
    if args.staff_routes and args.staff_user_pool_arn is None:
        raise ValueError("RestApiArgs.staff_routes need RestApiArgs.staff_user_pool_arn (whose users may call them)")
    for route, function in args.staff_routes:
        if function.source != route.function:
            raise ValueError(
                f"RestApiArgs.staff_routes: {route.method} {route.path} is served by functions/{route.function}, "
                f"not functions/{function.source}"
            )
    bad = [origin for origin in args.allowed_origins if not ORIGIN_PATTERN.match(origin)]
    if bad:
        raise ValueError(f"RestApiArgs.allowed_origins must be https origins like https://www.example.com: {bad}")
