"""The controls every private bucket of the stack carries: public access blocked four times over, no ACLs (the
bucket owner owns every object), and SSE-S3 at rest (CloudFront's OAC and Bedrock read it without a KMS key policy).

A shared helper, not a component: the owner of a bucket calls it, and the controls are the owner's children."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws


def make_private(prefix: str, bucket: aws.s3.Bucket, parent: pulumi.Resource) -> aws.s3.BucketPublicAccessBlock:
    """Block public access, enforce bucket-owner ownership and encrypt `bucket`, as `<prefix>-private`,
    `<prefix>-ownership` and `<prefix>-encryption`. Returns the public access block (a bucket policy waits for it)."""
    child = pulumi.ResourceOptions(parent=parent)
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{prefix}-private",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketOwnershipControls(
        f"{prefix}-ownership",
        bucket=bucket.id,
        rule={"object_ownership": "BucketOwnerEnforced"},  # no ACLs at all
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{prefix}-encryption",
        bucket=bucket.id,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=child,
    )
    return public_access_block
