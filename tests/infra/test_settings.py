"""Stack settings: typed, validated, and every error names the key and the command that fixes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.settings import (
    SETTING_KEYS,
    SettingsError,
    StackSettings,
    configuration_table,
    placeholder_warnings,
    qualified_key,
    settings_from_values,
)
from tests.infra.resource_graph import run_stack

REPO = Path(__file__).resolve().parents[2]
TABLE_START, TABLE_END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
ENGINE_KEYS = "pulumi:"  # the engine's own settings (e.g. disable-default-providers), not the program's
REQUIRED = {
    "region": "us-east-1",
    "escalation_sender": "bot@example.com",
    "escalation_recipients": ["team@example.com"],
}


def stack_file(stack: str) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    return config


def stack_values(stack: str) -> dict[str, Any]:
    """A stack file's config, keyed by settings field, as `load_settings` would see it (the engine's keys left out)."""
    config = {key: value for key, value in stack_file(stack).items() if not key.startswith(ENGINE_KEYS)}
    by_key = {qualified_key(field): field for field in SETTING_KEYS}
    unknown = set(config) - set(by_key)
    assert not unknown, f"Pulumi.{stack}.yaml sets keys the program does not read: {sorted(unknown)}"
    return {by_key[key]: value for key, value in config.items()}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_file_is_valid(stack):
    settings = settings_from_values(stack, stack_values(stack))
    assert settings.stack == stack


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_file_refuses_the_default_aws_native_provider(stack):
    # GIVEN a shipped stack file
    # WHEN / THEN the engine is told to refuse an aws-native resource without the program's explicit provider
    disabled = stack_file(stack).get("pulumi:disable-default-providers", [])
    assert "aws-native" in disabled, f"Pulumi.{stack}.yaml: pulumi:disable-default-providers is {disabled}"


def test_a_new_stack_leaves_the_accounts_api_gateway_logging_role_alone():
    # GIVEN a stack that says nothing about the account-wide API Gateway setting (e.g. the second in an account)
    # WHEN its settings are read
    settings = settings_from_values("staging", REQUIRED)
    # THEN it does not manage it: two managers would overwrite each other's role at every `up`
    assert settings.manage_api_gateway_account is False


def test_exactly_one_shipped_stack_per_region_manages_the_api_gateway_logging_role():
    # GIVEN the shipped stacks, which a newcomer deploys into one account
    managers: dict[str, list[str]] = {}
    for stack in ("dev", "prod"):
        settings = settings_from_values(stack, stack_values(stack))
        if settings.manage_api_gateway_account:
            managers.setdefault(settings.region, []).append(stack)
    # WHEN / THEN in each region exactly one of them sets the account's role: access logging works from the first
    # deploy, and no stack overwrites another's setting
    regions = {settings_from_values(stack, stack_values(stack)).region for stack in ("dev", "prod")}
    assert {region: len(managers.get(region, [])) for region in regions} == dict.fromkeys(regions, 1), managers


def test_prod_protects_data_keeps_logs_longer_and_loads_no_samples():
    dev = settings_from_values("dev", stack_values("dev"))
    prod = settings_from_values("prod", stack_values("prod"))
    assert prod.protect_data
    assert not dev.protect_data
    assert not prod.sample_data
    assert dev.sample_data
    assert prod.log_retention_days > dev.log_retention_days


def test_missing_required_key_names_the_key_and_the_fix():
    # GIVEN a stack with no escalation sender
    values = {k: v for k, v in REQUIRED.items() if k != "escalation_sender"}
    # WHEN its settings are read
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", values)
    # THEN the message names the key and the command that sets it
    message = str(error.value)
    assert "escalationSender" in message
    assert "pulumi config set support-chatbot:escalationSender" in message


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("log_retention_days", 13, "CloudWatch's retention periods"),
        ("escalation_recipients", [], "at least 1"),
        ("escalation_sender", "not-an-email", "pattern"),
        ("allowed_origins", ["http://insecure.example.com"], "pattern"),
        ("fulfillment_reserved_concurrency", 0, "greater than or equal to 1"),
        ("sample_data", "maybe", "valid boolean"),
        ("staff_emails", ["not-an-email"], "pattern"),
        ("staff_emails", ["Lead@acme.io", "lead@acme.io"], "more than once: Lead@acme.io, lead@acme.io"),
        ("staff_mfa", True, "'optional' or 'on'"),  # what YAML 1.1 makes of a bare `on`
        ("staff_mfa", "required", "'optional' or 'on'"),
    ],
)
def test_invalid_value_names_the_key_the_reason_and_the_fix(field, value, reason):
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**REQUIRED, field: value})
    message = str(error.value)
    assert SETTING_KEYS[field].key in message, message
    assert reason in message, message
    assert "pulumi config set" in message, message


def test_staff_settings_default_to_no_users_and_optional_mfa():
    # GIVEN a stack that sets nothing about staff
    settings = settings_from_values("dev", REQUIRED)
    # THEN the staff pool has no users and MFA is each person's choice
    assert settings.staff_emails == ()
    assert settings.staff_mfa == "optional"


def test_custom_domain_needs_a_certificate():
    with pytest.raises(SettingsError, match="customDomain"):
        settings_from_values("dev", {**REQUIRED, "custom_domain": "chat.example.com"})


def test_every_setting_has_a_config_key_and_a_description():
    # GIVEN / WHEN the settings model
    fields = set(StackSettings.model_fields) - {"project", "stack"}
    # THEN each field has a config key (and each key a field) and a description for the configuration reference
    assert fields == set(SETTING_KEYS), "every setting needs a config key (and every key a setting)"
    undocumented = [name for name in fields if not StackSettings.model_fields[name].description]
    assert not undocumented, f"settings without a description for the README: {undocumented}"


def test_configuration_table_lists_every_key_with_its_default_and_description():
    # GIVEN / WHEN the configuration table is generated from the settings model
    table = configuration_table().splitlines()
    # THEN it has one row per key, in SETTING_KEYS order, saying required, unset or the default as config spells it
    assert table[:2] == ["| Key | Default | Meaning |", "|---|---|---|"], table[:2]
    rows = {row.split(" | ")[0].removeprefix("| "): row.split(" | ")[1] for row in table[2:]}
    assert list(rows) == [f"`{qualified_key(field)}`" for field in SETTING_KEYS], list(rows)
    assert rows["`support-chatbot:escalationSender`"] == "required"
    assert rows["`support-chatbot:alarmEmail`"] == "unset"
    assert rows["`support-chatbot:logRetentionDays`"] == "`14`"
    assert rows["`support-chatbot:allowedOrigins`"] == "`[]`"
    assert rows["`support-chatbot:manageApiGatewayAccount`"] == "`false`"


def test_readme_configuration_reference_is_the_generated_table():
    # GIVEN the README's configuration reference, between its markers
    readme = (REPO / "README.md").read_text()
    missing = [marker for marker in (TABLE_START, TABLE_END) if marker not in readme]
    assert not missing, (
        f"README.md lacks {missing}: the configuration table goes between {TABLE_START} and {TABLE_END} "
        "(then run .venv/bin/python scripts/generate_settings_table.py)"
    )
    documented = readme.split(TABLE_START, 1)[1].split(TABLE_END, 1)[0].strip()
    # WHEN / THEN it is exactly the table generated from the settings model (keys, defaults, descriptions)
    assert documented == configuration_table().strip(), (
        "README.md's configuration table differs from the settings model: run "
        ".venv/bin/python scripts/generate_settings_table.py"
    )


def test_each_placeholder_address_of_a_shipped_stack_gets_one_warning_with_its_fix():
    # GIVEN the prod stack file as shipped: example.com addresses for the sender, the team, the alarms and the staff
    settings = settings_from_values("prod", stack_values("prod"))
    # WHEN the program looks for placeholder addresses
    warnings = placeholder_warnings(settings)
    # THEN each such key is named once, with the command that sets a real address
    keys = [warning.split(" ", 1)[0] for warning in warnings]
    assert keys == [
        "support-chatbot:escalationSender",
        "support-chatbot:escalationRecipients",
        "support-chatbot:alarmEmail",
        "support-chatbot:staffEmails",
    ], warnings
    assert all("pulumi config set " in warning and "your-domain.com" in warning for warning in warnings), warnings


def test_real_addresses_get_no_placeholder_warning():
    settings = settings_from_values(
        "prod",
        {**REQUIRED, "escalation_sender": "bot@acme.io", "escalation_recipients": ["team@acme.io"]},
    )
    assert placeholder_warnings(settings) == []


def test_the_program_warns_of_placeholders_on_preview_and_up(monkeypatch):
    # GIVEN the dev stack as shipped, and the warnings Pulumi would print
    printed: list[str] = []
    monkeypatch.setattr(pulumi.log, "warn", lambda message, *args, **kwargs: printed.append(message))
    # WHEN the whole program runs (as `pulumi preview` and `pulumi up` do)
    run_stack("dev")
    # THEN each of dev's placeholder keys is named, once
    named = sorted(message.split(" ", 1)[0] for message in printed if "is a placeholder" in message)
    assert named == [
        "support-chatbot:escalationRecipients",
        "support-chatbot:escalationSender",
        "support-chatbot:staffEmails",
    ], printed
