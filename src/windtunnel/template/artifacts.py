"""Local artifact locations shared by the SAM and CDK readers: metadata keys and path tests."""

from __future__ import annotations

__all__ = [
    "PLACEHOLDER_BUCKET",
    "TEMPLATE_PATH_METADATA",
    "is_remote_location",
]

# Resource Metadata key under which readers record the absolute local path of the template
# of a nested stack (AWS::CloudFormation::Stack), because its TemplateURL would point at S3
# after a real `sam package` or `cdk deploy`.
TEMPLATE_PATH_METADATA = "windtunnel:TemplatePath"

# The bucket that placeholder S3 locations name where `sam package` would have uploaded a
# local artifact. Nothing is uploaded: the code stays on disk and CODE_PATH_METADATA names it.
PLACEHOLDER_BUCKET = "windtunnel-local-artifacts"


def is_remote_location(value: str) -> bool:
    """Tell whether a location names an object in S3 or on the web rather than a local file.

    `sam package` leaves ``s3://`` URLs and HTTPS URLs as they are and treats every other
    string as a path relative to the template's directory.
    """
    return value.startswith(("s3://", "https://", "http://"))
