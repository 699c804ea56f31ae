"""support-chatbot: composes the components from the stack's settings and exports what users need.

Data flows one way: Operations -> QueryLog -> Escalations -> StaffAccess -> RestApi -> KnowledgeBase -> SupportBot ->
ChatSite -> Dashboard; each arrow is an argument (alarm actions, routes, the ticket environment, the staff user pool,
the knowledge base, the API's origin, the bot's alias, the documents bucket, the names the dashboard shows).
OriginSecret's values go to the API's functions and to CloudFront, which alone may call them. One value flows back:
the site's URL, where staff sign-in returns to (a deferred output: the app client is made before the site).
"""

from __future__ import annotations

from collections.abc import Callable

import pulumi
import pulumi_aws_native

from bot.samples import load_sample_customers
from bot.schema import load_definition
from components.chat_site import ChatSite, ChatSiteArgs
from components.dashboard import Dashboard, DashboardArgs
from components.escalations import Escalations, EscalationsArgs
from components.formerly import Formerly
from components.knowledge_base import KnowledgeBase, KnowledgeBaseArgs
from components.operations import Operations, OperationsArgs
from components.origin_secret import OriginSecret, OriginSecretArgs
from components.query_log import QueryLog, QueryLogArgs
from components.rest_api import RestApi, RestApiArgs
from components.settings import load_settings, placeholder_warnings
from components.staff_access import StaffAccess, StaffAccessArgs
from components.support_bot import KnowledgeAnswers, SupportBot, SupportBotArgs

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
# The API answers CORS for the extra origins and for every site embedding the chat (each once, in that order): an
# embedding site's own scripts may call /api/* as the framed page does.
api_origins = tuple(dict.fromkeys([*settings.allowed_origins, *settings.embed_origins]))

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
        allowed_origins=api_origins,
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
        allowed_origins=api_origins,
        protect_data=settings.protect_data,
        alarm_actions=operations.alarm_actions,
        tickets_per_session_per_hour=settings.tickets_per_session_per_hour,
        query_log_table_name=query_log.table_name,
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
        routes=[escalations.route, *query_log.routes],
        staff_routes=query_log.admin_routes,
        staff_user_pool_arn=staff.user_pool_arn,
        throttle_rate=settings.api_throttle_rate,
        throttle_burst=settings.api_throttle_burst,
        allowed_origins=api_origins,
        manage_api_gateway_account=settings.manage_api_gateway_account,
    ),
    formerly=formerly_escalation_api,
)

# Questions no intent matches are answered from the team's documents (AMAZON.QnAIntent), when the stack wants it.
knowledge_base = (
    KnowledgeBase(
        "knowledge-base",
        KnowledgeBaseArgs(
            region=settings.region,
            log_retention_days=settings.log_retention_days,
            aws_native_provider=aws_native,
            external_bucket=settings.knowledge_base_bucket,
            embedding_model=settings.embedding_model,
            embedding_dimensions=settings.embedding_dimensions,
            answer_model=settings.answer_model,
            protect_data=settings.protect_data,
            alarm_actions=operations.alarm_actions,
        ),
    )
    if settings.knowledge_base
    else None
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
        knowledge=KnowledgeAnswers(
            knowledge_base.knowledge_base_arn, knowledge_base.answer_model_arn, knowledge_base.grant_answering
        )
        if knowledge_base
        else None,
    ),
)
query_log.grant_read_data("escalate", escalations.escalate_function.role)  # a negative conversation is priority
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
            branding=settings.branding,
            custom_domain=settings.custom_domain,
            certificate_arn=settings.certificate_arn,
            api_rate_limit_per_ip=settings.api_rate_limit_per_ip,
            access_log_retention_days=settings.log_retention_days if settings.access_logging else None,
            staff_sign_in=staff.sign_in,
            staff_sign_in_domain=staff.sign_in_domain,
            documents_domain=knowledge_base.documents_domain if knowledge_base else None,
            embed_origins=settings.embed_origins,
        ),
    )
except Exception as error:
    # Staff sign-in waits for the site's URL: it fails with the site instead of waiting for it forever.
    resolve_site_url(pulumi.Output.from_input(error).apply(raise_error))
    raise
resolve_site_url(site.site_url)
chatbot.grant_conversation("site-guest", site.guest_role)
if knowledge_base and knowledge_base.documents_domain is not None:  # the page links an answer's sources there
    knowledge_base.serve_documents_to(site.distribution.arn)

# Made last: it shows (and alarms on) what the others made, each function by its folder under functions/.
watched = [
    query_log.writer,
    query_log.admin,
    escalations.escalate_function,
    escalations.forwarder_function,
    escalations.sender_function,
    chatbot.fulfillment,
]
dashboard = Dashboard(
    "dashboard",
    DashboardArgs(
        region=settings.region,
        functions={function.source: function.name for function in watched},
        log_groups={function.source: function.log_group.name for function in watched},
        api_name=api.rest_api.name,
        dead_letter_queue_name=escalations.dead_letter_queue.name,
        bot_id=chatbot.bot_id,
        bot_alias_id=chatbot.alias_id,
        locale_id=locale_id,
        fallback_rate_threshold=settings.fallback_rate_alarm_threshold,
        fallback_rate_min_turns=settings.fallback_rate_alarm_min_turns,
        alarm_actions=operations.alarm_actions,
    ),
)

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
pulumi.export("dashboardUrl", dashboard.dashboard_url)
if knowledge_base:
    pulumi.export("knowledgeBaseId", knowledge_base.knowledge_base_id)
    pulumi.export("documentsBucket", knowledge_base.bucket_name)
