"""Pulumi mocks harness for the infra tests: run a program offline and inspect every resource it registered.

`run_program(program, config=...)` runs `program` under `pulumi.runtime.test` with fresh runtime options, the
given stack config and a `Mocks` that records each resource: its type token, name, URN (made as the engine makes
it), parent, resolved inputs (and which were secret), the fake outputs we filled in, its aliases, its explicit
provider, and the `protect`, `retain_on_delete`, `replace_on_changes` and `delete_before_replace` options as the
engine would receive them.
Whole-program tests use it the same way:

    from tests.infra.conftest import run_program  # absolute: tests/ has no __init__.py, `.conftest` fails

    mocks = run_program(lambda: runpy.run_path("__main__.py", run_name="__main__"), config={...})
    table = mocks.one("aws:dynamodb/table:Table", "query-log-table")

or through the `run_pulumi` fixture. `function_sources` swaps in placeholder handlers for one test module.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from contracts.stack import FUNCTION_ENVIRONMENT

ACCOUNT_ID = "123456789012"
CANONICAL_USER_ID = "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
REGION = "us-east-1"
PROJECT = "support-chatbot"
STACK = "test"
STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass(frozen=True)
class AliasSpec:
    """One alias as the SDK sends it to the engine: a whole former URN, or the parts of it that differ from the
    resource's own (empty: the resource's own name, type, stack, project or parent)."""

    urn: str = ""
    name: str = ""
    type: str = ""
    stack: str = ""
    project: str = ""
    parent: str = ""
    no_parent: bool = False


@dataclass(frozen=True, repr=False)
class RecordedResource:
    """One resource as the engine saw it: what the program asked for and what the mocks answered."""

    type: str
    name: str
    urn: str
    id: str
    parent: str
    custom: bool
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    protect: bool
    retain_on_delete: bool
    depends_on: tuple[str, ...]
    aliases: tuple[AliasSpec, ...] = ()
    """The aliases the program gave, as the SDK sends them to the engine (see tests/infra/resource_graph.py)."""
    secret_inputs: frozenset[str] = frozenset()
    """The inputs the engine receives as secrets (a secret anywhere inside an input makes the whole input secret):
    encrypted in the state, masked in previews. `inputs` holds their plain values."""
    replace_on_changes: tuple[str, ...] = ()
    """Inputs whose change replaces the resource (`replace_on_changes`; `*`: every input)."""
    delete_before_replace: bool = False
    """True: a replacement deletes the old resource first; False: Pulumi's create-before-delete."""
    provider: str = ""
    """The explicit provider the resource uses, as the SDK sends it (`{provider urn}::{provider id}`); empty: the
    package's default provider."""

    def __repr__(self) -> str:
        return f"<{self.urn}>"

    def json_input(self, key: str) -> Any:
        """An input holding a JSON document (a policy, a redrive policy), decoded."""
        value = self.inputs.get(key)
        assert isinstance(value, str), f"{self.urn}: input {key!r} is not a JSON string: {value!r}"
        return json.loads(value)

    def statements(self, key: str = "policy") -> list[dict[str, Any]]:
        """The statements of the policy document in input `key`, with Action and Resource always lists."""
        document = self.json_input(key)
        statements = document["Statement"]
        normalised = []
        for statement in statements if isinstance(statements, list) else [statements]:
            entry = dict(statement)
            for field in ("Action", "Resource"):
                if isinstance(entry.get(field), str):
                    entry[field] = [entry[field]]
            normalised.append(entry)
        return normalised


class Mocks(pulumi.runtime.Mocks):
    """Answers resources with plausible computed outputs per type and data sources with a fixed account/region."""

    def __init__(self, account_id: str = ACCOUNT_ID, region: str = REGION) -> None:
        self.account_id = account_id
        self.region = region
        self.resources: list[RecordedResource] = []
        self.calls: list[MockCallArgs] = []
        self.values: dict[str, Any] = {}
        """What the program returned as a mapping of outputs, resolved (see `run_program`)."""

    # --- queries used by the tests ---------------------------------------------------------------------------

    def of_type(self, type_token: str) -> list[RecordedResource]:
        """Every resource of `type_token` (e.g. `aws:iam/rolePolicy:RolePolicy`), in registration order."""
        return [r for r in self.resources if r.type == type_token]

    def named(self, name: str) -> RecordedResource:
        """The one resource whose logical name is `name`."""
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name!r}, found {[r.urn for r in found]}"
        return found[0]

    def one(self, type_token: str, name: str | None = None) -> RecordedResource:
        """The only resource of `type_token` (named `name` when given); fails listing what exists instead."""
        found = [r for r in self.of_type(type_token) if name is None or r.name == name]
        names = [r.name for r in self.of_type(type_token)]
        assert len(found) == 1, f"expected one {type_token} named {name!r}; the program registered {names}"
        return found[0]

    # --- the pulumi.runtime.Mocks interface ------------------------------------------------------------------

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        physical_id = fake_id(args.typ, args.name, args.inputs)
        outputs = {**args.inputs, **computed_outputs(args.typ, args.name, physical_id, args.inputs, self)}
        return physical_id, outputs

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.calls.append(args)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            arn = f"arn:aws:iam::{self.account_id}:user/test"
            return {"accountId": self.account_id, "arn": arn, "id": self.account_id, "userId": "AIDTEST"}, []
        if args.token == "aws:index/getRegion:getRegion":
            endpoint = f"ec2.{self.region}.amazonaws.com"
            return {"name": self.region, "region": self.region, "id": self.region, "endpoint": endpoint}, []
        if args.token == "aws:s3/getCanonicalUserId:getCanonicalUserId":
            return {"id": CANONICAL_USER_ID, "displayName": "test"}, []
        if args.token == "aws:index/getPartition:getPartition":
            return {"partition": "aws", "dnsSuffix": "amazonaws.com", "id": "aws"}, []
        return {}, []


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, plus a record of each registration's options (protect, retainOnDelete, parent,
    aliases), and URNs made as the engine makes them."""

    mocks: Mocks

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's whole type chain, except the stack's, before the type. (The stock mock
        keeps only the parent's last type and prefixes the stack's, so its URNs differ from a real deployment's.)"""
        qualified = parent.split("::")[2] if parent else ""
        chain = f"{qualified}${type_}" if qualified and qualified != STACK_TYPE else type_
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{chain}::{name}"

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 - the gRPC method name
        response = super().RegisterResource(request)
        if request.type != "pulumi:pulumi:Stack":
            inputs, secret_inputs = unwrapped(rpc.deserialize_properties(request.object))
            outputs, _ = unwrapped(self.resources[response.urn].state)
            self.mocks.resources.append(
                RecordedResource(
                    type=request.type,
                    name=request.name,
                    urn=response.urn,
                    id=response.id,
                    parent=request.parent,
                    custom=bool(request.custom),
                    inputs=inputs,
                    outputs=outputs,
                    secret_inputs=secret_inputs,
                    protect=bool(request.protect),
                    retain_on_delete=bool(request.retainOnDelete),
                    depends_on=tuple(request.dependencies),
                    aliases=tuple(alias_spec(alias) for alias in request.aliases),
                    replace_on_changes=tuple(request.replaceOnChanges),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    provider=request.provider,
                )
            )
        return response


def unwrapped(properties: Mapping[str, Any]) -> tuple[dict[str, Any], frozenset[str]]:
    """Properties as the SDK sends them, with each secret unwrapped, and the names of those that were secret."""
    secret = frozenset(key for key, value in properties.items() if rpc.is_rpc_secret(value))
    return {key: rpc.unwrap_rpc_secret(value) for key, value in properties.items()}, secret


def alias_spec(alias: Any) -> AliasSpec:
    """An `alias_pb2.Alias` of a registration as an AliasSpec."""
    if alias.WhichOneof("alias") == "urn":
        return AliasSpec(urn=alias.urn)
    spec = alias.spec
    return AliasSpec(
        name=spec.name,
        type=spec.type,
        stack=spec.stack,
        project=spec.project,
        parent=spec.parentUrn,
        no_parent=spec.noParent,
    )


def run_program(
    program: Callable[[], object],
    *,
    config: Mapping[str, object] | None = None,
    secret_keys: Sequence[str] = (),
    project: str = PROJECT,
    stack: str = STACK,
    mocks: Mocks | None = None,
) -> Mocks:
    """Run `program` under Pulumi mocks with `config` (keys like `aws:region`; non-strings JSON-encoded as the CLI
    does) and return the mocks holding every registered resource. When `program` returns a mapping of outputs
    (`{"api_url": api.api_url}`), their resolved values land in `mocks.values`. Exceptions from `program` propagate."""
    mocks = mocks or Mocks()
    pulumi.runtime.reset_options(project=project, stack=stack)
    values = {"aws:region": mocks.region, **(config or {})}
    pulumi.runtime.set_all_config(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()},
        list(secret_keys),
    )
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=RecordingMonitor(mocks))

    @pulumi.runtime.test
    def run() -> object:
        result = program()
        if isinstance(result, Mapping):  # outputs the test wants to read: resolved into mocks.values
            return pulumi.Output.all(**result).apply(mocks.values.update)
        return result

    run()
    return mocks


# --- fake computed outputs -------------------------------------------------------------------------------------


def fake_id(type_token: str, name: str, inputs: Mapping[str, Any]) -> str:
    """A physical id that is stable per resource and looks like the real one where the format matters."""
    digest = hashlib.sha256(f"{type_token}/{name}".encode()).hexdigest()
    if type_token == "aws:apigateway/restApi:RestApi":
        return digest[:10]
    if type_token == "aws:cognito/identityPool:IdentityPool":
        return f"{REGION}:{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
    if type_token == "aws:cloudfront/distribution:Distribution":
        return "E" + digest[:13].upper()
    return f"{name}-id"


def computed_outputs(  # noqa: C901 - one flat table of resource types
    type_token: str, name: str, physical_id: str, inputs: Mapping[str, Any], mocks: Mocks
) -> dict[str, Any]:
    """Outputs AWS computes that the components read: ARNs, names, URLs, domain names, ids."""
    region, account = mocks.region, mocks.account_id
    physical_name = inputs.get("name") or f"{name}-{hashlib.sha256(name.encode()).hexdigest()[:7]}"
    service = type_token.split(":")[1].split("/")[0]
    out: dict[str, Any] = {"arn": f"arn:aws:{service}:{region}:{account}:{physical_name}", "name": physical_name}
    match type_token:
        case "aws:dynamodb/table:Table":
            out["arn"] = f"arn:aws:dynamodb:{region}:{account}:table/{physical_name}"
            out["streamArn"] = f"{out['arn']}/stream/2026-01-01T00:00:00.000"
        case "aws:iam/role:Role":
            out["arn"] = f"arn:aws:iam::{account}:role/{physical_name}"
            out["uniqueId"] = f"AROA{physical_name.upper()[:12]}"
        case "aws:iam/policy:Policy":
            out["arn"] = f"arn:aws:iam::{account}:policy/{physical_name}"
        case "aws:lambda/function:Function":
            out["arn"] = f"arn:aws:lambda:{region}:{account}:function:{physical_name}"
            out["qualifiedArn"] = f"{out['arn']}:$LATEST"
            out["invokeArn"] = f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{out['arn']}/invocations"
        case "aws:cloudwatch/logGroup:LogGroup":
            out["arn"] = f"arn:aws:logs:{region}:{account}:log-group:{physical_name}"
        case "aws:sqs/queue:Queue":
            out["arn"] = f"arn:aws:sqs:{region}:{account}:{physical_name}"
            out["url"] = f"https://sqs.{region}.amazonaws.com/{account}/{physical_name}"
        case "aws:sns/topic:Topic":
            out["arn"] = f"arn:aws:sns:{region}:{account}:{physical_name}"
        case "aws:kms/key:Key":
            out["arn"] = f"arn:aws:kms:{region}:{account}:key/{physical_id}"
            out["keyId"] = physical_id
        case "aws:apigateway/restApi:RestApi":
            out["arn"] = f"arn:aws:apigateway:{region}::/restapis/{physical_id}"
            out["executionArn"] = f"arn:aws:execute-api:{region}:{account}:{physical_id}"
            out["rootResourceId"] = f"{physical_id}-root"
        case "aws:apigateway/resource:Resource":
            out["path"] = "/" + str(inputs.get("pathPart", ""))
        case "aws:apigateway/stage:Stage":
            api, stage = inputs.get("restApi"), inputs.get("stageName")
            out["invokeUrl"] = f"https://{api}.execute-api.{region}.amazonaws.com/{stage}"
            out["executionArn"] = f"arn:aws:execute-api:{region}:{account}:{api}/{stage}"
        case "aws:s3/bucket:Bucket" | "aws:s3/bucketV2:BucketV2":
            bucket = inputs.get("bucket") or physical_name
            out.update(
                bucket=bucket,
                arn=f"arn:aws:s3:::{bucket}",
                bucketDomainName=f"{bucket}.s3.amazonaws.com",
                bucketRegionalDomainName=f"{bucket}.s3.{region}.amazonaws.com",
            )
        case "aws:cloudfront/distribution:Distribution":
            out.update(
                arn=f"arn:aws:cloudfront::{account}:distribution/{physical_id}",
                domainName=f"d{physical_id.lower()[1:]}.cloudfront.net",
                hostedZoneId="Z2FDTNDATAQYW2",
            )
        case "aws:cloudfront/function:Function":
            out["arn"] = f"arn:aws:cloudfront::{account}:function/{physical_name}"
        case "aws:cognito/identityPool:IdentityPool":
            out["arn"] = f"arn:aws:cognito-identity:{region}:{account}:identitypool/{physical_id}"
        case "random:index/randomPassword:RandomPassword":
            keepers = json.dumps(inputs.get("keepers") or {}, sort_keys=True)  # new keepers, new value
            out["result"] = hashlib.sha256(f"{name}/{keepers}".encode()).hexdigest()[: int(inputs.get("length", 16))]
        case "aws-native:lex:Bot":
            out["awsId"] = "BOTID12345"
            out["arn"] = f"arn:aws:lex:{region}:{account}:bot/BOTID12345"
        case "aws-native:lex:BotVersion":
            out["botVersion"] = "1"
        case "aws-native:s3vectors:VectorBucket":
            out["vectorBucketArn"] = f"arn:aws:s3vectors:{region}:{account}:bucket/{name}"
        case "aws-native:s3vectors:Index":
            out["indexArn"] = f"{inputs.get('vectorBucketArn')}/index/{name}"
        case "aws-native:bedrock:KnowledgeBase":
            out["knowledgeBaseId"] = "KBID123456"
            out["knowledgeBaseArn"] = f"arn:aws:bedrock:{region}:{account}:knowledge-base/KBID123456"
        case "aws-native:bedrock:DataSource":
            out["dataSourceId"] = "DSID123456"
        case "aws-native:lex:BotAlias":
            out["botAliasId"] = "ALIASID123"
            out["arn"] = f"arn:aws:lex:{region}:{account}:bot-alias/BOTID12345/ALIASID123"
    return out


# --- fixtures --------------------------------------------------------------------------------------------------

FUNCTION_SOURCES = tuple(FUNCTION_ENVIRONMENT)  # every function folder the stack deploys


@pytest.fixture(scope="session")
def run_pulumi() -> Callable[..., Mocks]:
    """`run_program` as a fixture: `mocks = run_pulumi(lambda: QueryLog(...), config={...})`."""
    return run_program


@pytest.fixture(scope="session")
def stand_in_function() -> Callable[[str, str], Any]:
    """A factory of PythonFunctions for a component under test to be given: `stand_in_function("writer",
    "store_query")` is functions/store_query with placeholder values for every variable its handler needs."""
    from components.python_function import PythonFunction, PythonFunctionArgs
    from contracts.stack import FUNCTION_ENVIRONMENT

    def make(name: str, source: str) -> PythonFunction:
        environment = {var.name: f"{var.name.lower()}-stand-in" for var in FUNCTION_ENVIRONMENT[source] if var.required}
        args = PythonFunctionArgs(
            source=source,
            description=f"{source} stand-in",
            region=REGION,
            log_retention_days=14,
            environment=environment,
        )
        return PythonFunction(name, args)

    return make


@pytest.fixture(scope="module")
def function_sources(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """For the requesting test module: function folders with placeholder handlers, so infra tests do not depend
    on the handlers' work in progress (packaging is PythonFunction's concern). Module-scoped, so a module may
    share one mocked run between its tests; the real FUNCTIONS_DIR is back for the next module."""
    import components.python_function as python_function

    root = tmp_path_factory.mktemp("functions")
    for source in FUNCTION_SOURCES:
        (root / source).mkdir()
        (root / source / "handler.py").write_text("def lambda_handler(event, context):\n    return None\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(python_function, "FUNCTIONS_DIR", root)
        yield root
