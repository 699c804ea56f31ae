"""Escalations: durable tickets for the support team, the queue that carries them and the sender that emails them.

The escalate function opens tickets (its route is served by RestApi); so does the bot's code hook, once granted
`grant_open_tickets` and given `ticket_environment`. Opening a ticket is one conditional write (counted against
the hourly per-session and per-address limit in the same transaction). The tickets table's stream carries each new
ticket to the forwarder, which queues it (the outbox pattern: DynamoDB Streams and Lambda cost nothing while idle,
unlike a scheduled sweeper); the sender emails it from the queue through an SES configuration set whose bounces and
complaints raise alarms. Failed sends are retried, then wait in a dead-letter queue whose alarm
notifies `alarm_actions`; tickets waiting on the stream raise their own alarm.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarms import Metric, alarm_above, queue_not_empty
from components.iam import Grants, Statement, grant
from components.python_function import PythonFunction, PythonFunctionArgs
from contracts.stack import (
    ALLOWED_ORIGINS,
    CONVERSATION_LOG_TABLE_NAME,
    DEFAULT_TICKETS_PER_SESSION_PER_HOUR,
    ESCALATE_ROUTE,
    ESCALATION_QUEUE_URL,
    IDEMPOTENCY_TABLE,
    IDEMPOTENCY_TABLE_NAME,
    ORIGIN_SECRETS,
    RECIPIENTS,
    SENDER_ADDRESS,
    SES_CONFIGURATION_SET,
    TICKETS_PER_SESSION_PER_HOUR,
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

# The forwarder reads the tickets table's stream; new tickets only, a batch at a time.
FORWARDER_BATCH_SIZE = 100
# Tickets older than this on the stream (the forwarder failing to queue them) raise the "tickets wait" alarm.
STRANDED_TICKET_ALARM_MS = 5 * 60 * 1000
# SES events that raise an alarm: mail the team never got, or marked as spam.
MAIL_ALARM_EVENTS = ("BOUNCE", "COMPLAINT")
SES_CONFIGURATION_SET_TAG = "ses:configuration-set"  # the tag SES puts on every message sent through a set
MAIL_ALARMS = (  # (name, the SES event's CloudWatch metric, what the alarm tells whoever reads it)
    (
        "bounced",
        "Bounce",
        "An escalation email bounced: check the support mailbox, then resend the tickets sent since (their "
        "sesMessageId and sentAt say which)",
    ),
    ("complaint", "Complaint", "An escalation email was marked as spam by a recipient: check the team's mail filters"),
)

# Exact actions per grant, cut to what the functions' ticket desk (chatbot_shared) calls. A transaction's Put and
# Update are authorized as PutItem and UpdateItem.
OPEN_TICKET_TABLE_ACTIONS = ("dynamodb:PutItem", "dynamodb:GetItem")  # write; read back when the answer was lost
TICKET_LIMIT_ACTIONS = ("dynamodb:UpdateItem",)  # the hourly counters, in the same transaction
ENQUEUE_ACTIONS = ("sqs:SendMessage",)
SEND_TICKET_TABLE_ACTIONS = ("dynamodb:GetItem", "dynamodb:UpdateItem")  # load, claim, mark sent
# What Lambda's SQS event source mapping needs of the function's role.
CONSUME_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# What Lambda's DynamoDB stream event source mapping needs of the function's role.
READ_STREAM_ACTIONS = (
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
)


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
    """Where the alarms notify, bounces and complaints of escalation emails included (Operations' `alarm_actions`:
    SNS topics). Empty: CloudWatch only."""
    tickets_per_session_per_hour: int = DEFAULT_TICKETS_PER_SESSION_PER_HOUR
    """Tickets one chat session, and one reply address, may open per clock hour; the next is refused (429 on the
    API, a polite answer in the chat)."""
    query_log_table_name: pulumi.Input[str] | None = None
    """The query log, where the escalate function looks up whether the conversation had a NEGATIVE turn (then the
    ticket is priority); grant its role read access there (`QueryLog.grant_read_data`). None: no priority flag."""


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
        self.ticket_environment: dict[str, pulumi.Input[str]] = {
            TICKETS_TABLE_NAME.name: self.tickets_table.name,
            IDEMPOTENCY_TABLE_NAME.name: self.idempotency_table.name,
            TICKETS_PER_SESSION_PER_HOUR.name: str(args.tickets_per_session_per_hour),
        }
        """What a function that opens tickets reads (contracts.stack.OPEN_TICKETS); pair with grant_open_tickets."""
        self.escalate_function = self._escalate_function(args)
        self.route: tuple[Route, PythonFunction] = (ESCALATE_ROUTE, self.escalate_function)
        """POST /escalate and the function that answers it, for the REST API."""
        self.forwarder_function, self.forwarder_source = self._forwarder(args)
        self.stranded_alarm = self._stranded_ticket_alarm(args.alarm_actions)
        self.mail_configuration = self._mail_configuration(args.alarm_actions)
        self.sender_function, self.sender_source = self._sender(args)

        self.register_outputs(
            {
                "queue_url": self.queue.url,
                "dead_letter_queue_url": self.dead_letter_queue.url,
                "tickets_table_name": self.tickets_table.name,
                "mail_configuration_set": self.mail_configuration.configuration_set_name,
            }
        )

    def grant_open_tickets(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` open tickets (the functions' ticket desk): write a ticket and read it back, count it against
        the hourly limits. No queue: the stream queues new tickets. Pass `ticket_environment` to the same function.
        Repeats return the same policy."""
        statements = [
            Statement(OPEN_TICKET_TABLE_ACTIONS, [self.tickets_table.arn]),
            Statement(TICKET_LIMIT_ACTIONS, [self.idempotency_table.arn]),
        ]
        return self._grants.grant(grantee, "open-tickets", role, statements)

    def _tickets_table(self, protect_data: bool) -> aws.dynamodb.Table:
        """The tickets: the record of what users asked the team. No TTL: they are kept. Its stream (keys only)
        feeds the forwarder; turning a stream on is an in-place update of a deployed table."""
        return aws.dynamodb.Table(
            f"{self._name}-tickets",
            billing_mode="PAY_PER_REQUEST",
            hash_key=TICKETS_TABLE.hash_key.name,
            attributes=_key_attributes(TICKETS_TABLE),
            stream_enabled=TICKETS_TABLE.stream_view_type is not None,
            stream_view_type=TICKETS_TABLE.stream_view_type,
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=protect_data, retain_on_delete=protect_data),
        )

    def _idempotency_table(self) -> aws.dynamodb.Table:
        """Short-lived bookkeeping: the hourly ticket counters (TTL), so not protected; PITR anyway, as on every
        table (a few records cost nothing to back up). Named for what it held first, so deployed stacks keep it."""
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
        return queue_not_empty(
            f"{self._name}-dlq-not-empty",
            "Escalations failed every send and wait in the dead-letter queue: check SES, redrive",
            self.dead_letter_queue.name,
            actions,
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
                    **(
                        {CONVERSATION_LOG_TABLE_NAME.name: args.query_log_table_name}
                        if args.query_log_table_name is not None
                        else {}
                    ),
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grant_open_tickets("escalate", function.role)
        return function

    def _forwarder(self, args: EscalationsArgs) -> tuple[PythonFunction, aws.lambda_.EventSourceMapping]:
        """The function that queues each new ticket, fed by the tickets table's stream (new items only)."""
        forwarder = PythonFunction(
            f"{self._name}-forwarder",
            PythonFunctionArgs(
                source="forward_tickets",
                description="Queues each new escalation ticket (from the tickets table's stream) for the sender",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={ESCALATION_QUEUE_URL.name: self.queue.url},
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = grant(
            f"{self._name}-forwarder-forward-tickets",
            forwarder.role,
            [
                # The stream's ARN carries a label that changes if the stream is ever made again.
                Statement(READ_STREAM_ACTIONS, [pulumi.Output.concat(self.tickets_table.arn, "/stream/*")]),
                # The queue, and the dead-letter queue that receives a batch the stream could not deliver.
                Statement(ENQUEUE_ACTIONS, [self.queue.arn, self.dead_letter_queue.arn]),
            ],
            parent=self,
        )
        source = aws.lambda_.EventSourceMapping(
            f"{self._name}-forwarder-source",
            event_source_arn=self.tickets_table.stream_arn,
            function_name=forwarder.function.arn,
            starting_position="TRIM_HORIZON",  # nothing written before the mapping existed is skipped
            batch_size=FORWARDER_BATCH_SIZE,
            filter_criteria={"filters": [{"pattern": json.dumps({"eventName": ["INSERT"]})}]},  # new tickets only
            function_response_types=["ReportBatchItemFailures"],  # retried from the first failed record
            bisect_batch_on_function_error=True,
            # Retry until the stream drops the record (24 hours); then the batch's description goes to the DLQ,
            # whose alarm calls a human. The "tickets wait" alarm fires long before.
            maximum_retry_attempts=-1,
            maximum_record_age_in_seconds=-1,
            destination_config={"on_failure": {"destination_arn": self.dead_letter_queue.arn}},
            # Lambda checks the role may read the stream when the mapping is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return forwarder, source

    def _stranded_ticket_alarm(self, actions: Sequence[pulumi.Input[str]]) -> aws.cloudwatch.MetricAlarm:
        """An alarm on new tickets waiting on the stream: the forwarder failing to queue them."""
        return alarm_above(
            f"{self._name}-tickets-wait",
            "New escalation tickets have waited over 5 minutes to be queued: check the forwarder's logs",
            Metric(
                "AWS/Lambda",
                "IteratorAge",
                {"FunctionName": self.forwarder_function.name},
                statistic="Maximum",
                period_seconds=60,
            ),
            threshold=STRANDED_TICKET_ALARM_MS,
            actions=actions,
            parent=self,
        )

    def _mail_configuration(self, actions: Sequence[pulumi.Input[str]]) -> aws.sesv2.ConfigurationSet:
        """The SES configuration set escalation emails go through. Its bounce and complaint events become CloudWatch
        metrics of the set, and an alarm on each notifies `actions` (the alarm topic): its key admits CloudWatch,
        and a metric costs nothing while no mail bounces. The ticket a bounce is about: SES's message id is on it
        (`sesMessageId`, `sentAt`), and the email carries a `ticketId` tag."""
        child = pulumi.ResourceOptions(parent=self)
        configuration = aws.sesv2.ConfigurationSet(
            f"{self._name}-mail",
            configuration_set_name=configuration_set_name(pulumi.get_project(), pulumi.get_stack(), self._name),
            opts=child,
        )
        aws.sesv2.ConfigurationSetEventDestination(
            f"{self._name}-mail-events",
            configuration_set_name=configuration.configuration_set_name,
            event_destination_name="bounces-to-cloudwatch",
            event_destination={
                "enabled": True,
                "matching_event_types": list(MAIL_ALARM_EVENTS),
                "cloud_watch_destination": {
                    "dimension_configurations": [
                        {  # SES tags every message with its configuration set: one metric per event type here
                            "dimension_name": SES_CONFIGURATION_SET_TAG,
                            "dimension_value_source": "MESSAGE_TAG",
                            "default_dimension_value": configuration.configuration_set_name,
                        }
                    ]
                },
            },
            opts=child,
        )
        for event, metric, description in MAIL_ALARMS:
            alarm_above(
                f"{self._name}-mail-{event}",
                description,
                Metric("AWS/SES", metric, {SES_CONFIGURATION_SET_TAG: configuration.configuration_set_name}),
                threshold=0,
                actions=actions,
                parent=self,
            )
        return configuration

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
                    ESCALATION_QUEUE_URL.name: self.queue.url,
                    SENDER_ADDRESS.name: args.sender,
                    RECIPIENTS.name: json.dumps(list(args.recipients)),
                    SES_CONFIGURATION_SET.name: self.mail_configuration.configuration_set_name,
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = grant(
            f"{self._name}-sender-send-tickets",
            sender.role,
            [
                Statement(SEND_TICKET_TABLE_ACTIONS, [self.tickets_table.arn]),
                # Consume the queue; send to it a follow-up when marking a ticket sent failed after SES accepted.
                Statement((*CONSUME_QUEUE_ACTIONS, *ENQUEUE_ACTIONS), [self.queue.arn]),
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
        """ses:SendEmail as the sender only, to the team only, through the stack's configuration set.

        SES authorizes a send against the identity that covers the From address: the address identity when it is
        verified itself, else its domain's identity. Both ARNs are named so the stack works with either; the
        FromAddress condition still pins the sender, and Recipients pins the team (the user's address is only a
        Reply-To, which the condition does not cover). A send naming a configuration set is authorized against
        the set too."""
        domain = args.sender.rsplit("@", 1)[1]
        prefix = pulumi.Output.concat("arn:aws:ses:", args.region, ":", self._account_id, ":")
        identities = [pulumi.Output.concat(prefix, "identity/", identity) for identity in (args.sender, domain)]
        configuration = pulumi.Output.concat(
            prefix, "configuration-set/", self.mail_configuration.configuration_set_name
        )
        return Statement(
            ["ses:SendEmail"],
            [*identities, configuration],
            conditions={
                "StringEquals": {"ses:FromAddress": args.sender},
                "ForAllValues:StringEquals": {"ses:Recipients": list(args.recipients)},
            },
        )


def configuration_set_name(project: str, stack: str, component: str) -> str:
    """A configuration set name unique per account and region (project, stack, component), in the characters SES
    accepts (letters, digits, '-' and '_'; at most 64)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{stack}-{component}")[:64]


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
    if args.tickets_per_session_per_hour < 1:
        raise ValueError(
            f"EscalationsArgs.tickets_per_session_per_hour must be at least 1, got {args.tickets_per_session_per_hour}"
        )
