"""The stack's settings: one typed, validated object read once from `pulumi.Config`.

Every key lives in the `support-chatbot` namespace (`pulumi config set support-chatbot:<key> <value>`),
except the region, which is the AWS provider's own `aws:region`. A missing or invalid key stops the
run with the key, the reason and the command that fixes it. The README's configuration reference is
`configuration_table()`: keys, defaults and the fields' descriptions, so the two cannot drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import pulumi
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticUndefined

from contracts.branding import (
    CONFIG_KEYS,
    DEFAULT_BOT_NAME,
    DEFAULT_SUBTITLE,
    MAX_NAME_CHARS,
    MAX_SUBTITLE_CHARS,
    MAX_SUGGESTION_CHARS,
    MAX_SUGGESTIONS,
    MAX_WELCOME_CHARS,
    Branding,
    check_accent,
    check_link,
    check_logo_url,
    check_suggestions,
    check_text,
)
from contracts.embedding import check_embed_origins
from contracts.stack import DEFAULT_TICKETS_PER_SESSION_PER_HOUR, ORIGIN_PATTERN

NAMESPACE = "support-chatbot"

# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
LOG_RETENTION_DAYS = (
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
)

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$", max_length=254)]
Origin = Annotated[str, StringConstraints(pattern=ORIGIN_PATTERN.pattern, max_length=253)]
# S3's bucket naming rules (general purpose buckets): 3 to 63 lower-case letters, digits, dots and hyphens.
BucketName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
# A Bedrock foundation model id (`amazon.titan-embed-text-v2:0`): provider, a dot, the model and its version.
ModelId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+\.[A-Za-z0-9._:-]+$", max_length=140)]
DEFAULT_EMBEDDING_MODEL = "amazon.titan-embed-text-v2:0"
DEFAULT_EMBEDDING_DIMENSIONS = 1024
# AMAZON.QnAIntent answers with an Anthropic Claude model; Claude 3 Haiku is the cheapest it supports.
DEFAULT_ANSWER_MODEL = "anthropic.claude-3-haiku-20240307-v1:0"


@dataclass(frozen=True)
class _Key:
    """How a setting appears to the user: its config key and an example value for the fix-it command."""

    key: str
    example: str


class StackSettings(BaseModel):
    """Everything a stack may set. Field descriptions are the README's configuration reference
    (`configuration_table()`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    project: str = "support-chatbot"
    stack: str
    region: str = Field(description="AWS region to deploy to.")
    escalation_sender: Email = Field(description="Verified SES identity that escalation emails come from.")
    escalation_recipients: tuple[Email, ...] = Field(
        min_length=1,
        max_length=50,
        description="JSON list of support-team addresses that receive escalations (1 to 50).",
    )
    sample_data: bool = Field(
        default=False,
        description="Load the sample customers 12345 (John Smith) and 67890 (Jane Doe) into the customer table.",
    )
    protect_data: bool = Field(
        default=False,
        description="Protect data tables from deletion (`protect=True`, retained on delete). Prod: `true`.",
    )
    log_retention_days: int = Field(
        default=14,
        description="Retention of every log group; one of CloudWatch's periods "
        "(1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, …).",
    )
    query_log_retention_days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="Days a query-log row lives before DynamoDB TTL removes it (1 to 3650).",
    )
    fulfillment_reserved_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Reserved concurrency of the fulfillment Lambda (1 to 1000): the cap on what a flood of guests "
        "can cost. Unset: unreserved.",
    )
    lex_hourly_request_alarm: int = Field(
        default=5_000,
        ge=1,
        description="Lex `RecognizeText` calls per hour above which the usage alarm fires (guests need no sign-in, "
        "so usage is watched).",
    )
    sentiment_analysis: bool = Field(
        default=False, description="Amazon Comprehend sentiment on each user turn (alias setting)."
    )
    api_throttle_rate: float = Field(
        default=10, gt=0, le=10_000, description="Steady requests per second the REST API accepts."
    )
    api_throttle_burst: int = Field(default=20, ge=1, le=5_000, description="Burst of requests the REST API accepts.")
    api_rate_limit_per_ip: int | None = Field(
        default=None,
        ge=10,
        le=2_000_000_000,
        description="Requests one IP may send to `/api/*` in 5 minutes before an AWS WAF web ACL on CloudFront "
        "blocks it (10 or more). Unset: no WAF, no idle cost (about $6/month when set). Prod: `100`.",
    )
    allowed_origins: tuple[Origin, ...] = Field(
        default=(),
        description="JSON list of extra `https://` origins allowed to call the API (CORS), e.g. a site embedding "
        "the chat. The page itself needs none: it reaches the API on its own origin.",
    )
    embed_origins: tuple[str, ...] = Field(
        default=(),
        description="JSON list of `https://` origins of the sites that may embed the chat with `embed.js` "
        "(e.g. `[\"https://www.example.com\"]`): the page's CSP `frame-ancestors` and the API's CORS allow exactly "
        "these. Each is scheme and host (and a port if not 443): no path, query, fragment or wildcard. Empty: no "
        "site may frame the page.",
    )
    origin_secret_rotation: int = Field(
        default=0,
        ge=0,
        description="Add 1 to rotate the secret header CloudFront sends the API (the API refuses requests without "
        "it, so its own URL is no way around CloudFront). The value before stays accepted until the next rotation, "
        "so nothing is refused while CloudFront updates; after a leak, rotate twice, minutes apart.",
    )
    access_logging: bool = Field(
        default=False,
        description="CloudFront's and the page bucket's access logs, kept `logRetentionDays` in a log bucket. Off: "
        "no log bucket. Idle, it costs nothing (an empty bucket); logs cost S3 storage and hold visitors' IP "
        "addresses, hence off unless wanted.",
    )
    manage_api_gateway_account: bool = Field(
        default=False,
        description="Make this stack the one that sets the region's API Gateway CloudWatch logging role, an "
        "account-wide setting API access and execution logs need. One stack per account and region sets it (a "
        "second would overwrite it with its own role at every `up`); it is kept on destroy, so the others keep "
        "logging. Unset: the account must have the role already (`aws apigateway get-account` shows a "
        "`cloudwatchRoleArn`), or creating the stage fails. Dev: `true`.",
    )
    escalation_max_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Send attempts per escalation before it moves to the dead-letter queue (which raises an alarm).",
    )
    tickets_per_session_per_hour: int = Field(
        default=DEFAULT_TICKETS_PER_SESSION_PER_HOUR,
        ge=1,
        le=100,
        description="Escalation tickets one chat session, and one reply address, may open per clock hour (1 to 100); "
        "the next gets 429 on `/api/escalate` and a polite answer in the chat.",
    )
    fallback_rate_alarm_threshold: float = Field(
        default=0.3,
        gt=0,
        lt=1,
        description="Share of turns in 15 minutes answered by the fallback (above 0, below 1) above which the "
        "fallback-rate alarm fires.",
    )
    fallback_rate_alarm_min_turns: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Turns a 15-minute period needs before the fallback-rate alarm judges it (1 to 100000): a quiet "
        "period's one unanswered question is no trend.",
    )
    knowledge_base: bool = Field(
        default=False,
        description="Answer questions no intent matches from the documents in `knowledge/` (an Amazon Bedrock "
        "knowledge base on Amazon S3 Vectors and Lex's `AMAZON.QnAIntent`). Nothing is billed while idle. Shipped "
        "stacks: `true`.",
    )
    knowledge_base_bucket: BucketName | None = Field(
        default=None,
        description="An existing S3 bucket (this account and region) holding the documents instead of `knowledge/`. "
        "The stack neither uploads to it nor syncs it on change: start an ingestion after you change it. Unset: the "
        "stack owns a documents bucket.",
    )
    embedding_model: ModelId = Field(
        default=DEFAULT_EMBEDDING_MODEL,
        description="Bedrock model that embeds the documents and questions. Changing it replaces the vector index "
        "and re-ingests the documents.",
    )
    embedding_dimensions: int = Field(
        default=DEFAULT_EMBEDDING_DIMENSIONS,
        ge=1,
        le=4096,
        description="Vector size the embedding model writes (Titan Text Embeddings V2: 256, 512 or 1024).",
    )
    answer_model: ModelId = Field(
        default=DEFAULT_ANSWER_MODEL,
        description="Bedrock model `AMAZON.QnAIntent` answers with (Lex supports Anthropic Claude models; enable "
        "access to it in the Bedrock console).",
    )
    alarm_email: Email | None = Field(default=None, description="Address subscribed to the stack's alarms.")
    staff_emails: tuple[Email, ...] = Field(
        default=(),
        max_length=50,
        description="JSON list of the support staff invited to the admin view at `/admin/` (up to 50): each gets "
        "an email from Cognito with a temporary password. Empty: the staff user pool exists with no users.",
    )
    staff_mfa: Literal["optional", "on"] = Field(
        default="optional",
        description="Multi-factor sign-in for staff (an authenticator app, TOTP): `optional` lets each person turn "
        "it on, `on` makes everyone set it up at first sign-in. Prod: `on`.",
    )
    custom_domain: Annotated[str, StringConstraints(pattern=r"^[a-z0-9.-]+\.[a-z]{2,}$")] | None = Field(
        default=None, description="Domain name for the chat page; set together with `certificateArn`."
    )
    certificate_arn: (
        Annotated[str, StringConstraints(pattern=r"^arn:aws:acm:us-east-1:\d{12}:certificate/.+$")] | None
    ) = Field(default=None, description="ACM certificate in us-east-1 covering `customDomain`.")
    # Branding (contracts.branding): unset keeps the page's own look.
    bot_name: str | None = Field(
        default=None,
        description=f"The assistant's name in the page's title and header (at most {MAX_NAME_CHARS} characters). "
        f"Unset: {DEFAULT_BOT_NAME!r}.",
    )
    bot_subtitle: str | None = Field(
        default=None,
        description=f"The line under the name (at most {MAX_SUBTITLE_CHARS} characters). Unset: {DEFAULT_SUBTITLE!r}.",
    )
    welcome_text: str | None = Field(
        default=None,
        description=f"The assistant's first message (at most {MAX_WELCOME_CHARS} characters). Unset: the page's own.",
    )
    suggested_questions: tuple[str, ...] | None = Field(
        default=None,
        description=f"JSON list of questions offered as buttons (at most {MAX_SUGGESTIONS}, each at most "
        f"{MAX_SUGGESTION_CHARS} characters; `[]` for none). Unset: the bot definition's suggestions.",
    )
    accent_color: str | None = Field(
        default=None,
        description="The page's accent, `#rrggbb`, for both themes; refused unless every use of it meets WCAG AA "
        "(4.5:1) in the light and the dark theme. Unset: indigo `#4f39f6`.",
    )
    logo_url: str | None = Field(
        default=None,
        description="Logo in the header: a path on the page's origin (`/brand/logo.svg`), an https URL on "
        "`customDomain`, or a base64 `data:image/...` URL of at most 8 KB. Unset: the chat icon.",
    )
    privacy_notice_url: str | None = Field(
        default=None,
        description="Privacy notice linked under the message box until the first message is sent: an https URL or "
        "a path on the page's origin. Unset: no notice.",
    )

    @field_validator("log_retention_days")
    @classmethod
    def _retention_cloudwatch_accepts(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(
                f"must be one of CloudWatch's retention periods: {', '.join(map(str, LOG_RETENTION_DAYS))}"
            )
        return value

    @field_validator("staff_emails")
    @classmethod
    def _staff_emails_are_distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        lowered = [address.lower() for address in value]
        repeated = sorted({address for address in value if lowered.count(address.lower()) > 1})
        if repeated:  # Cognito usernames are case-insensitive: a repeat would be a second user of the same name
            raise ValueError(f"lists an address more than once: {', '.join(repeated)}")
        return value

    @field_validator("embed_origins", mode="before")
    @classmethod
    def _embed_origins_are_origins(cls, value: Any) -> Any:
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ValueError('must be a JSON list of origins, e.g. ["https://www.example.com"]')
        return check_embed_origins(value)

    @field_validator("bot_name", "bot_subtitle")
    @classmethod
    def _short_line(cls, value: str | None, info: ValidationInfo) -> str | None:
        limit = MAX_NAME_CHARS if info.field_name == "bot_name" else MAX_SUBTITLE_CHARS
        return None if value is None else check_text(str(info.field_name), value, limit, single_line=True)

    @field_validator("welcome_text")
    @classmethod
    def _welcome(cls, value: str | None) -> str | None:
        return None if value is None else check_text("welcome_text", value, MAX_WELCOME_CHARS)

    @field_validator("suggested_questions", mode="before")
    @classmethod
    def _questions(cls, value: object) -> object:
        return None if value is None else check_suggestions(value)

    @field_validator("accent_color")
    @classmethod
    def _readable_accent(cls, value: str | None) -> str | None:
        return None if value is None else check_accent(value)

    @field_validator("privacy_notice_url")
    @classmethod
    def _privacy_link(cls, value: str | None) -> str | None:
        return None if value is None else check_link("privacy_notice_url", value)

    @field_validator("logo_url")
    @classmethod
    def _logo_on_the_page_origin(cls, value: str | None, info: ValidationInfo) -> str | None:
        # customDomain is declared (so validated) before logoUrl: a logo there is on the page's own origin.
        domain = info.data.get("custom_domain")
        return None if value is None else check_logo_url(value, page_origin=f"https://{domain}" if domain else None)

    @property
    def branding(self) -> Branding:
        """The page's branding, as ChatSite writes it into config.js."""
        return Branding(
            bot_name=self.bot_name,
            bot_subtitle=self.bot_subtitle,
            welcome_text=self.welcome_text,
            suggested_questions=self.suggested_questions,
            accent_color=self.accent_color,
            logo_url=self.logo_url,
            privacy_notice_url=self.privacy_notice_url,
        )

    @model_validator(mode="after")
    def _certificate_goes_with_domain(self) -> StackSettings:
        if (self.certificate_arn is None) != (self.custom_domain is None):
            raise ValueError(
                "customDomain and certificateArn are set together or not at all. "
                f"Fix: {fix_command('custom_domain')} and {fix_command('certificate_arn')}, "
                f"or pulumi config rm {NAMESPACE}:customDomain"
            )
        return self

    @model_validator(mode="after")
    def _documents_bucket_needs_knowledge_base(self) -> StackSettings:
        if self.knowledge_base_bucket is not None and not self.knowledge_base:
            raise ValueError(
                "knowledgeBaseBucket is set but knowledgeBase is off: the bucket would be used by nothing. "
                f"Fix: {fix_command('knowledge_base')}, or pulumi config rm {NAMESPACE}:knowledgeBaseBucket"
            )
        return self


# How each field is spelled in Pulumi config, with an example for the fix-it command.
SETTING_KEYS: dict[str, _Key] = {
    "region": _Key("aws:region", "us-east-1"),
    "escalation_sender": _Key("escalationSender", "support-bot@example.com"),
    "escalation_recipients": _Key("escalationRecipients", "'[\"it-support@example.com\"]'"),
    "sample_data": _Key("sampleData", "true"),
    "protect_data": _Key("protectData", "true"),
    "log_retention_days": _Key("logRetentionDays", "30"),
    "query_log_retention_days": _Key("queryLogRetentionDays", "90"),
    "fulfillment_reserved_concurrency": _Key("fulfillmentReservedConcurrency", "10"),
    "lex_hourly_request_alarm": _Key("lexHourlyRequestAlarm", "5000"),
    "sentiment_analysis": _Key("sentimentAnalysis", "true"),
    "api_throttle_rate": _Key("apiThrottleRate", "10"),
    "api_throttle_burst": _Key("apiThrottleBurst", "20"),
    "api_rate_limit_per_ip": _Key("apiRateLimitPerIp", "100"),
    "allowed_origins": _Key("allowedOrigins", "'[\"https://www.example.com\"]'"),
    "embed_origins": _Key("embedOrigins", "'[\"https://www.example.com\"]'"),
    "origin_secret_rotation": _Key("originSecretRotation", "1"),
    "access_logging": _Key("accessLogging", "true"),
    "manage_api_gateway_account": _Key("manageApiGatewayAccount", "true"),
    "escalation_max_attempts": _Key("escalationMaxAttempts", "5"),
    "tickets_per_session_per_hour": _Key("ticketsPerSessionPerHour", "3"),
    "fallback_rate_alarm_threshold": _Key("fallbackRateAlarmThreshold", "0.3"),
    "fallback_rate_alarm_min_turns": _Key("fallbackRateAlarmMinTurns", "20"),
    "knowledge_base": _Key("knowledgeBase", "true"),
    "knowledge_base_bucket": _Key("knowledgeBaseBucket", "it-guides-documents"),
    "embedding_model": _Key("embeddingModel", DEFAULT_EMBEDDING_MODEL),
    "embedding_dimensions": _Key("embeddingDimensions", str(DEFAULT_EMBEDDING_DIMENSIONS)),
    "answer_model": _Key("answerModel", DEFAULT_ANSWER_MODEL),
    "alarm_email": _Key("alarmEmail", "ops@example.com"),
    "staff_emails": _Key("staffEmails", "'[\"it-lead@example.com\"]'"),
    "staff_mfa": _Key("staffMfa", "on"),
    "custom_domain": _Key("customDomain", "chat.example.com"),
    "certificate_arn": _Key("certificateArn", "arn:aws:acm:us-east-1:123456789012:certificate/abc"),
    "bot_name": _Key(CONFIG_KEYS["bot_name"], "'Acme Help'"),
    "bot_subtitle": _Key(CONFIG_KEYS["bot_subtitle"], "'Orders, returns and your account'"),
    "welcome_text": _Key(CONFIG_KEYS["welcome_text"], "'Hi! Ask me about your order or your account.'"),
    "suggested_questions": _Key(CONFIG_KEYS["suggested_questions"], "'[\"Where is my order?\"]'"),
    "accent_color": _Key(CONFIG_KEYS["accent_color"], "'#0f766e'"),
    "logo_url": _Key(CONFIG_KEYS["logo_url"], "/brand/logo.svg"),
    "privacy_notice_url": _Key(CONFIG_KEYS["privacy_notice_url"], "https://www.example.com/privacy"),
}


# Words and links taken as written: a bot named "2024" or a welcome of "[Beta] Hi!" is text, not JSON.
TEXT_SETTINGS = ("bot_name", "bot_subtitle", "welcome_text", "accent_color", "logo_url", "privacy_notice_url")


class SettingsError(Exception):
    """A stack setting is missing or invalid; the message names the key, the reason and the fix."""


def fix_command(field: str) -> str:
    """The `pulumi config set` command that sets `field`."""
    key = SETTING_KEYS[field]
    return f"pulumi config set {qualified_key(field)} {key.example}"


# Domains reserved for documentation (RFC 2606): an address there reaches no one.
PLACEHOLDER_DOMAINS = ("example.com", "example.org", "example.net")
ADDRESS_FIELDS = ("escalation_sender", "escalation_recipients", "alarm_email", "staff_emails")


def placeholder_warnings(settings: StackSettings) -> list[str]:
    """One warning per address setting still at a placeholder domain, naming the key and the command that sets it.

    The shipped stack files use example.com so that `pulumi preview` runs out of the box; a deploy with them would
    send escalations and alarms nowhere, so `__main__` says so on every preview and up instead of failing."""
    warnings = []
    for field in ADDRESS_FIELDS:
        value = getattr(settings, field)
        addresses = [value] if isinstance(value, str) else list(value or ())
        placeholders = [a for a in addresses if a.rsplit("@", 1)[-1].lower().endswith(PLACEHOLDER_DOMAINS)]
        if placeholders:
            example = SETTING_KEYS[field].example.replace("example.com", "your-domain.com")
            warnings.append(
                f"{qualified_key(field)} is a placeholder ({', '.join(placeholders)}): no mail sent there reaches "
                f"anyone. Set a real address: pulumi config set {qualified_key(field)} {example}"
            )
    return warnings


def qualified_key(field: str) -> str:
    """The config key of `field` with its namespace: `support-chatbot:escalationSender`, `aws:region`."""
    key = SETTING_KEYS[field].key
    return key if ":" in key else f"{NAMESPACE}:{key}"


def settings_from_values(stack: str, values: dict[str, Any]) -> StackSettings:
    """Validate raw config values (by field name) into StackSettings, or raise SettingsError naming each key."""
    try:
        return StackSettings.model_validate({"stack": stack, **values})
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            reason = str(error["msg"]).removeprefix("Value error, ")
            if field in SETTING_KEYS:
                key = SETTING_KEYS[field].key
                problems.append(f"  {key}: {reason}. Fix: {fix_command(field)}")
            else:
                problems.append(f"  {field or 'settings'}: {reason}")
        raise SettingsError(f"stack '{stack}' has invalid settings:\n" + "\n".join(problems)) from exc


def load_settings() -> StackSettings:
    """Read the current stack's settings from Pulumi config; raises SettingsError with the fix on any problem."""
    config = pulumi.Config(NAMESPACE)
    values: dict[str, Any] = {}
    for field, key in SETTING_KEYS.items():
        namespace, _, name = key.key.rpartition(":")
        raw = (pulumi.Config(namespace) if namespace else config).get(name)
        if raw is None:
            continue
        values[field] = raw if field in TEXT_SETTINGS else _decode(raw)
    return settings_from_values(pulumi.get_stack(), values)


def _decode(raw: str) -> Any:
    """Config values arrive as strings; JSON lists, numbers and booleans are decoded, other text kept as is."""
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def configuration_table() -> str:
    """The README's configuration reference, as a markdown table: each key, its default and its description."""
    rows = ["| Key | Default | Meaning |", "|---|---|---|"]
    for field in SETTING_KEYS:
        info = StackSettings.model_fields[field]
        rows.append(f"| `{qualified_key(field)}` | {_default(info.default)} | {info.description} |")
    return "\n".join(rows) + "\n"


def _default(value: object) -> str:
    """A default as the table shows it: `required`, `unset`, or the value as it is written in config."""
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    return f"`{json.dumps(list(value) if isinstance(value, tuple) else value)}`"
