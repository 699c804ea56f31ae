"""SupportBot: the Lex V2 bot built from `bot/definition.yaml`, its `live` alias, fulfillment Lambda and customer data.

`pulumi_aws_native.lex` is used because `pulumi_aws` has neither a Lex V2 alias nor a way to build a locale
(pulumi-aws#3544): the aws-native `Bot` takes the whole locale inline and builds it on deploy.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from importlib.metadata import version

import pulumi
import pulumi_aws as aws
from pulumi._types import input_type_to_dict, is_input_type  # the SDK's own translation to wire names
from pulumi_aws_native import lex
from pulumi_aws_native.lex import (
    BotQnAIntentConfigurationDataSourceConfigurationPropertiesBedrockKnowledgeStoreConfigurationPropertiesArgs as KnowledgeStoreArgs,  # noqa: E501 - the provider's name
)

from bot.schema import BotDefinition, Intent, Locale, ResponseCard, SlotType
from components.alarms import Metric, alarm_above
from components.iam import Grants, Statement, grant, service_trust_policy
from components.python_function import PythonFunction, PythonFunctionArgs
from contracts.knowledge import KNOWLEDGE_INTENT_NAME, KNOWLEDGE_INTENT_SIGNATURE
from contracts.stack import CUSTOMERS_TABLE, CUSTOMERS_TABLE_NAME, QUERY_LOG_TABLE_NAME

TYPE = "support-chatbot:index:SupportBot"
FORMER_TYPE = "support-chatbot:index:ChatbotBot"
ALIAS_NAME = "live"  # production traffic never uses the rate-limited test alias TSTALIASID
CODE_HOOK_INTERFACE_VERSION = "1.0"
CUSTOMER_READ_ACTIONS = ("dynamodb:GetItem",)
CONVERSATION_ACTIONS = ("lex:RecognizeText", "lex:DeleteSession")
AWS_NATIVE_VERSION = version("pulumi_aws_native")
# Lex's built-in slot types that hold personal data: conversation logs show the slot's name instead of the value
# (slot obfuscation). By type, not by a flag in bot/, so a new slot of one of these types is covered without anyone
# remembering to. Custom types (CustomerId, ProductName) stay readable: the id is how support finds the customer.
PERSONAL_SLOT_TYPES = frozenset(
    {
        "AMAZON.EmailAddress",
        "AMAZON.FirstName",
        "AMAZON.LastName",
        "AMAZON.PhoneNumber",
        "AMAZON.StreetName",
        "AMAZON.UKPostalCode",
    }
)


@dataclass(frozen=True)
class KnowledgeAnswers:
    """The knowledge base the bot answers from when no intent matches (AMAZON.QnAIntent), as its owner hands it
    over (`KnowledgeBase.answering`): its ARN, the model that writes the answers, and the grant of both to a role."""

    knowledge_base_arn: pulumi.Input[str]
    model_arn: pulumi.Input[str]
    grant_answering: Callable[[str, aws.iam.Role], aws.iam.RolePolicy]


@dataclass
class SupportBotArgs:
    """What SupportBot needs from the stack and from Escalations."""

    definition: BotDefinition
    region: pulumi.Input[str]
    log_retention_days: int
    aws_native_provider: pulumi.ProviderResource
    """The one `pulumi_aws_native.Provider` of the stack, made from the stack's region (`aws:region`): every
    aws-native resource of the bot uses it. The default aws-native provider reads only `aws-native:region` or
    `AWS_REGION`, so without it a preview stops, or the bot lands in another region than its Lambda."""
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
    knowledge: KnowledgeAnswers | None = None
    """The knowledge base: every locale gets AMAZON.QnAIntent over it, and the owner grants the bot's role what
    QnAIntent needs. Left out: what no intent matches goes to FallbackIntent."""


def locales_fingerprint(bot_locales: object) -> str:
    """A short hash of a Bot's locales as the provider receives them, with the provider's version: a new one makes a
    new bot version behind the alias.

    `bot_locales` is the Bot's `bot_locales` input (`lex.BotLocaleArgs`), or the same in wire form (camelCase keys,
    as the engine records it); both hash alike. Hashing what is sent, not `bot/definition.yaml`, means a change in
    how the definition is translated reaches the alias too; the provider's version is in it because an upgrade may
    send the same arguments differently."""
    sent = {"botLocales": wire_form(bot_locales), "provider": f"pulumi-aws-native {AWS_NATIVE_VERSION}"}
    canonical = json.dumps(sent, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def wire_form(value: object) -> object:
    """`value` as the engine receives it: input types as dicts of their wire (camelCase) names without unset fields,
    enums as their values, whole floats as ints (the engine's numbers are floats). Outputs are refused: what a
    fingerprint covers must be known when the program runs."""
    if is_input_type(type(value)):
        value = input_type_to_dict(value)
    if isinstance(value, Enum):
        return wire_form(value.value)
    if isinstance(value, Mapping):
        return {str(key): wire_form(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [wire_form(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(
        f"cannot fingerprint {type(value).__name__}: only plain values and input types are known in advance"
    )


class SupportBot(pulumi.ComponentResource):
    """The conversation in Lex V2, with its fulfillment Lambda, customer table, service role and conversation logs."""

    def __init__(self, name: str, args: SupportBotArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        # The component was first called ChatbotBot: the alias keeps a deployed stack's bot and, as children inherit
        # their parent's aliases, everything under it. The aws-native provider is given to the component too, so any
        # aws-native child inherits it, not only the Lex resources that name it. No deployed stack holds an aws-native
        # resource (the first preview stopped for want of `aws-native:region`), so this provider replaces nothing.
        own = pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=FORMER_TYPE)], providers=[args.aws_native_provider])
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, own))
        self._name = name
        self._aws_native = args.aws_native_provider
        self._grants = Grants(self, name)
        definition = args.definition

        self.customer_table = self._customer_table(args.protect_data, args.sample_customers)
        self.fulfillment = self._fulfillment(args)
        self.grant_customer_read("fulfillment", self.fulfillment.role)
        self.conversation_logs = aws.cloudwatch.LogGroup(
            f"{name}-conversations", retention_in_days=args.log_retention_days, opts=pulumi.ResourceOptions(parent=self)
        )
        self._knowledge = args.knowledge
        self.service_role = self._service_role(args.region, args.sentiment_analysis)
        self._locales = self._lex_locales(definition, args.knowledge)
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

    def _service_role(self, region: pulumi.Input[str], sentiment_analysis: bool) -> aws.iam.Role:
        """The role Lex runs the bot as: write conversation logs, speak (Polly), and detect sentiment if asked.

        Only Lex acting for a bot of this account and region may assume it (no confused deputy). The bot's own ARN
        is not known before the bot, which needs the role first, so any bot of the account and region is the
        narrowest source."""
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{self._name}-lex-role",
            assume_role_policy=pulumi.Output.all(account, region).apply(
                lambda values: service_trust_policy(
                    "lexv2.amazonaws.com",
                    source_account=values[0],
                    source_arn=f"arn:aws:lex:{values[1]}:{values[0]}:bot/*",
                )
            ),
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
        # QnAIntent's Bedrock permissions come from the knowledge base's owner, before the bot is built with it.
        self._role_policies: list[pulumi.Resource] = [self._service_policy]
        if self._knowledge is not None:
            self._role_policies.append(self._knowledge.grant_answering(f"{self._name}-lex", role))
        return role

    @staticmethod
    def _lex_locales(definition: BotDefinition, knowledge: KnowledgeAnswers | None) -> list[lex.BotLocaleArgs]:
        """Every locale of the definition, each with QnAIntent over `knowledge` when there is one."""
        return [
            _lex_locale(
                locale_id,
                locale,
                None if knowledge is None else _knowledge_intent(knowledge.knowledge_base_arn, knowledge.model_arn),
            )
            for locale_id, locale in definition.locales.items()
        ]

    def _version_description(self, definition: BotDefinition) -> pulumi.Input[str]:
        """`Locales <fingerprint>` of what the bot is sent; with a knowledge base, once its ARN is known (a new
        knowledge base is a new version too)."""
        knowledge = self._knowledge
        if knowledge is None:
            return f"Locales {locales_fingerprint(self._locales)}"
        return pulumi.Output.all(knowledge.knowledge_base_arn, knowledge.model_arn).apply(
            lambda arns: (
                "Locales "
                + locales_fingerprint(
                    self._lex_locales(definition, KnowledgeAnswers(arns[0], arns[1], knowledge.grant_answering))
                )
            )
        )

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
            bot_locales=self._locales,
            opts=pulumi.ResourceOptions(parent=self, provider=self._aws_native, depends_on=self._role_policies),
        )

    def _bot_version(self, definition: BotDefinition) -> lex.BotVersion:
        """An immutable snapshot of the built draft, for the alias to point at.

        `AWS::Lex::BotVersion` has no update handler, so every input replaces it (`replace_on_changes=["*"]`), and
        its description carries the fingerprint of what the draft was sent (`locales_fingerprint`): a change to the
        definition, to how it is translated, or to the provider makes a new version that reaches the alias.
        Replacement is create-before-delete, Pulumi's default and the only order Lex allows: the new version is
        made, the alias moves to it, then the old one is deleted (Lex refuses to delete a version an alias uses)."""
        return lex.BotVersion(
            f"{self._name}-version",
            bot_id=self.bot.aws_id,
            description=self._version_description(definition),
            bot_version_locale_specification=[
                lex.BotVersionLocaleSpecificationArgs(
                    locale_id=locale_id,
                    bot_version_locale_details=lex.BotVersionLocaleDetailsArgs(source_bot_version="DRAFT"),
                )
                for locale_id in definition.locales
            ],
            opts=pulumi.ResourceOptions(
                parent=self, provider=self._aws_native, replace_on_changes=["*"], delete_before_replace=False
            ),
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
            opts=pulumi.ResourceOptions(parent=self, provider=self._aws_native),
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
            obfuscation_setting=(
                lex.BotObfuscationSettingArgs(
                    obfuscation_setting_type=lex.BotObfuscationSettingObfuscationSettingType.DEFAULT_OBFUSCATION
                )
                if slot.type in PERSONAL_SLOT_TYPES
                else None
            ),
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


def _knowledge_intent(knowledge_base_arn: pulumi.Input[str], model_arn: pulumi.Input[str]) -> lex.BotIntentArgs:
    """AMAZON.QnAIntent over the knowledge base: Lex retrieves from it and the model writes the answer, for any
    utterance no other intent matches; what it cannot answer still goes to FallbackIntent."""
    store = KnowledgeStoreArgs(bedrock_knowledge_base_arn=knowledge_base_arn, exact_response=False)
    return lex.BotIntentArgs(
        name=KNOWLEDGE_INTENT_NAME,
        description="Answers from the support team's documents when no other intent matches",
        parent_intent_signature=KNOWLEDGE_INTENT_SIGNATURE,
        qn_a_intent_configuration=lex.BotQnAIntentConfigurationArgs(
            bedrock_model_configuration=lex.BotBedrockModelSpecificationArgs(model_arn=model_arn),
            data_source_configuration=lex.BotQnAIntentConfigurationDataSourceConfigurationPropertiesArgs(
                bedrock_knowledge_store_configuration=store
            ),
        ),
    )


def _lex_locale(locale_id: str, locale: Locale, knowledge_intent: lex.BotIntentArgs | None = None) -> lex.BotLocaleArgs:
    """A locale of the definition with its threshold, voice, slot types and intents (and QnAIntent, when given)."""
    return lex.BotLocaleArgs(
        locale_id=locale_id,
        description=locale.description or None,
        nlu_confidence_threshold=locale.nlu_confidence_threshold,
        voice_settings=lex.BotVoiceSettingsArgs(voice_id=locale.voice),
        slot_types=[_lex_slot_type(slot_type) for slot_type in locale.slot_types] or None,
        intents=[_lex_intent(intent, locale) for intent in locale.intents]
        + ([knowledge_intent] if knowledge_intent is not None else []),
    )
