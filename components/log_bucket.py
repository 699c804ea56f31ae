"""LogBucket: a private bucket that AWS services deliver access logs to, kept for a retention period.

S3 server access logs arrive through the bucket policy (the logging service, only for the named source buckets of
this account); CloudFront's standard logs arrive through the bucket's ACL, which is how CloudFront delivers them
(its `awslogsdelivery` account gets FULL_CONTROL), so this bucket allows ACLs where the page's bucket does not.
Nothing else may write it; nothing reaches it without TLS; objects expire after the retention. SSE-S3, because
CloudFront cannot deliver to a bucket encrypted with a KMS key. An empty bucket costs nothing; logs cost S3 storage
while they are kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import deny_insecure_transport

# CloudFront's log delivery account (AWS documents its canonical user id for standard logging).
CLOUDFRONT_LOG_DELIVERY = "c4c1ede66af53448b93c283ce9448c4ba468c9432aa01d700d3878632f77d2d0"
S3_LOG_PREFIX = "s3/"
CLOUDFRONT_LOG_PREFIX = "cloudfront/"


@dataclass
class LogBucketArgs:
    """What a LogBucket needs."""

    retention_days: int
    """Days a log object is kept before S3 deletes it."""
    s3_sources: Sequence[pulumi.Input[str]] = ()
    """ARNs of this account's buckets whose server access logs land here (under `s3/`). Empty: none."""


class LogBucket(pulumi.ComponentResource):
    """A private, TLS-only bucket of expiring access logs, for S3 server access logs and CloudFront standard logs."""

    def __init__(self, name: str, args: LogBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.retention_days < 1:
            raise ValueError(f"LogBucketArgs.retention_days must be 1 or more, got {args.retention_days}")
        super().__init__("support-chatbot:index:LogBucket", name, None, opts)
        self._name = name
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = aws.s3.Bucket(
            name,
            force_destroy=True,  # only expiring logs live here; turning logging off or destroying the stack ends them
            opts=child,
        )
        private = self._private_and_encrypted()
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=self.bucket.id,
            rule={"object_ownership": "BucketOwnerPreferred"},  # CloudFront's standard logs need the bucket's ACL
            opts=child,
        )
        self._cloudfront_delivery_acl(ownership)
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-expiry",
            bucket=self.bucket.id,
            rules=[
                {"id": "expire-logs", "status": "Enabled", "filter": {}, "expiration": {"days": args.retention_days}}
            ],
            opts=child,
        )
        self._policy(args.s3_sources, private)
        self.domain_name: pulumi.Output[str] = self.bucket.bucket_domain_name
        """The bucket's global domain, as CloudFront's logging configuration names it."""
        self.register_outputs({"bucket": self.bucket.bucket})

    def _private_and_encrypted(self) -> aws.s3.BucketPublicAccessBlock:
        child = pulumi.ResourceOptions(parent=self)
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{self._name}-encryption",
            bucket=self.bucket.id,
            rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
            opts=child,
        )
        return aws.s3.BucketPublicAccessBlock(
            f"{self._name}-private",
            bucket=self.bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )

    def _cloudfront_delivery_acl(self, ownership: aws.s3.BucketOwnershipControls) -> aws.s3.BucketAcl:
        """The owner and CloudFront's log delivery account have FULL_CONTROL; no one else has any grant."""
        owner = aws.s3.get_canonical_user_id_output(opts=pulumi.InvokeOutputOptions(parent=self)).id
        return aws.s3.BucketAcl(
            f"{self._name}-acl",
            bucket=self.bucket.id,
            access_control_policy={
                "owner": {"id": owner},
                "grants": [
                    {"grantee": {"type": "CanonicalUser", "id": grantee}, "permission": "FULL_CONTROL"}
                    for grantee in (owner, CLOUDFRONT_LOG_DELIVERY)
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ownership]),
        )

    def _policy(
        self, s3_sources: Sequence[pulumi.Input[str]], private: aws.s3.BucketPublicAccessBlock
    ) -> aws.s3.BucketPolicy:
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        return aws.s3.BucketPolicy(
            f"{self._name}-policy",
            bucket=self.bucket.id,
            policy=pulumi.Output.all(self.bucket.arn, account, pulumi.Output.all(*s3_sources)).apply(
                lambda values: log_bucket_policy(values[0], values[1], values[2])
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[private]),
        )


def log_bucket_policy(bucket_arn: str, account_id: str, s3_sources: Sequence[str]) -> str:
    """The log bucket's policy: S3's logging service may put server access logs, for the named buckets of this account
    only (no confused deputy), under `s3/`; nothing reaches the bucket without TLS."""
    statements: list[dict[str, Any]] = []
    if s3_sources:
        statements.append(
            {
                "Sid": "S3ServerAccessLogs",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{bucket_arn}/{S3_LOG_PREFIX}*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": account_id},
                    "ArnLike": {"aws:SourceArn": list(s3_sources)},
                },
            }
        )
    statements.append(deny_insecure_transport(bucket_arn))
    return json.dumps({"Version": "2012-10-17", "Statement": statements})
