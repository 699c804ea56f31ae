"""PythonFunction: one `functions/<name>` folder deployed as a Lambda, the one way every function is packaged.

The package holds the folder's files, the shared `chatbot_shared` package, the `contracts` package (handlers
read their table schemas and environment names from `contracts.stack`) and any generated files; Powertools
(and pydantic) come from the public Powertools layer, not from the package, so a package is a few kilobytes
and deploys in seconds. The environment a function is given is checked against what its handler reads
(`contracts.stack.FUNCTION_ENVIRONMENT`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.iam import Statement, grant, service_trust_policy
from contracts.stack import FUNCTION_ENVIRONMENT, METRICS_NAMESPACE

REPO = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR = REPO / "functions"
SHARED_PACKAGE = FUNCTIONS_DIR / "shared" / "chatbot_shared"
CONTRACTS_PACKAGE = REPO / "contracts"
RUNTIME = "python3.13"
ARCHITECTURE = "arm64"  # Graviton: about 20% cheaper per GB-second than x86_64
HANDLER = "handler.lambda_handler"  # every function folder has handler.py with lambda_handler
# The public Powertools layer (account 017000801446). Pinned so a deploy is reproducible; the newest is
# named by the SSM parameter /aws/service/powertools/python/arm64/python3.13/latest.
POWERTOOLS_LAYER = "arn:aws:lambda:{region}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:{version}"
POWERTOOLS_LAYER_VERSION = 27


class PackagingError(Exception):
    """A function folder is missing or empty."""


@dataclass
class PythonFunctionArgs:
    """What a PythonFunction needs."""

    source: str
    """Folder under `functions/` holding `handler.py`."""
    description: str
    region: pulumi.Input[str]
    log_retention_days: int
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """The variables the handler reads, exactly as `contracts.stack.FUNCTION_ENVIRONMENT[source]` names them
    (optional ones may be left out). Powertools' service name and metrics namespace are set here."""
    generated_files: Mapping[str, str] = field(default_factory=dict)
    """Extra files written into the package (path -> content), e.g. data derived from `bot/`."""
    timeout_seconds: int = 10
    memory_mb: int = 256
    reserved_concurrency: int | None = None
    """Cap on concurrent executions. None: the function shares the account's unreserved pool."""
    powertools_layer_version: int = POWERTOOLS_LAYER_VERSION


def package(source: str, generated_files: Mapping[str, str] | None = None) -> pulumi.AssetArchive:
    """The deployment package of `functions/<source>`: its files, `chatbot_shared/`, `contracts/`, and generated
    files."""
    folder = FUNCTIONS_DIR / source
    if not (folder / "handler.py").is_file():
        raise PackagingError(f"functions/{source}/handler.py not found: every function folder needs one")
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for base, prefix in ((folder, ""), (SHARED_PACKAGE, "chatbot_shared/"), (CONTRACTS_PACKAGE, "contracts/")):
        for path in sorted(base.rglob("*.py")):
            if "__pycache__" not in path.parts:
                assets[prefix + path.relative_to(base).as_posix()] = pulumi.FileAsset(str(path))
    for name, content in (generated_files or {}).items():
        assets[name] = pulumi.StringAsset(content)
    return pulumi.AssetArchive(assets)


class PythonFunction(pulumi.ComponentResource):
    """A Python Lambda with its own role (logs only, until an owner grants more), log group and Powertools layer."""

    def __init__(self, name: str, args: PythonFunctionArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        check_environment(name, args.source, args.environment)
        super().__init__("support-chatbot:index:PythonFunction", name, None, opts)
        self.source = args.source
        child = pulumi.ResourceOptions(parent=self)

        self.role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy("lambda.amazonaws.com"),
            description=f"Runs the {args.source} function",
            opts=child,
        )
        self.log_group = aws.cloudwatch.LogGroup(f"{name}-logs", retention_in_days=args.log_retention_days, opts=child)
        logs_policy = grant(
            f"{name}-write-logs",
            self.role,
            [Statement(["logs:CreateLogStream", "logs:PutLogEvents"], [self.log_group.arn.apply(lambda a: f"{a}:*")])],
            parent=self,
        )
        environment: dict[str, pulumi.Input[str]] = {
            "POWERTOOLS_SERVICE_NAME": args.source,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            **args.environment,
        }
        self.function = aws.lambda_.Function(
            f"{name}-function",
            description=args.description,
            runtime=RUNTIME,
            architectures=[ARCHITECTURE],
            handler=HANDLER,
            code=package(args.source, args.generated_files),
            role=self.role.arn,
            layers=[
                pulumi.Output.from_input(args.region).apply(
                    lambda region: POWERTOOLS_LAYER.format(region=region, version=args.powertools_layer_version)
                )
            ],
            timeout=args.timeout_seconds,
            memory_size=args.memory_mb,
            reserved_concurrent_executions=args.reserved_concurrency,
            environment={"variables": environment},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name},
            # The function must not start before it may write its logs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs_policy]),
        )
        self.arn = self.function.arn
        self.name = self.function.name
        self.register_outputs({"arn": self.arn, "name": self.name, "role_arn": self.role.arn})

    def allow_invocation(
        self,
        name: str,
        principal: str,
        source_arn: pulumi.Input[str],
        aliases: Sequence[pulumi.Input[str | pulumi.Alias]] = (),
    ) -> aws.lambda_.Permission:
        """Let `principal` (an AWS service) invoke this function, only from `source_arn`. `aliases`: the names
        the permission had before a refactoring, so a deployed stack keeps it."""
        return aws.lambda_.Permission(
            name,
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal=principal,
            source_arn=source_arn,
            opts=pulumi.ResourceOptions(parent=self, aliases=list(aliases) or None),
        )


def check_environment(name: str, source: str, environment: Mapping[str, object]) -> None:
    """Fail, naming the function and the variable, unless `environment` is what `functions/<source>` reads:
    no name the handler does not read, every name it needs."""
    if source not in FUNCTION_ENVIRONMENT:
        raise ValueError(
            f"PythonFunction {name!r}: functions/{source} has no entry in contracts.stack.FUNCTION_ENVIRONMENT"
        )
    reads = {var.name: var for var in FUNCTION_ENVIRONMENT[source]}
    unknown = sorted(set(environment) - set(reads))
    missing = sorted(var for var, spec in reads.items() if spec.required and var not in environment)
    if unknown:
        raise ValueError(
            f"PythonFunction {name!r} (functions/{source}) is given {', '.join(unknown)}, which its handler does not "
            f"read; it reads {', '.join(sorted(reads))} (contracts.stack.FUNCTION_ENVIRONMENT)"
        )
    if missing:
        raise ValueError(
            f"PythonFunction {name!r} (functions/{source}) needs {', '.join(missing)} in its environment "
            "(contracts.stack.FUNCTION_ENVIRONMENT)"
        )
