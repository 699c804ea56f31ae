"""Every aws-native resource uses one explicit aws-native provider whose region is the stack's `aws:region`.

pulumi-aws-native reads only `aws-native:region` or `AWS_REGION`, never `aws:region`: with the default provider,
`pulumi preview` stops with `missing required configuration key "aws-native:region"`, and with `AWS_REGION` set to
another region the bot lands away from its Lambda, its log group and the page's config.js. One provider built from
the stack's region, passed to every aws-native resource, makes that impossible by construction (issue 9, item 1).
"""

from __future__ import annotations

import pulumi
import pulumi_aws_native as aws_native
import pytest

from tests.infra.stack_graphs import SHIPPED_STACKS, StackGraph, run_graph, stack_graph

PROVIDER_TYPE = "pulumi:providers:aws-native"
NO_EXPLICIT_PROVIDER = "issue 9: the aws-native resources use the default provider, which never reads aws:region"


def provider_problems(graph: StackGraph) -> list[str]:
    """Why the stack's aws-native resources might not land in its region: each resource on the default provider,
    more than one provider, or a provider with another region (or none)."""
    resources = graph.of_package("aws-native")
    problems = [
        f"{r.urn} uses the default aws-native provider (reads aws-native:region or AWS_REGION, not aws:region)"
        for r in resources
        if not graph.provider_reference(r)
    ]
    references = sorted({graph.provider_reference(r) for r in resources} - {""})
    if len(references) > 1:
        problems.append(f"aws-native resources use {len(references)} providers, expected one: {references}")
    for reference in references:
        provider = graph.resource_by_urn(reference.rsplit("::", 1)[0])
        if provider is None or provider.type != PROVIDER_TYPE:
            problems.append(f"provider {reference} is not a registered {PROVIDER_TYPE}")
        elif provider.inputs.get("region") != graph.region:
            problems.append(
                f"provider {provider.urn} has region {provider.inputs.get('region')!r}, the stack's aws:region is "
                f"{graph.region!r}"
            )
    return problems


@pytest.mark.parametrize(
    "stack",
    [
        pytest.param(stack, marks=pytest.mark.xfail(strict=True, reason=NO_EXPLICIT_PROVIDER))
        for stack in SHIPPED_STACKS
    ],
)
def test_every_aws_native_resource_uses_one_explicit_provider_in_the_stacks_region(stack: str) -> None:
    # GIVEN the stack's aws-native resources
    graph = stack_graph(stack)
    assert graph.of_package("aws-native"), f"{stack}: expected the Lex bot, version and alias"
    # WHEN their providers are read
    problems = provider_problems(graph)
    # THEN all share one explicit provider built from aws:region
    assert not problems, "\n".join(problems)


# --- controls: the check passes what it should and refuses what it should ---------------------------------------

CONFIG = {"aws:region": "eu-west-1"}


def bot_version(name: str, opts: pulumi.ResourceOptions | None = None) -> None:
    aws_native.lex.BotVersion(name, bot_id="BOTID12345", bot_version_locale_specification=[], opts=opts)


def test_resources_sharing_a_provider_in_the_stacks_region_pass() -> None:
    # GIVEN two aws-native resources given one provider built from the stack's region
    def program() -> None:
        region = pulumi.Config("aws").require("region")
        provider = aws_native.Provider("aws-native", region=region)
        bot_version("first", pulumi.ResourceOptions(provider=provider))
        bot_version("second", pulumi.ResourceOptions(provider=provider))

    # WHEN the check reads the graph
    # THEN it finds nothing wrong
    assert provider_problems(run_graph(program, CONFIG)) == []


def test_a_resource_on_the_default_provider_is_named() -> None:
    # GIVEN an aws-native resource with no explicit provider
    graph = run_graph(lambda: bot_version("orphan"), CONFIG)
    # WHEN the check reads the graph
    [problem] = provider_problems(graph)
    # THEN it names the resource and why
    assert problem.startswith("urn:")
    assert "::orphan uses the default aws-native provider" in problem


def test_a_provider_in_another_region_is_named_with_both_regions() -> None:
    # GIVEN a provider whose region is not the stack's
    def program() -> None:
        provider = aws_native.Provider("elsewhere", region="us-west-2")
        bot_version("moved", pulumi.ResourceOptions(provider=provider))

    # WHEN the check reads the graph
    [problem] = provider_problems(run_graph(program, CONFIG))
    # THEN both regions are named
    assert "'us-west-2'" in problem
    assert "'eu-west-1'" in problem


def test_two_providers_are_one_too_many() -> None:
    # GIVEN two providers, even in the right region
    def program() -> None:
        for name in ("one", "two"):
            bot_version(
                f"{name}-version", pulumi.ResourceOptions(provider=aws_native.Provider(name, region="eu-west-1"))
            )

    # WHEN the check reads the graph
    problems = provider_problems(run_graph(program, CONFIG))
    # THEN it says there are two
    assert problems == [problems[0]]
    assert "use 2 providers, expected one" in problems[0]
