"""A deployed stack keeps its resources: every URN of the dev and prod stacks, and of a stack with every option on,
as deployed before the house split (tests/infra/data/urns-before-house-<stack>.txt) is taken over by a resource of
the program, by its own URN or an alias, so `pulumi up` replaces nothing; and the program makes the same cloud
resources."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pulumi
import pytest

from tests.infra.conftest import AliasSpec, Mocks, RecordedResource
from tests.infra.resource_graph import (
    EVERY_OPTION,
    AliasConflictError,
    claimed_urns,
    count_by_type,
    run_stack,
    stack_config,
    type_of,
    urns,
)

DATA = Path(__file__).parent / "data"
STACKS = ("dev", "prod", EVERY_OPTION)
COMPONENT_TYPES = "support-chatbot:index:"
HASHED_ASSET = "$aws:s3/bucketObjectv2:BucketObjectv2::chat-site-file-assets/"
KNOWLEDGE_DOCUMENT = "$aws:s3/bucketObjectv2:BucketObjectv2::knowledge-base-document-"
# Resources added on purpose since the URNs were recorded: new resources, so they replace nothing deployed. Each line
# says why; a resource that appears or vanishes without a line here is an accident.
ADDED_EVERYWHERE = Counter(
    {
        # The one aws-native provider, made from the stack's region (issue 9): a provider is a resource of the stack.
        # The Lex resources move to it from the default provider; none was ever deployed.
        "pulumi:providers:aws-native": 1,
        # The origin secret CloudFront sends the API, in two values that take turns (issue 13). (Their OriginSecret
        # component is a grouping, not counted.)
        "random:index/randomPassword:RandomPassword": 2,
        # The embed loader at its stable name, /embed.js (issue 14); its hashed twin is build output like the rest.
        "aws:s3/bucketObjectv2:BucketObjectv2": 1,
    }
)
# Escalations (issue 13): the ticket forwarder (function, role, log group, its two policies, its stream mapping),
# the "tickets wait" alarm, and the SES configuration set with its CloudWatch event destination and the bounce and
# complaint alarms. The conversation (issue 10): QueryLog lets the fulfillment role read the query log (the bot's
# ticket carries the chat), one more inline policy.
ESCALATIONS_AND_CONVERSATION = Counter(
    {
        "aws:lambda/function:Function": 1,
        "aws:iam/role:Role": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/rolePolicy:RolePolicy": 2 + 1,
        "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 3,
        "aws:sesv2/configurationSet:ConfigurationSet": 1,
        "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination": 1,
    }
)
# accessLogging (issue 13), on in the every-option stack: the log bucket with its controls, and the page bucket's
# logging to it. (The LogBucket component is a grouping, not counted.)
ACCESS_LOGGING = Counter(
    {
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketAcl:BucketAcl": 1,
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
        "aws:s3/bucketLogging:BucketLogging": 1,
    }
)
# The staff's admin view (issue 12): the staff user pool (StaffAccess: pool, sign-in domain, the admin page's app
# client), its Cognito authorizer on the API, the admin routes (5 methods with their integrations and invoke
# permissions, on 7 new paths: /admin, /admin/conversations and the 5 routes' own), the admin function (function,
# role, log group, its logs policy and its query-only policy), the /admin/ page (its index.html object, its index
# function and CSP), and the cache policy that lets the staff token through CloudFront on /api/admin/*.
# (The StaffAccess and the admin's PythonFunction components are groupings, not counted.)
STAFF_ADMIN_VIEW = Counter(
    {
        "aws:cognito/userPool:UserPool": 1,
        "aws:cognito/userPoolDomain:UserPoolDomain": 1,
        "aws:cognito/userPoolClient:UserPoolClient": 1,
        "aws:apigateway/authorizer:Authorizer": 1,
        "aws:apigateway/resource:Resource": 7,
        "aws:apigateway/method:Method": 5,
        "aws:apigateway/integration:Integration": 5,
        "aws:lambda/permission:Permission": 5,
        "aws:lambda/function:Function": 1,
        "aws:iam/role:Role": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:iam/rolePolicy:RolePolicy": 2,
        "aws:cloudfront/function:Function": 1,
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": 1,
        "aws:s3/bucketObjectv2:BucketObjectv2": 1,  # admin/index.html (its assets are hashed)
        "aws:cloudfront/cachePolicy:CachePolicy": 1,
    }
)


def staff_users(stack: str) -> Counter[str]:
    """One Cognito user per address of the stack's `staffEmails`."""
    return Counter({"aws:cognito/user:User": len(stack_config(stack).get("support-chatbot:staffEmails", []))})


# Feedback and the dashboard (issue 12): the API's POST /feedback route (resource, method, integration, the
# permission to invoke the writer), the writer's UpdateItem policy and the escalate role's read of the query log
# (priority tickets); the dashboard, and its alarms: fallback rate, escalation send failures, errors of each of the
# six functions.
FEEDBACK_AND_DASHBOARD = Counter(
    {
        "aws:apigateway/resource:Resource": 1,
        "aws:apigateway/method:Method": 1,
        "aws:apigateway/integration:Integration": 1,
        "aws:lambda/permission:Permission": 1,
        "aws:iam/rolePolicy:RolePolicy": 2,
        "aws:cloudwatch/dashboard:Dashboard": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 2 + 6,
    }
)
# The feedback route's CORS preflight, in a stack that allows extra origins (the every-option stack).
FEEDBACK_PREFLIGHT = Counter(
    {
        "aws:apigateway/method:Method": 1,
        "aws:apigateway/integration:Integration": 1,
        "aws:apigateway/integrationResponse:IntegrationResponse": 1,
        "aws:apigateway/methodResponse:MethodResponse": 1,
    }
)
# The knowledge base (issue 11), on in every stack: the documents bucket with its controls and its policy (CloudFront
# reads it), the S3 Vectors bucket and index, the Bedrock knowledge base and data source, their service role and its
# policy; the ingestion starter (function, role, log group, its two policies, its queue mapping), its queue, dead-letter
# queue and queue policy, the bucket's notification, the deployment's first sync, two alarms; the bot role's grant to
# answer from it (QnAIntent); and the CloudFront function serving the documents at /knowledge/. The documents
# themselves are content (see is_document).
KNOWLEDGE_BASE = Counter(
    {
        "aws:s3/bucket:Bucket": 1,
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": 1,
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls": 1,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": 1,
        "aws:s3/bucketPolicy:BucketPolicy": 1,
        "aws-native:s3vectors:VectorBucket": 1,
        "aws-native:s3vectors:Index": 1,
        "aws-native:bedrock:KnowledgeBase": 1,
        "aws-native:bedrock:DataSource": 1,
        "aws:iam/role:Role": 1 + 1,
        "aws:iam/rolePolicy:RolePolicy": 1 + 2 + 1,
        "aws:lambda/function:Function": 1,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        "aws:lambda/eventSourceMapping:EventSourceMapping": 1,
        "aws:sqs/queue:Queue": 2,
        "aws:sqs/queuePolicy:QueuePolicy": 1,
        "aws:s3/bucketNotification:BucketNotification": 1,
        "aws:lambda/invocation:Invocation": 1,
        "aws:cloudwatch/metricAlarm:MetricAlarm": 2,
        "aws:cloudfront/function:Function": 1,
    }
)
ADDED_ON_PURPOSE: dict[str, Counter[str]] = {
    "dev": ADDED_EVERYWHERE
    + ESCALATIONS_AND_CONVERSATION
    + STAFF_ADMIN_VIEW
    + staff_users("dev")
    + FEEDBACK_AND_DASHBOARD
    + KNOWLEDGE_BASE,
    "prod": ADDED_EVERYWHERE
    + ESCALATIONS_AND_CONVERSATION
    + STAFF_ADMIN_VIEW
    + staff_users("prod")
    + FEEDBACK_AND_DASHBOARD
    + KNOWLEDGE_BASE,
    EVERY_OPTION: ADDED_EVERYWHERE
    + ESCALATIONS_AND_CONVERSATION
    + ACCESS_LOGGING
    + STAFF_ADMIN_VIEW
    + staff_users(EVERY_OPTION)
    + FEEDBACK_AND_DASHBOARD
    + FEEDBACK_PREFLIGHT
    + KNOWLEDGE_BASE,
}
# Resources a stack lets go on purpose: the program no longer registers them, and the engine drops them from the
# stack's state. Each was `retain_on_delete`, so AWS keeps it; each line says why.
RELEASED_ON_PURPOSE: dict[str, set[str]] = {
    # prod no longer manages the account's API Gateway logging role in its region: dev (same account and region)
    # does, and two managers overwrite each other (issue 9). The role and the setting stay in the account.
    "prod": {
        "urn:pulumi:prod::support-chatbot::support-chatbot:index:EscalationApi$aws:apigateway/account:Account"
        "::escalation-api-apigateway-account",
        "urn:pulumi:prod::support-chatbot::support-chatbot:index:EscalationApi$aws:iam/role:Role"
        "::escalation-api-apigateway-cloudwatch",
        "urn:pulumi:prod::support-chatbot::support-chatbot:index:EscalationApi$aws:iam/rolePolicyAttachment:"
        "RolePolicyAttachment::escalation-api-apigateway-cloudwatch-logs",
    },
}


def deployed_urns(stack: str) -> list[str]:
    """The URNs recorded for `stack` before the house split (comment lines left out), without the page's hashed
    assets (see `is_hashed_asset`)."""
    lines = (DATA / f"urns-before-house-{stack}.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#") and not is_hashed_asset(line)]


def is_hashed_asset(urn: str) -> bool:
    """A page file named after its content hash (`assets/app-8c0e95966c.css`): each build of the page makes new ones
    and drops the old, by design (a new name is how browsers and CloudFront learn of new content), so they are
    build output to compare with a build, not deployed state to keep."""
    return HASHED_ASSET in urn


def is_document(urn: str) -> bool:
    """A document of the knowledge base (`knowledge/guides/vpn.md`, one object each): what `knowledge/` holds, added
    and removed with the folder by design, so content to compare with the folder, not deployed state to keep."""
    return KNOWLEDGE_DOCUMENT in urn


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    return request.param, run_stack(request.param)


def test_every_deployed_resource_is_taken_over_by_the_program(stack):
    # GIVEN the resources of a stack as deployed before the house split
    name, mocks = stack
    deployed = deployed_urns(name)
    # WHEN the engine matches the program's resources to them (own URN first, then aliases)
    claimed = claimed_urns(mocks.resources, deployed)
    # THEN every one is taken over (none is deleted and made again), except those let go on purpose
    released = RELEASED_ON_PURPOSE.get(name, set())
    lost = sorted(set(deployed) - set(claimed) - released)
    assert not lost, f"{name}: `pulumi up` would replace {len(lost)} deployed resources:\n" + "\n".join(lost)
    assert released <= set(deployed) - set(claimed), f"{name}: released on purpose but still registered: {released}"


def test_the_program_makes_the_cloud_resources_deployed(stack):
    # GIVEN the resources of a stack as deployed before the house split
    name, mocks = stack
    kept = set(deployed_urns(name)) - RELEASED_ON_PURPOSE.get(name, set())
    deployed = count_by_type(urn for urn in kept if not type_of(urn).startswith(COMPONENT_TYPES))
    # WHEN the program runs
    made = count_by_type(
        urn
        for urn in urns(mocks.resources)
        if not type_of(urn).startswith(COMPONENT_TYPES) and not is_hashed_asset(urn) and not is_document(urn)
    )
    # THEN it makes as many cloud resources of each type (components are groupings, not resources in AWS), less
    # those released and plus those added on purpose
    expected = deployed + ADDED_ON_PURPOSE[name]
    assert made == expected, f"{name}: resources added {made - expected}, gone {expected - made}"


def without_aliases(resource_name: str) -> pulumi.ResourceTransformation:
    """A stack transformation that drops every alias the program gives `resource_name`."""

    def drop(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        if args.name != resource_name:
            return None
        args.opts.aliases = None
        return pulumi.ResourceTransformationResult(args.props, args.opts)

    return drop


@pytest.mark.parametrize(
    ("resource_name", "lost_names"),
    [
        # an alias of its own: the REST API's stage, moved out of the former EscalationApi component
        ("api-stage", {"escalation-api-stage"}),
        # a component's alias, inherited by everything under it
        ("escalations", {"escalation-api", "escalation-api-tickets", "escalation-api-escalate-function"}),
    ],
)
def test_a_missing_alias_is_caught(resource_name, lost_names):
    # GIVEN the dev stack with the aliases of one resource dropped
    mocks = run_stack("dev", transformations=[without_aliases(resource_name)])
    # WHEN the engine matches the program's resources to the deployed ones
    deployed = deployed_urns("dev")
    lost = set(deployed) - set(claimed_urns(mocks.resources, deployed))
    # THEN the resources that alias kept are lost (they would be replaced)
    assert lost_names <= {urn.rsplit("::", 1)[1] for urn in lost}, f"expected {lost_names} lost, lost {lost}"


def recorded(urn: str, parent: str = "", *aliases: AliasSpec) -> RecordedResource:
    """A registration as the harness records it, for the engine rules' own tests."""
    return RecordedResource(
        type=type_of(urn),
        name=urn.rsplit("::", 1)[1],
        urn=urn,
        id="",
        parent=parent,
        custom=True,
        inputs={},
        outputs={},
        protect=False,
        retain_on_delete=False,
        depends_on=(),
        aliases=aliases,
    )


def test_a_child_inherits_its_parents_alias_with_its_name_re_prefixed():
    # GIVEN a component renamed from `old` to `new` (by an alias) and its child `new-table`
    prefix = "urn:pulumi:dev::p::"
    parent = recorded(f"{prefix}p:index:C::new", "", AliasSpec(name="old"))
    child = recorded(f"{prefix}p:index:C$aws:dynamodb/table:Table::new-table", parent.urn)
    old_child = f"{prefix}p:index:C$aws:dynamodb/table:Table::old-table"
    # WHEN they are matched against the deployed `old` and `old-table`
    claimed = claimed_urns([parent, child], [f"{prefix}p:index:C::old", old_child])
    # THEN the child takes over `old-table` through the alias it inherits
    assert claimed[old_child] == child.urn, claimed


def test_two_resources_claiming_one_deployed_resource_are_refused():
    # GIVEN two resources that both alias the same deployed one
    prefix = "urn:pulumi:dev::p::"
    first = recorded(f"{prefix}aws:sqs/queue:Queue::a", "", AliasSpec(name="old"))
    second = recorded(f"{prefix}aws:sqs/queue:Queue::b", "", AliasSpec(name="old"))
    # WHEN / THEN the engine's refusal is reported
    with pytest.raises(AliasConflictError, match="both claim"):
        claimed_urns([first, second], [f"{prefix}aws:sqs/queue:Queue::old"])
