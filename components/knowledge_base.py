"""KnowledgeBase: the team's documents in S3, an Amazon Bedrock knowledge base over them on Amazon S3 Vectors, and the
ingestion that keeps it in step with the documents.

Nothing here is billed while idle: S3 Vectors charges for the vectors stored and the queries made, Bedrock for the
tokens embedded and generated, the ingestion starter for its few invocations (no OpenSearch domain, no cluster).

The documents come from a folder of the repository (`knowledge/`), one object per file under its relative path, so
the knowledge base's source URIs (`s3://<bucket>/<key>`) name the same key the site serves at
`contracts.knowledge.DOCUMENTS_PATH` + key. Every change S3 sees reaches an SQS queue; the `start_ingestion` function
reads it in batches and starts one ingestion job per burst (see its module docstring). A stack may instead name a
bucket it does not own (`KnowledgeBaseArgs.external_bucket`): then nothing is uploaded, nothing is served, and
ingestion is the bucket owner's to start.

The aws-native provider is used for the Bedrock and S3 Vectors resources (`AWS::Bedrock::KnowledgeBase`,
`AWS::Bedrock::DataSource`, `AWS::S3Vectors::VectorBucket`, `AWS::S3Vectors::Index`), so they are checked offline
against their CloudFormation schemas like the Lex bot; pulumi-aws has them too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws_native import bedrock, s3vectors

from components.alarms import Metric, alarm_above, queue_not_empty
from components.iam import (
    Grants,
    Statement,
    cloudfront_read_policy,
    grant,
    service_trust_policy,
)
from components.private_bucket import make_private
from components.python_function import PythonFunction, PythonFunctionArgs
from components.settings import DEFAULT_ANSWER_MODEL, DEFAULT_EMBEDDING_DIMENSIONS, DEFAULT_EMBEDDING_MODEL
from contracts.knowledge import DOCUMENT_SUFFIXES, MAX_DOCUMENT_BYTES
from contracts.stack import KNOWLEDGE_BASE_ID, KNOWLEDGE_DATA_SOURCE_ID

TYPE = "support-chatbot:index:KnowledgeBase"
KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
# Bedrock writes each chunk's text and metadata into the vector's metadata; S3 Vectors allows only 2 KB of filterable
# metadata per vector, so these two must be non-filterable or ingestion of a longer chunk fails.
BEDROCK_METADATA_KEYS = ("AMAZON_BEDROCK_TEXT", "AMAZON_BEDROCK_METADATA")
DOCUMENT_CONTENT_TYPES = {
    ".md": "text/markdown; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".pdf": "application/pdf",
}
# What the knowledge base's service role does, per resource (Bedrock's and S3 Vectors' documented needs).
READ_DOCUMENTS_ACTIONS = ("s3:GetObject",)
LIST_DOCUMENTS_ACTIONS = ("s3:ListBucket",)
VECTOR_INDEX_ACTIONS = (
    "s3vectors:GetIndex",
    "s3vectors:QueryVectors",
    "s3vectors:PutVectors",
    "s3vectors:GetVectors",
    "s3vectors:DeleteVectors",
)
EMBED_ACTIONS = ("bedrock:InvokeModel",)
# AMAZON.QnAIntent's needs of the bot's role (Lex V2 guide, "Permissions for the AMAZON.QnAIntent"): retrieve from
# the knowledge base, invoke the answer model.
ANSWER_ACTIONS = ("bedrock:Retrieve",)
INVOKE_ANSWER_MODEL_ACTIONS = ("bedrock:InvokeModel",)
INGESTION_ACTIONS = ("bedrock:StartIngestionJob", "bedrock:ListIngestionJobs")
CONSUME_QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes")
# The ingestion queue: S3 events wait here until one batch starts one ingestion job.
BATCHING_WINDOW_SECONDS = 60  # a `pulumi up` uploads its documents within seconds: one batch, one job
BATCH_SIZE = 1000  # the most a standard queue gives one invocation with a batching window
INGESTION_TIMEOUT_SECONDS = 30
RETRY_AFTER_SECONDS = 300  # the queue's visibility timeout: how long a batch waits for a running job to finish
MAX_RECEIVES = 12  # about an hour of waiting behind running jobs before the batch moves to the dead-letter queue
DLQ_RETENTION_SECONDS = 14 * 24 * 3600


class DocumentError(Exception):
    """A documents folder that cannot be uploaded as it is."""


@dataclass
class KnowledgeBaseArgs:
    """What a KnowledgeBase needs."""

    region: pulumi.Input[str]
    log_retention_days: int
    aws_native_provider: pulumi.ProviderResource
    """The stack's one aws-native provider (made from `aws:region`), for the Bedrock and S3 Vectors resources."""
    documents_dir: Path = KNOWLEDGE_DIR
    """The folder whose documents (`contracts.knowledge.DOCUMENT_SUFFIXES`) are uploaded, keyed by relative path."""
    external_bucket: str | None = None
    """An existing bucket holding the documents instead (name): nothing is uploaded, served or synced on change."""
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_dimensions: int = DEFAULT_EMBEDDING_DIMENSIONS
    answer_model: str = DEFAULT_ANSWER_MODEL
    protect_data: bool = False
    """Protect the documents bucket from deletion (`protect=True`, retained on delete)."""
    alarm_actions: Sequence[pulumi.Input[str]] = ()
    """Where the ingestion alarms notify (SNS topic ARNs)."""


class KnowledgeBase(pulumi.ComponentResource):
    """The documents bucket, the Bedrock knowledge base on S3 Vectors over it, and ingestion on every change."""

    def __init__(self, name: str, args: KnowledgeBaseArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        documents = {} if args.external_bucket else document_files(args.documents_dir)  # fails before registering
        if not args.external_bucket and not documents:
            pulumi.log.warn(
                f"{args.documents_dir} holds no documents ({', '.join(DOCUMENT_SUFFIXES)}): the knowledge base is "
                "empty and every question no intent matches goes to FallbackIntent"
            )
        own = pulumi.ResourceOptions(providers=[args.aws_native_provider])
        super().__init__(TYPE, name, None, pulumi.ResourceOptions.merge(opts, own))
        self._name = name
        self._aws_native = args.aws_native_provider
        self._grants = Grants(self, name)
        self._bucket_policy: aws.s3.BucketPolicy | None = None
        self._account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        region = pulumi.Output.from_input(args.region)
        self.embedding_model_arn = region.apply(lambda r: foundation_model_arn(r, args.embedding_model))
        self.answer_model_arn = region.apply(lambda r: foundation_model_arn(r, args.answer_model))

        self.bucket: aws.s3.Bucket | None = None
        self._public_access_block: aws.s3.BucketPublicAccessBlock | None = None
        if args.external_bucket:
            self.bucket_name: pulumi.Output[str] = pulumi.Output.from_input(args.external_bucket)
            self.bucket_arn: pulumi.Output[str] = pulumi.Output.from_input(f"arn:aws:s3:::{args.external_bucket}")
            self.documents_domain: pulumi.Output[str] | None = None
        else:
            self.bucket, self._public_access_block = self._documents_bucket(args.protect_data)
            self.bucket_name, self.bucket_arn = self.bucket.bucket, self.bucket.arn
            self.documents_domain = self.bucket.bucket_regional_domain_name
            """The documents bucket's regional domain, for CloudFront to serve the documents from."""

        self.vector_bucket, self.index = self._vector_store(args.embedding_dimensions)
        self.service_role, service_policy = self._service_role(args.region)
        self.knowledge_base = self._knowledge_base(args, service_policy)
        self.data_source = self._data_source()
        self.knowledge_base_id = self.knowledge_base.knowledge_base_id
        self.knowledge_base_arn = self.knowledge_base.knowledge_base_arn

        self.ingestion: PythonFunction | None = None
        self.ingestion_queue: aws.sqs.Queue | None = None
        self.dead_letter_queue: aws.sqs.Queue | None = None
        if self.bucket is not None:
            self.ingestion, notification = self._ingestion_on_change(args)
            uploads = self._documents(documents, notification)
            self._first_ingestion(uploads)
            self._alarms(args.alarm_actions)

        self.register_outputs(
            {
                "knowledge_base_id": self.knowledge_base_id,
                "knowledge_base_arn": self.knowledge_base_arn,
                "data_source_id": self.data_source.data_source_id,
                "bucket": self.bucket_name,
            }
        )

    # --- grants ------------------------------------------------------------------------------------------------

    def grant_answering(self, grantee: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` do what AMAZON.QnAIntent does: retrieve from this knowledge base and invoke the answer model."""
        return self._grants.grant(
            grantee,
            "answer-from-documents",
            role,
            [
                Statement(ANSWER_ACTIONS, [self.knowledge_base_arn]),
                Statement(INVOKE_ANSWER_MODEL_ACTIONS, [self.answer_model_arn]),
            ],
        )

    def serve_documents_to(self, distribution_arn: pulumi.Input[str]) -> aws.s3.BucketPolicy:
        """The documents bucket's policy: CloudFront may read the documents for this one distribution only, and
        nothing reaches the bucket without TLS. Only for a bucket the stack owns; once."""
        if self.bucket is None or self._public_access_block is None:
            raise ValueError("the documents bucket is not this stack's: its owner decides who reads it")
        if self._bucket_policy is None:
            self._bucket_policy = aws.s3.BucketPolicy(
                f"{self._name}-documents-policy",
                bucket=self.bucket.id,
                policy=pulumi.Output.all(self.bucket.arn, distribution_arn).apply(
                    lambda arns: cloudfront_read_policy(arns[0], arns[1], sid="CloudFrontReadsTheDocuments")
                ),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self._public_access_block]),
            )
        return self._bucket_policy

    # --- resources ---------------------------------------------------------------------------------------------

    def _documents_bucket(self, protect: bool) -> tuple[aws.s3.Bucket, aws.s3.BucketPublicAccessBlock]:
        """A private bucket, no ACLs, SSE-S3 (Bedrock and CloudFront's OAC read it without a KMS key policy).

        Not versioned: the documents' history is the repository's. Never replaced (its name is generated once);
        protected and retained in prod."""
        bucket = aws.s3.Bucket(
            f"{self._name}-documents",
            force_destroy=not protect,  # the documents are in the repository; a dev stack may go with them
            opts=pulumi.ResourceOptions(parent=self, protect=protect, retain_on_delete=protect),
        )
        private = make_private(f"{self._name}-documents", bucket, parent=self)
        return bucket, private

    def _vector_store(self, dimensions: int) -> tuple[s3vectors.VectorBucket, s3vectors.Index]:
        """The vector bucket and its one index (cosine, as Titan's embeddings are compared). Names are generated:
        a new embedding model replaces the index, create-before-delete."""
        native = pulumi.ResourceOptions(parent=self, provider=self._aws_native)
        vector_bucket = s3vectors.VectorBucket(
            f"{self._name}-vectors",
            encryption_configuration=s3vectors.VectorBucketEncryptionConfigurationArgs(
                sse_type=s3vectors.VectorBucketEncryptionConfigurationSseType.AES256
            ),
            opts=native,
        )
        index = s3vectors.Index(
            f"{self._name}-index",
            vector_bucket_arn=vector_bucket.vector_bucket_arn,
            data_type=s3vectors.IndexDataType.FLOAT32,
            dimension=dimensions,
            distance_metric=s3vectors.IndexDistanceMetric.COSINE,
            metadata_configuration=s3vectors.IndexMetadataConfigurationArgs(
                non_filterable_metadata_keys=list(BEDROCK_METADATA_KEYS)
            ),
            opts=native,
        )
        return vector_bucket, index

    def _service_role(self, region: pulumi.Input[str]) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The role Bedrock runs the knowledge base as: read the documents, embed them with the one embedding model,
        write and query the one vector index. Only Bedrock acting for a knowledge base of this account and region
        may assume it (the knowledge base's own ARN is not known before it, and it needs the role first)."""
        role = aws.iam.Role(
            f"{self._name}-service-role",
            assume_role_policy=pulumi.Output.all(self._account, region).apply(
                lambda values: service_trust_policy(
                    "bedrock.amazonaws.com",
                    source_account=values[0],
                    source_arn=f"arn:aws:bedrock:{values[1]}:{values[0]}:knowledge-base/*",
                )
            ),
            description="Lets Amazon Bedrock read the support documents and keep their vector index",
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = grant(
            f"{self._name}-service-permissions",
            role,
            [
                Statement(LIST_DOCUMENTS_ACTIONS, [self.bucket_arn]),
                Statement(READ_DOCUMENTS_ACTIONS, [pulumi.Output.concat(self.bucket_arn, "/*")]),
                Statement(EMBED_ACTIONS, [self.embedding_model_arn]),
                Statement(VECTOR_INDEX_ACTIONS, [self.index.index_arn]),
            ],
            parent=self,
        )
        return role, policy

    def _knowledge_base(self, args: KnowledgeBaseArgs, service_policy: aws.iam.RolePolicy) -> bedrock.KnowledgeBase:
        return bedrock.KnowledgeBase(
            f"{self._name}-knowledge-base",
            name=bedrock_name(f"{pulumi.get_project()}-{pulumi.get_stack()}-documents"),
            description="The support team's documents, answered from by the chatbot's QnAIntent",
            role_arn=self.service_role.arn,
            knowledge_base_configuration=bedrock.KnowledgeBaseConfigurationArgs(
                type=bedrock.KnowledgeBaseType.VECTOR,
                vector_knowledge_base_configuration=bedrock.KnowledgeBaseVectorKnowledgeBaseConfigurationArgs(
                    embedding_model_arn=self.embedding_model_arn,
                    embedding_model_configuration=bedrock.KnowledgeBaseEmbeddingModelConfigurationArgs(
                        bedrock_embedding_model_configuration=embedding_configuration(args.embedding_dimensions)
                    ),
                ),
            ),
            storage_configuration=bedrock.KnowledgeBaseStorageConfigurationArgs(
                type=bedrock.KnowledgeBaseStorageType.S3_VECTORS,
                s3_vectors_configuration=bedrock.KnowledgeBaseS3VectorsConfigurationArgs(
                    index_arn=self.index.index_arn
                ),
            ),
            # Bedrock checks the role's permissions when the knowledge base is made.
            opts=pulumi.ResourceOptions(parent=self, provider=self._aws_native, depends_on=[service_policy]),
        )

    def _data_source(self) -> bedrock.DataSource:
        """The documents bucket as the knowledge base's one data source; its vectors go with it when it goes."""
        return bedrock.DataSource(
            f"{self._name}-data-source",
            name="documents",
            description="Support documents (Markdown, text, HTML, PDF)",
            knowledge_base_id=self.knowledge_base.knowledge_base_id,
            data_source_configuration=bedrock.DataSourceConfigurationArgs(
                type=bedrock.DataSourceType.S3,
                s3_configuration=bedrock.DataSourceS3DataSourceConfigurationArgs(bucket_arn=self.bucket_arn),
            ),
            data_deletion_policy=bedrock.DataSourceDataDeletionPolicy.DELETE,
            opts=pulumi.ResourceOptions(parent=self, provider=self._aws_native),
        )

    def _ingestion_on_change(self, args: KnowledgeBaseArgs) -> tuple[PythonFunction, aws.s3.BucketNotification]:
        """S3 events -> a queue -> the ingestion starter, in batches (see functions/start_ingestion)."""
        assert self.bucket is not None
        child = pulumi.ResourceOptions(parent=self)
        self.dead_letter_queue = aws.sqs.Queue(
            f"{self._name}-ingestion-dlq",
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        queue = aws.sqs.Queue(
            f"{self._name}-ingestion-queue",
            visibility_timeout_seconds=RETRY_AFTER_SECONDS,
            sqs_managed_sse_enabled=True,  # SSE-SQS: S3 can send to it (a KMS-encrypted queue would need a key grant)
            redrive_policy=self.dead_letter_queue.arn.apply(
                lambda arn: json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": MAX_RECEIVES})
            ),
            opts=child,
        )
        self.ingestion_queue = queue
        queue_policy = aws.sqs.QueuePolicy(
            f"{self._name}-ingestion-queue-policy",
            queue_url=queue.url,
            policy=pulumi.Output.all(queue.arn, self.bucket.arn, self._account).apply(
                lambda values: s3_events_queue_policy(*values)
            ),
            opts=child,
        )
        notification = aws.s3.BucketNotification(
            f"{self._name}-documents-changed",
            bucket=self.bucket.id,
            queues=[{"queue_arn": queue.arn, "events": ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]}],
            # S3 sends a test message when the notification is set, and refuses it unless the queue takes it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[queue_policy]),
        )
        function = PythonFunction(
            f"{self._name}-ingestion",
            PythonFunctionArgs(
                source="start_ingestion",
                description="Starts one knowledge base ingestion per burst of document changes",
                region=args.region,
                log_retention_days=args.log_retention_days,
                environment={
                    KNOWLEDGE_BASE_ID.name: self.knowledge_base.knowledge_base_id,
                    KNOWLEDGE_DATA_SOURCE_ID.name: self.data_source.data_source_id,
                },
                timeout_seconds=INGESTION_TIMEOUT_SECONDS,
            ),
            opts=child,
        )
        self._ingestion_policy = policy = grant(
            f"{self._name}-ingestion-permissions",
            function.role,
            [
                Statement(INGESTION_ACTIONS, [self.knowledge_base.knowledge_base_arn]),
                Statement(CONSUME_QUEUE_ACTIONS, [queue.arn]),
            ],
            parent=self,
        )
        aws.lambda_.EventSourceMapping(
            f"{self._name}-ingestion-source",
            event_source_arn=queue.arn,
            function_name=function.function.arn,
            batch_size=BATCH_SIZE,
            maximum_batching_window_in_seconds=BATCHING_WINDOW_SECONDS,
            function_response_types=["ReportBatchItemFailures"],  # a batch waiting behind a running job comes back
            scaling_config={"maximum_concurrency": 2},  # the least Lambda allows: bursts are not raced in parallel
            # Lambda checks the role may read the queue when the mapping is created.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )
        return function, notification

    def _documents(
        self, documents: Mapping[str, Path], notification: aws.s3.BucketNotification
    ) -> list[aws.s3.BucketObjectv2]:
        """One object per document, after the notification exists: the first upload already starts an ingestion."""
        assert self.bucket is not None
        return [
            aws.s3.BucketObjectv2(
                f"{self._name}-document-{key}",
                bucket=self.bucket.id,
                key=key,
                source=pulumi.FileAsset(str(path)),
                content_type=document_content_type(key),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[notification]),
            )
            for key, path in documents.items()
        ]

    def _first_ingestion(self, uploads: Sequence[aws.s3.BucketObjectv2]) -> aws.lambda_.Invocation:
        """A sync when the data source is new (first deploy, or a new knowledge base after a model change, whose
        documents did not change and so sent no event); the same function, called once by the deployment."""
        assert self.ingestion is not None
        return aws.lambda_.Invocation(
            f"{self._name}-first-ingestion",
            function_name=self.ingestion.function.name,
            input=json.dumps({"sync": "the knowledge base's data source is new"}),
            triggers={"dataSourceId": self.data_source.data_source_id},
            # After the documents are up, and once the function may list and start jobs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*uploads, self._ingestion_policy]),
        )

    def _alarms(self, actions: Sequence[pulumi.Input[str]]) -> None:
        """The stack's alarm topic hears of an ingestion starter that fails, and of changes that never got synced."""
        assert self.ingestion is not None
        assert self.dead_letter_queue is not None
        alarm_above(
            f"{self._name}-ingestion-errors",
            "The knowledge base ingestion starter failed: changed documents may not be answered from",
            Metric("AWS/Lambda", "Errors", {"FunctionName": self.ingestion.name}),
            threshold=0,
            actions=actions,
            parent=self,
        )
        queue_not_empty(
            f"{self._name}-ingestion-dlq-not-empty",
            "Document changes waited an hour behind running ingestions and were given up: start an ingestion",
            self.dead_letter_queue.name,
            actions,
            parent=self,
        )


def embedding_configuration(dimensions: int) -> bedrock.KnowledgeBaseBedrockEmbeddingModelConfigurationArgs:
    """Float vectors of `dimensions` values: what the S3 Vectors index (float32, same dimension) stores."""
    float32 = bedrock.KnowledgeBaseBedrockEmbeddingModelConfigurationEmbeddingDataType.FLOAT32
    return bedrock.KnowledgeBaseBedrockEmbeddingModelConfigurationArgs(
        dimensions=dimensions, embedding_data_type=float32
    )


def foundation_model_arn(region: str, model_id: str) -> str:
    """The ARN of a Bedrock foundation model in `region` (foundation models have no account in their ARN)."""
    return f"arn:aws:bedrock:{region}::foundation-model/{model_id}"


def bedrock_name(text: str) -> str:
    """`text` as a Bedrock knowledge base name: letters and digits, single `_` or `-` between, at most 100."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "_-") else "-" for c in text)
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    return cleaned.strip("-_")[:100].rstrip("-_")


def document_files(folder: Path) -> dict[str, Path]:
    """Every document under `folder` by its object key (posix path relative to `folder`): the files whose suffix the
    knowledge base reads. Hidden files and folders are left out; a document over Bedrock's 50 MB limit is an error
    naming it. A missing folder has no documents."""
    if not folder.is_dir():
        return {}
    files: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if not path.is_file() or any(part.startswith(".") for part in PurePosixPath(key).parts):
            continue
        if not key.lower().endswith(DOCUMENT_SUFFIXES):
            continue
        size = path.stat().st_size
        if size > MAX_DOCUMENT_BYTES:
            raise DocumentError(
                f"{path}: {size} bytes, over the {MAX_DOCUMENT_BYTES} bytes Bedrock ingests; split or shrink it"
            )
        files[key] = path
    return files


def document_content_type(key: str) -> str:
    """The Content-Type a document is stored (and served) with."""
    return DOCUMENT_CONTENT_TYPES.get(PurePosixPath(key).suffix.lower(), "application/octet-stream")


def s3_events_queue_policy(queue_arn: str, bucket_arn: str, account_id: str) -> str:
    """The ingestion queue's policy: S3 may send it events of the documents bucket of this account only."""
    statement: dict[str, Any] = {
        "Sid": "DocumentsBucketEvents",
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "sqs:SendMessage",
        "Resource": queue_arn,
        "Condition": {"ArnEquals": {"aws:SourceArn": bucket_arn}, "StringEquals": {"aws:SourceAccount": account_id}},
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})
