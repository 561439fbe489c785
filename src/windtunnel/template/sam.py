"""Expand AWS SAM templates with AWS's own transform, offline, keeping local artifacts local."""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
from samtranslator.model.exceptions import (
    ExceptionWithMessage,
    InvalidDocumentException,
)
from samtranslator.parser.parser import Parser
from samtranslator.translator.arn_generator import ArnGenerator
from samtranslator.translator.translator import Translator
from samtranslator.utils.py27hash_fix import (
    to_py27_compatible_template,
    undo_mark_unicode_str_in_template,
)

from windtunnel.constants import DEFAULT_REGION
from windtunnel.errors import TemplateError, UnsupportedFeatureError
from windtunnel.template.sam_artifacts import (
    inline_includes,
    restore_local_artifacts,
    stage_local_artifacts,
)

__all__ = ["SAM_TRANSFORM", "StaticManagedPolicyLoader", "has_sam_transform", "translate_sam"]

logger = logging.getLogger(__name__)

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# AWS managed policies that SAM templates name most often, by name, with their paths as
# IAM lists them (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/). The
# transform looks names up in the map bundled with aws-sam-translator first and calls this
# loader only for names missing there, in place of IAM ListPolicies.
_COMMON_MANAGED_POLICIES: dict[str, str] = {
    "AWSLambdaBasicExecutionRole": "service-role/AWSLambdaBasicExecutionRole",
    "AWSLambdaDynamoDBExecutionRole": "service-role/AWSLambdaDynamoDBExecutionRole",
    "AWSLambdaSQSQueueExecutionRole": "service-role/AWSLambdaSQSQueueExecutionRole",
    "AWSLambdaKinesisExecutionRole": "service-role/AWSLambdaKinesisExecutionRole",
    "AWSLambdaMSKExecutionRole": "service-role/AWSLambdaMSKExecutionRole",
    "AWSLambdaVPCAccessExecutionRole": "service-role/AWSLambdaVPCAccessExecutionRole",
    "AWSLambdaRole": "service-role/AWSLambdaRole",
    "AWSLambdaExecute": "AWSLambdaExecute",
    "AWSXrayWriteOnlyAccess": "AWSXrayWriteOnlyAccess",
    "AWSXRayDaemonWriteAccess": "AWSXRayDaemonWriteAccess",
    "CloudWatchLambdaInsightsExecutionRolePolicy": "CloudWatchLambdaInsightsExecutionRolePolicy",
    "AmazonDynamoDBFullAccess": "AmazonDynamoDBFullAccess",
    "AmazonDynamoDBReadOnlyAccess": "AmazonDynamoDBReadOnlyAccess",
    "AmazonS3FullAccess": "AmazonS3FullAccess",
    "AmazonS3ReadOnlyAccess": "AmazonS3ReadOnlyAccess",
    "AmazonSQSFullAccess": "AmazonSQSFullAccess",
    "AmazonSNSFullAccess": "AmazonSNSFullAccess",
    "AmazonKinesisFullAccess": "AmazonKinesisFullAccess",
    "AmazonEventBridgeFullAccess": "AmazonEventBridgeFullAccess",
    "AWSStepFunctionsFullAccess": "AWSStepFunctionsFullAccess",
    "SecretsManagerReadWrite": "SecretsManagerReadWrite",
    "AmazonSSMReadOnlyAccess": "AmazonSSMReadOnlyAccess",
    "CloudWatchLogsFullAccess": "CloudWatchLogsFullAccess",
}


class StaticManagedPolicyLoader:
    """A managed-policy loader for the SAM transform that never calls IAM.

    It replaces ``samtranslator.translator.managed_policy_translator.ManagedPolicyLoader``,
    which pages through IAM ListPolicies.
    """

    def __init__(self, partition: str) -> None:
        self.partition = partition

    def load(self) -> dict[str, str]:
        """Return AWS managed policy names mapped to their ARNs in this partition."""
        return {
            name: f"arn:{self.partition}:iam::aws:policy/{path}"
            for name, path in _COMMON_MANAGED_POLICIES.items()
        }


def has_sam_transform(body: Mapping[str, Any]) -> bool:
    """Tell whether a template declares the AWS::Serverless transform."""
    transform = body.get("Transform")
    if isinstance(transform, list):
        return SAM_TRANSFORM in transform
    return transform == SAM_TRANSFORM


def translate_sam(
    body: dict[str, Any],
    *,
    path: Path,
    parameters: Mapping[str, str],
    region: str = DEFAULT_REGION,
) -> dict[str, Any]:
    """Expand a SAM template into plain CloudFormation, as the deployment would.

    ``body`` is not changed. Local artifacts are read from disk the way `sam package` and
    `sam deploy` would upload them: AWS::Lambda::Function and AWS::Lambda::LayerVersion
    resources get ``Metadata["windtunnel:CodePath"]``, local API and state machine
    definitions are inlined, nested stacks keep their local template path.
    """
    path = path.resolve()
    directory = path.parent
    template = copy.deepcopy(body)
    _check_transforms(template, file=path)

    # CloudFormation runs the AWS::Include snippets before the template-level transform.
    template = inline_includes(template, directory=directory, file=path)
    artifacts = stage_local_artifacts(template, directory=directory, file=path)

    partition = ArnGenerator.get_partition_name(region)
    parameter_values = _parameter_values(template, parameters, region=region, partition=partition)
    transformed = _run_transform(
        template, parameter_values, region=region, partition=partition, file=path
    )

    restore_local_artifacts(transformed, artifacts)
    _check_managed_policy_names(transformed, file=path)
    return transformed


def _check_transforms(template: dict[str, Any], *, file: Path) -> None:
    transform = template.get("Transform")
    transforms = transform if isinstance(transform, list) else [transform]
    for index, name in enumerate(transforms):
        if name == SAM_TRANSFORM:
            continue
        where = f"Transform[{index}]" if isinstance(transform, list) else "Transform"
        if isinstance(name, dict):
            # NOTE: a template-level AWS::Include (a Transform entry with Name and
            # Parameters) is not expanded; the Fn::Transform form inside sections is.
            raise UnsupportedFeatureError(
                f"the template-level transform {name.get('Name')!r} is not supported; "
                "use Fn::Transform inside a section instead",
                file=file,
                path=where,
            )
        raise UnsupportedFeatureError(
            f"the transform {name!r} is not supported together with {SAM_TRANSFORM}",
            file=file,
            path=where,
        )


def _parameter_values(
    template: dict[str, Any], overrides: Mapping[str, str], *, region: str, partition: str
) -> dict[str, Any]:
    """Collect the parameter values that CloudFormation passes to the SAM transform.

    That is each parameter's default, the values given for the deployment, and the two
    pseudo parameters the transform adds itself (AWS::Region and AWS::Partition, from the
    region it runs in). Other pseudo parameters stay unresolved, as in AWS.
    """
    values: dict[str, Any] = {}
    declared = template.get("Parameters")
    if isinstance(declared, dict):
        for name, declaration in declared.items():
            if isinstance(declaration, dict) and "Default" in declaration:
                values[name] = declaration["Default"]
    values.update(overrides)
    values["AWS::Region"] = region
    values["AWS::Partition"] = partition
    return values


def _run_transform(
    template: dict[str, Any],
    parameter_values: dict[str, Any],
    *,
    region: str,
    partition: str,
    file: Path,
) -> dict[str, Any]:
    """Call the translator the way ``samtranslator.translator.transform.transform`` does.

    That function builds its Translator without a boto3 session, so the region would come
    from the environment. This one passes a session for ``region``, which never calls AWS.
    """
    loader = StaticManagedPolicyLoader(partition)
    session = boto3.session.Session(region_name=region)
    # NOTE: the translator stores the region in a class attribute of ArnGenerator, so two
    # translations for different regions must not run at the same time.
    translator = Translator(None, Parser(), boto_session=session)
    to_py27_compatible_template(template, parameter_values)
    try:
        transformed = translator.translate(
            template,
            parameter_values=parameter_values,
            get_managed_policy_map=loader.load,
        )
    except InvalidDocumentException as error:
        raise TemplateError(_transform_failure(error), file=file) from None
    except ExceptionWithMessage as error:
        raise TemplateError(_transform_failure(error), file=file) from None
    logger.debug("expanded %s with %s in %s", file, SAM_TRANSFORM, region)
    result: dict[str, Any] = undo_mark_unicode_str_in_template(transformed)
    return result


def _transform_failure(error: ExceptionWithMessage) -> str:
    """Render a translator error the way CloudFormation reports a failed transform."""
    messages = [error.message]
    if isinstance(error, InvalidDocumentException):
        messages.extend(cause.message for cause in error.causes)
    return f"Transform {SAM_TRANSFORM} failed with: {' '.join(messages)}"


def _check_managed_policy_names(template: dict[str, Any], *, file: Path) -> None:
    """Reject managed policy names that the transform could not turn into ARNs.

    The transform passes an unknown name through unchanged, and IAM then rejects the role
    because ManagedPolicyArns contains something that is not an ARN.
    """
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        return
    for logical_id, resource in resources.items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::IAM::Role":
            continue
        properties = resource.get("Properties")
        arns = properties.get("ManagedPolicyArns") if isinstance(properties, dict) else None
        if not isinstance(arns, list):
            continue
        for index, arn in enumerate(arns):
            if isinstance(arn, str) and not arn.startswith("arn:"):
                raise TemplateError(
                    f"policy {arn!r} of role {logical_id} is neither an ARN, a policy "
                    "template nor the name of an AWS managed policy; give the policy's ARN",
                    file=file,
                    path=f"Resources.{logical_id}.Properties.ManagedPolicyArns[{index}]",
                )
