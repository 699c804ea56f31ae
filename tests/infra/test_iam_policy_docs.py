"""docs/iam's policies for the preview and deploy roles, checked against what the program declares.

A deploy that fails half-way on AccessDenied leaves a stack to repair by hand, and a preview role that can write is
a pull request that can deploy. These tests read the dev and prod graphs, derive the AWS services their resource
types use and the resources they create, and hold the policy files to them.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from cfnlint.schema import PROVIDER_SCHEMA_MANAGER  # type: ignore[import-untyped]

from tests.infra.cloudformation_schemas import cloudformation_type
from tests.infra.conftest import ACCOUNT_ID, RecordedResource
from tests.infra.stack_graphs import REPO, SHIPPED_STACKS, StackGraph, stack_graph

IAM_DOCS = REPO / "docs" / "iam"
PREVIEW = ("preview-policy.json", "preview-policy-staff.json", "preview-policy-knowledge-base.json")
DEPLOY = (
    "deploy-policy.json",
    "deploy-policy-2.json",
    "deploy-policy-dashboard.json",
    "deploy-policy-staff.json",
    "deploy-policy-knowledge-base.json",
)
MANAGED_POLICY_MAX_CHARACTERS = 6_144  # IAM quota, whitespace not counted

# The IAM services each resource type needs, beyond sts (every run asks who it is).
TYPE_SERVICES: dict[str, frozenset[str]] = {
    "aws:apigateway/account:Account": frozenset({"apigateway", "iam"}),  # passes the logging role
    "aws:apigateway/authorizer:Authorizer": frozenset({"apigateway"}),
    "aws:apigateway/deployment:Deployment": frozenset({"apigateway"}),
    "aws:apigateway/integration:Integration": frozenset({"apigateway"}),
    "aws:apigateway/integrationResponse:IntegrationResponse": frozenset({"apigateway"}),
    "aws:apigateway/method:Method": frozenset({"apigateway"}),
    "aws:apigateway/methodResponse:MethodResponse": frozenset({"apigateway"}),
    "aws:apigateway/methodSettings:MethodSettings": frozenset({"apigateway"}),
    "aws:apigateway/resource:Resource": frozenset({"apigateway"}),
    "aws:apigateway/restApi:RestApi": frozenset({"apigateway"}),
    "aws:apigateway/stage:Stage": frozenset({"apigateway"}),
    "aws:cloudfront/cachePolicy:CachePolicy": frozenset({"cloudfront"}),
    "aws:cloudfront/distribution:Distribution": frozenset({"cloudfront"}),
    "aws:cloudfront/function:Function": frozenset({"cloudfront"}),
    "aws:cloudfront/originAccessControl:OriginAccessControl": frozenset({"cloudfront"}),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": frozenset({"cloudfront"}),
    "aws:cloudwatch/logGroup:LogGroup": frozenset({"logs"}),
    "aws:cloudwatch/metricAlarm:MetricAlarm": frozenset({"cloudwatch"}),
    "aws:cloudwatch/dashboard:Dashboard": frozenset({"cloudwatch"}),
    "aws:cognito/identityPool:IdentityPool": frozenset({"cognito-identity"}),
    "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment": frozenset({"cognito-identity", "iam"}),
    "aws:cognito/user:User": frozenset({"cognito-idp"}),
    "aws:cognito/userPool:UserPool": frozenset({"cognito-idp"}),  # Cognito's own email: no SES identity passed
    "aws:cognito/userPoolClient:UserPoolClient": frozenset({"cognito-idp"}),
    "aws:cognito/userPoolDomain:UserPoolDomain": frozenset({"cognito-idp"}),  # a prefix domain: no CloudFront
    "aws:dynamodb/table:Table": frozenset({"dynamodb"}),
    "aws:dynamodb/tableItem:TableItem": frozenset({"dynamodb"}),
    "aws:iam/role:Role": frozenset({"iam"}),
    "aws:iam/rolePolicy:RolePolicy": frozenset({"iam"}),
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": frozenset({"iam"}),
    "aws:kms/key:Key": frozenset({"kms"}),
    "aws:lambda/eventSourceMapping:EventSourceMapping": frozenset({"lambda"}),
    "aws:lambda/function:Function": frozenset({"lambda", "iam"}),  # passes the function's role
    "aws:lambda/permission:Permission": frozenset({"lambda"}),
    "aws:lambda/invocation:Invocation": frozenset({"lambda"}),  # the knowledge base's first sync
    "aws:s3/bucket:Bucket": frozenset({"s3"}),
    "aws:s3/bucketObjectv2:BucketObjectv2": frozenset({"s3"}),
    "aws:s3/bucketOwnershipControls:BucketOwnershipControls": frozenset({"s3"}),
    "aws:s3/bucketNotification:BucketNotification": frozenset({"s3"}),
    "aws:s3/bucketPolicy:BucketPolicy": frozenset({"s3"}),
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": frozenset({"s3"}),
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": frozenset({"s3"}),
    "aws:sns/topic:Topic": frozenset({"sns"}),
    "aws:sns/topicSubscription:TopicSubscription": frozenset({"sns"}),
    "aws:sqs/queue:Queue": frozenset({"sqs"}),
    "aws:sqs/queuePolicy:QueuePolicy": frozenset({"sqs"}),
    "aws:sesv2/configurationSet:ConfigurationSet": frozenset({"ses"}),
    "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": frozenset({"ses"}),
    "aws:wafv2/webAcl:WebAcl": frozenset({"wafv2"}),
    # aws-native goes through the Cloud Control API (IAM prefix `cloudformation`), which calls Lex as the caller.
    "aws-native:lex:Bot": frozenset({"cloudformation", "lex", "iam"}),
    "aws-native:lex:BotAlias": frozenset({"cloudformation", "lex"}),
    "aws-native:lex:BotVersion": frozenset({"cloudformation", "lex"}),
    "aws-native:bedrock:KnowledgeBase": frozenset({"cloudformation", "bedrock", "iam"}),  # passes its service role
    "aws-native:bedrock:DataSource": frozenset({"cloudformation", "bedrock"}),
    "aws-native:s3vectors:VectorBucket": frozenset({"cloudformation", "s3vectors"}),
    "aws-native:s3vectors:Index": frozenset({"cloudformation", "s3vectors"}),
    "pulumi:providers:aws-native": frozenset(),
    "pulumi:providers:aws": frozenset(),
    "random:index/randomPassword:RandomPassword": frozenset(),  # generated by the random provider, no AWS call
}
READ_ONLY_VERBS = ("Describe", "Get", "List", "BatchGet")
# Reads whose names do not start with a read verb.
READ_ONLY_ACTIONS = {
    "apigateway:GET": "API Gateway's management permissions are HTTP verbs: GET reads",
    "cognito-idp:AdminGetUser": "reads one user of a pool (Cognito prefixes its administrators' calls with Admin)",
}
# IAM prefix -> the botocore services whose operations its actions name.
MODEL_SERVICES = {
    "lex": ("lexv2-models", "lexv2-runtime", "lex-models", "lex-runtime"),
    "cloudformation": ("cloudcontrol", "cloudformation"),
    "s3": ("s3", "s3control"),
    "ses": ("ses", "sesv2"),  # one IAM prefix for both SES APIs; configuration sets are made through v2
    "bedrock": ("bedrock", "bedrock-agent", "bedrock-agent-runtime", "bedrock-runtime"),  # knowledge bases: agent
}
# Actions that are not operation names: IAM-only permissions, and S3's which differ from their operations.
NOT_OPERATIONS = {
    "iam:PassRole": "a permission to hand a role to a service, no API of its own",
    "apigateway:GET": "API Gateway's management permissions are HTTP verbs on resource paths",
    "apigateway:POST": "(as above)",
    "apigateway:PUT": "(as above)",
    "apigateway:PATCH": "(as above)",
    "apigateway:DELETE": "(as above)",
    "s3:ListBucket": "ListObjects(V2), HeadBucket",
    "s3:ListBucketVersions": "ListObjectVersions",
    "s3:PutLifecycleConfiguration": "PutBucketLifecycleConfiguration (the log bucket's expiry)",
    "s3:GetBucketPublicAccessBlock": "GetPublicAccessBlock",
    "s3:PutBucketPublicAccessBlock": "PutPublicAccessBlock",
    "s3:GetEncryptionConfiguration": "GetBucketEncryption",
    "s3:PutEncryptionConfiguration": "PutBucketEncryption",
    "s3:GetAccelerateConfiguration": "GetBucketAccelerateConfiguration",
    "s3:GetLifecycleConfiguration": "GetBucketLifecycleConfiguration",
    "s3:GetReplicationConfiguration": "GetBucketReplication",
    "s3:GetBucketObjectLockConfiguration": "GetObjectLockConfiguration",
    "s3:DeleteObjectVersion": "DeleteObject with a VersionId",
    "s3:GetBucketNotification": "GetBucketNotificationConfiguration (the documents bucket's events)",
    "s3:PutBucketNotification": "PutBucketNotificationConfiguration (as above)",
    "lambda:InvokeFunction": "Invoke (the knowledge base's first sync, made by the deployment)",
}
# Permissions the Lex handlers declare for features this program does not use.
UNUSED_HANDLER_PERMISSIONS = {
    "s3:GetObject": "importing a bot from S3 (BotFileS3Location)",
    "s3:PutObject": "exporting a bot to S3",
    "kms:GenerateDataKey": "bot replicas and exports encrypted with a customer key",
    "kms:Decrypt": "(as above)",
    "cloudwatch:PutMetricData": "bot replicas",
    "logs:CreateLogGroup": "bot replicas",
    "logs:CreateLogStream": "bot replicas",
    "logs:PutLogEvents": "bot replicas",
    "iam:CreateServiceLinkedRole": "a bot without its own role (this one has `chatbot-lex-role`)",
    "iam:GetRole": "(as above)",
    "bedrock:AssociateThirdPartyKnowledgeBase": "knowledge bases on third-party vector stores (Pinecone, Redis, ...)",
    "kms:CreateGrant": "knowledge bases and vector buckets encrypted with a customer key (these use SSE-S3)",
    "kms:Encrypt": "(as above)",
    "kms:GenerateDataKeyWithoutPlaintext": "(as above)",
    "kms:RetireGrant": "(as above)",
}


@dataclass(frozen=True)
class Statement:
    """One Allow statement of a policy file, Action and Resource always lists."""

    source: str
    sid: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def allows(self, action: str, arn: str) -> bool:
        """Whether this statement allows `action` on `arn` (`ACCOUNT_ID` read as the mocks' account)."""
        patterns = [r.replace("ACCOUNT_ID", ACCOUNT_ID) for r in self.resources]
        return any(fnmatch.fnmatchcase(action, a) for a in self.actions) and any(
            fnmatch.fnmatchcase(arn, p) for p in patterns
        )


@functools.cache
def statements(files: tuple[str, ...]) -> tuple[Statement, ...]:
    found = []
    for name in files:
        document = json.loads((IAM_DOCS / name).read_text())
        assert document["Version"] == "2012-10-17", f"{name}: Version must be 2012-10-17"
        for entry in document["Statement"]:
            assert entry["Effect"] == "Allow", f"{name} {entry.get('Sid')}: only Allow statements"
            actions = entry["Action"] if isinstance(entry["Action"], list) else [entry["Action"]]
            resources = entry["Resource"] if isinstance(entry["Resource"], list) else [entry["Resource"]]
            found.append(Statement(name, entry.get("Sid", ""), tuple(actions), tuple(resources)))
    return tuple(found)


def all_actions(files: tuple[str, ...]) -> set[str]:
    return {action for statement in statements(files) for action in statement.actions}


def graphs() -> list[StackGraph]:
    return [stack_graph(stack) for stack in SHIPPED_STACKS]


def handler_permissions(handlers: tuple[str, ...]) -> set[str]:
    """The permissions CloudFormation's handlers declare for the aws-native types of the shipped stacks."""
    declared: set[str] = set()
    for graph in graphs():
        for type_token in {r.type for r in graph.of_package("aws-native")}:
            cfn_type = cloudformation_type(type_token, graph.region)
            schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(graph.region, cfn_type).schema
            for handler in handlers:
                declared |= set(schema["handlers"].get(handler, {}).get("permissions", []))
    return declared


def services_used() -> set[str]:
    return {"sts"} | {s for g in graphs() for r in g.resources for s in TYPE_SERVICES.get(r.type, frozenset())}


# --- the files --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*PREVIEW, *DEPLOY, "preview-trust-policy.json", "deploy-trust-policy.json"])
def test_each_policy_file_fits_a_managed_policy(name: str) -> None:
    # GIVEN a policy file
    text = (IAM_DOCS / name).read_text()
    json.loads(text)
    # THEN it is JSON and within IAM's size limit for a managed policy
    assert len(re.sub(r"\s", "", text)) <= MANAGED_POLICY_MAX_CHARACTERS


def test_every_resource_type_the_program_declares_has_its_services() -> None:
    # GIVEN every resource type of the dev and prod stacks
    types = {r.type for g in graphs() for r in g.resources}
    # THEN each is mapped to the IAM services it needs (add new types to TYPE_SERVICES)
    assert sorted(types - set(TYPE_SERVICES)) == []


@pytest.mark.parametrize("files", [PREVIEW, DEPLOY], ids=["preview", "deploy"])
def test_each_policy_names_actions_for_every_service_the_program_uses(files: tuple[str, ...]) -> None:
    # GIVEN the services the stacks' resource types use
    needed = services_used()
    # WHEN the policy's actions are grouped by service
    named = {action.split(":")[0] for action in all_actions(files)}
    # THEN every service has actions
    assert sorted(needed - named) == []


def test_the_preview_policy_only_reads() -> None:
    # GIVEN every action of the preview policy
    actions = all_actions(PREVIEW)
    # THEN each one reads (Describe, Get, List, or one of READ_ONLY_ACTIONS)
    writes = [a for a in actions if a not in READ_ONLY_ACTIONS and not a.split(":")[1].startswith(READ_ONLY_VERBS)]
    assert writes == []


@pytest.mark.parametrize("files", [PREVIEW, DEPLOY], ids=["preview", "deploy"])
def test_no_action_is_a_wildcard(files: tuple[str, ...]) -> None:
    assert sorted(a for a in all_actions(files) if "*" in a) == []


@pytest.mark.parametrize("files", [PREVIEW, DEPLOY], ids=["preview", "deploy"])
def test_every_action_names_an_operation_of_the_aws_api(files: tuple[str, ...]) -> None:
    # GIVEN every action of the policy (those AWS's own CloudFormation handlers declare are IAM's by definition)
    session = botocore.session.get_session()
    known = set(NOT_OPERATIONS) | handler_permissions(("create", "read", "update", "delete", "list"))
    unknown = []
    for action in sorted(all_actions(files)):
        prefix, operation = action.split(":")
        if action in known:
            continue
        # WHEN its operation is looked up in the service's models
        models = MODEL_SERVICES.get(prefix, (prefix,))
        operations = {op.lower() for svc in models for op in session.get_service_model(svc).operation_names}
        if operation.lower() not in operations:
            unknown.append(action)
    # THEN it exists (a typo in a policy is an AccessDenied half-way through a deploy)
    assert unknown == []


# --- the resources the stacks create ----------------------------------------------------------------------------

# type -> (its ARN from its physical name, the action that creates it, the action that reads it)
ARN_FORMATS: dict[str, tuple[str, str, str]] = {
    "aws:iam/role:Role": ("arn:aws:iam::{account}:role/{name}", "iam:CreateRole", "iam:GetRole"),
    "aws:lambda/function:Function": (
        "arn:aws:lambda:{region}:{account}:function:{name}",
        "lambda:CreateFunction",
        "lambda:GetFunction",
    ),
    "aws:cloudwatch/logGroup:LogGroup": (
        "arn:aws:logs:{region}:{account}:log-group:{name}",
        "logs:CreateLogGroup",
        "logs:DescribeLogGroups",
    ),
    "aws:dynamodb/table:Table": (
        "arn:aws:dynamodb:{region}:{account}:table/{name}",
        "dynamodb:CreateTable",
        "dynamodb:DescribeTable",
    ),
    "aws:sqs/queue:Queue": ("arn:aws:sqs:{region}:{account}:{name}", "sqs:CreateQueue", "sqs:GetQueueAttributes"),
    "aws:sns/topic:Topic": ("arn:aws:sns:{region}:{account}:{name}", "sns:CreateTopic", "sns:GetTopicAttributes"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "arn:aws:cloudwatch:{region}:{account}:alarm:{name}",
        "cloudwatch:PutMetricAlarm",
        "cloudwatch:DescribeAlarms",
    ),
    "aws:cloudwatch/dashboard:Dashboard": (
        "arn:aws:cloudwatch::{account}:dashboard/{name}",
        "cloudwatch:PutDashboard",
        "cloudwatch:GetDashboard",
    ),
    "aws:s3/bucket:Bucket": ("arn:aws:s3:::{name}", "s3:CreateBucket", "s3:ListBucket"),
    "aws:wafv2/webAcl:WebAcl": (
        "arn:aws:wafv2:us-east-1:{account}:global/webacl/{name}/{id}",
        "wafv2:CreateWebACL",
        "wafv2:GetWebACL",
    ),
    "aws:cloudfront/function:Function": (
        "arn:aws:cloudfront::{account}:function/{name}",
        "cloudfront:CreateFunction",
        "cloudfront:DescribeFunction",
    ),
}


def arn_of(graph: StackGraph, resource: RecordedResource) -> str:
    """The resource's ARN from its physical name (the program's, or the one the provider generates)."""
    named_by = {"aws:s3/bucket:Bucket": "bucket", "aws:cloudwatch/dashboard:Dashboard": "dashboardName"}
    name = resource.outputs[named_by.get(resource.type, "name")]
    template = ARN_FORMATS[resource.type][0]
    return template.format(region=graph.region, account=ACCOUNT_ID, name=name, id=resource.id)


@pytest.mark.parametrize(("files", "which"), [(DEPLOY, 1), (PREVIEW, 2)], ids=["deploy creates", "preview reads"])
def test_the_policy_covers_every_named_resource_of_the_stacks(files: tuple[str, ...], which: int) -> None:
    # GIVEN every role, function, log group, table, queue, topic, alarm, bucket, web ACL and CloudFront function
    missing = []
    for graph in graphs():
        for resource in graph.resources:
            if resource.type not in ARN_FORMATS:
                continue
            arn, action = arn_of(graph, resource), ARN_FORMATS[resource.type][which]
            # WHEN the policy is asked whether the role may create (deploy) or read (preview) it
            if not any(statement.allows(action, arn) for statement in statements(files)):
                missing.append(f"{graph.stack}: {action} on {arn} ({resource.urn})")
    # THEN it may (a renamed component needs its name prefix in docs/iam: see docs/iam/README.md)
    assert not missing, "\n".join(missing)


def test_a_statement_allows_only_its_actions_on_its_resources() -> None:
    # GIVEN a statement for roles with one prefix
    statement = Statement("x", "x", ("iam:GetRole",), ("arn:aws:iam::ACCOUNT_ID:role/chatbot-*",))
    # THEN it allows its action on a matching role only
    assert statement.allows("iam:GetRole", f"arn:aws:iam::{ACCOUNT_ID}:role/chatbot-lex-role-1a2b3c4")
    assert not statement.allows("iam:GetRole", f"arn:aws:iam::{ACCOUNT_ID}:role/admin")
    assert not statement.allows("iam:DeleteRole", f"arn:aws:iam::{ACCOUNT_ID}:role/chatbot-lex-role-1a2b3c4")


@pytest.mark.parametrize(
    ("files", "handlers"), [(DEPLOY, ("create", "read", "update", "delete")), (PREVIEW, ("read",))]
)
def test_lex_permissions_are_those_cloudformation_declares_for_the_handlers(
    files: tuple[str, ...], handlers: tuple[str, ...]
) -> None:
    # GIVEN the permissions CloudFormation's handlers declare for the aws-native types the stacks use
    declared = handler_permissions(handlers)
    # WHEN they are looked up in the policy
    missing = sorted(declared - all_actions(files) - set(UNUSED_HANDLER_PERMISSIONS))
    # THEN each is there (or the program does not use the feature it is for), and Cloud Control is reachable
    assert missing == []
    assert {"cloudformation:GetResource", "cloudformation:GetResourceRequestStatus"} <= all_actions(files)


def test_pass_role_is_limited_to_the_services_that_take_the_programs_roles() -> None:
    # GIVEN the deploy policy's iam:PassRole statement
    documents = [json.loads((IAM_DOCS / name).read_text()) for name in DEPLOY]
    [pass_role] = [s for d in documents for s in d["Statement"] if "iam:PassRole" in s["Action"]]
    # THEN it names the services, and only roles of the program
    services = set(pass_role["Condition"]["StringEquals"]["iam:PassedToService"])
    assert services == {
        "lambda.amazonaws.com",
        "lexv2.amazonaws.com",
        "apigateway.amazonaws.com",
        "cognito-identity.amazonaws.com",
        "bedrock.amazonaws.com",
    }
    assert all(":role/" in arn and arn.endswith("-*") for arn in pass_role["Resource"])


@pytest.mark.parametrize(
    ("name", "subjects"),
    [
        ("preview-trust-policy.json", ["repo:OWNER/REPOSITORY:pull_request"]),
        (
            "deploy-trust-policy.json",
            ["repo:OWNER/REPOSITORY:environment:dev", "repo:OWNER/REPOSITORY:environment:production"],
        ),
    ],
)
def test_trust_policies_pin_githubs_audience_and_this_repositorys_subjects(name: str, subjects: list[str]) -> None:
    # GIVEN a role's trust policy
    [statement] = json.loads((IAM_DOCS / name).read_text())["Statement"]
    condition: dict[str, Any] = statement["Condition"]
    # THEN only GitHub's OIDC tokens for STS, for exactly these subjects, may assume it
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    assert condition["StringEquals"]["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    sub = condition["StringEquals"]["token.actions.githubusercontent.com:sub"]
    assert (sub if isinstance(sub, list) else [sub]) == subjects
    assert set(condition) == {"StringEquals"}, "no StringLike: a wildcard subject would trust other repositories"


def test_the_readme_links_every_policy_file() -> None:
    readme = (IAM_DOCS / "README.md").read_text()
    files = sorted(path.name for path in Path(IAM_DOCS).glob("*.json"))
    assert [name for name in files if f"({name})" not in readme] == []
