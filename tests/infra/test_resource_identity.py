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
    type_of,
    urns,
)

DATA = Path(__file__).parent / "data"
STACKS = ("dev", "prod", EVERY_OPTION)
COMPONENT_TYPES = "support-chatbot:index:"

# Cloud resources added on purpose since the split, so a stack gains them on `pulumi up` (nothing is replaced).
# Escalations (issue 13): the ticket forwarder (function, role, log group, its two policies, its stream mapping),
# the "tickets wait" alarm, and the SES configuration set with its CloudWatch event destination and the bounce and
# complaint alarms. The conversation (issue 10): QueryLog lets the fulfillment role read the query log (the bot's
# ticket carries the chat), one more inline policy.
ADDED_ON_PURPOSE = Counter(
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
ADDED_SINCE_THE_SPLIT: dict[str, Counter[str]] = dict.fromkeys(STACKS, ADDED_ON_PURPOSE)


def deployed_urns(stack: str) -> list[str]:
    """The URNs recorded for `stack` before the house split (comment lines left out)."""
    lines = (DATA / f"urns-before-house-{stack}.txt").read_text().splitlines()
    return [line for line in lines if line and not line.startswith("#")]


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    return request.param, run_stack(request.param)


def test_every_deployed_resource_is_taken_over_by_the_program(stack):
    # GIVEN the resources of a stack as deployed before the house split
    name, mocks = stack
    deployed = deployed_urns(name)
    # WHEN the engine matches the program's resources to them (own URN first, then aliases)
    claimed = claimed_urns(mocks.resources, deployed)
    # THEN every one is taken over: none is deleted and made again
    lost = sorted(set(deployed) - set(claimed))
    assert not lost, f"{name}: `pulumi up` would replace {len(lost)} deployed resources:\n" + "\n".join(lost)


def test_the_program_makes_the_cloud_resources_deployed(stack):
    # GIVEN the resources of a stack as deployed before the house split
    name, mocks = stack
    deployed = count_by_type(urn for urn in deployed_urns(name) if not type_of(urn).startswith(COMPONENT_TYPES))
    # WHEN the program runs
    made = count_by_type(urn for urn in urns(mocks.resources) if not type_of(urn).startswith(COMPONENT_TYPES))
    # THEN it makes as many cloud resources of each type (components are groupings, not resources in AWS), plus
    # the ones added on purpose since
    expected = deployed + ADDED_SINCE_THE_SPLIT[name]
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
