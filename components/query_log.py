"""QueryLog: the `ChatbotUserQueries` table of every conversation turn, its writer Lambda and its retention."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import Grants, Statement
from components.python_function import PythonFunction, PythonFunctionArgs

# Exact actions per grant, in the spirit of aws-cdk's dynamodb perms.ts, cut to what our code calls.
WRITE_DATA_ACTIONS = ("dynamodb:PutItem",)  # store_query writes one item per turn, never updates
READ_DATA_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")  # one turn, or one session's turns in order
TTL_ATTRIBUTE = "expiresAt"  # epoch seconds; DynamoDB deletes the row within days after it passes


@dataclass
class QueryLogArgs:
    """What a QueryLog needs."""

    region: pulumi.Input[str]
    log_retention_days: int
    """Retention of the writer Lambda's log group."""
    row_retention_days: int
    """Days a row lives before TTL removes it; the writer stamps `expiresAt` with it."""
    protect_data: bool = False
    """False: the table can be deleted with the stack. True: `protect` and retain-on-delete, plus DynamoDB's own
    deletion protection, so neither Pulumi nor the console can drop the audit log by accident (prod)."""
    allowed_origins: Sequence[str] = ()
    """Extra https origins that may call the writer through the API (CORS). Empty: same-origin page only. The
    writer answers CORS itself (API Gateway proxy responses carry only what the Lambda returns), so it needs the
    list at creation; pass the same list as EscalationApiArgs.allowed_origins."""


class QueryLog(pulumi.ComponentResource):
    """The per-stack `ChatbotUserQueries` table (sessionId + timestamp) and the Lambda that writes it."""

    def __init__(self, name: str, args: QueryLogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("support-chatbot:index:QueryLog", name, None, opts)
        self._grants = Grants(self, name)

        self.table = aws.dynamodb.Table(
            f"{name}-table",
            # One table per stack; the stack in the name keeps the seed's name recognisable in the console.
            name=f"ChatbotUserQueries-{pulumi.get_project()}-{pulumi.get_stack()}",
            billing_mode="PAY_PER_REQUEST",  # zero idle cost
            hash_key="sessionId",
            range_key="timestamp",
            attributes=[{"name": "sessionId", "type": "S"}, {"name": "timestamp", "type": "N"}],
            server_side_encryption={"enabled": True},  # the AWS-managed KMS key: key use shows in CloudTrail
            point_in_time_recovery={"enabled": True},
            ttl={"attribute_name": TTL_ATTRIBUTE, "enabled": True},
            deletion_protection_enabled=args.protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=args.protect_data),
        )
        self.table_name = self.table.name

        self.writer = PythonFunction(
            f"{name}-writer",
            PythonFunctionArgs(
                source="store_query",
                description="Stores one chatbot turn in the query log",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={
                    "QUERY_LOG_TABLE_NAME": self.table.name,
                    "QUERY_LOG_RETENTION_DAYS": str(args.row_retention_days),
                    "ALLOWED_ORIGINS": json.dumps(list(args.allowed_origins)),
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grant_write_data("writer", self.writer.role)

        self.register_outputs({"table_name": self.table.name, "table_arn": self.table.arn, "writer": self.writer.arn})

    def grant_write_data(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` add rows (dynamodb:PutItem on this table only). Repeats return the same policy."""
        return self._grant(grantee, "write-data", role, WRITE_DATA_ACTIONS)

    def grant_read_data(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` read rows (GetItem, Query on this table only). Repeats return the same policy."""
        return self._grant(grantee, "read-data", role, READ_DATA_ACTIONS)

    def _grant(self, grantee: str, kind: str, role: aws.iam.Role, actions: Sequence[str]) -> aws.iam.RolePolicy:
        return self._grants.grant(grantee, kind, role, [Statement(actions, [self.table.arn])])
