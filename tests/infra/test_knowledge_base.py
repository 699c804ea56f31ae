"""The knowledge base under Pulumi mocks: documents in a private bucket, a Bedrock knowledge base on S3 Vectors
whose role reaches exactly that bucket, index and embedding model, ingestion on every change, AMAZON.QnAIntent in
the bot with exactly the Bedrock permissions it needs, and the documents served at /knowledge/ for source links.

Whole-stack tests run `__main__.py` for the shipped stacks (and for variants of dev's settings); component tests
build a KnowledgeBase over `tests/infra/data/knowledge/`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi_aws_native
import pytest

from components.knowledge_base import (
    BEDROCK_METADATA_KEYS,
    DocumentError,
    KnowledgeBase,
    KnowledgeBaseArgs,
    document_files,
)
from components.settings import SettingsError, settings_from_values
from components.support_bot import locales_fingerprint
from contracts.knowledge import DOCUMENTS_PATH, KNOWLEDGE_INTENT_NAME, KNOWLEDGE_INTENT_SIGNATURE, MAX_DOCUMENT_BYTES
from tests.infra.cloudformation_schemas import validate
from tests.infra.conftest import ACCOUNT_ID, Mocks, RecordedResource
from tests.infra.resource_graph import run_stack, stack_config

REGION = "us-east-1"
TEST_DOCUMENTS = Path(__file__).resolve().parent / "data" / "knowledge"
KNOWLEDGE_BASE = "aws-native:bedrock:KnowledgeBase"
DATA_SOURCE = "aws-native:bedrock:DataSource"
VECTOR_INDEX = "aws-native:s3vectors:Index"
VECTOR_BUCKET = "aws-native:s3vectors:VectorBucket"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET = "aws:s3/bucket:Bucket"
OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
KB_ARN = f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:knowledge-base/KBID123456"
EMBEDDING_MODEL_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/amazon.titan-embed-text-v2:0"
ANSWER_MODEL_ARN = f"arn:aws:bedrock:{REGION}::foundation-model/anthropic.claude-3-haiku-20240307-v1:0"
EXTERNAL_BUCKET = "it-guides-documents"
KB_TYPES = (KNOWLEDGE_BASE, DATA_SOURCE, VECTOR_INDEX, VECTOR_BUCKET)


def policies_of(mocks: Mocks, role: RecordedResource) -> list[RecordedResource]:
    return [p for p in mocks.of_type(ROLE_POLICY) if p.inputs.get("role") == role.id]


def statements_of(mocks: Mocks, role: RecordedResource) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every statement of the role's inline policies as (sorted actions, sorted resources)."""
    return sorted(
        (tuple(sorted(s["Action"])), tuple(sorted(s["Resource"])))
        for policy in policies_of(mocks, role)
        for s in policy.statements()
    )


def qna_intents(mocks: Mocks) -> list[dict[str, Any]]:
    bot = mocks.one("aws-native:lex:Bot")
    return [i for locale in bot.inputs["botLocales"] for i in locale["intents"] if i["name"] == KNOWLEDGE_INTENT_NAME]


def dev_with(**settings: Any) -> dict[str, Any]:
    """dev's config with `support-chatbot:<key>` settings changed (None: unset)."""
    config = dict(stack_config("dev"))
    for key, value in settings.items():
        if value is None:
            config.pop(f"support-chatbot:{key}", None)
        else:
            config[f"support-chatbot:{key}"] = value
    return config


@pytest.fixture(scope="module", params=("dev", "prod"))
def stack(request: pytest.FixtureRequest) -> tuple[str, Mocks]:
    return request.param, run_stack(request.param)


@pytest.fixture(scope="module")
def without_knowledge_base() -> Mocks:
    return run_stack("dev", config=dev_with(knowledgeBase=False))


@pytest.fixture(scope="module")
def external_bucket() -> Mocks:
    return run_stack("dev", config=dev_with(knowledgeBaseBucket=EXTERNAL_BUCKET))


# --- the knowledge base itself ----------------------------------------------------------------------------------


def test_the_knowledge_base_stores_its_vectors_in_s3_vectors_not_opensearch(stack):
    # GIVEN a shipped stack
    name, mocks = stack
    # WHEN its knowledge base and vector store are read
    kb = mocks.one(KNOWLEDGE_BASE)
    index = mocks.one(VECTOR_INDEX)
    # THEN the knowledge base is a vector one on the S3 Vectors index, embedded by Titan Text Embeddings V2
    storage = kb.inputs["storageConfiguration"]
    assert storage == {"type": "S3_VECTORS", "s3VectorsConfiguration": {"indexArn": index.outputs["indexArn"]}}, name
    vector = kb.inputs["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"]
    assert vector["embeddingModelArn"] == EMBEDDING_MODEL_ARN
    embedding = vector["embeddingModelConfiguration"]["bedrockEmbeddingModelConfiguration"]
    # AND the index takes exactly the vectors the model writes, compared by cosine
    assert (index.inputs["dimension"], index.inputs["dataType"], index.inputs["distanceMetric"]) == (
        embedding["dimensions"],
        "float32",
        "cosine",
    )
    assert embedding == {"dimensions": 1024, "embeddingDataType": "FLOAT32"}
    assert not [r for r in mocks.resources if "opensearch" in r.type.lower()], f"{name}: an OpenSearch resource"


def test_bedrocks_text_and_metadata_are_not_filterable_in_the_index(stack):
    # GIVEN a shipped stack's vector index
    _, mocks = stack
    # THEN Bedrock's chunk text and metadata do not count against S3 Vectors' 2 KB of filterable metadata
    metadata = mocks.one(VECTOR_INDEX).inputs["metadataConfiguration"]
    assert sorted(metadata["nonFilterableMetadataKeys"]) == sorted(BEDROCK_METADATA_KEYS)


def test_the_data_source_is_the_documents_bucket(stack):
    _, mocks = stack
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    source = mocks.one(DATA_SOURCE)
    assert source.inputs["knowledgeBaseId"] == mocks.one(KNOWLEDGE_BASE).outputs["knowledgeBaseId"]
    assert source.inputs["dataSourceConfiguration"] == {
        "type": "S3",
        "s3Configuration": {"bucketArn": bucket.outputs["arn"]},
    }


def test_the_documents_bucket_is_private_and_encrypted(stack):
    # GIVEN a shipped stack's documents bucket
    name, mocks = stack
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    controls = {r.type.split(":")[-1]: r.inputs for r in mocks.resources if r.inputs.get("bucket") == bucket.id}
    # THEN public access is blocked four times over, ACLs are off, objects are encrypted at rest
    block = controls["BucketPublicAccessBlock"]
    assert all(block[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert controls["BucketOwnershipControls"]["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    [rule] = controls["BucketServerSideEncryptionConfiguration"]["rules"]
    assert rule["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256", name
    # AND only CloudFront, for this stack's distribution, may read it, and only over TLS
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    allow, deny = mocks.one("aws:s3/bucketPolicy:BucketPolicy", "knowledge-base-documents-policy").statements()
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == ["s3:GetObject"]
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution.outputs["arn"]}}
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_documents_bucket_is_protected_and_kept_in_prod_only(stack):
    name, mocks = stack
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    assert (bucket.protect, bucket.retain_on_delete) == ((True, True) if name == "prod" else (False, False)), name
    assert bucket.inputs.get("bucket") is None, f"{bucket.urn}: a fixed name could not be replaced without a gap"


def test_the_service_role_reaches_exactly_the_bucket_the_index_and_the_embedding_model(stack):
    # GIVEN a shipped stack's knowledge base
    name, mocks = stack
    kb = mocks.one(KNOWLEDGE_BASE)
    [role] = [r for r in mocks.of_type(ROLE) if r.outputs["arn"] == kb.inputs["roleArn"]]
    bucket_arn = mocks.one(BUCKET, "knowledge-base-documents").outputs["arn"]
    index_arn = mocks.one(VECTOR_INDEX).outputs["indexArn"]
    # WHEN its role's permissions are read
    # THEN it may list and read the documents, embed with the one model, and keep the one index: nothing else
    assert statements_of(mocks, role) == sorted(
        [
            (("s3:ListBucket",), (bucket_arn,)),
            (("s3:GetObject",), (f"{bucket_arn}/*",)),
            (("bedrock:InvokeModel",), (EMBEDDING_MODEL_ARN,)),
            (
                tuple(
                    sorted(
                        [
                            "s3vectors:DeleteVectors",
                            "s3vectors:GetIndex",
                            "s3vectors:GetVectors",
                            "s3vectors:PutVectors",
                            "s3vectors:QueryVectors",
                        ]
                    )
                ),
                (index_arn,),
            ),
        ]
    ), name
    # AND only Bedrock, for this account's knowledge bases in this region, may assume it
    [trust] = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "bedrock.amazonaws.com"}
    assert trust["Condition"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
        "ArnLike": {"aws:SourceArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT_ID}:knowledge-base/*"},
    }
    # AND the knowledge base is made only once the role may do that (Bedrock checks it)
    [policy] = policies_of(mocks, role)
    assert policy.urn in kb.depends_on


def test_the_bedrock_and_s3_vectors_resources_use_the_stacks_aws_native_provider(stack):
    _, mocks = stack
    provider = mocks.one("pulumi:providers:aws-native")
    for resource in (r for t in KB_TYPES for r in mocks.of_type(t)):
        assert resource.provider.startswith(provider.urn), f"{resource.urn} uses {resource.provider!r}"


# --- ingestion on change -----------------------------------------------------------------------------------------


def test_every_change_to_the_documents_reaches_the_ingestion_starter_in_batches(stack):
    # GIVEN a shipped stack
    name, mocks = stack
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    queue = mocks.one("aws:sqs/queue:Queue", "knowledge-base-ingestion-queue")
    # THEN every document put or deleted is an event on the ingestion queue
    notification = mocks.one("aws:s3/bucketNotification:BucketNotification")
    assert notification.inputs["bucket"] == bucket.id
    assert notification.inputs["queues"] == [
        {"queueArn": queue.outputs["arn"], "events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}
    ]
    # AND only S3, for this bucket of this account, may send to the queue
    [statement] = mocks.one("aws:sqs/queuePolicy:QueuePolicy").statements()
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    assert statement["Condition"] == {
        "ArnEquals": {"aws:SourceArn": bucket.outputs["arn"]},
        "StringEquals": {"aws:SourceAccount": ACCOUNT_ID},
    }
    # AND the starter reads the queue in batches gathered over a window, sending back what must wait
    mapping = mocks.one("aws:lambda/eventSourceMapping:EventSourceMapping", "knowledge-base-ingestion-source")
    assert mapping.inputs["eventSourceArn"] == queue.outputs["arn"]
    assert mapping.inputs["maximumBatchingWindowInSeconds"] >= 30, name
    assert mapping.inputs["functionResponseTypes"] == ["ReportBatchItemFailures"]
    # AND a batch that waited too long lands in a dead-letter queue
    dlq = mocks.one("aws:sqs/queue:Queue", "knowledge-base-ingestion-dlq")
    assert json.loads(queue.inputs["redrivePolicy"])["deadLetterTargetArn"] == dlq.outputs["arn"]


def test_the_starter_may_start_and_list_ingestion_jobs_of_this_knowledge_base_only(stack):
    _, mocks = stack
    function = mocks.one("aws:lambda/function:Function", "knowledge-base-ingestion-function")
    [role] = [r for r in mocks.of_type(ROLE) if r.outputs["arn"] == function.inputs["role"]]
    queue_arn = mocks.one("aws:sqs/queue:Queue", "knowledge-base-ingestion-queue").outputs["arn"]
    bedrock = [s for s in statements_of(mocks, role) if s[0][0].startswith("bedrock:")]
    assert bedrock == [(("bedrock:ListIngestionJobs", "bedrock:StartIngestionJob"), (KB_ARN,))]
    assert (("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"), (queue_arn,)) in statements_of(
        mocks, role
    )
    variables = function.inputs["environment"]["variables"]
    assert (variables["KNOWLEDGE_BASE_ID"], variables["KNOWLEDGE_DATA_SOURCE_ID"]) == ("KBID123456", "DSID123456")


def test_failed_ingestions_reach_the_stacks_alarm_topic(stack):
    # GIVEN a shipped stack, and its alarm topic where it has one (prod: `alarmEmail` is set)
    name, mocks = stack
    topics = [t.outputs["arn"] for t in mocks.of_type("aws:sns/topic:Topic")]
    assert topics or name == "dev", f"{name} has no alarm topic"
    function = mocks.one("aws:lambda/function:Function", "knowledge-base-ingestion-function")
    dlq = mocks.one("aws:sqs/queue:Queue", "knowledge-base-ingestion-dlq")
    # THEN the starter's errors and the dead-letter queue each have an alarm notifying the topic
    alarms = {a.name: a.inputs for a in mocks.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    errors, dead = alarms["knowledge-base-ingestion-errors"], alarms["knowledge-base-ingestion-dlq-not-empty"]
    assert (errors["metricName"], errors["dimensions"]) == ("Errors", {"FunctionName": function.outputs["name"]})
    assert (dead["metricName"], dead["dimensions"]) == (
        "ApproximateNumberOfMessagesVisible",
        {"QueueName": dlq.outputs["name"]},
    )
    assert errors.get("alarmActions", []) == dead.get("alarmActions", []) == topics, name


def test_a_new_data_source_is_synced_once_by_the_deployment(stack):
    _, mocks = stack
    invocation = mocks.one("aws:lambda/invocation:Invocation")
    function = mocks.one("aws:lambda/function:Function", "knowledge-base-ingestion-function")
    assert invocation.inputs["functionName"] == function.outputs["name"]
    assert invocation.inputs["triggers"] == {"dataSourceId": "DSID123456"}
    assert "sync" in json.loads(invocation.inputs["input"])
    # AND only once the function may list and start ingestion jobs
    policy = mocks.one(ROLE_POLICY, "knowledge-base-ingestion-permissions")
    assert policy.urn in invocation.depends_on


# --- the bot -----------------------------------------------------------------------------------------------------


def test_the_locale_answers_what_no_intent_matches_from_the_knowledge_base(stack):
    # GIVEN a shipped stack's bot
    name, mocks = stack
    # WHEN its QnAIntent is read
    [intent] = qna_intents(mocks)
    # THEN it is Lex's built-in QnAIntent over this knowledge base, answering with Claude 3 Haiku
    assert intent["parentIntentSignature"] == KNOWLEDGE_INTENT_SIGNATURE == "AMAZON.QnAIntent"
    assert intent["qnAIntentConfiguration"] == {
        "bedrockModelConfiguration": {"modelArn": ANSWER_MODEL_ARN},
        "dataSourceConfiguration": {
            "bedrockKnowledgeStoreConfiguration": {"bedrockKnowledgeBaseArn": KB_ARN, "exactResponse": False}
        },
    }, name
    assert "sampleUtterances" not in intent, "Lex takes no utterances for a built-in intent"


def test_the_lex_role_may_retrieve_from_the_knowledge_base_and_invoke_the_answer_model_only(stack):
    # GIVEN a shipped stack's bot and its role
    name, mocks = stack
    bot = mocks.one("aws-native:lex:Bot")
    [role] = [r for r in mocks.of_type(ROLE) if r.outputs["arn"] == bot.inputs["roleArn"]]
    # WHEN the role's Bedrock permissions are read
    bedrock = [s for s in statements_of(mocks, role) if any(a.startswith("bedrock:") for a in s[0])]
    # THEN they are what QnAIntent needs, on this knowledge base and this model, and nothing more
    assert bedrock == sorted([(("bedrock:Retrieve",), (KB_ARN,)), (("bedrock:InvokeModel",), (ANSWER_MODEL_ARN,))])
    # AND the knowledge base's owner granted them (its policy), before the bot is built with the intent
    [grant] = [p for p in policies_of(mocks, role) if "answer-from-documents" in p.name]
    assert grant.parent.endswith("::knowledge-base"), f"{grant.urn}: granted by {grant.parent}"
    assert grant.urn in bot.depends_on, name


def test_a_new_knowledge_base_is_a_new_bot_version(stack):
    # GIVEN a shipped stack's bot, as the engine received its locales, and its version
    _, mocks = stack
    sent = mocks.one("aws-native:lex:Bot").inputs["botLocales"]
    version = mocks.one("aws-native:lex:BotVersion")
    # WHEN the same locales name another knowledge base (one replaced, e.g. for a new embedding model)
    other = json.loads(json.dumps(sent).replace(KB_ARN, KB_ARN.replace("KBID123456", "KBID654321")))
    # THEN the version's fingerprint is of what was sent, and would differ: the alias moves to the new knowledge base
    assert version.inputs["description"] == f"Locales {locales_fingerprint(sent)}"
    assert locales_fingerprint(other) != locales_fingerprint(sent)


# --- the site ----------------------------------------------------------------------------------------------------


def test_the_site_serves_the_documents_read_only_at_the_knowledge_path(stack):
    # GIVEN a shipped stack's distribution
    name, mocks = stack
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    oac = mocks.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    # WHEN the behaviour for the documents path is read
    [behaviour] = [b for b in distribution.inputs["orderedCacheBehaviors"] if b["pathPattern"] == f"{DOCUMENTS_PATH}*"]
    [origin] = [o for o in distribution.inputs["origins"] if o["originId"] == behaviour["targetOriginId"]]
    # THEN it reads the documents bucket through the distribution's origin access control, GET and HEAD only
    assert origin["domainName"] == bucket.outputs["bucketRegionalDomainName"]
    assert origin["originAccessControlId"] == oac.id
    assert sorted(behaviour["allowedMethods"]) == ["GET", "HEAD"], name
    assert behaviour["viewerProtocolPolicy"] == "redirect-to-https"
    # AND the path's prefix is dropped on the way, so /knowledge/guides/vpn.md is the object guides/vpn.md
    [association] = behaviour["functionAssociations"]
    function = mocks.one("aws:cloudfront/function:Function", "chat-site-strip-documents-prefix")
    assert association == {"eventType": "viewer-request", "functionArn": function.outputs["arn"]}


def test_the_prefix_function_maps_a_documents_url_to_its_object_key():
    # GIVEN the viewer-request function's code
    from components.chat_site import STRIP_DOCUMENTS_PREFIX

    # THEN it removes exactly the documents path's prefix, keeping the key's leading slash (CloudFront's URI form)
    assert f"request.uri.indexOf('{DOCUMENTS_PATH}') === 0" in STRIP_DOCUMENTS_PREFIX
    assert f"request.uri.substring({len(DOCUMENTS_PATH) - 1})" in STRIP_DOCUMENTS_PREFIX
    assert "/knowledge/guides/vpn.md"[len(DOCUMENTS_PATH) - 1 :] == "/guides/vpn.md"


def test_the_stack_exports_the_knowledge_base_and_its_bucket(stack):
    _, mocks = stack
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    assert mocks.values["knowledgeBaseId"] == "KBID123456"
    assert mocks.values["documentsBucket"] == bucket.outputs["bucket"]


# --- off, and a bucket the stack does not own --------------------------------------------------------------------


def test_with_the_knowledge_base_off_nothing_of_it_is_made(without_knowledge_base):
    mocks = without_knowledge_base
    made = [r.urn for r in mocks.resources if r.type in KB_TYPES or "knowledge-base" in r.urn]
    assert made == []
    assert qna_intents(mocks) == []
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    assert [o["originId"] for o in distribution.inputs["origins"]] == ["site-bucket", "escalation-api"]
    assert all(b["pathPattern"] != f"{DOCUMENTS_PATH}*" for b in distribution.inputs["orderedCacheBehaviors"])


def test_a_bucket_the_stack_does_not_own_is_read_but_never_written_served_or_watched(external_bucket):
    # GIVEN dev pointed at a documents bucket it does not own
    mocks = external_bucket
    external_arn = f"arn:aws:s3:::{EXTERNAL_BUCKET}"
    # THEN the data source is that bucket and the service role may read it (and nothing else in S3)
    source = mocks.one(DATA_SOURCE)
    assert source.inputs["dataSourceConfiguration"]["s3Configuration"] == {"bucketArn": external_arn}
    kb = mocks.one(KNOWLEDGE_BASE)
    [role] = [r for r in mocks.of_type(ROLE) if r.outputs["arn"] == kb.inputs["roleArn"]]
    s3 = [s for s in statements_of(mocks, role) if s[0][0].startswith("s3:")]
    assert s3 == sorted([(("s3:ListBucket",), (external_arn,)), (("s3:GetObject",), (f"{external_arn}/*",))])
    # AND the stack makes no documents bucket, uploads nothing, watches nothing, serves nothing from it
    assert [b.name for b in mocks.of_type(BUCKET)] == ["chat-site-bucket"]
    assert [o.urn for o in mocks.of_type(OBJECT) if "knowledge-base" in o.urn] == []
    assert mocks.of_type("aws:s3/bucketNotification:BucketNotification") == []
    assert [f.name for f in mocks.of_type("aws:lambda/function:Function") if "knowledge" in f.name] == []
    distribution = mocks.one("aws:cloudfront/distribution:Distribution")
    assert all(b["pathPattern"] != f"{DOCUMENTS_PATH}*" for b in distribution.inputs["orderedCacheBehaviors"])
    # AND the bot still answers from it
    assert len(qna_intents(mocks)) == 1


@pytest.mark.parametrize("variant", ["without_knowledge_base", "external_bucket"])
def test_the_variants_aws_native_resources_match_their_cloudformation_schemas(variant, request):
    # GIVEN dev with the knowledge base off, or reading a bucket it does not own
    mocks = request.getfixturevalue(variant)
    # WHEN each aws-native resource is checked against its CloudFormation schema, as Cloud Control will
    violations = [v for r in mocks.resources if r.type.startswith("aws-native:") for v in validate(r, REGION)]
    # THEN none breaks it (the shipped stacks are checked by test_cloudformation_schemas)
    assert not violations, "\n".join(map(str, violations))


# --- the component over a folder of documents --------------------------------------------------------------------


def knowledge_base(documents_dir: Path, **overrides: Any):
    def program() -> None:
        provider = pulumi_aws_native.Provider("aws-native", region=REGION)
        KnowledgeBase(
            "knowledge-base",
            KnowledgeBaseArgs(
                region=REGION,
                log_retention_days=14,
                aws_native_provider=provider,
                documents_dir=documents_dir,
                **overrides,
            ),
        )

    return program


@pytest.mark.usefixtures("function_sources")
def test_each_document_is_one_object_keyed_by_its_path_with_its_content_type(run_pulumi, tmp_path):
    # GIVEN a folder holding a Markdown guide, a PDF, a file the knowledge base does not read and a hidden draft
    (tmp_path / "guides").mkdir()
    (tmp_path / "guides" / "connect-to-the-vpn.md").write_text(
        (TEST_DOCUMENTS / "guides" / "connect-to-the-vpn.md").read_text()
    )
    (tmp_path / "Printing.PDF").write_bytes(b"%PDF-1.4\n%%EOF\n")
    (tmp_path / "diagram.svg").write_text("<svg/>")
    (tmp_path / ".drafts").mkdir()
    (tmp_path / ".drafts" / "wip.md").write_text("# not yet")
    # WHEN a KnowledgeBase is made over it
    mocks = run_pulumi(knowledge_base(tmp_path))
    # THEN the documents, and only they, are uploaded under their relative paths with their content types
    objects = {o.inputs["key"]: o for o in mocks.of_type(OBJECT)}
    assert sorted(objects) == ["Printing.PDF", "guides/connect-to-the-vpn.md"]
    assert objects["guides/connect-to-the-vpn.md"].inputs["contentType"] == "text/markdown; charset=utf-8"
    assert objects["Printing.PDF"].inputs["contentType"] == "application/pdf"
    bucket = mocks.one(BUCKET, "knowledge-base-documents")
    assert {o.inputs["bucket"] for o in objects.values()} == {bucket.id}
    # AND each is uploaded after the bucket's notification exists, so the first upload already starts an ingestion
    notification = mocks.one("aws:s3/bucketNotification:BucketNotification")
    assert all(notification.urn in o.depends_on for o in objects.values())


@pytest.mark.usefixtures("function_sources")
def test_the_test_folder_uploads_its_one_guide(run_pulumi):
    mocks = run_pulumi(knowledge_base(TEST_DOCUMENTS))
    assert [o.inputs["key"] for o in mocks.of_type(OBJECT)] == ["guides/connect-to-the-vpn.md"]


def test_a_document_over_bedrocks_limit_is_refused_naming_it(tmp_path):
    # GIVEN a document one byte over the 50 MB Bedrock ingests (a sparse file: no disk is used)
    big = tmp_path / "handbook.pdf"
    with big.open("wb") as handle:
        handle.truncate(MAX_DOCUMENT_BYTES + 1)
    # WHEN / THEN the folder is refused, naming the file and the limit
    with pytest.raises(DocumentError, match=r"handbook\.pdf.*52428800"):
        document_files(tmp_path)


def test_a_missing_documents_folder_has_no_documents(tmp_path):
    assert document_files(tmp_path / "knowledge") == {}


@pytest.mark.usefixtures("function_sources")
def test_other_models_reach_the_role_the_index_and_the_answer_grant(run_pulumi):
    # GIVEN a KnowledgeBase with another embedding model and size, and another answer model
    mocks = run_pulumi(
        knowledge_base(
            TEST_DOCUMENTS,
            embedding_model="cohere.embed-english-v3",
            embedding_dimensions=512,
            answer_model="anthropic.claude-instant-v1",
        )
    )
    # THEN the index and the knowledge base use the new size and model
    assert mocks.one(VECTOR_INDEX).inputs["dimension"] == 512
    vector = mocks.one(KNOWLEDGE_BASE).inputs["knowledgeBaseConfiguration"]["vectorKnowledgeBaseConfiguration"]
    assert vector["embeddingModelArn"] == f"arn:aws:bedrock:{REGION}::foundation-model/cohere.embed-english-v3"
    role = mocks.one(ROLE, "knowledge-base-service-role")
    assert ((("bedrock:InvokeModel",), (vector["embeddingModelArn"],))) in statements_of(mocks, role)


# --- settings ----------------------------------------------------------------------------------------------------

BASE = {"region": "us-east-1", "escalation_sender": "bot@example.com", "escalation_recipients": ["a@example.com"]}


def test_the_shipped_stacks_turn_the_knowledge_base_on():
    for stack in ("dev", "prod"):
        assert stack_config(stack).get("support-chatbot:knowledgeBase") is True, stack


def test_a_documents_bucket_without_the_knowledge_base_is_refused_with_the_fix():
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**BASE, "knowledge_base_bucket": EXTERNAL_BUCKET})
    assert "knowledgeBaseBucket is set but knowledgeBase is off" in str(error.value)
    assert "pulumi config set support-chatbot:knowledgeBase true" in str(error.value)


@pytest.mark.parametrize(
    ("field", "key", "value"),
    [
        ("knowledge_base_bucket", "knowledgeBaseBucket", "Not_A_Bucket"),
        ("embedding_model", "embeddingModel", "titan embeddings"),
        ("answer_model", "answerModel", ""),
        ("embedding_dimensions", "embeddingDimensions", 5000),
    ],
)
def test_an_invalid_knowledge_base_setting_names_its_key_and_the_command(field, key, value):
    with pytest.raises(SettingsError) as error:
        settings_from_values("dev", {**BASE, "knowledge_base": True, field: value})
    assert f"  {key}: " in str(error.value)
    assert f"Fix: pulumi config set support-chatbot:{key} " in str(error.value)


def test_the_defaults_are_titan_v2_at_1024_and_claude_3_haiku():
    settings = settings_from_values("dev", {**BASE, "knowledge_base": True})
    assert (settings.embedding_model, settings.embedding_dimensions, settings.answer_model) == (
        "amazon.titan-embed-text-v2:0",
        1024,
        "anthropic.claude-3-haiku-20240307-v1:0",
    )
