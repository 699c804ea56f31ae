"""What AWS accepts for each name, description, id and enum the program sends, read from botocore's API models.

Mocks accept any string; AWS does not. `CreateWebACL` refuses a description with an apostrophe, `CreateRole` a
65-character name, and the first `pulumi up` fails half-way. botocore (which boto3 brings) ships every service's
API model offline: `shape_for("CreateWebACLRequest").members["Description"].metadata` holds its `pattern`, `min`
and `max` (or `enum`). `FIELDS` below is the readable table from (resource type, input property) to the API member
that states the rule; `check_graph` applies it to every resource a stack registers, including the physical names
the provider would generate for resources the program leaves unnamed.

Where the model states a limit only in its documentation (SQS queue names, CloudFront comments, stage names), the
rule is written out in `Documented` next to the sentence it comes from, and a test checks the sentence is still
there, so a model update that changes the words flags the rule for review.

Patterns in the models are Java regular expressions, matched against the whole value (`String.matches`). They are
compiled with the `regex` package (which knows `\\p{L}`, possessive quantifiers and atomic groups) after
`translate_java_pattern` rewrites the few Java-only forms, with Java's ASCII meaning of `\\w`, `\\d` and `\\s`.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import botocore.session
import regex
from botocore.model import Shape

from tests.infra.conftest import RecordedResource

# --- the table ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApiMember:
    """A member of a shape in botocore's model of `service`. `member` may end in `[]` (the list's items), `{}` (the
    map's values) or `{keys}` (the map's keys); an empty `member` means the shape itself."""

    service: str
    shape: str
    member: str = ""

    def __str__(self) -> str:
        return f"{self.service} {self.shape}" + (f".{self.member}" if self.member else "")


@dataclass(frozen=True)
class Documented:
    """A limit the model states in words only. `quote` is the model's own sentence (it must still be in the member's
    documentation); the limits are what it says."""

    quote: str
    max_length: int | None = None
    pattern: str | None = None
    one_of: tuple[object, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class AutoName:
    """How the provider names a resource whose program gave no name: `<logical name><separator><7 hex digits>`,
    refused by the provider itself when that is longer than `max_length` (pulumi-aws: `provider/resources.go`,
    `tfbridge.AutoName(...)`; 255 and "-" for every `name` input without an override)."""

    max_length: int
    separator: str = "-"
    random_chars: int = 7
    lowercase: bool = False

    def physical_name(self, logical_name: str) -> str:
        """The longest name the provider could generate (the random part is hex; its length is fixed)."""
        name = f"{logical_name}{self.separator}{'a1b2c3d4e5f6'[: self.random_chars]}"
        return name.lower() if self.lowercase else name


@dataclass(frozen=True)
class Field:
    """One input property of one resource type and the AWS API member it ends up in.

    `path` is dotted camelCase as Pulumi sends it; `[]` walks a list, `{}` a map's values, `{keys}` its keys."""

    type_token: str
    path: str
    api: ApiMember
    documented: Documented | None = None
    auto_name: AutoName | None = None


PULUMI_AWS_DEFAULT_AUTO_NAME = AutoName(max_length=255)
WAF = "aws:wafv2/webAcl:WebAcl"
LAMBDA = "aws:lambda/function:Function"
CDN = "aws:cloudfront/distribution:Distribution"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TABLE = "aws:dynamodb/table:Table"
BOT = "aws-native:lex:Bot"
USER_POOL = "aws:cognito/userPool:UserPool"
USER_CLIENT = "aws:cognito/userPoolClient:UserPoolClient"
AUTHORIZER = "aws:apigateway/authorizer:Authorizer"
_RATE = "rules[].statement.rateBasedStatement"
_BYTE_MATCH = f"{_RATE}.scopeDownStatement.byteMatchStatement"
_INTENT = "botLocales[].intents[]"
_SLOT = f"{_INTENT}.slots[]"
_MESSAGE = "messageGroupsList[].message.plainTextMessage.value"
_SES_CONFIGURATION_SET_NAME = Documented(
    "The name can contain up to 64 alphanumeric characters, including letters, numbers, hyphens (-) and underscores "
    "(_) only.",
    max_length=64,
    pattern=r"[A-Za-z0-9_-]{1,64}",
)
_COMMENT_128 = Documented("The comment cannot be longer than 128 characters.", max_length=128)

# Lex enums are spelled differently in CloudFormation (ORIGINAL_VALUE) and in the Lex API (OriginalValue): the
# CloudFormation schemas check those (test_cloudformation_schemas.py); here only names, descriptions and lengths.
FIELDS: tuple[Field, ...] = (
    # --- AWS WAF (web ACL in front of CloudFront) ---
    Field(WAF, "name", ApiMember("wafv2", "CreateWebACLRequest", "Name"), auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME),
    Field(WAF, "description", ApiMember("wafv2", "CreateWebACLRequest", "Description")),
    Field(WAF, "scope", ApiMember("wafv2", "CreateWebACLRequest", "Scope")),
    Field(WAF, "visibilityConfig.metricName", ApiMember("wafv2", "VisibilityConfig", "MetricName")),
    Field(WAF, "rules[].name", ApiMember("wafv2", "Rule", "Name")),
    Field(WAF, "rules[].priority", ApiMember("wafv2", "Rule", "Priority")),
    Field(WAF, "rules[].visibilityConfig.metricName", ApiMember("wafv2", "VisibilityConfig", "MetricName")),
    Field(WAF, f"{_RATE}.limit", ApiMember("wafv2", "RateBasedStatement", "Limit")),
    Field(WAF, f"{_RATE}.aggregateKeyType", ApiMember("wafv2", "RateBasedStatement", "AggregateKeyType")),
    Field(
        WAF,
        f"{_RATE}.evaluationWindowSec",
        ApiMember("wafv2", "RateBasedStatement", "EvaluationWindowSec"),
        Documented("Valid settings are 60, 120, 300, and 600.", one_of=(60, 120, 300, 600)),
    ),
    Field(WAF, f"{_BYTE_MATCH}.positionalConstraint", ApiMember("wafv2", "ByteMatchStatement", "PositionalConstraint")),
    Field(WAF, f"{_BYTE_MATCH}.textTransformations[].type", ApiMember("wafv2", "TextTransformation", "Type")),
    Field(WAF, f"{_BYTE_MATCH}.textTransformations[].priority", ApiMember("wafv2", "TextTransformation", "Priority")),
    # --- Lambda ---
    Field(
        LAMBDA,
        "name",
        ApiMember("lambda", "CreateFunctionRequest", "FunctionName"),
        Documented(
            "If you specify only the function name, it is limited to 64 characters in length.",
            max_length=64,
            pattern="[a-zA-Z0-9-_]+",
        ),
        auto_name=AutoName(max_length=64),
    ),
    Field(LAMBDA, "description", ApiMember("lambda", "CreateFunctionRequest", "Description")),
    Field(LAMBDA, "runtime", ApiMember("lambda", "CreateFunctionRequest", "Runtime")),
    Field(LAMBDA, "handler", ApiMember("lambda", "CreateFunctionRequest", "Handler")),
    Field(LAMBDA, "architectures[]", ApiMember("lambda", "CreateFunctionRequest", "Architectures[]")),
    Field(LAMBDA, "timeout", ApiMember("lambda", "CreateFunctionRequest", "Timeout")),
    Field(LAMBDA, "memorySize", ApiMember("lambda", "CreateFunctionRequest", "MemorySize")),
    Field(LAMBDA, "layers[]", ApiMember("lambda", "CreateFunctionRequest", "Layers[]")),
    Field(LAMBDA, "environment.variables{keys}", ApiMember("lambda", "Environment", "Variables{keys}")),
    Field(LAMBDA, "loggingConfig.logFormat", ApiMember("lambda", "LoggingConfig", "LogFormat")),
    Field(LAMBDA, "loggingConfig.logGroup", ApiMember("lambda", "LoggingConfig", "LogGroup")),
    Field(
        LAMBDA,
        "reservedConcurrentExecutions",
        ApiMember("lambda", "PutFunctionConcurrencyRequest", "ReservedConcurrentExecutions"),
    ),
    Field(
        "aws:lambda/permission:Permission",
        "statementId",
        ApiMember("lambda", "AddPermissionRequest", "StatementId"),
        auto_name=AutoName(max_length=100),
    ),
    Field("aws:lambda/permission:Permission", "action", ApiMember("lambda", "AddPermissionRequest", "Action")),
    Field("aws:lambda/permission:Permission", "principal", ApiMember("lambda", "AddPermissionRequest", "Principal")),
    Field("aws:lambda/permission:Permission", "sourceArn", ApiMember("lambda", "AddPermissionRequest", "SourceArn")),
    Field(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "batchSize",
        ApiMember("lambda", "CreateEventSourceMappingRequest", "BatchSize"),
    ),
    Field(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "functionResponseTypes[]",
        ApiMember("lambda", "CreateEventSourceMappingRequest", "FunctionResponseTypes[]"),
    ),
    Field(
        "aws:lambda/eventSourceMapping:EventSourceMapping",
        "scalingConfig.maximumConcurrency",
        ApiMember("lambda", "ScalingConfig", "MaximumConcurrency"),
    ),
    # --- IAM ---
    Field(
        "aws:iam/role:Role",
        "name",
        ApiMember("iam", "CreateRoleRequest", "RoleName"),
        auto_name=AutoName(max_length=64),
    ),
    Field("aws:iam/role:Role", "description", ApiMember("iam", "CreateRoleRequest", "Description")),
    Field(
        "aws:iam/rolePolicy:RolePolicy",
        "name",
        ApiMember("iam", "PutRolePolicyRequest", "PolicyName"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:iam/policy:Policy",
        "name",
        ApiMember("iam", "CreatePolicyRequest", "PolicyName"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field("aws:iam/policy:Policy", "description", ApiMember("iam", "CreatePolicyRequest", "Description")),
    # --- CloudWatch Logs and alarms ---
    Field(
        "aws:cloudwatch/logGroup:LogGroup",
        "name",
        ApiMember("logs", "CreateLogGroupRequest", "logGroupName"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:cloudwatch/logGroup:LogGroup",
        "retentionInDays",
        ApiMember("logs", "PutRetentionPolicyRequest", "retentionInDays"),
        Documented(
            "Possible values are: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, "
            "2557, 2922, 3288, and 3653.",
            one_of=(
                1,
                3,
                5,
                7,
                14,
                30,
                60,
                90,
                120,
                150,
                180,
                365,
                400,
                545,
                731,
                1096,
                1827,
                2192,
                2557,
                2922,
                3288,
                3653,
            ),
        ),
    ),
    Field(
        ALARM,
        "name",
        ApiMember("cloudwatch", "PutMetricAlarmInput", "AlarmName"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:cloudwatch/dashboard:Dashboard",
        "dashboardName",
        ApiMember("cloudwatch", "PutDashboardInput", "DashboardName"),
    ),
    Field(ALARM, "alarmDescription", ApiMember("cloudwatch", "PutMetricAlarmInput", "AlarmDescription")),
    Field(ALARM, "comparisonOperator", ApiMember("cloudwatch", "PutMetricAlarmInput", "ComparisonOperator")),
    Field(ALARM, "statistic", ApiMember("cloudwatch", "PutMetricAlarmInput", "Statistic")),
    Field(ALARM, "namespace", ApiMember("cloudwatch", "PutMetricAlarmInput", "Namespace")),
    Field(ALARM, "metricName", ApiMember("cloudwatch", "PutMetricAlarmInput", "MetricName")),
    Field(ALARM, "period", ApiMember("cloudwatch", "PutMetricAlarmInput", "Period")),
    Field(ALARM, "evaluationPeriods", ApiMember("cloudwatch", "PutMetricAlarmInput", "EvaluationPeriods")),
    Field(ALARM, "dimensions{keys}", ApiMember("cloudwatch", "Dimension", "Name")),
    Field(ALARM, "dimensions{}", ApiMember("cloudwatch", "Dimension", "Value")),
    Field(
        ALARM,
        "treatMissingData",
        ApiMember("cloudwatch", "PutMetricAlarmInput", "TreatMissingData"),
        Documented(
            "Valid Values: breaching | notBreaching | ignore | missing",
            one_of=("breaching", "notBreaching", "ignore", "missing"),
        ),
    ),
    # --- SES v2: the escalation mail's configuration set and its bounce/complaint event destination ---
    Field(
        "aws:sesv2/configurationSet:ConfigurationSet",
        "configurationSetName",
        ApiMember("sesv2", "CreateConfigurationSetRequest", "ConfigurationSetName"),
        _SES_CONFIGURATION_SET_NAME,
    ),
    Field(
        "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination",
        "configurationSetName",  # names the set made above: its naming rule is documented where it is created
        ApiMember("sesv2", "CreateConfigurationSetRequest", "ConfigurationSetName"),
        _SES_CONFIGURATION_SET_NAME,
    ),
    Field(
        "aws:sesv2/configurationSetEventDestination:ConfigurationSetEventDestination",
        "eventDestinationName",
        ApiMember("sesv2", "CreateConfigurationSetEventDestinationRequest", "EventDestinationName"),
    ),
    # --- SQS, SNS, KMS ---
    Field(
        "aws:sqs/queue:Queue",
        "name",
        ApiMember("sqs", "CreateQueueRequest", "QueueName"),
        Documented(
            "A queue name can have up to 80 characters.", max_length=80, pattern=r"[A-Za-z0-9_-]{1,80}(\.fifo)?"
        ),
        auto_name=AutoName(max_length=80),
    ),
    Field(
        "aws:sns/topic:Topic",
        "name",
        ApiMember("sns", "CreateTopicInput", "Name"),
        Documented(
            "Topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and "
            "hyphens, and must be between 1 and 256 characters long.",
            max_length=256,
            pattern=r"[A-Za-z0-9_-]{1,256}(\.fifo)?",
        ),
        auto_name=AutoName(max_length=80),
    ),
    Field("aws:kms/key:Key", "description", ApiMember("kms", "CreateKeyRequest", "Description")),
    Field(
        "aws:kms/key:Key",
        "deletionWindowInDays",
        ApiMember("kms", "ScheduleKeyDeletionRequest", "PendingWindowInDays"),
        Documented("If you include a value, it must be between 7 and 30, inclusive.", minimum=7, maximum=30),
    ),
    # --- DynamoDB (CreateTable also takes an ARN there; a name is the TableName shape) ---
    Field(TABLE, "name", ApiMember("dynamodb", "TableName"), auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME),
    Field(TABLE, "billingMode", ApiMember("dynamodb", "CreateTableInput", "BillingMode")),
    Field(TABLE, "hashKey", ApiMember("dynamodb", "KeySchemaElement", "AttributeName")),
    Field(TABLE, "rangeKey", ApiMember("dynamodb", "KeySchemaElement", "AttributeName")),
    Field(TABLE, "attributes[].name", ApiMember("dynamodb", "AttributeDefinition", "AttributeName")),
    Field(TABLE, "attributes[].type", ApiMember("dynamodb", "AttributeDefinition", "AttributeType")),
    Field(TABLE, "ttl.attributeName", ApiMember("dynamodb", "TimeToLiveSpecification", "AttributeName")),
    # --- API Gateway (REST) ---
    Field(
        "aws:apigateway/restApi:RestApi",
        "name",
        ApiMember("apigateway", "CreateRestApiRequest", "name"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:apigateway/restApi:RestApi", "description", ApiMember("apigateway", "CreateRestApiRequest", "description")
    ),
    Field(
        "aws:apigateway/restApi:RestApi",
        "endpointConfiguration.types",
        ApiMember("apigateway", "EndpointConfiguration", "types[]"),
    ),
    Field(
        "aws:apigateway/stage:Stage",
        "stageName",
        ApiMember("apigateway", "CreateStageRequest", "stageName"),
        Documented(
            "Stage names can only contain alphanumeric characters, hyphens, and underscores. Maximum length is 128 "
            "characters.",
            max_length=128,
            pattern="[A-Za-z0-9_-]+",
        ),
    ),
    Field("aws:apigateway/stage:Stage", "description", ApiMember("apigateway", "CreateStageRequest", "description")),
    Field(
        "aws:apigateway/methodSettings:MethodSettings",
        "settings.loggingLevel",
        ApiMember("apigateway", "MethodSetting", "loggingLevel"),
        Documented("Valid values are OFF, ERROR, and INFO.", one_of=("OFF", "ERROR", "INFO")),
    ),
    Field(
        "aws:apigateway/deployment:Deployment",
        "description",
        ApiMember("apigateway", "CreateDeploymentRequest", "description"),
    ),
    Field("aws:apigateway/integration:Integration", "type", ApiMember("apigateway", "PutIntegrationRequest", "type")),
    # --- CloudFront ---
    Field(CDN, "comment", ApiMember("cloudfront", "DistributionConfig", "Comment"), _COMMENT_128),
    Field(CDN, "priceClass", ApiMember("cloudfront", "DistributionConfig", "PriceClass")),
    Field(CDN, "httpVersion", ApiMember("cloudfront", "DistributionConfig", "HttpVersion")),
    Field(
        CDN,
        "defaultCacheBehavior.viewerProtocolPolicy",
        ApiMember("cloudfront", "DefaultCacheBehavior", "ViewerProtocolPolicy"),
    ),
    Field(CDN, "defaultCacheBehavior.allowedMethods[]", ApiMember("cloudfront", "AllowedMethods", "Items[]")),
    Field(
        CDN,
        "orderedCacheBehaviors[].viewerProtocolPolicy",
        ApiMember("cloudfront", "CacheBehavior", "ViewerProtocolPolicy"),
    ),
    Field(CDN, "orderedCacheBehaviors[].allowedMethods[]", ApiMember("cloudfront", "AllowedMethods", "Items[]")),
    Field(
        CDN,
        "orderedCacheBehaviors[].functionAssociations[].eventType",
        ApiMember("cloudfront", "FunctionAssociation", "EventType"),
    ),
    Field(
        CDN,
        "origins[].customOriginConfig.originProtocolPolicy",
        ApiMember("cloudfront", "CustomOriginConfig", "OriginProtocolPolicy"),
    ),
    Field(
        CDN,
        "origins[].customOriginConfig.originSslProtocols[]",
        ApiMember("cloudfront", "OriginSslProtocols", "Items[]"),
    ),
    Field(
        CDN,
        "restrictions.geoRestriction.restrictionType",
        ApiMember("cloudfront", "GeoRestriction", "RestrictionType"),
    ),
    Field(
        CDN,
        "viewerCertificate.minimumProtocolVersion",
        ApiMember("cloudfront", "ViewerCertificate", "MinimumProtocolVersion"),
    ),
    Field(CDN, "viewerCertificate.sslSupportMethod", ApiMember("cloudfront", "ViewerCertificate", "SSLSupportMethod")),
    Field(
        "aws:cloudfront/cachePolicy:CachePolicy",
        "comment",
        ApiMember("cloudfront", "CachePolicyConfig", "Comment"),
        _COMMENT_128,
    ),
    Field(
        "aws:cloudfront/cachePolicy:CachePolicy",
        "name",
        ApiMember("cloudfront", "CachePolicyConfig", "Name"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:cloudfront/cachePolicy:CachePolicy",
        "parametersInCacheKeyAndForwardedToOrigin.cookiesConfig.cookieBehavior",
        ApiMember("cloudfront", "CachePolicyCookiesConfig", "CookieBehavior"),
    ),
    Field(
        "aws:cloudfront/cachePolicy:CachePolicy",
        "parametersInCacheKeyAndForwardedToOrigin.headersConfig.headerBehavior",
        ApiMember("cloudfront", "CachePolicyHeadersConfig", "HeaderBehavior"),
    ),
    Field(
        "aws:cloudfront/cachePolicy:CachePolicy",
        "parametersInCacheKeyAndForwardedToOrigin.queryStringsConfig.queryStringBehavior",
        ApiMember("cloudfront", "CachePolicyQueryStringsConfig", "QueryStringBehavior"),
    ),
    Field(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "comment",
        ApiMember("cloudfront", "ResponseHeadersPolicyConfig", "Comment"),
        _COMMENT_128,
    ),
    Field(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "name",
        ApiMember("cloudfront", "ResponseHeadersPolicyConfig", "Name"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "securityHeadersConfig.referrerPolicy.referrerPolicy",
        ApiMember("cloudfront", "ResponseHeadersPolicyReferrerPolicy", "ReferrerPolicy"),
    ),
    Field(
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "securityHeadersConfig.frameOptions.frameOption",
        ApiMember("cloudfront", "ResponseHeadersPolicyFrameOptions", "FrameOption"),
    ),
    Field(
        "aws:cloudfront/function:Function",
        "name",
        ApiMember("cloudfront", "CreateFunctionRequest", "Name"),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field("aws:cloudfront/function:Function", "comment", ApiMember("cloudfront", "FunctionConfig", "Comment")),
    Field("aws:cloudfront/function:Function", "runtime", ApiMember("cloudfront", "FunctionConfig", "Runtime")),
    Field(
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "name",
        ApiMember("cloudfront", "OriginAccessControlConfig", "Name"),
        Documented("You can specify up to 64 characters.", max_length=64),
        auto_name=PULUMI_AWS_DEFAULT_AUTO_NAME,
    ),
    Field(
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "description",
        ApiMember("cloudfront", "OriginAccessControlConfig", "Description"),
    ),
    Field(
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "signingBehavior",
        ApiMember("cloudfront", "OriginAccessControlConfig", "SigningBehavior"),
    ),
    Field(
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "signingProtocol",
        ApiMember("cloudfront", "OriginAccessControlConfig", "SigningProtocol"),
    ),
    Field(
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "originAccessControlOriginType",
        ApiMember("cloudfront", "OriginAccessControlConfig", "OriginAccessControlOriginType"),
    ),
    # --- S3 (the model points to the user guide's naming rules; these are they) ---
    Field(
        "aws:s3/bucket:Bucket",
        "bucket",
        ApiMember("s3", "CreateBucketRequest", "Bucket"),
        Documented("Bucket naming rules", max_length=63, pattern="[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
        auto_name=AutoName(max_length=63, lowercase=True),
    ),
    # --- Cognito identity pool ---
    Field(
        "aws:cognito/identityPool:IdentityPool",
        "identityPoolName",
        ApiMember("cognito-identity", "CreateIdentityPoolInput", "IdentityPoolName"),
    ),
    Field(
        "aws:cognito/identityPoolRoleAttachment:IdentityPoolRoleAttachment",
        "roles{keys}",
        ApiMember("cognito-identity", "SetIdentityPoolRolesInput", "Roles{keys}"),
    ),
    # --- Cognito user pool of the staff (cognito-idp) ---
    Field(USER_POOL, "name", ApiMember("cognito-idp", "CreateUserPoolRequest", "PoolName")),
    Field(USER_POOL, "userPoolTier", ApiMember("cognito-idp", "CreateUserPoolRequest", "UserPoolTier")),
    Field(USER_POOL, "mfaConfiguration", ApiMember("cognito-idp", "CreateUserPoolRequest", "MfaConfiguration")),
    Field(USER_POOL, "deletionProtection", ApiMember("cognito-idp", "CreateUserPoolRequest", "DeletionProtection")),
    Field(USER_POOL, "usernameAttributes[]", ApiMember("cognito-idp", "CreateUserPoolRequest", "UsernameAttributes[]")),
    Field(
        USER_POOL,
        "accountRecoverySetting.recoveryMechanisms[].name",
        ApiMember("cognito-idp", "RecoveryOptionType", "Name"),
    ),
    Field(
        USER_POOL,
        "emailConfiguration.emailSendingAccount",
        ApiMember("cognito-idp", "EmailConfigurationType", "EmailSendingAccount"),
    ),
    Field(USER_POOL, "passwordPolicy.minimumLength", ApiMember("cognito-idp", "PasswordPolicyType", "MinimumLength")),
    Field(
        USER_POOL,
        "passwordPolicy.temporaryPasswordValidityDays",
        ApiMember("cognito-idp", "PasswordPolicyType", "TemporaryPasswordValidityDays"),
    ),
    Field(
        USER_POOL,
        "adminCreateUserConfig.inviteMessageTemplate.emailSubject",
        ApiMember("cognito-idp", "MessageTemplateType", "EmailSubject"),
    ),
    Field(
        USER_POOL,
        "adminCreateUserConfig.inviteMessageTemplate.emailMessage",
        ApiMember("cognito-idp", "MessageTemplateType", "EmailMessage"),
    ),
    Field(USER_CLIENT, "name", ApiMember("cognito-idp", "CreateUserPoolClientRequest", "ClientName")),
    Field(
        USER_CLIENT,
        "allowedOauthFlows[]",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "AllowedOAuthFlows[]"),
    ),
    Field(
        USER_CLIENT,
        "allowedOauthScopes[]",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "AllowedOAuthScopes[]"),
    ),
    Field(
        USER_CLIENT,
        "explicitAuthFlows[]",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "ExplicitAuthFlows[]"),
    ),
    Field(USER_CLIENT, "callbackUrls[]", ApiMember("cognito-idp", "CreateUserPoolClientRequest", "CallbackURLs[]")),
    Field(USER_CLIENT, "logoutUrls[]", ApiMember("cognito-idp", "CreateUserPoolClientRequest", "LogoutURLs[]")),
    Field(
        USER_CLIENT, "defaultRedirectUri", ApiMember("cognito-idp", "CreateUserPoolClientRequest", "DefaultRedirectURI")
    ),
    Field(
        USER_CLIENT,
        "preventUserExistenceErrors",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "PreventUserExistenceErrors"),
    ),
    Field(
        USER_CLIENT,
        "authSessionValidity",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "AuthSessionValidity"),
    ),
    Field(
        USER_CLIENT,
        "accessTokenValidity",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "AccessTokenValidity"),
    ),
    Field(USER_CLIENT, "idTokenValidity", ApiMember("cognito-idp", "CreateUserPoolClientRequest", "IdTokenValidity")),
    Field(
        USER_CLIENT,
        "refreshTokenValidity",
        ApiMember("cognito-idp", "CreateUserPoolClientRequest", "RefreshTokenValidity"),
    ),
    Field(
        USER_CLIENT, "tokenValidityUnits.accessToken", ApiMember("cognito-idp", "TokenValidityUnitsType", "AccessToken")
    ),
    Field(USER_CLIENT, "tokenValidityUnits.idToken", ApiMember("cognito-idp", "TokenValidityUnitsType", "IdToken")),
    Field(
        USER_CLIENT,
        "tokenValidityUnits.refreshToken",
        ApiMember("cognito-idp", "TokenValidityUnitsType", "RefreshToken"),
    ),
    Field(
        "aws:cognito/userPoolDomain:UserPoolDomain",
        "domain",
        ApiMember("cognito-idp", "CreateUserPoolDomainRequest", "Domain"),
    ),
    Field("aws:cognito/user:User", "username", ApiMember("cognito-idp", "AdminCreateUserRequest", "Username")),
    Field(
        "aws:cognito/user:User",
        "desiredDeliveryMediums[]",
        ApiMember("cognito-idp", "AdminCreateUserRequest", "DesiredDeliveryMediums[]"),
    ),
    # --- API Gateway's Cognito authorizer of the staff routes ---
    Field(AUTHORIZER, "name", ApiMember("apigateway", "CreateAuthorizerRequest", "name")),
    Field(AUTHORIZER, "type", ApiMember("apigateway", "CreateAuthorizerRequest", "type")),
    Field(
        "aws:apigateway/method:Method",
        "authorization",
        ApiMember("apigateway", "PutMethodRequest", "authorizationType"),
        Documented(
            "Valid values are NONE for open access, AWS_IAM for using Amazon Web Services IAM permissions, CUSTOM for "
            "using a custom authorizer, COGNITO_USER_POOLS for using a Cognito user pool, or JWT for using a JWT "
            "authorizer.",
            one_of=("NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS", "JWT"),
        ),
    ),
    # --- Lex V2 through aws-native (the Lex V2 model-building API, lexv2-models) ---
    Field(BOT, "name", ApiMember("lexv2-models", "CreateBotRequest", "botName")),
    Field(BOT, "description", ApiMember("lexv2-models", "CreateBotRequest", "description")),
    Field(BOT, "idleSessionTtlInSeconds", ApiMember("lexv2-models", "CreateBotRequest", "idleSessionTTLInSeconds")),
    Field(BOT, "botLocales[].description", ApiMember("lexv2-models", "CreateBotLocaleRequest", "description")),
    Field(
        BOT,
        "botLocales[].nluConfidenceThreshold",
        ApiMember("lexv2-models", "CreateBotLocaleRequest", "nluIntentConfidenceThreshold"),
    ),
    Field(BOT, f"{_INTENT}.name", ApiMember("lexv2-models", "CreateIntentRequest", "intentName")),
    Field(BOT, f"{_INTENT}.description", ApiMember("lexv2-models", "CreateIntentRequest", "description")),
    Field(
        BOT,
        f"{_INTENT}.intentClosingSetting.closingResponse.{_MESSAGE}",
        ApiMember("lexv2-models", "PlainTextMessage", "value"),
    ),
    Field(BOT, f"{_SLOT}.name", ApiMember("lexv2-models", "CreateSlotRequest", "slotName")),
    Field(BOT, f"{_SLOT}.description", ApiMember("lexv2-models", "CreateSlotRequest", "description")),
    Field(
        BOT,
        f"{_SLOT}.valueElicitationSetting.promptSpecification.maxRetries",
        ApiMember("lexv2-models", "PromptSpecification", "maxRetries"),
    ),
    Field(
        BOT,
        f"{_SLOT}.valueElicitationSetting.promptSpecification.{_MESSAGE}",
        ApiMember("lexv2-models", "PlainTextMessage", "value"),
    ),
    # --- Amazon Bedrock knowledge base ---
    Field("aws-native:bedrock:KnowledgeBase", "name", ApiMember("bedrock-agent", "CreateKnowledgeBaseRequest", "name")),
    Field(
        "aws-native:bedrock:KnowledgeBase",
        "description",
        ApiMember("bedrock-agent", "CreateKnowledgeBaseRequest", "description"),
    ),
    Field("aws-native:bedrock:DataSource", "name", ApiMember("bedrock-agent", "CreateDataSourceRequest", "name")),
    Field(
        "aws-native:bedrock:DataSource",
        "description",
        ApiMember("bedrock-agent", "CreateDataSourceRequest", "description"),
    ),
    Field(BOT, "botLocales[].slotTypes[].name", ApiMember("lexv2-models", "CreateSlotTypeRequest", "slotTypeName")),
    Field(
        BOT,
        "botLocales[].slotTypes[].description",
        ApiMember("lexv2-models", "CreateSlotTypeRequest", "description"),
    ),
    Field(
        BOT,
        "botLocales[].slotTypes[].slotTypeValues[].sampleValue.value",
        ApiMember("lexv2-models", "SampleValue", "value"),
    ),
    Field(
        BOT,
        "botLocales[].slotTypes[].slotTypeValues[].synonyms[].value",
        ApiMember("lexv2-models", "SampleValue", "value"),
    ),
    Field(
        "aws-native:lex:BotVersion",
        "description",
        ApiMember("lexv2-models", "CreateBotVersionRequest", "description"),
    ),
    Field(
        "aws-native:lex:BotAlias",
        "botAliasName",
        ApiMember("lexv2-models", "CreateBotAliasRequest", "botAliasName"),
    ),
    Field("aws-native:lex:BotAlias", "description", ApiMember("lexv2-models", "CreateBotAliasRequest", "description")),
    Field(
        "aws-native:lex:BotAlias",
        "botAliasLocaleSettings[].botAliasLocaleSetting.codeHookSpecification.lambdaCodeHook.codeHookInterfaceVersion",
        ApiMember("lexv2-models", "LambdaCodeHook", "codeHookInterfaceVersion"),
    ),
    Field(
        "aws-native:lex:BotAlias",
        "conversationLogSettings.textLogSettings[].destination.cloudWatch.logPrefix",
        ApiMember("lexv2-models", "CloudWatchLogGroupLogDestination", "logPrefix"),
    ),
)

# Inputs whose names look like names but name another resource: their rules apply where that resource is declared.
REFERENCES: frozenset[tuple[str, str]] = frozenset(
    {
        ("aws:dynamodb/tableItem:TableItem", "tableName"),
        ("aws:lambda/eventSourceMapping:EventSourceMapping", "functionName"),
        ("aws:lambda/invocation:Invocation", "functionName"),
        ("aws:apigateway/methodSettings:MethodSettings", "stageName"),
    }
)

# --- rules -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One constraint AWS states on a value, and where it states it."""

    kind: str  # pattern | min_length | max_length | enum | minimum | maximum | min_items | max_items
    limit: Any
    source: str

    def allows(self, value: Any) -> bool:
        """Whether AWS accepts `value` under this rule (values of the wrong kind are left to other checks)."""
        if self.kind == "pattern":
            return isinstance(value, str) and java_pattern(str(self.limit)).fullmatch(value) is not None
        if self.kind == "enum":
            return value in self.limit
        if self.kind in ("min_length", "max_length"):
            if not isinstance(value, str):
                return True
            return len(value) >= self.limit if self.kind == "min_length" else len(value) <= self.limit
        if self.kind in ("min_items", "max_items"):
            if not isinstance(value, Sequence) or isinstance(value, str):
                return True
            return len(value) >= self.limit if self.kind == "min_items" else len(value) <= self.limit
        if isinstance(value, bool) or not isinstance(value, int | float):
            return True
        return value >= self.limit if self.kind == "minimum" else value <= self.limit

    def __str__(self) -> str:
        shown = "|".join(map(str, self.limit)) if self.kind == "enum" else self.limit
        return f"{self.kind} {shown} ({self.source})"


@dataclass(frozen=True)
class Violation:
    """A value AWS would refuse: which resource, which input, what value, which rule."""

    urn: str
    property: str
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{self.urn}: {self.property} = {self.value!r} breaks {self.rule}"


@functools.cache
def _session() -> botocore.session.Session:
    return botocore.session.get_session()


def api_shape(api: ApiMember) -> Shape:
    """The botocore shape `api` names (a `KeyError` names a stale table entry)."""
    shape = _session().get_service_model(api.service).shape_for(api.shape)
    if not api.member:
        return shape
    name = api.member
    for suffix, part in (("[]", "member"), ("{}", "value"), ("{keys}", "key")):
        if name.endswith(suffix):
            container = shape.members[name.removesuffix(suffix)]  # type: ignore[attr-defined]
            found: Shape = getattr(container, part)
            return found
    member: Shape = shape.members[name]  # type: ignore[attr-defined]
    return member


def member_documentation(api: ApiMember) -> str:
    """The model's documentation of the member (or of its list, map or shape), as plain text on one line."""
    shape = _session().get_service_model(api.service).shape_for(api.shape)
    if api.member:
        base = re.sub(r"(\[\]|\{\}|\{keys\})$", "", api.member)
        shape = shape.members[base]  # type: ignore[attr-defined]
    text = shape.documentation or ""
    return " ".join(re.sub(r"<[^>]+>", " ", text).split()).replace(" .", ".").replace(" ,", ",")


@functools.cache
def rules_for(entry: Field) -> tuple[Rule, ...]:
    """Every rule on the field: the model's metadata (`pattern`, `min`, `max`, `enum`), then documented limits."""
    shape = api_shape(entry.api)
    source = f"botocore {entry.api} ({shape.name})"
    meta = shape.metadata
    rules: list[Rule] = []
    if "enum" in meta:
        rules.append(Rule("enum", tuple(meta["enum"]), source))
    if "pattern" in meta:
        rules.append(Rule("pattern", meta["pattern"], source))
    kinds = {"string": ("min_length", "max_length"), "list": ("min_items", "max_items")}
    low, high = kinds.get(shape.type_name, ("minimum", "maximum"))
    if shape.type_name != "blob":
        if "min" in meta:
            rules.append(Rule(low, meta["min"], source))
        if "max" in meta:
            rules.append(Rule(high, meta["max"], source))
    documented = entry.documented
    if documented is not None:
        said = f'{entry.api} documentation: "{documented.quote}"'
        if documented.max_length is not None:
            rules.append(Rule("max_length", documented.max_length, said))
        if documented.pattern is not None:
            rules.append(Rule("pattern", documented.pattern, said))
        if documented.one_of:
            rules.append(Rule("enum", documented.one_of, said))
        if documented.minimum is not None:
            rules.append(Rule("minimum", documented.minimum, said))
        if documented.maximum is not None:
            rules.append(Rule("maximum", documented.maximum, said))
    return tuple(rules)


# --- walking the inputs ------------------------------------------------------------------------------------------


def values_at(inputs: Mapping[str, Any], path: str) -> Iterator[tuple[str, Any]]:
    """Every (concrete path, value) that `path` reaches in `inputs`; absent or null values yield nothing."""
    yield from _walk(inputs, path.split("."), "")


def _walk(node: Any, steps: list[str], where: str) -> Iterator[tuple[str, Any]]:
    if not steps:
        if node is not None:
            yield where, node
        return
    step, rest = steps[0], steps[1:]
    key = re.sub(r"(\[\]|\{\}|\{keys\})$", "", step)
    if not isinstance(node, Mapping) or node.get(key) is None:
        return
    child, here = node[key], f"{where}.{key}" if where else key
    if step.endswith("[]"):
        for index, item in enumerate(child if isinstance(child, list) else [child]):
            yield from _walk(item, rest, f"{here}[{index}]")
    elif step.endswith("{keys}"):
        for name in child:
            yield from _walk(name, rest, f"{here}{{{name!r}}}")
    elif step.endswith("{}"):
        for name, item in child.items():
            yield from _walk(item, rest, f"{here}[{name!r}]")
    else:
        yield from _walk(child, rest, here)


def check_resource(resource: RecordedResource, fields: Sequence[Field] = FIELDS) -> list[Violation]:
    """Every value of `resource` that AWS (or the provider, when it generates a name) would refuse."""
    found: list[Violation] = []
    for entry in fields:
        if entry.type_token != resource.type:
            continue
        rules = rules_for(entry)
        values = list(values_at(resource.inputs, entry.path))
        if not values and entry.auto_name is not None:
            generated = entry.auto_name.physical_name(resource.name)
            if len(generated) > entry.auto_name.max_length:
                limit = (
                    f"max_length {entry.auto_name.max_length} (the provider's auto-naming of {entry.path!r} stops: "
                    f"name '{resource.name}{entry.auto_name.separator}' plus {entry.auto_name.random_chars} random "
                    f"chars is longer than maximum length {entry.auto_name.max_length})"
                )
                found.append(Violation(resource.urn, f"{entry.path} (auto-named)", generated, limit))
            values = [(f"{entry.path} (auto-named)", generated)]
        for where, value in values:
            found += [Violation(resource.urn, where, value, str(rule)) for rule in rules if not rule.allows(value)]
    return found


def check_graph(resources: Sequence[RecordedResource], fields: Sequence[Field] = FIELDS) -> list[Violation]:
    """`check_resource` over a whole stack."""
    return [violation for resource in resources for violation in check_resource(resource, fields)]


# --- Java regular expressions ------------------------------------------------------------------------------------

_SURROGATE_PAIR = re.compile(r"\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})", re.IGNORECASE)


def translate_java_pattern(pattern: str) -> str:
    """`pattern` (a Java regex from an AWS model) in the `regex` package's syntax.

    Java's `\\w`, `\\d` and `\\s` are ASCII while `\\p{L}` is Unicode, so the classes are spelled out rather than
    compiled with an ASCII flag (which would make `\\p{L}` ASCII too). Java writes a code point above U+FFFF as a
    surrogate pair (`\\uD800\\uDC00`) and any code point as `\\x{h..h}`; `\\p{all}` is every character; `\\z` is
    the very end (Python's `\\Z`)."""

    def pair(match: re.Match[str]) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08x}"

    translated = _SURROGATE_PAIR.sub(pair, pattern)
    translated = re.sub(r"\\x\{([0-9a-fA-F]{1,6})\}", lambda m: f"\\U{int(m.group(1), 16):08x}", translated)
    translated = translated.replace(r"\p{all}", r"\x00-\U0010ffff")
    return _ascii_classes(translated)


_ASCII_CLASSES = {"w": "A-Za-z0-9_", "d": "0-9", "s": " \\t\\n\\x0b\\f\\r"}
_NEGATED = {"W": "w", "D": "d", "S": "s"}


def _ascii_classes(pattern: str) -> str:
    """Spell out `\\w`, `\\d`, `\\s` (and outside brackets their negations) as ASCII sets; `\\z` becomes `\\Z`."""
    out: list[str] = []
    in_class = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            letter = pattern[index + 1]
            if letter in _ASCII_CLASSES:
                body = _ASCII_CLASSES[letter]
                out.append(body if in_class else f"[{body}]")
                if in_class and pattern[index + 2 : index + 3] == "-":  # Java: `[\\w-_]` has a literal hyphen
                    out.append("\\-")
                    index += 1
            elif letter in _NEGATED and not in_class:
                out.append(f"[^{_ASCII_CLASSES[_NEGATED[letter]]}]")
            elif letter == "z":
                out.append("\\Z")
            else:
                out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[" and not in_class:
            in_class = True
        elif char == "]" and in_class:
            in_class = False
        out.append(char)
        index += 1
    return "".join(out)


@functools.cache
def java_pattern(pattern: str) -> regex.Pattern[str]:
    """`pattern` compiled with Java's meaning (`\\w`, `\\d`, `\\s` ASCII; `\\p{..}` Unicode)."""
    return regex.compile(translate_java_pattern(pattern), regex.VERSION0)


# --- coverage ----------------------------------------------------------------------------------------------------

NAME_LIKE = re.compile(r"(^|[a-z])(name|Name|description|Description|comment)$")


@dataclass(frozen=True)
class Coverage:
    """Where the table is silent about something the program sends."""

    type_token: str
    path: str
    examples: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.type_token}: {self.path} (e.g. {', '.join(self.examples)})"


def uncovered(resources: Sequence[RecordedResource], fields: Sequence[Field] = FIELDS) -> list[Coverage]:
    """Name-like inputs the program sets (or names the provider generates) that no table entry checks."""
    covered = {(f.type_token, f.path) for f in fields} | REFERENCES
    missing: dict[tuple[str, str], Coverage] = {}
    for resource in resources:
        keys = {key for key in resource.inputs if NAME_LIKE.search(key)}
        if resource.type.startswith("aws:") and "name" in constructor_parameters(resource.type):
            keys.add("name")  # auto-named by pulumi-aws when left out
        for key in sorted(keys):
            if (resource.type, key) not in covered:
                gap = missing.setdefault((resource.type, key), Coverage(resource.type, key))
                gap.examples.append(resource.name)
    return list(missing.values())


@functools.cache
def constructor_parameters(type_token: str) -> frozenset[str]:
    """The input names the pulumi-aws Python class of `type_token` takes (`aws:iam/role:Role` -> iam.Role)."""
    package, module_path, class_name = type_token.split(":")
    module_name = module_path.split("/")[0]
    for candidate in (module_name, f"{module_name}_"):
        try:
            module = importlib.import_module(f"pulumi_{package.replace('-', '_')}.{candidate}")
        except ModuleNotFoundError:
            continue
        resource_class = getattr(module, class_name, None)
        if resource_class is not None:
            return frozenset(inspect.signature(resource_class._internal_init).parameters)
    return frozenset()
