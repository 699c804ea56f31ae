"""support-chatbot: composes the components from the stack's settings and exports what users need.

Data flows one way: Operations -> QueryLog -> Escalations -> StaffAccess -> RestApi -> SupportBot -> ChatSite; each
arrow is an argument (alarm actions, routes, the ticket environment, the staff user pool, the API's origin, the bot's
alias). OriginSecret's values go to the API's functions and to CloudFront, which alone may call them. One value flows
back: the site's URL, where staff sign-in returns to (a deferred output: the app client is made before the site).
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws_native

from bot.samples import load_sample_customers
from bot.schema import load_definition
from components.chat_site import ChatSite, ChatSiteArgs
from components.escalations import Escalations, EscalationsArgs
from components.formerly import Formerly
from components.operations import Operations, OperationsArgs
from components.origin_secret import OriginSecret, OriginSecretArgs
from components.query_log import QueryLog, QueryLogArgs
from components.rest_api import RestApi, RestApiArgs
from components.settings import load_settings, placeholder_warnings
from components.staff_access import StaffAccess, StaffAccessArgs
from components.support_bot import SupportBot, SupportBotArgs

# Stacks deployed before the REST API, the escalations and the alarm topic had a component each hold all three
# in one component, "escalation-api". Escalations takes its place; the others' resources are aliased to where
# they were, so `pulumi up` moves them instead of replacing them.
ESCALATION_API_NAME = "escalation-api"
ESCALATION_API_TYPE = "support-chatbot:index:EscalationApi"
formerly_escalation_api = Formerly(
    parent=pulumi.create_urn(ESCALATION_API_NAME, ESCALATION_API_TYPE), name=ESCALATION_API_NAME
)


def raise_error(error: Exception) -> str:
    """An output's value that is `error`, raised where the output is awaited."""
    raise error


settings = load_settings()
for warning in placeholder_warnings(settings):  # once per key, on every preview and up
    pulumi.log.warn(warning)
definition = load_definition()

# pulumi-aws-native reads only `aws-native:region` or AWS_REGION, never `aws:region`: every aws-native resource gets
# this one provider, made from the stack's region, so the bot lives where its Lambda, logs and config.js say it does.
# An explicit provider reads no `aws-native:*` config, so the AWS profile the stack's `aws` provider uses is passed on.
aws_native = pulumi_aws_native.Provider(
    "aws-native", region=settings.region, profile=pulumi.Config("aws").get("profile")
)

operations = Operations(
    "operations", OperationsArgs(alarm_email=settings.alarm_email), formerly=formerly_escalation_api
)

# The API answers only requests carrying this secret, which CloudFront adds: its own URL is no way around the edge.
origin_secret = OriginSecret("origin-secret", OriginSecretArgs(rotation=settings.origin_secret_rotation))

query_log = QueryLog(
    "query-log",
    QueryLogArgs(
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        row_retention_days=settings.query_log_retention_days,
        origin_secrets=origin_secret.accepted,
        protect_data=settings.protect_data,
        allowed_origins=settings.allowed_origins,
    ),
)

escalations = Escalations(
    "escalations",
    EscalationsArgs(
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        sender=settings.escalation_sender,
        recipients=settings.escalation_recipients,
        max_attempts=settings.escalation_max_attempts,
        origin_secrets=origin_secret.accepted,
        allowed_origins=settings.allowed_origins,
        protect_data=settings.protect_data,
        alarm_actions=operations.alarm_actions,
        tickets_per_session_per_hour=settings.tickets_per_session_per_hour,
    ),
    opts=pulumi.ResourceOptions(aliases=[pulumi.Alias(name=ESCALATION_API_NAME, type_=ESCALATION_API_TYPE)]),
)

# Staff sign in at the site's /admin/; the site is made further down, from outputs that need this pool.
site_url: pulumi.Output[str]
resolve_site_url: Callable[[pulumi.Output[str]], None]
site_url, resolve_site_url = pulumi.deferred_output()
staff = StaffAccess(
    "staff",
    StaffAccessArgs(
        region=settings.region,
        site_url=site_url,
        staff_emails=settings.staff_emails,
        mfa=settings.staff_mfa,
        protect_data=settings.protect_data,
    ),
)

api = RestApi(
    "api",
    RestApiArgs(
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        routes=[escalations.route, query_log.route],
        staff_routes=query_log.admin_routes,
        staff_user_pool_arn=staff.user_pool_arn,
        throttle_rate=settings.api_throttle_rate,
        throttle_burst=settings.api_throttle_burst,
        allowed_origins=settings.allowed_origins,
        manage_api_gateway_account=settings.manage_api_gateway_account,
    ),
    formerly=formerly_escalation_api,
)

chatbot = SupportBot(
    "chatbot",
    SupportBotArgs(
        definition=definition,
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        aws_native_provider=aws_native,
        query_log_table_name=query_log.table_name,
        escalation_environment=escalations.ticket_environment,
        sample_customers=load_sample_customers() if settings.sample_data else (),
        protect_data=settings.protect_data,
        sentiment_analysis=settings.sentiment_analysis,
        reserved_concurrency=settings.fulfillment_reserved_concurrency,
        hourly_request_alarm=settings.lex_hourly_request_alarm,
        alarm_actions=operations.alarm_actions,
    ),
)
escalations.grant_open_tickets("fulfillment", chatbot.fulfillment.role)
query_log.grant_read_data("fulfillment", chatbot.fulfillment.role)  # TalkToHuman's ticket carries the conversation

locale_id = chatbot.locale_id
try:
    site = ChatSite(
        "chat-site",
        ChatSiteArgs(
            region=settings.region,
            bot_id=chatbot.bot_id,
            bot_alias_id=chatbot.alias_id,
            locale_id=locale_id,
            api_origin_domain=api.origin_domain,
            api_origin_path=api.origin_path,
            api_origin_secret=origin_secret.header_value,
            suggestions=definition.locales[locale_id].suggestions(),
            custom_domain=settings.custom_domain,
            certificate_arn=settings.certificate_arn,
            api_rate_limit_per_ip=settings.api_rate_limit_per_ip,
            access_log_retention_days=settings.log_retention_days if settings.access_logging else None,
            staff_sign_in=staff.sign_in,
            staff_sign_in_domain=staff.sign_in_domain,
        ),
    )
except Exception as error:
    # Staff sign-in waits for the site's URL: it fails with the site instead of waiting for it forever.
    resolve_site_url(pulumi.Output.from_input(error).apply(raise_error))
    raise
resolve_site_url(site.site_url)
chatbot.grant_conversation("site-guest", site.guest_role)

pulumi.export("siteUrl", site.site_url)
pulumi.export("apiUrl", api.api_url)
pulumi.export("botId", chatbot.bot_id)
pulumi.export("botAliasId", chatbot.alias_id)
pulumi.export("botAliasArn", chatbot.alias_arn)
pulumi.export("localeId", locale_id)
pulumi.export("identityPoolId", site.identity_pool_id)
pulumi.export("queryLogTable", query_log.table_name)
pulumi.export("customerTable", chatbot.customer_table.name)
pulumi.export("adminUrl", staff.admin_url)
pulumi.export("staffUserPoolId", staff.user_pool_id)
