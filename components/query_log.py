"""QueryLog: the `ChatbotUserQueries` table of every conversation turn, its by-day index, its writer Lambda, the
staff's read-only admin Lambda, and its retention.

The writer's routes (POST /store-query, and POST /feedback, which rates a stored turn) and the admin routes
(`contracts.stack.ADMIN_ROUTES`) are served by RestApi: `QueryLog.routes` and `QueryLog.admin_routes` pair them with
their functions."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.iam import Grants, Statement
from components.python_function import PythonFunction, PythonFunctionArgs
from contracts.query_log import BY_DAY_INDEX, DAY
from contracts.stack import (
    ADMIN_ROUTES,
    ALLOWED_ORIGINS,
    FEEDBACK_ROUTE,
    ORIGIN_SECRETS,
    QUERY_LOG_RETENTION_DAYS,
    QUERY_LOG_TABLE,
    QUERY_LOG_TABLE_NAME,
    QUERY_LOG_TABLE_PREFIX,
    STORE_QUERY_ROUTE,
    KeyAttribute,
    Route,
)

# Exact actions per grant, in the spirit of aws-cdk's dynamodb perms.ts, cut to what our code calls.
WRITE_DATA_ACTIONS = ("dynamodb:PutItem",)  # store_query writes one item per turn, never updates
RATE_DATA_ACTIONS = ("dynamodb:UpdateItem",)  # the feedback route sets a stored turn's rating (conditional update)
READ_DATA_ACTIONS = ("dynamodb:GetItem", "dynamodb:Query")  # one turn, or one session's turns in order
QUERY_ACTIONS = ("dynamodb:Query",)  # the admin API: a session's turns, or a day's; never a scan, never a write
DAY_KEY = KeyAttribute(DAY, "S")
ADMIN_TIMEOUT_SECONDS = 28  # an export may read many days; API Gateway gives up on a Lambda after 29 s


@dataclass
class QueryLogArgs:
    """What a QueryLog needs."""

    region: pulumi.Input[str]
    log_retention_days: int
    """Retention of the writer Lambda's log group."""
    row_retention_days: int
    """Days a row lives before TTL removes it; the writer stamps the TTL attribute (epoch seconds) with it."""
    origin_secrets: pulumi.Input[str]
    """The origin secrets the writer accepts (`OriginSecret.accepted`): it answers only requests CloudFront forwards."""
    protect_data: bool = False
    """False: the table can be deleted with the stack. True: `protect` and retain-on-delete, plus DynamoDB's own
    deletion protection, so neither Pulumi nor the console can drop the audit log by accident (prod)."""
    allowed_origins: Sequence[str] = ()
    """Extra https origins that may call the writer through the API (CORS). Empty: same-origin page only. The
    writer answers CORS itself (API Gateway proxy responses carry only what the Lambda returns), so it needs the
    list at creation; pass the same list as RestApiArgs.allowed_origins."""


class QueryLog(pulumi.ComponentResource):
    """The per-stack `ChatbotUserQueries` table (sessionId + timestamp, indexed by day), the Lambda that writes it and
    the staff's read-only admin Lambda."""

    def __init__(self, name: str, args: QueryLogArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("support-chatbot:index:QueryLog", name, None, opts)
        self._grants = Grants(self, name)

        schema = QUERY_LOG_TABLE
        self.table = aws.dynamodb.Table(
            f"{name}-table",
            # One table per stack; the stack in the name keeps the familiar table name recognisable in the console.
            # A fixed name cannot be replaced create-before-delete (the new table would take the old one's name), and
            # deleting first would drop the data: a change that replaces this table moves its data instead
            # (docs/operations.md). Changing the name would itself replace the table, so it stays.
            name=f"{QUERY_LOG_TABLE_PREFIX}-{pulumi.get_project()}-{pulumi.get_stack()}",
            billing_mode="PAY_PER_REQUEST",  # zero idle cost
            hash_key=schema.hash_key.name,
            range_key=schema.range_key.name if schema.range_key else None,
            attributes=[{"name": key.name, "type": key.type} for key in (*schema.keys, DAY_KEY)],
            # Staff list turns by time: one query per UTC day, newest first, never a scan. Adding an index (and its
            # key attribute) is an in-place UpdateTable: the table and its data stay (test_replacement_hazards.py).
            global_secondary_indexes=[
                {
                    "name": BY_DAY_INDEX,
                    "hash_key": DAY,
                    "range_key": schema.range_key.name if schema.range_key else None,
                    "projection_type": "ALL",  # a listed turn needs every attribute: no second read per row
                }
            ],
            server_side_encryption={"enabled": True},  # the AWS-managed KMS key: key use shows in CloudTrail
            point_in_time_recovery={"enabled": True},
            # Epoch seconds; DynamoDB deletes the row within days after it passes.
            ttl={"attribute_name": schema.ttl_attribute, "enabled": True} if schema.ttl_attribute else None,
            deletion_protection_enabled=args.protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect_data, retain_on_delete=args.protect_data),
        )
        self.table_name = self.table.name

        self.writer = PythonFunction(
            f"{name}-writer",
            PythonFunctionArgs(
                source=STORE_QUERY_ROUTE.function,
                description="Stores one chatbot turn in the query log",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={
                    QUERY_LOG_TABLE_NAME.name: self.table.name,
                    QUERY_LOG_RETENTION_DAYS.name: str(args.row_retention_days),
                    ALLOWED_ORIGINS.name: json.dumps(list(args.allowed_origins)),
                    ORIGIN_SECRETS.name: args.origin_secrets,
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grant_write_data("writer", self.writer.role)
        # Its own policy, so the feedback route's one action stays apart from the writer's PutItem.
        self._grants.grant("writer", "rate-data", self.writer.role, [Statement(RATE_DATA_ACTIONS, [self.table.arn])])
        self.route: tuple[Route, PythonFunction] = (STORE_QUERY_ROUTE, self.writer)
        """POST /store-query and the writer that answers it, for the REST API."""
        self.routes: list[tuple[Route, PythonFunction]] = [self.route, (FEEDBACK_ROUTE, self.writer)]
        """Every route the writer answers (POST /store-query, POST /feedback), for the REST API."""

        self.admin = self._admin_function(name, args)
        self.grant_query("admin", self.admin.role)
        self.admin_routes: list[tuple[Route, PythonFunction]] = [(route, self.admin) for route in ADMIN_ROUTES]
        """The staff's routes and the admin function that answers them, for the REST API (as staff routes)."""

        self.register_outputs(
            {
                "table_name": self.table.name,
                "table_arn": self.table.arn,
                "writer": self.writer.arn,
                "admin": self.admin.arn,
            }
        )

    def _admin_function(self, name: str, args: QueryLogArgs) -> PythonFunction:
        """The staff's admin API: lists, conversations, exports and summaries of the log, read only."""
        return PythonFunction(
            f"{name}-admin",
            PythonFunctionArgs(
                source=ADMIN_ROUTES[0].function,
                description="Lists, exports and summarises query-log turns for signed-in staff (read only)",
                region=args.region,
                log_retention_days=args.log_retention_days,
                timeout_seconds=ADMIN_TIMEOUT_SECONDS,
                memory_mb=512,  # CSV exports and grouping of unanswered questions work in memory
                environment={
                    QUERY_LOG_TABLE_NAME.name: self.table.name,
                    # The admin page calls on its own origin; the staff routes have no CORS preflight for others.
                    ALLOWED_ORIGINS.name: json.dumps([]),
                    ORIGIN_SECRETS.name: args.origin_secrets,
                },
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def grant_write_data(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` add rows (dynamodb:PutItem on this table only). Repeats return the same policy."""
        return self._grant(grantee, "write-data", role, WRITE_DATA_ACTIONS)

    def grant_read_data(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` read rows (GetItem, Query on this table only). Repeats return the same policy."""
        return self._grant(grantee, "read-data", role, READ_DATA_ACTIONS)

    def grant_query(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` query this table and its by-day index (dynamodb:Query only: no scan, no write). Repeats return
        the same policy."""
        index_arn = pulumi.Output.concat(self.table.arn, "/index/", BY_DAY_INDEX)
        return self._grants.grant(grantee, "query", role, [Statement(QUERY_ACTIONS, [self.table.arn, index_arn])])

    def _grant(self, grantee: str, kind: str, role: aws.iam.Role, actions: Sequence[str]) -> aws.iam.RolePolicy:
        return self._grants.grant(grantee, kind, role, [Statement(actions, [self.table.arn])])
