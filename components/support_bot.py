"""SupportBot: the Lex V2 bot built from `bot/definition.yaml`, its `live` alias, fulfillment Lambda and customer data.

`pulumi_aws_native.lex` is used because `pulumi_aws` has neither a Lex V2 alias nor a way to build a locale
(pulumi-aws#3544): the aws-native `Bot` takes the whole locale inline and builds it on deploy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws
from pulumi_aws_native import lex

from bot.schema import BotDefinition, Intent, Locale, ResponseCard, SlotType
from components.alarms import Metric, alarm_above
from components.iam import Grants, Statement, grant, service_trust_policy
from components.python_function import PythonFunction, PythonFunctionArgs
from contracts.stack import CUSTOMERS_TABLE, CUSTOMERS_TABLE_NAME, QUERY_LOG_TABLE_NAME

TYPE = "support-chatbot:index:SupportBot"
FORMER_TYPE = "support-chatbot:index:ChatbotBot"
ALIAS_NAME = "live"  # production traffic never uses the rate-limited test alias TSTALIASID
CODE_HOOK_INTERFACE_VERSION = "1.0"
CUSTOMER_READ_ACTIONS = ("dynamodb:GetItem",)
CONVERSATION_ACTIONS = ("lex:RecognizeText", "lex:DeleteSession")


@dataclass
class SupportBotArgs:
    """What SupportBot needs from the stack and from Escalations."""

    definition: BotDefinition
    region: pulumi.Input[str]
    log_retention_days: int
    query_log_table_name: pulumi.Input[str]
    """QueryLog's table: TalkToHuman reads the conversation so far from it (QueryLog grants the read)."""
    escalation_environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Escalations' `ticket_environment`, so the bot can open tickets. Left out: TalkToHuman cannot open one."""
    sample_customers: Sequence[Mapping[str, str]] = ()
    """Items put into the customer table, every attribute a string (`contracts.stack.CUSTOMERS_TABLE` says which
    are stored as numbers). Left out: the table starts empty (prod)."""
    protect_data: bool = False
    """Protect the customer table from deletion (`protect=True`, retained on delete)."""
    sentiment_analysis: bool = False
    """Comprehend sentiment on each user turn, sent to the code hook and the conversation logs."""
    reserved_concurrency: int | None = None
    """Cap on the fulfillment Lambda's concurrency. Left out: it shares the account's unreserved pool."""
    hourly_request_alarm: int = 5_000
    """RecognizeText calls per hour above which the usage alarm fires (a runaway client, a bot loop, abuse)."""
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    """Where alarms notify (SNS topic ARNs). Left out: alarms show in CloudWatch only."""


def definition_fingerprint(definition: BotDefinition) -> str:
    """A short hash of the definition: a new one makes a new bot version behind the alias."""
    canonical = json.dumps(definition.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class SupportBot(pulumi.ComponentResource):
    """The conversation in Lex V2, with its fulfillment Lambda, customer table, service role and conversation logs."""

    def __init__(self, name: str, args: SupportBotArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The component was first called ChatbotBot: the alias keeps a deployed stack's bot and, as children inherit
        # their parent's aliases, everything under it.
        renamed = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=FORMER_TYPE)])
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, renamed))
        self._name = name
        self._grants = Grants(self, name)
        definition = args.definition

        self.customer_table = self._customer_table(args.protect_data, args.sample_customers)
        self.fulfillment = self._fulfillment(args)
        self.grant_customer_read("fulfillment", self.fulfillment.role)
        self.conversation_logs = aws.cloudwatch.LogGroup(
            f"{name}-conversations", retention_in_days=args.log_retention_days, opts=pulumi.ResourceOptions(parent=self)
        )
        self.service_role = self._service_role(args.sentiment_analysis)
        self.bot = self._bot(definition)
        self.version = self._bot_version(definition)
        self.alias = self._live_alias(definition, args.sentiment_analysis)
        self.fulfillment.allow_invocation(f"{name}-lex-invokes-fulfillment", "lexv2.amazonaws.com", self.alias.arn)
        self.locale_id = next(iter(definition.locales))
        self.usage_alarm, self.throttle_alarm = self._alarms(args)

        self.bot_id = self.bot.aws_id
        self.alias_id = self.alias.bot_alias_id
        self.alias_arn = self.alias.arn
        self.register_outputs(
            {
                "bot_id": self.bot_id,
                "alias_id": self.alias_id,
                "alias_arn": self.alias_arn,
                "locale_id": self.locale_id,
                "customer_table_name": self.customer_table.name,
            }
        )

    def grant_customer_read(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` read single customers (GetItem) from the customer table, and nothing else."""
        return self._grants.grant(
            grantee, "read-customers", role, [Statement(CUSTOMER_READ_ACTIONS, [self.customer_table.arn])]
        )

    def grant_conversation(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` talk to the bot through the `live` alias only (RecognizeText, DeleteSession)."""
        return self._grants.grant(grantee, "talk-to-bot", role, [Statement(CONVERSATION_ACTIONS, [self.alias.arn])])

    def _customer_table(self, protect_data: bool, sample_customers: Sequence[Mapping[str, str]]) -> aws.dynamodb.Table:
        """The customers the bot answers about, and the sample ones a stack asks for."""
        schema = CUSTOMERS_TABLE
        table = aws.dynamodb.Table(
            f"{self._name}-customers",
            attributes=[{"name": key.name, "type": key.type} for key in schema.keys],
            hash_key=schema.hash_key.name,
            billing_mode="PAY_PER_REQUEST",
            server_side_encryption={"enabled": True},
            point_in_time_recovery={"enabled": True},
            deletion_protection_enabled=protect_data,
            opts=pulumi.ResourceOptions(parent=self, protect=protect_data, retain_on_delete=protect_data),
        )
        for customer in sample_customers:
            aws.dynamodb.TableItem(
                f"{self._name}-customer-{customer[schema.hash_key.name]}",
                table_name=table.name,
                hash_key=schema.hash_key.name,
                item=json.dumps(dynamodb_item(customer), sort_keys=True),
                opts=pulumi.ResourceOptions(parent=self),
            )
        return table

    def _fulfillment(self, args: SupportBotArgs) -> PythonFunction:
        """The code hook: reads customers, opens tickets; carries the definition's answers it needs."""
        return PythonFunction(
            f"{self._name}-fulfillment",
            PythonFunctionArgs(
                source="fulfillment",
                description="Lex V2 code hook of the support chatbot",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={
                    CUSTOMERS_TABLE_NAME.name: self.customer_table.name,
                    QUERY_LOG_TABLE_NAME.name: args.query_log_table_name,
                    **args.escalation_environment,
                },
                generated_files={"bot_content.json": args.definition.code_hook_content()},
                reserved_concurrency=args.reserved_concurrency,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _service_role(self, sentiment_analysis: bool) -> aws.iam.Role:
        """The role Lex runs the bot as: write conversation logs, speak (Polly), and detect sentiment if asked."""
        role = aws.iam.Role(
            f"{self._name}-lex-role",
            assume_role_policy=service_trust_policy("lexv2.amazonaws.com"),
            description="Lets Lex V2 run the support chatbot and write its conversation logs",
            opts=pulumi.ResourceOptions(parent=self),
        )
        statements = [
            Statement(
                ["logs:CreateLogStream", "logs:PutLogEvents"], [self.conversation_logs.arn.apply(lambda a: f"{a}:*")]
            ),
            # Polly has no resource-level permissions for voices, so `*` is the only resource it accepts.
            Statement(["polly:SynthesizeSpeech"], ["*"]),
        ]
        if sentiment_analysis:
            # Comprehend's DetectSentiment has no resource-level permissions either.
            statements.append(Statement(["comprehend:DetectSentiment"], ["*"]))
        self._service_policy = grant(f"{self._name}-lex-permissions", role, statements, parent=self)
        return role

    def _bot(self, definition: BotDefinition) -> lex.Bot:
        """The bot with every locale of the definition inline, built on deploy."""
        return lex.Bot(
            f"{self._name}-bot",
            # Bot names are unique per account and region: the stack in the name lets dev and prod share one.
            name=lex_name(f"{definition.bot.name}-{pulumi.get_stack()}"),
            description=definition.bot.description,
            role_arn=self.service_role.arn,
            data_privacy=lex.DataPrivacyPropertiesArgs(child_directed=definition.bot.child_directed),
            idle_session_ttl_in_seconds=definition.bot.idle_session_ttl_seconds,
            auto_build_bot_locales=True,
            bot_locales=[_lex_locale(locale_id, locale) for locale_id, locale in definition.locales.items()],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self._service_policy]),
        )

    def _bot_version(self, definition: BotDefinition) -> lex.BotVersion:
        """An immutable version of the built bot: a new fingerprint replaces it (the new one is made before the
        alias moves to it and the old one is deleted)."""
        return lex.BotVersion(
            f"{self._name}-version",
            bot_id=self.bot.aws_id,
            description=f"bot/definition.yaml {definition_fingerprint(definition)}",
            bot_version_locale_specification=[
                lex.BotVersionLocaleSpecificationArgs(
                    locale_id=locale_id,
                    bot_version_locale_details=lex.BotVersionLocaleDetailsArgs(source_bot_version="DRAFT"),
                )
                for locale_id in definition.locales
            ],
            opts=pulumi.ResourceOptions(parent=self, replace_on_changes=["description"]),
        )

    def _live_alias(self, definition: BotDefinition, sentiment_analysis: bool) -> lex.BotAlias:
        """The `live` alias: the version, the fulfillment Lambda as code hook, text conversation logs."""
        code_hook = lex.BotAliasCodeHookSpecificationArgs(
            lambda_code_hook=lex.BotAliasLambdaCodeHookArgs(
                code_hook_interface_version=CODE_HOOK_INTERFACE_VERSION, lambda_arn=self.fulfillment.arn
            )
        )
        text_logs = lex.BotAliasTextLogSettingArgs(
            enabled=True,
            destination=lex.BotAliasTextLogDestinationArgs(
                cloud_watch=lex.BotAliasCloudWatchLogGroupLogDestinationArgs(
                    cloud_watch_log_group_arn=self.conversation_logs.arn, log_prefix=f"{ALIAS_NAME}/"
                )
            ),
        )
        return lex.BotAlias(
            f"{self._name}-alias",
            bot_id=self.bot.aws_id,
            bot_alias_name=ALIAS_NAME,
            bot_version=self.version.bot_version,
            description="Production alias of the support chatbot",
            bot_alias_locale_settings=[
                lex.BotAliasLocaleSettingsItemArgs(
                    locale_id=locale_id,
                    bot_alias_locale_setting=lex.BotAliasLocaleSettingsArgs(
                        enabled=True, code_hook_specification=code_hook
                    ),
                )
                for locale_id in definition.locales
            ],
            conversation_log_settings=lex.BotAliasConversationLogSettingsArgs(text_log_settings=[text_logs]),
            sentiment_analysis_settings=lex.SentimentAnalysisSettingsPropertiesArgs(
                detect_sentiment=sentiment_analysis
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _alarms(self, args: SupportBotArgs) -> tuple[aws.cloudwatch.MetricAlarm, aws.cloudwatch.MetricAlarm]:
        """Guests reach Lex with no sign-in, so usage is watched: a flood of requests, and the fulfillment Lambda
        hitting its reserved concurrency (the cap that bounds what a flood can cost)."""
        usage = alarm_above(
            f"{self._name}-usage",
            "Lex RecognizeText calls on the live alias are above the expected hourly volume",
            Metric(
                "AWS/Lex",
                "RuntimeRequestCount",
                {
                    "BotId": self.bot.aws_id,
                    "BotAliasId": self.alias.bot_alias_id,
                    "LocaleId": self.locale_id,
                    "Operation": "RecognizeText",
                },
                period_seconds=3600,
            ),
            threshold=args.hourly_request_alarm,
            actions=args.alarm_actions,
            parent=self,
        )
        throttled = alarm_above(
            f"{self._name}-fulfillment-throttled",
            "The fulfillment Lambda is throttled: its reserved concurrency is exhausted",
            Metric("AWS/Lambda", "Throttles", {"FunctionName": self.fulfillment.name}),
            threshold=0,
            actions=args.alarm_actions,
            parent=self,
        )
        return usage, throttled


def lex_name(text: str) -> str:
    """`text` as a Lex resource name: letters and digits joined by single `_` or `-`, at most 100 characters."""
    return re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-")[:100].rstrip("-")


def dynamodb_item(customer: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """A customer in DynamoDB's attribute-value JSON: the contract's number attributes (the balance) as numbers,
    the rest as strings."""
    numbers = CUSTOMERS_TABLE.number_attributes
    return {key: ({"N": value} if key in numbers else {"S": value}) for key, value in customer.items()}


def _messages(text: str, card: ResponseCard | None = None) -> list[lex.BotMessageGroupArgs]:
    """One plain-text message group saying `text`, and one showing `card`'s quick replies when there is one."""
    groups = [
        lex.BotMessageGroupArgs(message=lex.BotMessageArgs(plain_text_message=lex.BotPlainTextMessageArgs(value=text)))
    ]
    if card is not None:
        buttons = [lex.BotButtonArgs(text=button.text, value=button.value) for button in card.buttons]
        image_card = lex.BotImageResponseCardArgs(title=card.title, buttons=buttons)
        groups.append(lex.BotMessageGroupArgs(message=lex.BotMessageArgs(image_response_card=image_card)))
    return groups


def _lex_slot_type(slot_type: SlotType) -> lex.BotSlotTypeArgs:
    """A custom slot type of the definition, as Lex V2 takes it inline."""
    return lex.BotSlotTypeArgs(
        name=slot_type.name,
        description=slot_type.description or None,
        value_selection_setting=lex.BotSlotValueSelectionSettingArgs(
            resolution_strategy=lex.BotSlotValueResolutionStrategy(slot_type.resolution)
        ),
        slot_type_values=[
            lex.BotSlotTypeValueArgs(
                sample_value=lex.BotSampleValueArgs(value=item.value),
                synonyms=[lex.BotSampleValueArgs(value=s) for s in item.synonyms] or None,
            )
            for item in slot_type.values
        ],
    )


def _lex_intent(intent: Intent, locale: Locale) -> lex.BotIntentArgs:
    """An intent of the definition: utterances, slots with prompts (and quick replies), code hooks, or its closing
    answer. An intent built on a Lex built-in gets no utterances: Lex takes none, its own model knows them."""
    slots = [
        lex.BotSlotArgs(
            name=slot.name,
            slot_type_name=slot.type,
            description=slot.description or None,
            value_elicitation_setting=lex.BotSlotValueElicitationSettingArgs(
                slot_constraint=lex.BotSlotConstraint.REQUIRED if slot.required else lex.BotSlotConstraint.OPTIONAL,
                prompt_specification=lex.BotPromptSpecificationArgs(
                    max_retries=slot.max_retries,
                    message_groups_list=_messages(slot.prompt, locale.slot_card(slot)),
                    allow_interrupt=True,
                ),
            ),
        )
        for slot in intent.slots
    ]
    return lex.BotIntentArgs(
        name=intent.name,
        description=intent.description or None,
        parent_intent_signature=intent.parent,
        sample_utterances=None
        if intent.parent
        else [lex.BotSampleUtteranceArgs(utterance=u) for u in intent.utterances] or None,
        slots=slots or None,
        slot_priorities=[lex.BotSlotPriorityArgs(priority=i + 1, slot_name=s.name) for i, s in enumerate(intent.slots)]
        or None,
        dialog_code_hook=lex.BotDialogCodeHookSettingArgs(enabled=True) if intent.dialog_code_hook else None,
        fulfillment_code_hook=(
            lex.BotFulfillmentCodeHookSettingArgs(enabled=True) if intent.fulfillment_code_hook else None
        ),
        intent_closing_setting=(
            lex.BotIntentClosingSettingArgs(
                closing_response=lex.BotResponseSpecificationArgs(message_groups_list=_messages(intent.answer)),
                is_active=True,
            )
            if intent.answer
            else None
        ),
    )


def _lex_locale(locale_id: str, locale: Locale) -> lex.BotLocaleArgs:
    """A locale of the definition with its threshold, voice, slot types and intents."""
    return lex.BotLocaleArgs(
        locale_id=locale_id,
        description=locale.description or None,
        nlu_confidence_threshold=locale.nlu_confidence_threshold,
        voice_settings=lex.BotVoiceSettingsArgs(voice_id=locale.voice),
        slot_types=[_lex_slot_type(slot_type) for slot_type in locale.slot_types] or None,
        intents=[_lex_intent(intent, locale) for intent in locale.intents],
    )
