"""EscalationApi: the REST API (POST /escalate, POST /store-query), durable escalation tickets and their email."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import Metric, alarm_above
from components.iam import Grants, Statement, grant, service_trust_policy
from components.python_function import PythonFunction, PythonFunctionArgs

STAGE = "live"
ROUTES = {"escalate": "/escalate", "store-query": "/store-query"}  # route key -> path; both are POST only
SENDER_TIMEOUT_SECONDS = 30  # one SES call per ticket, with the SDK's own retries on throttling
# AWS: the source queue's visibility timeout must be at least 6x the function timeout for an SQS event source.
QUEUE_VISIBILITY_TIMEOUT_SECONDS = 6 * SENDER_TIMEOUT_SECONDS
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: two weeks to notice the alarm and redrive
SENDER_BATCH_SIZE = 10
# SES sandbox sends 1 mail/s: two concurrent senders (the lowest maximum SQS allows) keep throttling rare, and a
# throttled mail only fails its own record, which SQS delivers again.
SENDER_MAX_CONCURRENCY = 2
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
    }
)
ORIGIN_PATTERN = re.compile(r"^https://[a-z0-9.-]+(:[0-9]{1,5})?$")
# AWS's managed policy for the API Gateway account role; it is what API Gateway checks when the role is set.
API_GATEWAY_LOGS_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"

# Exact actions per grant, cut to what chatbot_shared.escalation.TicketDesk calls.
OPEN_TICKET_TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem")  # record; withdraw if it cannot be queued
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
ENQUEUE_ACTIONS = ("sqs:SendMessage",)
SEND_TICKET_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # load, then mark sent
# What Lambda's SQS event source mapping needs of the function's role.
CONSUME_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


@dataclass
class EscalationApiArgs:
    """What an EscalationApi needs."""

    region: pulumi.Input[str]
    log_retention_days: int
    """Retention of the functions' log groups and of the API's access log."""
    sender: str
    """Verified SES identity (an address) escalation emails come from."""
    recipients: Sequence[str]
    """Support team addresses that receive escalations."""
    max_attempts: int
    """Sends tried per ticket before its message moves to the dead-letter queue."""
    throttle_rate: float
    """Steady requests per second the whole API accepts (stage-wide)."""
    throttle_burst: int
    """Burst of requests the whole API accepts (stage-wide)."""
    store_query_function: PythonFunction
    """The query log's writer, served as POST /store-query."""
    allowed_origins: Sequence[str] = ()
    """Extra https origins allowed to call the API (CORS). Empty: no OPTIONS methods at all; the page calls the
    API on its own origin through CloudFront's /api/*, which needs no CORS."""
    alarm_email: str | None = None
    """Address subscribed to the DLQ alarm. None: the alarm exists (console, dashboards) but notifies no one."""
    protect_data: bool = False
    """False: the tickets table goes with the stack. True: protected and retained, with deletion protection."""
    manage_api_gateway_account: bool = True
    """True: set this region's API Gateway CloudWatch role (an account-wide setting that access logging needs)
    to a role made here, both kept on destroy. False: the account already has one (e.g. from a baseline)."""


class EscalationApi(pulumi.ComponentResource):
    """The API the page calls, the tickets it opens and the queue + sender that email them to the team."""

    def __init__(self, name: str, args: EscalationApiArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("support-chatbot:index:EscalationApi", name, None, opts)
        _check(args)
        self._name = name
        self._grants = Grants(self, name)
        child = pulumi.ResourceOptions(parent=self)
        account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        # --- tickets: table, idempotency records, queue, dead-letter queue and its alarm ---
        self.tickets_table = aws.dynamodb.Table(
            f"{name}-tickets",
            billing_mode="PAY_PER_REQUEST",
            hash_key="ticketId",
            attributes=[{"name": "ticketId", "type": "S"}],
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            # No TTL: tickets are the record of what users asked the team; they are kept.
            deletion_protection_enabled=args.protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=args.protect_data),
        )
        # Powertools idempotency records: short-lived (TTL `expiration`) and rebuilt by a retry, so not protected;
        # PITR anyway, as on every table (a few records cost nothing to back up).
        self.idempotency_table = aws.dynamodb.Table(
            f"{name}-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key="id",
            attributes=[{"name": "id", "type": "S"}],
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            ttl={"attribute_name": "expiration", "enabled": True},
            opts=child,
        )
        self.dead_letter_queue = aws.sqs.Queue(
            f"{name}-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        self.queue = aws.sqs.Queue(
            f"{name}-queue",
            visibility_timeout_seconds=QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=self.dead_letter_queue.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": args.max_attempts})
            ),
            opts=child,
        )
        self.alarm_topic = self._alarm_topic(args.alarm_email, account_id) if args.alarm_email else None
        self.dlq_alarm = alarm_above(
            f"{name}-dlq-not-empty",
            "Escalations failed every send and wait in the dead-letter queue: check SES, redrive",
            Metric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": self.dead_letter_queue.name},
                statistic="Maximum",
                period_seconds=60,
            ),
            threshold=0,
            actions=[self.alarm_topic.arn] if self.alarm_topic else [],
            parent=self,
        )
        self.ticket_environment: dict[str, pulumi.Output[str]] = {
            "TICKETS_TABLE_NAME": self.tickets_table.name,
            "ESCALATION_QUEUE_URL": self.queue.url,
            "IDEMPOTENCY_TABLE_NAME": self.idempotency_table.name,
        }

        # --- functions ---
        allowed_origins = json.dumps(list(args.allowed_origins))
        self.escalate_function = PythonFunction(
            f"{name}-escalate",
            PythonFunctionArgs(
                source="escalate",
                description="POST /escalate: records a ticket, queues its email, answers 202",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={**self.ticket_environment, "ALLOWED_ORIGINS": allowed_origins},
            ),
            opts=child,
        )
        self.grant_open_tickets("escalate", self.escalate_function.role)

        self.sender_function = PythonFunction(
            f"{name}-sender",
            PythonFunctionArgs(
                source="send_escalation",
                description="Emails queued escalation tickets to the support team (SES) and marks them sent",
                region=args.region,
                log_retention_days=args.log_retention_days,
                timeout_seconds=SENDER_TIMEOUT_SECONDS,
                environment={
                    "TICKETS_TABLE_NAME": self.tickets_table.name,
                    "SENDER_ADDRESS": args.sender,
                    "RECIPIENTS": json.dumps(list(args.recipients)),
                },
            ),
            opts=child,
        )
        sender_policy = grant(
            f"{name}-sender-send-tickets",
            self.sender_function.role,
            [
                Statement(SEND_TICKET_TABLE_ACTIONS, [self.tickets_table.arn]),
                Statement(CONSUME_QUEUE_ACTIONS, [self.queue.arn]),
                _send_email_statement(args, account_id),
            ],
            parent=self,
        )
        self.sender_source = aws.lambda_.EventSourceMapping(
            f"{name}-sender-source",
            event_source_arn=self.queue.arn,
            function_name=self.sender_function.function.arn,
            batch_size=SENDER_BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],  # a failed record is retried alone
            scaling_config={"maximum_concurrency": SENDER_MAX_CONCURRENCY},
            # Lambda checks the role may read the queue when the mapping is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[sender_policy]),
        )

        # --- the REST API ---
        self.rest_api = aws.apigateway.RestApi(
            f"{name}-api",
            description="support-chatbot: escalations and the query log",
            endpoint_configuration={"types": "REGIONAL"},  # CloudFront is the edge; no second, hidden one
            opts=child,
        )
        targets = {"escalate": self.escalate_function, "store-query": args.store_query_function}
        route_resources: list[pulumi.Resource] = []
        for key, path in ROUTES.items():
            route_resources += self._route(key, path, targets[key], args.allowed_origins)

        self.api_account = self._api_gateway_account() if args.manage_api_gateway_account else None
        self.access_log_group = aws.cloudwatch.LogGroup(
            f"{name}-access-logs", retention_in_days=args.log_retention_days, opts=child
        )
        self.deployment = aws.apigateway.Deployment(
            f"{name}-deployment",
            rest_api=self.rest_api.id,
            description="Routes of the escalation API",
            # A deployment is a snapshot: make a new one whenever a route, its target or CORS changes.
            triggers={
                "routes": pulumi.Output.all(*[targets[key].arn for key in ROUTES]).apply(
                    lambda arns: _digest({"routes": ROUTES, "targets": arns, "origins": list(args.allowed_origins)})
                )
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=route_resources),
        )
        # With execution logging on, API Gateway writes to this group; made here so it has a retention.
        self.execution_log_group = aws.cloudwatch.LogGroup(
            f"{name}-execution-logs",
            name=pulumi.Output.concat("API-Gateway-Execution-Logs_", self.rest_api.id, f"/{STAGE}"),
            retention_in_days=args.log_retention_days,
            opts=child,
        )
        self.stage = aws.apigateway.Stage(
            f"{name}-stage",
            rest_api=self.rest_api.id,
            deployment=self.deployment.id,
            stage_name=STAGE,
            access_log_settings={"destination_arn": self.access_log_group.arn, "format": ACCESS_LOG_FORMAT},
            # Access logging fails until the region's API Gateway account has its CloudWatch role.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[self.execution_log_group, *([self.api_account] if self.api_account else [])]
            ),
        )
        self.method_settings = aws.apigateway.MethodSettings(
            f"{name}-all-methods",
            rest_api=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings={
                "metrics_enabled": True,
                "logging_level": "ERROR",
                "data_trace_enabled": False,  # never log request bodies: they hold user text and emails
                "throttling_rate_limit": args.throttle_rate,
                "throttling_burst_limit": args.throttle_burst,
            },
            opts=child,
        )

        self.api_url: pulumi.Output[str] = self.stage.invoke_url
        self.origin_domain: pulumi.Output[str] = pulumi.Output.concat(
            self.rest_api.id, ".execute-api.", args.region, ".amazonaws.com"
        )
        self.origin_path = f"/{STAGE}"
        self.register_outputs(
            {
                "api_url": self.api_url,
                "origin_domain": self.origin_domain,
                "queue_url": self.queue.url,
                "dead_letter_queue_url": self.dead_letter_queue.url,
                "tickets_table_name": self.tickets_table.name,
            }
        )

    def grant_open_tickets(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` call chatbot_shared.escalation.open_ticket: record/withdraw a ticket, use the idempotency
        table, queue the ticket. Pass `ticket_environment` to the same function. Repeats return the same policy."""
        statements = [
            Statement(OPEN_TICKET_TABLE_ACTIONS, [self.tickets_table.arn]),
            Statement(IDEMPOTENCY_ACTIONS, [self.idempotency_table.arn]),
            Statement(ENQUEUE_ACTIONS, [self.queue.arn]),
        ]
        return self._grants.grant(grantee, "open-tickets", role, statements)

    def _route(
        self, key: str, path: str, target: PythonFunction, allowed_origins: Sequence[str]
    ) -> list[pulumi.Resource]:
        """POST `path` proxied to `target`, invocable only by this API's stage, plus its CORS preflight if any."""
        child = pulumi.ResourceOptions(parent=self)
        resource = aws.apigateway.Resource(
            f"{self._name}-{key}",
            rest_api=self.rest_api.id,
            parent_id=self.rest_api.root_resource_id,
            path_part=path.lstrip("/"),
            opts=child,
        )
        method = aws.apigateway.Method(
            f"{self._name}-{key}-post",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method="POST",
            authorization="NONE",  # public by design: the page's users are anonymous; throttled per stage
            opts=child,
        )
        integration = aws.apigateway.Integration(
            f"{self._name}-{key}-post-integration",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="AWS_PROXY",
            integration_http_method="POST",
            uri=target.function.invoke_arn,
            opts=child,
        )
        target.allow_invocation(
            f"{self._name}-{key}-invoke",
            "apigateway.amazonaws.com",
            pulumi.Output.concat(self.rest_api.execution_arn, f"/{STAGE}/POST{path}"),
        )
        created: list[pulumi.Resource] = [resource, method, integration]
        if allowed_origins:
            created += self._preflight(key, resource, allowed_origins)
        return created

    def _preflight(
        self, key: str, resource: aws.apigateway.Resource, allowed_origins: Sequence[str]
    ) -> list[pulumi.Resource]:
        """OPTIONS answered by API Gateway itself (MOCK): CORS for the allowed origins only, no Lambda call.

        The Allow-Origin header echoes the request's Origin only when it is in the list (a mapping template sets
        it through $context.responseOverride); any other origin gets no Allow-Origin and the browser refuses.
        The POST responses carry their CORS headers from the handler (ALLOWED_ORIGINS), as proxy integrations
        return only what the Lambda answers.
        """
        child = pulumi.ResourceOptions(parent=self)
        method = aws.apigateway.Method(
            f"{self._name}-{key}-options",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method="OPTIONS",
            authorization="NONE",
            opts=child,
        )
        integration = aws.apigateway.Integration(
            f"{self._name}-{key}-options-integration",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            type="MOCK",
            request_templates={"application/json": '{"statusCode": 204}'},
            opts=child,
        )
        headers = {
            "Access-Control-Allow-Methods": "'OPTIONS,POST'",
            "Access-Control-Allow-Headers": "'Content-Type'",
            "Access-Control-Max-Age": "'600'",
            "Vary": "'Origin'",
        }
        method_response = aws.apigateway.MethodResponse(
            f"{self._name}-{key}-options-204",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code="204",
            response_parameters={
                f"method.response.header.{header}": False for header in [*headers, "Access-Control-Allow-Origin"]
            },
            opts=child,
        )
        integration_response = aws.apigateway.IntegrationResponse(
            f"{self._name}-{key}-options-integration-204",
            rest_api=self.rest_api.id,
            resource_id=resource.id,
            http_method=method.http_method,
            status_code=method_response.status_code,
            response_parameters={f"method.response.header.{header}": value for header, value in headers.items()},
            response_templates={"application/json": preflight_template(allowed_origins)},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[integration]),
        )
        return [method, integration, method_response, integration_response]

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

    def _alarm_topic(self, email: str, account_id: pulumi.Output[str]) -> aws.sns.Topic:
        """An encrypted topic that mails `email`. CloudWatch cannot publish to a topic under the AWS-managed SNS
        key (its key policy cannot name CloudWatch), so the topic has its own key that CloudWatch may use."""
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{self._name}-alarm-key",
            description="Encrypts the support-chatbot alarm topic",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=account_id.apply(alarm_key_policy),
            opts=child,
        )
        topic = aws.sns.Topic(f"{self._name}-alarms", kms_master_key_id=key.arn, opts=child)
        aws.sns.TopicSubscription(
            f"{self._name}-alarms-email", topic=topic.arn, protocol="email", endpoint=email, opts=child
        )
        return topic


def alarm_key_policy(account_id: str) -> str:
    """The alarm topic key's policy: the account administers it through IAM (AWS's default key policy, without
    which a key becomes unmanageable), and CloudWatch may encrypt what it publishes. In a key policy the
    resource `*` means this key."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministersTheKeyThroughIam",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                {
                    "Sid": "CloudWatchAlarmsPublishToTheTopic",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                    "Resource": "*",
                    # Only alarms of this account may use the key (no confused deputy).
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )


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


def _send_email_statement(args: EscalationApiArgs, account_id: pulumi.Output[str]) -> Statement:
    """ses:SendEmail as the sender only, to the team only.

    SES authorizes a send against the identity that covers the From address: the address identity when it is
    verified itself, else its domain's identity. Both ARNs are named so the stack works with either; the
    FromAddress condition still pins the sender, and Recipients pins the team (the user's address is only a
    Reply-To, which the condition does not cover)."""
    domain = args.sender.rsplit("@", 1)[1]
    identities = [
        pulumi.Output.concat("arn:aws:ses:", args.region, ":", account_id, ":identity/", identity)
        for identity in (args.sender, domain)
    ]
    return Statement(
        ["ses:SendEmail"],
        identities,
        conditions={
            "StringEquals": {"ses:FromAddress": args.sender},
            "ForAllValues:StringEquals": {"ses:Recipients": list(args.recipients)},
        },
    )


def _digest(value: object) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


def _check(args: EscalationApiArgs) -> None:
    """Fail early, naming the argument, on values AWS would refuse later or that the templates cannot carry."""
    if "@" not in args.sender:
        raise ValueError(f"EscalationApiArgs.sender must be an email address, got {args.sender!r}")
    if not args.recipients:
        raise ValueError("EscalationApiArgs.recipients needs at least one address")
    if not 1 <= args.max_attempts <= 1000:  # SQS maxReceiveCount range
        raise ValueError(f"EscalationApiArgs.max_attempts must be 1..1000, got {args.max_attempts}")
    bad = [origin for origin in args.allowed_origins if not ORIGIN_PATTERN.match(origin)]
    if bad:
        raise ValueError(f"EscalationApiArgs.allowed_origins must be https origins like https://www.example.com: {bad}")
