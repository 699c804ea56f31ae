"""Stack settings: typed, validated, and every error names the key and the command that fixes it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import (
    SETTING_KEYS,
    SettingsError,
    StackSettings,
    configuration_table,
    qualified_key,
    settings_from_values,
)

REPO = Path(__file__).resolve().parents[2]
TABLE_START, TABLE_END = "<!-- settings-table:start -->", "<!-- settings-table:end -->"
REQUIRED = {
    "region": "us-east-1",
    "escalation_sender": "bot@example.com",
    "escalation_recipients": ["team@example.com"],
}


def stack_values(stack: str) -> dict[str, Any]:
    """A stack file's config, keyed by settings field, as `load_settings` would see it."""
    config = yaml.safe_load((REPO / f"Pulumi.{stack}.yaml").read_text())["config"]
    by_key = {qualified_key(field): field for field in SETTING_KEYS}
    unknown = set(config) - set(by_key)
    assert not unknown, f"Pulumi.{stack}.yaml sets keys the program does not read: {sorted(unknown)}"
    return {by_key[key]: value for key, value in config.items()}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_each_stack_file_is_valid(stack):
    settings = settings_from_values(stack, stack_values(stack))
    assert settings.stack == stack


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
    ],
)
def test_invalid_value_names_the_key_the_reason_and_the_fix(field, value, reason):
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**REQUIRED, field: value})
    message = str(error.value)
    assert SETTING_KEYS[field].key in message, message
    assert reason in message, message
    assert "pulumi config set" in message, message


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
    assert rows["`support-chatbot:manageApiGatewayAccount`"] == "`true`"


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
