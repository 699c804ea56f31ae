"""Every aws-native resource of every shipped stack passes its CloudFormation schema, as Cloud Control checks it.

Mocks accept any value; Cloud Control does not. These tests are the offline stand-in for the first `pulumi up`'s
schema check (see tests/infra/cloudformation_schemas.py for how inputs become the CloudFormation document).
"""

from __future__ import annotations

from typing import Any

import pulumi_aws_native as aws_native
import pytest

from tests.infra.cloudformation_schemas import cloudformation_type, validate
from tests.infra.conftest import Mocks, RecordedResource
from tests.infra.stack_graphs import SHIPPED_STACKS, StackGraph, stack_graph


@pytest.fixture(scope="module", params=SHIPPED_STACKS)
def graph(request: pytest.FixtureRequest) -> StackGraph:
    return stack_graph(request.param)


def test_every_aws_native_resource_matches_its_cloudformation_schema(graph: StackGraph) -> None:
    # GIVEN every aws-native resource the stack registers
    resources = graph.of_package("aws-native")
    assert resources, f"{graph.stack}: expected the Lex bot, its version and alias (aws-native), found none"
    # WHEN each one's inputs are validated against its type's CloudFormation schema
    violations = [violation for resource in resources for violation in validate(resource, graph.region)]
    # THEN Cloud Control would accept every one
    assert not violations, f"{graph.stack}: CloudFormation would refuse:\n" + "\n".join(map(str, violations))


def test_every_aws_native_type_exists_in_the_stacks_region(graph: StackGraph) -> None:
    # GIVEN the aws-native types the stack uses and the region it deploys to
    types = sorted({resource.type for resource in graph.of_package("aws-native")})
    # WHEN each is looked up among the CloudFormation types of that region
    missing = []
    for type_token in types:
        try:
            cloudformation_type(type_token, graph.region)
        except LookupError as error:
            missing.append(str(error))
    # THEN each is offered there (Lex V2 is not in every region)
    assert not missing, "\n".join(missing)


def lex_bot_program(
    name: str = "SupportChatbot-test",
    idle_session_ttl_in_seconds: int = 600,
    bot_locales: list[aws_native.lex.BotLocaleArgs] | None = None,
) -> None:
    """A program with one Lex bot: valid unless an argument says otherwise."""
    aws_native.lex.Bot(
        "schema-check-bot",
        name=name,
        role_arn="arn:aws:iam::123456789012:role/lex",
        data_privacy=aws_native.lex.DataPrivacyPropertiesArgs(child_directed=False),
        idle_session_ttl_in_seconds=idle_session_ttl_in_seconds,
        bot_locales=bot_locales,
    )


def run_bot(run_pulumi, **arguments: Any) -> Mocks:
    mocks: Mocks = run_pulumi(lambda: lex_bot_program(**arguments))
    return mocks


def test_a_valid_bot_passes_the_schema(run_pulumi) -> None:
    # GIVEN a bot with every required property, each within its limits
    mocks = run_bot(run_pulumi)
    # WHEN it is validated
    violations = validate(mocks.one("aws-native:lex:Bot"), "us-east-1")
    # THEN nothing is refused (the check is not refusing everything)
    assert violations == []


def test_a_bot_with_a_short_session_ttl_is_refused_naming_resource_property_value_and_rule(run_pulumi) -> None:
    # GIVEN a bot whose idle session TTL is below Lex's minimum of 60 seconds
    mocks = run_bot(run_pulumi, idle_session_ttl_in_seconds=30)
    # WHEN it is validated
    [violation] = validate(mocks.one("aws-native:lex:Bot"), "us-east-1")
    # THEN the refusal names the resource, the Pulumi input, the value and the schema's rule
    assert violation.urn.endswith("::schema-check-bot")
    assert (violation.property, violation.value) == ("idleSessionTtlInSeconds", 30)
    assert "minimum 60" in violation.rule
    assert "AWS::Lex::Bot" in violation.rule
    assert "schema-check-bot" in str(violation)
    assert "idleSessionTtlInSeconds = 30" in str(violation)


def test_a_bot_name_with_a_space_and_a_locale_threshold_above_one_are_both_refused(run_pulumi) -> None:
    # GIVEN a bot whose name has a space and whose locale's confidence threshold is above 1
    locale = aws_native.lex.BotLocaleArgs(locale_id="en_US", nlu_confidence_threshold=1.5)
    mocks = run_bot(run_pulumi, name="Support bot", bot_locales=[locale])
    # WHEN it is validated
    violations = {v.property: v for v in validate(mocks.one("aws-native:lex:Bot"), "us-east-1")}
    # THEN both are refused, each at its own input
    assert sorted(violations) == ["botLocales[0].nluConfidenceThreshold", "name"]
    assert violations["name"].value == "Support bot"
    assert "pattern" in violations["name"].rule
    assert "maximum 1" in violations["botLocales[0].nluConfidenceThreshold"].rule


LOCALE = {"localeId": "en_US", "botVersionLocaleDetails": {"sourceBotVersion": "DRAFT"}}


def test_a_property_the_schema_does_not_know_is_refused_by_name() -> None:
    # GIVEN a bot version whose inputs carry a property AWS::Lex::BotVersion does not have
    version = RecordedResource(
        type="aws-native:lex:BotVersion",
        name="v",
        urn="urn:pulumi:test::support-chatbot::aws-native:lex:BotVersion::v",
        id="v-id",
        parent="",
        custom=True,
        inputs={"botId": "BOTID12345", "botVersionLocaleSpecification": [LOCALE], "fingerprint": "abc"},
        outputs={},
        protect=False,
        retain_on_delete=False,
        depends_on=(),
    )
    # WHEN it is validated
    violations = validate(version, "us-east-1")
    # THEN the unknown property is named
    assert [(v.property, v.value) for v in violations] == [("fingerprint", "abc")]
    assert "additionalProperties" in violations[0].rule


def test_an_aws_native_type_is_found_whatever_its_casing_in_cloudformation() -> None:
    # GIVEN aws-native tokens whose service is lower case
    # WHEN each is looked up
    # THEN CloudFormation's spelling comes back
    assert cloudformation_type("aws-native:lex:Bot", "us-east-1") == "AWS::Lex::Bot"
    assert cloudformation_type("aws-native:cloudfront:Distribution", "us-east-1") == "AWS::CloudFront::Distribution"


def test_a_type_missing_from_a_region_is_reported_with_the_region() -> None:
    # GIVEN Lex V2, which CloudFormation does not offer in every region
    # WHEN it is looked up in a region without it
    # THEN the error names the type and the region
    with pytest.raises(LookupError, match=r"aws::lex::bot in us-west-1"):
        cloudformation_type("aws-native:lex:Bot", "us-west-1")
