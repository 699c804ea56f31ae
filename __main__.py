"""support-chatbot: composes the four components from the stack's settings and exports what users need.

Data flows one way: QueryLog -> EscalationApi -> ChatbotBot -> ChatSite; each arrow is an argument.
"""

from __future__ import annotations

import pulumi

from bot.samples import load_sample_customers
from bot.schema import load_definition
from components.chat_site import ChatSite, ChatSiteArgs
from components.chatbot_bot import ChatbotBot, ChatbotBotArgs
from components.escalation_api import EscalationApi, EscalationApiArgs
from components.query_log import QueryLog, QueryLogArgs
from components.settings import load_settings

settings = load_settings()
definition = load_definition()

query_log = QueryLog(
    "query-log",
    QueryLogArgs(
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        row_retention_days=settings.query_log_retention_days,
        protect_data=settings.protect_data,
        allowed_origins=settings.allowed_origins,
    ),
)

escalation_api = EscalationApi(
    "escalation-api",
    EscalationApiArgs(
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        sender=settings.escalation_sender,
        recipients=settings.escalation_recipients,
        max_attempts=settings.escalation_max_attempts,
        throttle_rate=settings.api_throttle_rate,
        throttle_burst=settings.api_throttle_burst,
        store_query_function=query_log.writer,
        allowed_origins=settings.allowed_origins,
        alarm_email=settings.alarm_email,
        protect_data=settings.protect_data,
        manage_api_gateway_account=settings.manage_api_gateway_account,
    ),
)

chatbot = ChatbotBot(
    "chatbot",
    ChatbotBotArgs(
        definition=definition,
        region=settings.region,
        log_retention_days=settings.log_retention_days,
        escalation_environment=escalation_api.ticket_environment,
        sample_customers=load_sample_customers() if settings.sample_data else (),
        protect_data=settings.protect_data,
        sentiment_analysis=settings.sentiment_analysis,
        reserved_concurrency=settings.fulfillment_reserved_concurrency,
        hourly_request_alarm=settings.lex_hourly_request_alarm,
        alarm_actions=[escalation_api.alarm_topic.arn] if escalation_api.alarm_topic else [],
    ),
)
escalation_api.grant_open_tickets("fulfillment", chatbot.fulfillment.role)

locale_id = chatbot.locale_id
site = ChatSite(
    "chat-site",
    ChatSiteArgs(
        region=settings.region,
        bot_id=chatbot.bot_id,
        bot_alias_id=chatbot.alias_id,
        locale_id=locale_id,
        api_origin_domain=escalation_api.origin_domain,
        api_origin_path=escalation_api.origin_path,
        suggestions=definition.locales[locale_id].suggestions(),
        custom_domain=settings.custom_domain,
        certificate_arn=settings.certificate_arn,
        api_rate_limit_per_ip=settings.api_rate_limit_per_ip,
    ),
)
chatbot.grant_conversation("site-guest", site.guest_role)

pulumi.export("siteUrl", site.site_url)
pulumi.export("apiUrl", escalation_api.api_url)
pulumi.export("botId", chatbot.bot_id)
pulumi.export("botAliasId", chatbot.alias_id)
pulumi.export("botAliasArn", chatbot.alias_arn)
pulumi.export("localeId", locale_id)
pulumi.export("identityPoolId", site.identity_pool_id)
pulumi.export("queryLogTable", query_log.table_name)
pulumi.export("customerTable", chatbot.customer_table.name)
