"""Each function reads exactly the environment contracts.stack declares for it, in one place, with clear errors."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import ModuleType

import pytest

from chatbot_shared.environment import ConfigurationError, FunctionEnvironment
from contracts.stack import (
    FUNCTION_ENVIRONMENT,
    LOCAL_ONLY_ENVIRONMENT,
    QUERY_LOG_TABLE_NAME,
    RECIPIENTS,
    EnvVar,
    environment_names,
)

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
ENVIRONMENT_READER = FUNCTIONS_DIR / "shared" / "chatbot_shared" / "environment.py"
READERS = {"environ", "environb", "getenv", "getenvb"}  # the ways `os` offers the process environment
VALID_VALUES = {
    "RECIPIENTS": '["support@example.com"]',
    "QUERY_LOG_RETENTION_DAYS": "90",
    "ALLOWED_ORIGINS": '["https://www.example.com"]',
    "TICKETS_PER_SESSION_PER_HOUR": "3",
}


class RecordingEnvironment(Mapping[str, str]):
    """An environment that remembers every variable looked up in it, set or not."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self.set_values = dict(values)
        self.looked_up: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.looked_up.add(name)
        return self.set_values[name]

    def __iter__(self) -> Iterator[str]:
        raise AssertionError("a function must look up the variables it reads by name, not list the environment")

    def __len__(self) -> int:
        return len(self.set_values)


def declared(function: str) -> tuple[EnvVar, ...]:
    return FUNCTION_ENVIRONMENT[function] + LOCAL_ONLY_ENVIRONMENT.get(function, ())


def complete_environment(function: str) -> dict[str, str]:
    """A valid value for every variable `function` declares."""
    return {var.name: VALID_VALUES.get(var.name, f"{var.name.lower()}-value") for var in declared(function)}


def handler(function: str) -> ModuleType:
    return importlib.import_module(f"functions.{function}.handler")


FUNCTIONS = sorted(FUNCTION_ENVIRONMENT)


def test_every_function_folder_is_in_the_contract():
    folders = sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "handler.py").is_file())
    assert folders == FUNCTIONS, "every functions/<name>/handler.py needs its variables in FUNCTION_ENVIRONMENT"


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_reads_exactly_the_variables_the_contract_declares(function):
    # GIVEN an environment holding every variable the function declares, recording what is looked up
    environment = RecordingEnvironment(complete_environment(function))
    # WHEN the function reads its settings
    handler(function).Settings.read(environment)
    # THEN it looked up exactly the declared variables: the ones the stack sets, and the local-only ones
    expected = environment_names(function) | {var.name for var in LOCAL_ONLY_ENVIRONMENT.get(function, ())}
    assert environment.looked_up == expected, (
        f"{function}: reads {sorted(environment.looked_up - expected)} undeclared, "
        f"never reads {sorted(expected - environment.looked_up)} declared"
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_a_function_starts_with_its_optional_variables_unset(function):
    # GIVEN only the variables the function requires
    required = {var.name for var in declared(function) if var.required}
    environment = {name: value for name, value in complete_environment(function).items() if name in required}
    # WHEN it reads its settings THEN nothing is refused
    handler(function).Settings.read(environment)


@pytest.mark.parametrize(
    ("function", "missing"),
    [(function, var.name) for function in FUNCTIONS for var in FUNCTION_ENVIRONMENT[function] if var.required],
)
def test_a_missing_required_variable_is_a_configuration_error_naming_it(function, missing):
    # GIVEN the function's environment without one required variable
    environment = {name: value for name, value in complete_environment(function).items() if name != missing}
    # WHEN the function reads its settings
    with pytest.raises(ConfigurationError) as error:
        handler(function).Settings.read(environment)
    # THEN the error names the variable and the function
    assert missing in str(error.value)
    assert function in str(error.value)


def test_reading_a_variable_the_contract_does_not_declare_is_refused():
    with pytest.raises(LookupError, match=r"RECIPIENTS, which contracts\.stack does not declare for it"):
        FunctionEnvironment("store_query", {"RECIPIENTS": "[]"}).require(RECIPIENTS)


def test_reading_a_required_variable_as_optional_is_refused():
    with pytest.raises(LookupError, match="declares QUERY_LOG_TABLE_NAME required"):
        FunctionEnvironment("store_query", {}).optional(QUERY_LOG_TABLE_NAME)


@pytest.mark.parametrize("recipients", ["support@example.com", "[]", "[42]", '{"to": "a@example.com"}'])
def test_recipients_that_are_not_a_list_of_addresses_are_a_configuration_error(recipients):
    environment = {**complete_environment("send_escalation"), "RECIPIENTS": recipients}
    with pytest.raises(ConfigurationError, match="RECIPIENTS must be a JSON list of strings"):
        handler("send_escalation").Settings.read(environment)


def test_a_retention_that_is_not_a_whole_number_is_a_configuration_error():
    environment = {**complete_environment("store_query"), "QUERY_LOG_RETENTION_DAYS": "ninety"}
    with pytest.raises(ConfigurationError, match="QUERY_LOG_RETENTION_DAYS must be a whole number"):
        handler("store_query").Settings.read(environment)


def environment_reads(path: Path) -> list[str]:
    """Where a module touches the process environment directly (`os.environ`, `os.getenv`, `from os import ...`)."""
    where = path.relative_to(FUNCTIONS_DIR)
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            if node.value.id == "os" and node.attr in READERS:
                found.append(f"{where}:{node.lineno} os.{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            imported = {alias.name for alias in node.names} & READERS
            found.extend(f"{where}:{node.lineno} from os import {name}" for name in sorted(imported))
    return found


def test_only_the_environment_reader_touches_the_process_environment():
    # GIVEN every module of every function and of the shared package, except the one environment reader
    modules = [path for path in FUNCTIONS_DIR.rglob("*.py") if path != ENVIRONMENT_READER]
    # THEN none reads the environment around its settings
    direct = [read for path in modules for read in environment_reads(path)]
    assert direct == [], "read variables through the function's Settings (chatbot_shared.environment): " + ", ".join(
        direct
    )
