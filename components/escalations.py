"""Escalations: durable tickets for the support team, the queue that carries them and the sender that emails them.

The escalate function opens tickets (its route is served by RestApi); so does the bot's code hook, once granted
`grant_open_tickets` and given `ticket_environment`. A ticket is recorded, queued, and emailed by the sender from
the queue; failed sends are retried, then wait in a dead-letter queue whose alarm notifies `alarm_actions`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import Metric, alarm_above
from components.iam import Grants, Statement, grant
from components.python_function import PythonFunction, PythonFunctionArgs
from contracts.stack import (
    ALLOWED_ORIGINS,
    ESCALATE_ROUTE,
    ESCALATION_QUEUE_URL,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TABLE_NAME,
    ORIGIN_SECRETS,
    RECIPIENTS,
    SENDER_ADDRESS,
    TICKETS_TABLE,
    TICKETS_TABLE_NAME,
    Route,
    TableSchema,
)

SENDER_TIMEOUT_SECONDS = 30  # one SES call per ticket, with the SDK's own retries on throttling
# AWS: the source queue's visibility timeout must be at least 6x the function timeout for an SQS event source.
QUEUE_VISIBILITY_TIMEOUT_SECONDS = 6 * SENDER_TIMEOUT_SECONDS
QUEUE_RETENTION_SECONDS = 4 * 24 * 3600
DLQ_RETENTION_SECONDS = 14 * 24 * 3600  # the SQS maximum: two weeks to notice the alarm and redrive
SENDER_BATCH_SIZE = 10
# SES sandbox sends 1 mail/s: two concurrent senders (the lowest maximum SQS allows) keep throttling rare, and a
# throttled mail only fails its own record, which SQS delivers again.
SENDER_MAX_CONCURRENCY = 2

# Exact actions per grant, cut to what the functions' ticket desk (chatbot_shared) calls.
OPEN_TICKET_TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:DeleteItem")  # record; withdraw if it cannot be queued
IDEMPOTENCY_ACTIONS = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem")
ENQUEUE_ACTIONS = ("sqs:SendMessage",)
SEND_TICKET_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # load, then mark sent
# What Lambda's SQS event source mapping needs of the function's role.
CONSUME_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")


@dataclass
class EscalationsArgs:
    """What Escalations needs."""

    region: pulumi.Input[str]
    log_retention_days: int
    """Retention of the functions' log groups."""
    sender: str
    """Verified SES identity (an address) escalation emails come from."""
    recipients: Sequence[str]
    """Support team addresses that receive escalations."""
    max_attempts: int
    """Sends tried per ticket before its message moves to the dead-letter queue."""
    origin_secrets: pulumi.Input[str]
    """The origin secrets the escalate function accepts (`OriginSecret.accepted`): only requests CloudFront forwards."""
    allowed_origins: Sequence[str] = ()
    """Extra https origins the escalate function answers with CORS headers (API Gateway proxy responses carry only
    what the function returns); pass the same list as RestApiArgs.allowed_origins."""
    protect_data: bool = False
    """False: the tickets table goes with the stack. True: protected and retained, with deletion protection."""
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    """Where the dead-letter queue's alarm notifies (Operations' `alarm_actions`). Empty: CloudWatch only."""


class Escalations(pulumi.ComponentResource):
    """Tickets, their queue and dead-letter queue, the escalate function and the sender that emails the team."""

    def __init__(self, name: str, args: EscalationsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _check(args)
        super().__init__("support-chatbot:index:Escalations", name, None, opts)
        self._name = name
        self._grants = Grants(self, name)
        self._account_id = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id

        self.tickets_table = self._tickets_table(args.protect_data)
        self.idempotency_table = self._idempotency_table()
        self.dead_letter_queue, self.queue = self._queues(args.max_attempts)
        self.dlq_alarm = self._dead_letter_alarm(args.alarm_actions)
        self.ticket_environment: dict[str, pulumi.Output[str]] = {
            TICKETS_TABLE_NAME.name: self.tickets_table.name,
            ESCALATION_QUEUE_URL.name: self.queue.url,
            IDEMPOTENCY_TABLE_NAME.name: self.idempotency_table.name,
        }
        """What a function that opens tickets reads (contracts.stack.OPEN_TICKETS); pair with grant_open_tickets."""
        self.escalate_function = self._escalate_function(args)
        self.route: tuple[Route, PythonFunction] = (ESCALATE_ROUTE, self.escalate_function)
        """POST /escalate and the function that answers it, for the REST API."""
        self.sender_function, self.sender_source = self._sender(args)

        self.register_outputs(
            {
                "queue_url": self.queue.url,
                "dead_letter_queue_url": self.dead_letter_queue.url,
                "tickets_table_name": self.tickets_table.name,
            }
        )

    def grant_open_tickets(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` open tickets (the functions' ticket desk): record/withdraw a ticket, use the idempotency
        table, queue the ticket. Pass `ticket_environment` to the same function. Repeats return the same policy."""
        statements = [
            Statement(OPEN_TICKET_TABLE_ACTIONS, [self.tickets_table.arn]),
            Statement(IDEMPOTENCY_ACTIONS, [self.idempotency_table.arn]),
            Statement(ENQUEUE_ACTIONS, [self.queue.arn]),
        ]
        return self._grants.grant(grantee, "open-tickets", role, statements)

    def _tickets_table(self, protect_data: bool) -> aws.dynamodb.Table:
        """The tickets: the record of what users asked the team. No TTL: they are kept."""
        return aws.dynamodb.Table(
            f"{self._name}-tickets",
            billing_mode="PAY_PER_REQUEST",
            hash_key=TICKETS_TABLE.hash_key.name,
            attributes=_key_attributes(TICKETS_TABLE),
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=protect_data, retain_on_delete=protect_data),
        )

    def _idempotency_table(self) -> aws.dynamodb.Table:
        """Powertools idempotency records: short-lived (TTL) and rebuilt by a retry, so not protected; PITR anyway,
        as on every table (a few records cost nothing to back up)."""
        return aws.dynamodb.Table(
            f"{self._name}-idempotency",
            billing_mode="PAY_PER_REQUEST",
            hash_key=IDEMPOTENCY_TABLE.hash_key.name,
            attributes=_key_attributes(IDEMPOTENCY_TABLE),
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            ttl=aws.dynamodb.TableTtlArgs(attribute_name=IDEMPOTENCY_TABLE.ttl_attribute, enabled=True),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _queues(self, max_attempts: int) -> tuple[aws.sqs.Queue, aws.sqs.Queue]:
        """The dead-letter queue, and the ticket queue that moves a message there after `max_attempts` receives."""
        child = pulumi.ResourceOptions(parent=self)
        dead_letters = aws.sqs.Queue(
            f"{self._name}-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{self._name}-queue",
            visibility_timeout_seconds=QUEUE_VISIBILITY_TIMEOUT_SECONDS,
            message_retention_seconds=QUEUE_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            redrive_policy=dead_letters.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": max_attempts})
            ),
            opts=child,
        )
        return dead_letters, queue

    def _dead_letter_alarm(self, actions: Sequence[pulumi.Input[str]]) -> aws.cloudwatch.MetricAlarm:
        """An alarm on any message in the dead-letter queue: an escalation that no send delivered."""
        return alarm_above(
            f"{self._name}-dlq-not-empty",
            "Escalations failed every send and wait in the dead-letter queue: check SES, redrive",
            Metric(
                "AWS/SQS",
                "ApproximateNumberOfMessagesVisible",
                {"QueueName": self.dead_letter_queue.name},
                statistic="Maximum",
                period_seconds=60,
            ),
            threshold=0,
            actions=actions,
            parent=self,
        )

    def _escalate_function(self, args: EscalationsArgs) -> PythonFunction:
        """The function behind POST /escalate, allowed to open tickets."""
        function = PythonFunction(
            f"{self._name}-escalate",
            PythonFunctionArgs(
                source=ESCALATE_ROUTE.function,
                description="POST /escalate: records a ticket, queues its email, answers 202",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={
                    **self.ticket_environment,
                    ALLOWED_ORIGINS.name: json.dumps(list(args.allowed_origins)),
                    ORIGIN_SECRETS.name: args.origin_secrets,
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grant_open_tickets("escalate", function.role)
        return function

    def _sender(self, args: EscalationsArgs) -> tuple[PythonFunction, aws.lambda_.EventSourceMapping]:
        """The function that emails queued tickets to the team and marks them sent, fed by the queue."""
        sender = PythonFunction(
            f"{self._name}-sender",
            PythonFunctionArgs(
                source="send_escalation",
                description="Emails queued escalation tickets to the support team (SES) and marks them sent",
                region=args.region,
                log_retention_days=args.log_retention_days,
                timeout_seconds=SENDER_TIMEOUT_SECONDS,
                environment={
                    TICKETS_TABLE_NAME.name: self.tickets_table.name,
                    SENDER_ADDRESS.name: args.sender,
                    RECIPIENTS.name: json.dumps(list(args.recipients)),
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = grant(
            f"{self._name}-sender-send-tickets",
            sender.role,
            [
                Statement(SEND_TICKET_TABLE_ACTIONS, [self.tickets_table.arn]),
                Statement(CONSUME_QUEUE_ACTIONS, [self.queue.arn]),
                self._send_email_statement(args),
            ],
            parent=self,
        )
        source = aws.lambda_.EventSourceMapping(
            f"{self._name}-sender-source",
            event_source_arn=self.queue.arn,
            function_name=sender.function.arn,
            batch_size=SENDER_BATCH_SIZE,
            function_response_types=["ReportBatchItemFailures"],  # a failed record is retried alone
            scaling_config={"maximum_concurrency": SENDER_MAX_CONCURRENCY},
            # Lambda checks the role may read the queue when the mapping is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return sender, source

    def _send_email_statement(self, args: EscalationsArgs) -> Statement:
        """ses:SendEmail as the sender only, to the team only.

        SES authorizes a send against the identity that covers the From address: the address identity when it is
        verified itself, else its domain's identity. Both ARNs are named so the stack works with either; the
        FromAddress condition still pins the sender, and Recipients pins the team (the user's address is only a
        Reply-To, which the condition does not cover)."""
        domain = args.sender.rsplit("@", 1)[1]
        identities = [
            pulumi.Output.concat("arn:aws:ses:", args.region, ":", self._account_id, ":identity/", identity)
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


def _key_attributes(schema: TableSchema) -> list[aws.dynamodb.TableAttributeArgs]:
    """The attribute definitions DynamoDB needs for `schema`'s keys."""
    return [aws.dynamodb.TableAttributeArgs(name=key.name, type=key.type) for key in schema.keys]


def _check(args: EscalationsArgs) -> None:
    """Fail early, naming the argument, on values AWS would refuse later."""
    if "@" not in args.sender:
        raise ValueError(f"EscalationsArgs.sender must be an email address, got {args.sender!r}")
    if not args.recipients:
        raise ValueError("EscalationsArgs.recipients needs at least one address")
    if not 1 <= args.max_attempts <= 1000:  # SQS maxReceiveCount range
        raise ValueError(f"EscalationsArgs.max_attempts must be 1..1000, got {args.max_attempts}")
