"""Every name, description, id and enum the program sends fits what the AWS API accepts (botocore's models).

The table and the checker are in tests/infra/aws_constraints.py. Known defects of issue 9 are checked on their
own, marked `xfail(strict=True)`: the fix must remove the mark (and the entry in KNOWN_DEFECTS).
"""

from __future__ import annotations

import botocore.session
import pulumi
import pulumi_aws as aws
import pytest
import regex

from tests.infra.aws_constraints import (
    FIELDS,
    ApiMember,
    AutoName,
    Field,
    Violation,
    api_shape,
    check_graph,
    check_resource,
    java_pattern,
    member_documentation,
    rules_for,
    translate_java_pattern,
    uncovered,
)
from tests.infra.conftest import Mocks
from tests.infra.stack_graphs import SHIPPED_STACKS, StackGraph, stack_graph

WAF = "aws:wafv2/webAcl:WebAcl"
ROLE = "aws:iam/role:Role"
TRUST = '{"Version":"2012-10-17","Statement":[]}'
# (stack, resource type, input) -> why it is known to fail today. Each has its own strict-xfail test below.
KNOWN_DEFECTS = {
    ("prod", WAF, "description"): "issue 9: the web ACL description has an apostrophe and '*', which WAF refuses",
}


@pytest.fixture(scope="module", params=SHIPPED_STACKS)
def graph(request: pytest.FixtureRequest) -> StackGraph:
    return stack_graph(request.param)


def known(graph: StackGraph, violation: Violation) -> bool:
    resource_type = violation.urn.split("::")[-2].split("$")[-1]
    return (graph.stack, resource_type, violation.property.split(" ")[0]) in KNOWN_DEFECTS


# --- the shipped stacks ----------------------------------------------------------------------------------------


def test_every_value_the_stack_sends_fits_the_aws_api(graph: StackGraph) -> None:
    # GIVEN every resource the stack registers
    # WHEN each name, description, id and enum (and each name the provider would generate) is checked
    violations = [v for v in check_graph(graph.resources) if not known(graph, v)]
    # THEN AWS would accept all of them
    assert not violations, f"{graph.stack}: AWS would refuse:\n" + "\n".join(map(str, violations))


def test_every_name_like_input_of_the_stack_is_in_the_table(graph: StackGraph) -> None:
    # GIVEN every input the stack sets whose name says name/description/comment, and every auto-named name
    # WHEN they are looked up in the table
    gaps = uncovered(graph.resources)
    # THEN each is checked by an entry (add one to FIELDS, or to REFERENCES when it names another resource)
    assert not gaps, "inputs no table entry checks:\n" + "\n".join(map(str, gaps))


@pytest.mark.xfail(strict=True, reason=KNOWN_DEFECTS[("prod", WAF, "description")])
def test_the_prod_web_acl_description_fits_the_wafv2_pattern() -> None:
    # GIVEN the prod stack's web ACL
    [acl] = [r for r in stack_graph("prod").resources if r.type == WAF]
    # WHEN its description is checked
    violations = [v for v in check_resource(acl) if v.property == "description"]
    # THEN WAF accepts it
    assert not violations, "\n".join(map(str, violations))


# --- negative controls: the checker refuses what AWS refuses ----------------------------------------------------


def test_a_waf_description_with_an_apostrophe_is_refused_naming_resource_property_value_and_rule(
    run_pulumi,
) -> None:
    # GIVEN a web ACL whose description has an apostrophe
    description = "Rate limit on the chat page's API"

    def program() -> None:
        aws.wafv2.WebAcl(
            "apostrophe-acl",
            scope="CLOUDFRONT",
            description=description,
            default_action={"allow": {}},
            visibility_config={
                "cloudwatch_metrics_enabled": True,
                "metric_name": "acl",
                "sampled_requests_enabled": True,
            },
        )

    mocks: Mocks = run_pulumi(program)
    # WHEN the checker reads what the program registered
    [violation] = check_graph(mocks.resources)
    # THEN it is refused, and the message names the resource, the property, the value and the rule
    message = str(violation)
    assert violation.urn.endswith("::apostrophe-acl")
    assert violation.urn in message
    assert violation.property == "description"
    assert "description = " in message
    assert violation.value == description
    assert repr(description) in message
    assert "pattern" in message
    assert "wafv2 CreateWebACLRequest.Description" in message


def test_a_role_name_of_65_characters_is_refused(run_pulumi) -> None:
    # GIVEN a role named with 65 characters (IAM allows 64)
    name = "r" * 65
    mocks: Mocks = run_pulumi(lambda: aws.iam.Role("long-role", name=name, assume_role_policy=TRUST))
    # WHEN the checker reads it
    [violation] = check_graph(mocks.resources)
    # THEN the length rule refuses it, naming resource, property, value and rule
    assert violation.urn.endswith("::long-role")
    assert (violation.property, violation.value) == ("name", name)
    assert "max_length 64" in violation.rule
    assert "iam CreateRoleRequest.RoleName" in violation.rule


def test_a_role_name_of_64_characters_is_accepted(run_pulumi) -> None:
    # GIVEN a role named with exactly 64 characters
    mocks: Mocks = run_pulumi(lambda: aws.iam.Role("edge-role", name="r" * 64, assume_role_policy=TRUST))
    # WHEN the checker reads it
    # THEN nothing is refused
    assert check_graph(mocks.resources) == []


def test_an_unnamed_role_whose_generated_name_is_too_long_is_refused(run_pulumi) -> None:
    # GIVEN a role with no name and a 58-character logical name: pulumi-aws would add "-" and 7 hex digits (66)
    logical = "a-component-with-a-long-name-and-a-long-resource-name-role"
    assert len(logical) == 58
    mocks: Mocks = run_pulumi(lambda: aws.iam.Role(logical, assume_role_policy=TRUST))
    # WHEN the checker reads it
    violations = check_graph(mocks.resources)
    # THEN the generated name is refused, by the provider's own limit and by IAM's
    assert {v.property for v in violations} == {"name (auto-named)"}
    assert any("auto-naming" in v.rule for v in violations)
    assert any("iam CreateRoleRequest.RoleName" in v.rule for v in violations)
    assert all(len(str(v.value)) == 66 and str(v.value).startswith(logical + "-") for v in violations)


def test_an_enum_value_outside_the_model_is_refused(run_pulumi) -> None:
    # GIVEN an alarm with a statistic CloudWatch does not know
    def program() -> None:
        aws.cloudwatch.MetricAlarm(
            "odd-alarm",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            metric_name="Errors",
            namespace="AWS/Lambda",
            period=60,
            statistic="Median",
            threshold=0,
        )

    mocks: Mocks = run_pulumi(program)
    # WHEN the checker reads it
    [violation] = check_graph(mocks.resources)
    # THEN the enum refuses it
    assert (violation.property, violation.value) == ("statistic", "Median")
    assert violation.rule.startswith("enum SampleCount|Average|Sum|Minimum|Maximum")


def test_a_documented_limit_refuses_too(run_pulumi) -> None:
    # GIVEN a queue whose name has a character SQS does not allow (the model says so only in words)
    mocks: Mocks = run_pulumi(lambda: aws.sqs.Queue("dotted-queue", name="escalations.v2"))
    # WHEN the checker reads it
    [violation] = check_graph(mocks.resources)
    # THEN the documented pattern refuses it and quotes where it is written
    assert violation.property == "name"
    assert "A queue name can have up to 80 characters." in violation.rule


# --- the table stays true to the models -------------------------------------------------------------------------


@pytest.mark.parametrize("entry", FIELDS, ids=lambda f: f"{f.type_token}:{f.path}")
def test_every_table_entry_names_a_member_of_the_model(entry: Field) -> None:
    # GIVEN a table entry
    # WHEN its API member is looked up in botocore's model
    shape = api_shape(entry.api)
    # THEN it exists, and every pattern it brings compiles
    assert shape is not None
    for rule in rules_for(entry):
        if rule.kind == "pattern":
            java_pattern(str(rule.limit))


@pytest.mark.parametrize("entry", [f for f in FIELDS if f.documented], ids=lambda f: f"{f.type_token}:{f.path}")
def test_every_documented_limit_is_still_what_the_model_says(entry: Field) -> None:
    # GIVEN a limit the table took from the model's documentation
    assert entry.documented is not None
    # WHEN the documentation is read again
    text = member_documentation(entry.api)
    # THEN the sentence is still there (if not, re-read it and update the rule)
    assert " ".join(entry.documented.quote.split()) in text, f"{entry.api} now says: {text[:600]}"


REQUIRED_COVERAGE = [
    (WAF, "name"),
    (WAF, "description"),
    (WAF, "visibilityConfig.metricName"),
    ("aws:lambda/function:Function", "name"),
    ("aws:lambda/function:Function", "description"),
    (ROLE, "name"),
    (ROLE, "description"),
    ("aws:iam/rolePolicy:RolePolicy", "name"),
    ("aws:iam/policy:Policy", "name"),
    ("aws:iam/policy:Policy", "description"),
    ("aws:cloudwatch/logGroup:LogGroup", "name"),
    ("aws:sqs/queue:Queue", "name"),
    ("aws:sns/topic:Topic", "name"),
    ("aws:dynamodb/table:Table", "name"),
    ("aws:apigateway/restApi:RestApi", "name"),
    ("aws:apigateway/restApi:RestApi", "description"),
    ("aws:apigateway/stage:Stage", "stageName"),
    ("aws:cloudfront/distribution:Distribution", "comment"),
    ("aws:cloudfront/cachePolicy:CachePolicy", "comment"),
    ("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "comment"),
    ("aws:cloudfront/function:Function", "name"),
    ("aws:cloudfront/function:Function", "comment"),
    ("aws:cognito/identityPool:IdentityPool", "identityPoolName"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"),
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "alarmDescription"),
    ("aws:kms/key:Key", "description"),
    ("aws-native:lex:Bot", "name"),
    ("aws-native:lex:Bot", "description"),
]


def test_the_table_covers_every_kind_of_name_the_issue_lists() -> None:
    # GIVEN the names and descriptions issue 9 asks to cover
    # WHEN they are looked up in the table
    table = {(f.type_token, f.path) for f in FIELDS}
    # THEN each has an entry
    assert [pair for pair in REQUIRED_COVERAGE if pair not in table] == []


def test_auto_named_entries_state_the_providers_limit() -> None:
    # GIVEN pulumi-aws's auto-naming: 64 for roles and functions, 80 for queues and topics, 255 otherwise
    limits = {(f.type_token, f.path): f.auto_name.max_length for f in FIELDS if f.auto_name}
    # THEN the table says so
    assert limits[(ROLE, "name")] == 64
    assert limits[("aws:lambda/function:Function", "name")] == 64
    assert limits[("aws:sqs/queue:Queue", "name")] == 80
    assert limits[(WAF, "name")] == 255


def test_a_generated_name_is_the_logical_name_a_separator_and_seven_hex_digits() -> None:
    # GIVEN pulumi-aws's naming of a bucket (lower case, 63 at most)
    # WHEN a name is generated for a logical name with capitals
    name = AutoName(max_length=63, lowercase=True).physical_name("Chat-Site-Bucket")
    # THEN it has the shape the provider generates
    assert name.startswith("chat-site-bucket-")
    assert len(name) == len("Chat-Site-Bucket") + 8


# --- Java patterns --------------------------------------------------------------------------------------------


def test_java_patterns_match_the_whole_value_with_ascii_classes() -> None:
    # GIVEN IAM's role name pattern, unanchored in the model as Java writes it for String.matches
    pattern = java_pattern(r"[\w+=,.@-]+")
    # THEN it must match the whole value, and \w is ASCII only
    assert pattern.fullmatch("chatbot-role_1")
    assert pattern.fullmatch("rôle") is None
    assert pattern.fullmatch("role name") is None


def test_java_only_forms_are_translated() -> None:
    # GIVEN forms Java reads and Python's re does not
    # THEN each becomes its regex-package equivalent
    assert java_pattern(r"[\p{L}\p{N}]+").fullmatch("Grüße42")
    assert java_pattern(r"a++b").fullmatch("aab")
    assert java_pattern(r"[\uD800\uDC00-\uDBFF\uDFFF]").fullmatch("\U0001f600")
    assert java_pattern(r"[\x{0022}]").fullmatch('"')
    assert translate_java_pattern(r"\A\d+\z") == r"\A[0-9]+\Z"
    assert java_pattern(r"[\w- ]+").fullmatch("a name-1")  # Java reads the hyphen after \w as a hyphen


def test_every_pattern_of_the_services_the_table_uses_compiles() -> None:
    # GIVEN every service the table reads rules from
    services = sorted({entry.api.service for entry in FIELDS})
    # WHEN every pattern in their models is compiled the Java way
    failures = []
    for service in services:
        model = botocore.session.get_session().get_service_model(service)
        for name in model.shape_names:
            pattern = model.shape_for(name).metadata.get("pattern")
            try:
                if pattern:
                    java_pattern(pattern)
            except regex.error as error:
                failures.append(f"{service} {name}: {pattern!r}: {error}")
    # THEN all compile, so a new table entry on any of their members can be checked
    assert not failures, "\n".join(failures)


def test_api_member_paths_reach_list_items_and_map_keys() -> None:
    # GIVEN members written with [] and {keys}
    architectures = api_shape(ApiMember("lambda", "CreateFunctionRequest", "Architectures[]"))
    variable_names = api_shape(ApiMember("lambda", "Environment", "Variables{keys}"))
    # THEN they name the item and key shapes
    assert architectures.metadata["enum"] == ["x86_64", "arm64"]
    assert variable_names.metadata["pattern"] == "[a-zA-Z]([a-zA-Z0-9_])+"


def test_values_are_read_through_lists_and_maps_with_concrete_paths(run_pulumi) -> None:
    # GIVEN an alarm with a dimension whose name is empty
    def program() -> None:
        aws.cloudwatch.MetricAlarm(
            "dimension-alarm",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=1,
            metric_name="Errors",
            namespace="AWS/Lambda",
            period=60,
            statistic="Sum",
            threshold=0,
            dimensions={"FunctionName": pulumi.Output.from_input("")},
        )

    mocks: Mocks = run_pulumi(program)
    # WHEN checked
    [violation] = check_graph(mocks.resources)
    # THEN the path names the map entry
    assert violation.property == "dimensions['FunctionName']"
    assert "min_length 1" in violation.rule
