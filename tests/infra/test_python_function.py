"""PythonFunction: one packaging for every function (its folder, `chatbot_shared/`, `contracts/`), and an
environment that is exactly what the handler reads (contracts.stack.FUNCTION_ENVIRONMENT)."""

from __future__ import annotations

import pulumi
import pytest

from components.python_function import REPO, PythonFunction, PythonFunctionArgs, check_environment, package
from contracts.stack import FUNCTION_ENVIRONMENT, METRICS_NAMESPACE
from tests.infra.conftest import Mocks

FUNCTION = "aws:lambda/function:Function"


def test_a_package_carries_the_handler_the_shared_package_and_the_contracts():
    # GIVEN the query-log writer's folder
    # WHEN it is packaged
    archive = package("store_query", {"extra.json": "{}"})
    # THEN the zip holds its handler at the root, chatbot_shared/ and every contracts module under contracts/
    files = set(archive.assets)
    contracts = {f"contracts/{path.name}" for path in (REPO / "contracts").glob("*.py")}
    assert {"handler.py", "chatbot_shared/__init__.py", "extra.json"} <= files, sorted(files)
    assert contracts <= files, f"contracts modules missing from the package: {sorted(contracts - files)}"
    assert "contracts/stack.py" in contracts, "the handlers read contracts.stack"
    assert not [f for f in files if "__pycache__" in f], sorted(files)
    contract_asset = archive.assets["contracts/stack.py"]
    assert isinstance(contract_asset, pulumi.FileAsset), contract_asset
    assert contract_asset.path == str(REPO / "contracts" / "stack.py"), contract_asset.path


def required_environment(source: str) -> dict[str, str]:
    return {var.name: "x" for var in FUNCTION_ENVIRONMENT[source] if var.required}


def test_an_environment_with_every_required_variable_is_accepted():
    # GIVEN / WHEN the writer is given its required variables and leaves its optional ones out
    # THEN nothing is refused
    check_environment("writer", "store_query", required_environment("store_query"))


def test_a_variable_the_handler_does_not_read_is_refused_naming_function_and_variable():
    # GIVEN the sender's environment plus a variable no handler of it reads
    environment = {**required_environment("send_escalation"), "RECIPIENT": "team@example.com"}
    # WHEN / THEN it is refused, naming the function and the variable
    with pytest.raises(ValueError, match=r"'escalations-sender' \(functions/send_escalation\) is given RECIPIENT"):
        check_environment("escalations-sender", "send_escalation", environment)


def test_a_missing_required_variable_is_refused_naming_function_and_variable():
    # GIVEN the fulfillment environment without the customer table
    environment = required_environment("fulfillment")
    del environment["CUSTOMERS_TABLE_NAME"]
    # WHEN / THEN it is refused, naming the function and the variable
    with pytest.raises(ValueError, match=r"'chatbot-fulfillment' \(functions/fulfillment\) needs CUSTOMERS_TABLE_NAME"):
        check_environment("chatbot-fulfillment", "fulfillment", environment)


def test_a_function_the_contract_does_not_know_is_refused():
    # GIVEN / WHEN / THEN a source with no entry in the contract is refused, naming it
    with pytest.raises(ValueError, match=r"functions/reports has no entry in contracts.stack.FUNCTION_ENVIRONMENT"):
        check_environment("reports", "reports", {})


def test_a_function_is_refused_before_anything_is_registered(run_pulumi, function_sources):
    # GIVEN a function given a variable its handler does not read
    def program():
        args = PythonFunctionArgs(
            source="store_query",
            description="writer",
            region="us-east-1",
            log_retention_days=14,
            environment={**required_environment("store_query"), "TABLE": "x"},
        )
        PythonFunction("writer", args)

    # WHEN / THEN the program fails naming the variable, and nothing was registered
    mocks = Mocks()
    with pytest.raises(ValueError, match="TABLE"):
        run_pulumi(program, mocks=mocks)
    assert mocks.resources == [], f"registered before refusing: {mocks.resources}"


def test_powertools_is_told_the_service_and_the_stacks_metrics_namespace(run_pulumi, function_sources):
    # GIVEN / WHEN the writer is deployed
    def program():
        args = PythonFunctionArgs(
            source="store_query",
            description="writer",
            region="us-east-1",
            log_retention_days=14,
            environment=required_environment("store_query"),
        )
        PythonFunction("writer", args)

    function = run_pulumi(program).one(FUNCTION)
    # THEN its environment names the service and the contract's metrics namespace, besides what it was given
    env = function.inputs["environment"]["variables"]
    assert env["POWERTOOLS_SERVICE_NAME"] == "store_query", f"{function.urn}: {env}"
    assert env["POWERTOOLS_METRICS_NAMESPACE"] == METRICS_NAMESPACE, f"{function.urn}: {env}"
    assert env["QUERY_LOG_TABLE_NAME"] == "x", f"{function.urn}: {env}"
